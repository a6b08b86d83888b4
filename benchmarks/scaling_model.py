#!/usr/bin/env python3
"""Data-parallel scaling model for Crema nets (Python 3 standard library only).

Predicts the time of one synchronous data-parallel training step, and the scaling efficiency,
on 1, 2, 4, ... 64 GPUs from one device's per-layer times and gradient sizes, as measured by
`crema time --format csv` (name,type,forward_ms,backward_ms,grad_bytes per layer).

Usage (from the repository root):
  python3 benchmarks/scaling_model.py --zoo                  # the zoo nets in models/ (ZOO below)
  python3 benchmarks/scaling_model.py net.prototxt [...]     # any nets, timed by `crema time`
  python3 benchmarks/scaling_model.py --csv saved.csv [...]  # saved `crema time --format csv`
  options: --crema build/crema --iterations 10 --speedup 1 --bucket-mb 25 --link-gbps 100
           --intra-gbps 2400 --gpus-per-node 8 --latency-us 10 --intra-latency-us 3
           --topology flat|hierarchical --keep-forced-backward --gpus 1,2,4,8,16,32,64
           --threads 1 --save-csv DIR --markdown

The model, for N GPUs, each with the same per-GPU batch (weak scaling):
  1. Compute. Every GPU runs the whole net on its own batch: forward F = sum of the layers'
     forward_ms, backward B = sum of backward_ms, each divided by --speedup S (the measured
     device's times scaled to an assumed faster GPU; default S = 1: the times as measured).
     Backward runs the layers in reverse order; layer i's backward ends at
     E_i = sum of backward_ms of layers i..last (measured from the start of backward).
     `crema time` forces every layer's backward (as Caffe's `time` does); training skips the
     backward of the layers before the first layer with gradients (nothing below them learns),
     so their backward_ms is dropped (--keep-forced-backward keeps it). The first learnable
     layer's own bottom gradient, also forced, stays in (a small overestimate).
  2. Buckets. Gradient bytes (learnable blobs, lr_mult != 0; a shared blob counts once, at its
     owning layer) are packed in reverse layer order, whole layers, into buckets of
     --bucket-mb MiB (default 25 = 25 * 2^20 bytes, as PyTorch DDP's bucket_cap_mb): a bucket
     closes once it holds at least that much; the last one takes the rest. A bucket is ready
     when the backward of its last-added layer (the earliest in forward order) has ended.
  3. All-reduce. Each bucket is averaged by a ring all-reduce costing
         c(bytes, N) = 2(N-1)/N * bytes / bandwidth + 2(N-1) * latency.
     --topology flat (default, "slowest link"): one ring over all N GPUs; while N <= G
     (--gpus-per-node, default 8) the ring stays in one node (--intra-gbps, --intra-latency-us),
     beyond that it crosses nodes and runs at the inter-node link's rate (--link-gbps, default
     100 Gb/s per GPU, --latency-us) for every step.
     --topology hierarchical: reduce-scatter inside each node, a ring all-reduce of bytes/G
     across the M = N/G nodes (each GPU on its own inter-node link), all-gather inside the node:
         (G-1)/G * bytes/B_intra + (G-1)*lat_intra      (reduce-scatter)
       + 2(M-1)/M * (bytes/G)/B_inter + 2(M-1)*lat_inter (inter-node all-reduce)
       + (G-1)/G * bytes/B_intra + (G-1)*lat_intra      (all-gather).
     N = 1 costs nothing.
  4. Overlap. Reductions run one at a time, in bucket order, on one communication stream that
     overlaps the remaining backward: bucket k starts at max(ready_k, end of bucket k-1).
  5. Step time = F + max(B, end of the last reduction) + optimizer update (taken as 0: an
     element-wise pass over the parameters, small next to forward and backward).
     comm = sum of the reductions' costs; exposed comm = max(0, last reduction end - B).
     Efficiency = T(1) / T(N) at fixed per-GPU batch (throughput grows as N * efficiency).
Not modelled: contention between compute and communication, data loading, stragglers, the
first-iteration bucket rebuild, gradient compression, and mixed precision (bytes are fp32).
"""

import argparse
import csv
import io
import os
import re
import subprocess
import sys
import tempfile
import time

CSV_HEADER = ["name", "type", "forward_ms", "backward_ms", "grad_bytes"]
MIB = 1 << 20

# Zoo nets: (label, prototxt, how to make it runnable here, timed iterations, note).
# `data_shape`: (C, H, W) of the images a Data layer reads, for when its LMDB is absent.
# `batch`: first dim given to every Input shape (deploy nets come with batch 1).
ZOO = [
    ("lenet", "models/lenet/train_val.prototxt", {"data_shape": (1, 28, 28)}, 20,
     "train net (TRAIN phase, batch 64); Fashion-MNIST 28x28 grey"),
    ("crf_cnn", "models/crf_cnn/message_passing.prototxt", {}, 50,
     "toy CRF-CNN message passing, batch 1, 9x9 maps, edge weights shared over 3 iterations"),
    ("gbd", "models/gbd/gbd_module.prototxt", {}, 20,
     "GBD module only (8 RoIs x 4 regions of 16x7x7), no loss: backward forced"),
    ("srcnn_9-5-5", "models/srcnn/deploy_9-5-5.prototxt", {"batch": 128}, 2,
     "deploy net with batch set to 128 33x33 patches (the paper's training batch); "
     "no loss: backward forced"),
    ("vdsr", "models/vdsr/deploy.prototxt", {"batch": 64}, 1,
     "deploy net with batch set to 64 41x41 patches (the paper's training batch); "
     "no loss: backward forced"),
]


class Config:
    """The model's parameters (see the module docstring)."""

    def __init__(self, speedup=1.0, bucket_mb=25.0, link_gbps=100.0, intra_gbps=2400.0,
                 gpus_per_node=8, latency_us=10.0, intra_latency_us=3.0, topology="flat",
                 keep_forced_backward=False):
        if speedup <= 0 or bucket_mb <= 0 or link_gbps <= 0 or intra_gbps <= 0:
            raise ValueError("speedup, bucket size and bandwidths must be > 0")
        if gpus_per_node < 1 or latency_us < 0 or intra_latency_us < 0:
            raise ValueError("gpus per node must be >= 1 and latencies >= 0")
        if topology not in ("flat", "hierarchical"):
            raise ValueError("topology must be flat or hierarchical, got %r" % topology)
        self.speedup = speedup
        self.bucket_bytes = bucket_mb * MIB
        self.link_gbps = link_gbps
        self.intra_gbps = intra_gbps
        self.gpus_per_node = gpus_per_node
        self.latency_ms = latency_us / 1000.0
        self.intra_latency_ms = intra_latency_us / 1000.0
        self.topology = topology
        self.keep_forced_backward = keep_forced_backward


class Layer:
    def __init__(self, name, type_, forward_ms, backward_ms, grad_bytes):
        self.name = name
        self.type = type_
        self.forward_ms = float(forward_ms)
        self.backward_ms = float(backward_ms)
        self.grad_bytes = int(grad_bytes)


def csv_notes(text):
    """The '# ' lines before a saved CSV's header (what --save-csv wrote about the run)."""
    notes = []
    for line in text.splitlines():
        if line.strip() == ",".join(CSV_HEADER):
            break
        if line.startswith("#"):
            notes.append(line[1:].strip())
    return notes


def parse_time_csv(text):
    """Layers from `crema time --format csv` output (lines before the header are skipped)."""
    lines = text.splitlines()
    start = None
    for i, line in enumerate(lines):
        if line.strip() == ",".join(CSV_HEADER):
            start = i
            break
    if start is None:
        raise ValueError("no CSV header '%s' found" % ",".join(CSV_HEADER))
    layers = []
    for row in csv.reader(io.StringIO("\n".join(lines[start + 1:]))):
        if not row:
            continue
        if len(row) != len(CSV_HEADER):
            raise ValueError("expected %d fields, got %r" % (len(CSV_HEADER), row))
        layers.append(Layer(*row))
    if not layers:
        raise ValueError("the CSV has no layers")
    return layers


def ms_per_byte(gbps):
    return 8.0 / (gbps * 1e9) * 1e3


def ring_ms(nbytes, n, gbps, latency_ms):
    """Ring all-reduce of `nbytes` over n members: 2(n-1)/n * bytes / bw + 2(n-1) * latency."""
    if n <= 1:
        return 0.0
    return 2.0 * (n - 1) / n * nbytes * ms_per_byte(gbps) + 2.0 * (n - 1) * latency_ms


def allreduce_ms(nbytes, n, cfg):
    """Cost of all-reducing one bucket over n GPUs under cfg's topology."""
    g = cfg.gpus_per_node
    if n <= g:
        return ring_ms(nbytes, n, cfg.intra_gbps, cfg.intra_latency_ms)
    if cfg.topology == "flat":
        return ring_ms(nbytes, n, cfg.link_gbps, cfg.latency_ms)
    if n % g:
        raise ValueError("hierarchical topology needs N a multiple of --gpus-per-node")
    m = n // g
    half_intra = ((g - 1.0) / g * nbytes * ms_per_byte(cfg.intra_gbps) +
                  (g - 1) * cfg.intra_latency_ms)
    return 2 * half_intra + ring_ms(nbytes / g, m, cfg.link_gbps, cfg.latency_ms)


def make_buckets(layers, bucket_bytes):
    """Buckets in reduction order: [(bytes, index of the layer whose backward makes it ready)]."""
    buckets = []
    size, ready = 0, None
    for i in range(len(layers) - 1, -1, -1):
        if layers[i].grad_bytes == 0:
            continue
        size += layers[i].grad_bytes
        ready = i
        if size >= bucket_bytes:
            buckets.append((size, ready))
            size, ready = 0, None
    if size:
        buckets.append((size, ready))
    return buckets


def first_learnable(layers):
    """Index of the first layer with gradients, or None."""
    return next((i for i, l in enumerate(layers) if l.grad_bytes), None)


def dropped_backward_ms(layers, cfg):
    """Forced backward time (unscaled ms) of the layers that training would not run backward."""
    first = first_learnable(layers)
    if cfg.keep_forced_backward or first is None:
        return 0.0
    return sum(l.backward_ms for l in layers[:first])


def simulate(layers, n, cfg):
    """One step on n GPUs: dict with step_ms, comm_ms, exposed_ms, forward_ms, backward_ms."""
    fwd = sum(l.forward_ms for l in layers) / cfg.speedup
    first = first_learnable(layers)
    skip = 0 if cfg.keep_forced_backward or first is None else first
    # Backward end time of each layer, from the start of backward (reverse layer order).
    ends = [0.0] * len(layers)
    t = 0.0
    for i in range(len(layers) - 1, skip - 1, -1):
        t += layers[i].backward_ms / cfg.speedup
        ends[i] = t
    bwd = t
    comm_end, comm = 0.0, 0.0
    for nbytes, ready in make_buckets(layers, cfg.bucket_bytes):
        c = allreduce_ms(nbytes, n, cfg)
        comm_end = max(ends[ready], comm_end) + c
        comm += c
    exposed = max(0.0, comm_end - bwd)
    return {"step_ms": fwd + bwd + exposed, "comm_ms": comm, "exposed_ms": exposed,
            "forward_ms": fwd, "backward_ms": bwd}


def predict(layers, gpus, cfg):
    """Rows (n, step_ms, comm_ms, exposed_ms, efficiency) for each n in gpus."""
    t1 = simulate(layers, 1, cfg)["step_ms"]
    rows = []
    for n in gpus:
        r = simulate(layers, n, cfg)
        rows.append((n, r["step_ms"], r["comm_ms"], r["exposed_ms"],
                     t1 / r["step_ms"] if r["step_ms"] > 0 else 1.0))
    return rows


# ---- prototxt rewriting (Data -> Input, batch override), a minimal text-format reader ----

_TOKEN = re.compile(r'\s+|#[^\n]*'                        # space, comments
                    r'|"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\''  # strings
                    r'|[{}:<>\[\],;]'                         # punctuation
                    r'|[^\s{}:<>\[\],;"\'#]+')                 # names, numbers


def _tokens(text):
    pos = 0
    out = []
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ValueError("cannot read prototxt at offset %d" % pos)
        tok = m.group(0)
        pos = m.end()
        if not tok.isspace() and not tok.startswith("#"):
            out.append(tok)
    return out


def parse_prototxt(text):
    """A message as a list of [field, value]; value is a token string or a nested list."""
    toks = _tokens(text)
    pos = 0

    def message(closer):
        nonlocal pos
        fields = []
        while pos < len(toks):
            tok = toks[pos]
            if tok == closer:
                pos += 1
                return fields
            if tok in (",", ";"):
                pos += 1
                continue
            name = tok
            pos += 1
            if pos < len(toks) and toks[pos] == ":":
                pos += 1
            if pos >= len(toks):
                raise ValueError("field %s has no value" % name)
            if toks[pos] in ("{", "<"):
                pos += 1
                fields.append([name, message("}" if toks[pos - 1] == "{" else ">")])
            elif toks[pos] == "[":
                pos += 1
                while toks[pos] != "]":
                    if toks[pos] != ",":
                        fields.append([name, toks[pos]])
                    pos += 1
                pos += 1
            else:
                fields.append([name, toks[pos]])
                pos += 1
        if closer is not None:
            raise ValueError("unbalanced braces in prototxt")
        return fields

    return message(None)


def format_prototxt(fields, indent=0):
    pad = "  " * indent
    out = []
    for name, value in fields:
        if isinstance(value, list):
            out.append("%s%s {\n%s%s}\n" % (pad, name, format_prototxt(value, indent + 1), pad))
        else:
            out.append("%s%s: %s\n" % (pad, name, value))
    return "".join(out)


def _get(fields, name):
    return [v for k, v in fields if k == name]


def _unquote(tok):
    return tok[1:-1] if len(tok) >= 2 and tok[0] in "\"'" else tok


def _shape(dims):
    return ["shape", [["dim", str(d)] for d in dims]]


def make_runnable(prototxt, data_shape=None, batch=None):
    """The net's text, with Data layers whose LMDB is absent replaced by Input layers of the same
    shapes, and every Input's batch dim set to `batch`; and notes saying what changed."""
    with open(prototxt) as f:
        net = parse_prototxt(f.read())
    notes = []
    for key, layer in net:
        if key not in ("layer", "layers") or not isinstance(layer, list):
            continue
        ltype = _unquote((_get(layer, "type") or ['""'])[0])
        lname = _unquote((_get(layer, "name") or ['""'])[0])
        if ltype == "Data":
            dp = (_get(layer, "data_param") or [[]])[0]
            source = _unquote((_get(dp, "source") or ['""'])[0])
            if source and os.path.exists(source):
                continue
            if data_shape is None:
                raise ValueError("Data layer '%s' reads %s, which is absent; give its image shape "
                                 "C,H,W with --data-shape" % (lname, source))
            b = int((_get(dp, "batch_size") or ["0"])[0])
            c, h, w = data_shape
            tp = (_get(layer, "transform_param") or [[]])[0]
            crop = int((_get(tp, "crop_size") or ["0"])[0])
            if crop:
                h = w = crop
            tops = _get(layer, "top")
            shapes = [_shape((b, c, h, w))] + [_shape((b,)) for _ in tops[1:]]
            kept = [[k, v] for k, v in layer
                    if k not in ("type", "data_param", "transform_param")]
            layer[:] = kept + [["type", '"Input"'], ["input_param", shapes]]
            notes.append("Data layer '%s' (%s absent) -> Input %s%s" % (
                lname, source, "x".join(map(str, (b, c, h, w))),
                ", labels %d" % b if len(tops) > 1 else ""))
        elif ltype == "Input" and batch:
            ip = (_get(layer, "input_param") or [[]])[0]
            for shape in _get(ip, "shape"):
                dims = [kv for kv in shape if kv[0] == "dim"]
                if dims:
                    dims[0][1] = str(batch)
            notes.append("Input layer '%s': batch %d" % (lname, batch))
    return format_prototxt(net), notes


def time_net(crema, prototxt, iterations, data_shape=None, batch=None, threads=0):
    """Runs `crema time --format csv` on a runnable copy of the net; (layers, csv text, notes)."""
    text, notes = make_runnable(prototxt, data_shape, batch)
    with tempfile.TemporaryDirectory(prefix="crema_scaling_") as tmp:
        path = os.path.join(tmp, os.path.basename(prototxt))
        with open(path, "w") as f:
            f.write(text)
        cmd = [crema, "time", "--model", path, "--format", "csv", "--iterations", str(iterations)]
        cmd += ["--threads", str(threads)]
        t0 = time.time()
        p = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.time() - t0
    if p.returncode != 0:
        raise RuntimeError("%s failed (exit %d):\n%s%s" % (" ".join(cmd), p.returncode, p.stdout,
                                                          p.stderr))
    notes.append("crema time: %d timed iteration(s) after a warm-up, %.0f s wall" % (iterations,
                                                                                     wall))
    return parse_time_csv(p.stdout), p.stdout, notes


# ---- output ----

def assumptions(cfg, gpus):
    g = cfg.gpus_per_node
    lines = [
        "per-GPU compute = measured forward + backward / speedup %g (1 = as measured); "
        "fixed per-GPU batch" % cfg.speedup,
        ("backward of the layers before the first learnable layer kept as `crema time` forced it"
         if cfg.keep_forced_backward else
         "backward of the layers before the first learnable layer dropped (forced by `crema "
         "time`, not run in training)"),
        "gradients: fp32 bytes of learnable blobs (lr_mult != 0), packed in reverse layer order "
        "into buckets of %g MiB (whole layers); a bucket is ready when its last layer's backward "
        "ends" % (cfg.bucket_bytes / MIB),
        "ring all-reduce per bucket: 2(N-1)/N * bytes / bandwidth + 2(N-1) * latency",
        "N <= %d (one node): intra-node %g Gb/s, %g us per step" % (
            g, cfg.intra_gbps, cfg.intra_latency_ms * 1e3),
    ]
    if cfg.topology == "flat":
        lines.append("N > %d: one flat ring across nodes, every step at the slowest link: "
                     "inter-node %g Gb/s per GPU, %g us per step" % (
                         g, cfg.link_gbps, cfg.latency_ms * 1e3))
    else:
        lines.append("N > %d: hierarchical: intra-node reduce-scatter + inter-node ring on "
                     "bytes/%d at %g Gb/s per GPU, %g us per step + intra-node all-gather" % (
                         g, g, cfg.link_gbps, cfg.latency_ms * 1e3))
    lines += [
        "reductions serialized on one communication stream, overlapped with the remaining "
        "backward; no slowdown of compute by communication",
        "step = forward + max(backward end, last reduction end) + optimizer (taken as 0)",
        "efficiency = T(1) / T(N); GPUs: %s" % ",".join(map(str, gpus)),
    ]
    return lines


def fmt_bytes(n):
    return "%d bytes (%.2f MiB)" % (n, n / MIB)


def report(label, source, notes, layers, cfg, gpus, markdown):
    rows = predict(layers, gpus, cfg)
    base = simulate(layers, 1, cfg)
    buckets = make_buckets(layers, cfg.bucket_bytes)
    total = sum(l.grad_bytes for l in layers)
    dropped = dropped_backward_ms(layers, cfg)
    if dropped:
        notes = notes + ["forced backward below the first learnable layer dropped: %.3f ms "
                         "measured" % dropped]
    out = []
    if markdown:
        out.append("#### %s\n" % label)
        out.append("Source: `%s`. %s\n" % (source, "; ".join(notes)))
        out.append("Per GPU: forward %.3f ms, backward %.3f ms; gradients %s in %d bucket(s).\n" % (
            base["forward_ms"], base["backward_ms"], fmt_bytes(total), len(buckets)))
        out.append("| GPUs | step ms | comm ms | exposed comm ms | efficiency |")
        out.append("|---:|---:|---:|---:|---:|")
        for n, step, comm, exposed, eff in rows:
            out.append("| %d | %.3f | %.3f | %.3f | %.3f |" % (n, step, comm, exposed, eff))
        out.append("")
    else:
        out.append("== %s: %s" % (label, source))
        for note in notes:
            out.append("   %s" % note)
        out.append("   per GPU: forward %.3f ms, backward %.3f ms; gradients %s in %d bucket(s)" % (
            base["forward_ms"], base["backward_ms"], fmt_bytes(total), len(buckets)))
        out.append("%6s %12s %12s %16s %11s" % ("GPUs", "step ms", "comm ms", "exposed comm ms",
                                                  "efficiency"))
        for n, step, comm, exposed, eff in rows:
            out.append("%6d %12.3f %12.3f %16.3f %11.3f" % (n, step, comm, exposed, eff))
        out.append("")
    return "\n".join(out)


def summary(done, gpus, markdown):
    """Efficiency of every net at every GPU count, one line per net."""
    out = []
    if markdown:
        out.append("#### Efficiency T(1)/T(N)\n")
        out.append("| net | " + " | ".join("N=%d" % n for n in gpus) + " |")
        out.append("|---|" + "---:|" * len(gpus))
        for label, rows in done:
            out.append("| %s | " % label + " | ".join("%.3f" % r[4] for r in rows) + " |")
    else:
        out.append("Efficiency T(1)/T(N):")
        out.append("%-14s" % "net" + "".join("%8s" % ("N=%d" % n) for n in gpus))
        for label, rows in done:
            out.append("%-14s" % label + "".join("%8.3f" % r[4] for r in rows))
    out.append("")
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("nets", nargs="*", help="net prototxts to time with `crema time`")
    ap.add_argument("--zoo", action="store_true", help="the zoo nets of models/ (see ZOO)")
    ap.add_argument("--csv", action="append", default=[], metavar="FILE",
                    help="a saved `crema time --format csv` output (repeatable)")
    ap.add_argument("--crema", default="build/crema", help="the crema binary (default build/crema)")
    ap.add_argument("--iterations", type=int, default=10,
                    help="timed iterations for nets given on the command line (default 10)")
    ap.add_argument("--threads", type=int, default=1,
                    help="crema time --threads (0 = all cores; default 1: on a shared machine, "
                         "waits for descheduled pool threads distort multi-thread layer times)")
    ap.add_argument("--data-shape", default=None, metavar="C,H,W",
                    help="image shape for Data layers whose LMDB is absent (nets on the command "
                         "line)")
    ap.add_argument("--batch", type=int, default=None,
                    help="batch dim for every Input layer (nets on the command line)")
    ap.add_argument("--speedup", type=float, default=1.0,
                    help="divide measured times by this (assumed GPU speed; default 1)")
    ap.add_argument("--bucket-mb", type=float, default=25.0, help="bucket size in MiB (default 25)")
    ap.add_argument("--link-gbps", type=float, default=100.0,
                    help="inter-node bandwidth per GPU in Gb/s (default 100)")
    ap.add_argument("--intra-gbps", type=float, default=2400.0,
                    help="intra-node all-reduce bandwidth per GPU in Gb/s (default 2400 = 300 "
                         "GB/s, of the order of NVLink 4)")
    ap.add_argument("--gpus-per-node", type=int, default=8, help="default 8")
    ap.add_argument("--latency-us", type=float, default=10.0,
                    help="inter-node latency per ring step in us (default 10)")
    ap.add_argument("--intra-latency-us", type=float, default=3.0,
                    help="intra-node latency per ring step in us (default 3)")
    ap.add_argument("--topology", choices=["flat", "hierarchical"], default="flat",
                    help="beyond one node: flat ring at the slowest link (default) or "
                         "hierarchical")
    ap.add_argument("--keep-forced-backward", action="store_true",
                    help="keep the backward time of the layers before the first learnable layer")
    ap.add_argument("--gpus", default="1,2,4,8,16,32,64", help="GPU counts (default 1,...,64)")
    ap.add_argument("--save-csv", default=None, metavar="DIR",
                    help="write each net's measured CSV to DIR/<label>.csv")
    ap.add_argument("--markdown", action="store_true", help="Markdown tables")
    args = ap.parse_args(argv)

    gpus = [int(x) for x in args.gpus.split(",") if x]
    cfg = Config(args.speedup, args.bucket_mb, args.link_gbps, args.intra_gbps,
                 args.gpus_per_node, args.latency_us, args.intra_latency_us, args.topology,
                 args.keep_forced_backward)
    data_shape = tuple(int(x) for x in args.data_shape.split(",")) if args.data_shape else None

    jobs = []  # (label, prototxt or csv path, kind, options, iterations, note)
    if args.zoo:
        for label, path, opts, iters, note in ZOO:
            jobs.append((label, path, "net", opts, iters, note))
    for path in args.nets:
        opts = {"data_shape": data_shape, "batch": args.batch}
        jobs.append((os.path.splitext(os.path.basename(path))[0], path, "net", opts,
                     args.iterations, None))
    for path in args.csv:
        jobs.append((os.path.splitext(os.path.basename(path))[0], path, "csv", {}, 0, None))
    if not jobs:
        ap.error("give net prototxts, --zoo, or --csv")

    failed = 0
    done = []  # (label, rows) for the summary
    for label, path, kind, opts, iters, note in jobs:
        notes = [note] if note else []
        try:
            if kind == "csv":
                with open(path) as f:
                    text = f.read()
                layers = parse_time_csv(text)
                notes += csv_notes(text)
                source = "saved CSV %s" % path
            else:
                layers, text, more = time_net(args.crema, path, iters, opts.get("data_shape"),
                                              opts.get("batch"), args.threads)
                notes += more
                source = "%s time --model %s --format csv --iterations %d --threads %d" % (
                    args.crema, path, iters, args.threads)
                if args.save_csv:
                    os.makedirs(args.save_csv, exist_ok=True)
                    with open(os.path.join(args.save_csv, label + ".csv"), "w") as f:
                        f.write("# measured %s: %s\n" % (time.strftime("%Y-%m-%d"), source))
                        for line in notes:
                            f.write("# %s\n" % line)
                        f.write(text[text.index(",".join(CSV_HEADER)):])
        except (OSError, ValueError, RuntimeError) as e:
            failed += 1
            print("== %s: %s\n   skipped: %s\n" % (label, path, e))
            continue
        print(report(label, source, notes, layers, cfg, gpus, args.markdown))
        sys.stdout.flush()
        done.append((label, predict(layers, gpus, cfg)))

    if len(done) > 1:
        print(summary(done, gpus, args.markdown))
    print("### Assumptions\n" if args.markdown else "Assumptions:")
    for line in assumptions(cfg, gpus):
        print("- %s" % line)
    return 1 if failed and failed == len(jobs) else 0


if __name__ == "__main__":
    sys.exit(main())
