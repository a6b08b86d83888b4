"""Unit tests of scaling_model.py's arithmetic, against hand-computed cases.

Run: cd benchmarks && python3 -B -m unittest test_scaling_model   (also CTest, label unit)
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scaling_model as sm  # noqa: E402

# Two layers, forward order: L0 then L1. Backward runs L1 (3 ms) then L0 (2 ms).
# Bandwidth 8 Gb/s = 1e9 bytes/s = 1e6 bytes per ms; latency 10 us = 0.01 ms per ring step.
CSV = """\
timed net 'two' (anything before the header is ignored)
name,type,forward_ms,backward_ms,grad_bytes
L0,InnerProduct,1.0,2.0,2000000
"L,1",InnerProduct,1.0,3.0,4000000
"""


def config(**kw):
    base = dict(speedup=1.0, bucket_mb=3.0, link_gbps=8.0, intra_gbps=8.0, gpus_per_node=1,
                latency_us=10.0, intra_latency_us=10.0)
    base.update(kw)
    return sm.Config(**base)


class ScalingModelTest(unittest.TestCase):
    def setUp(self):
        self.layers = sm.parse_time_csv(CSV)

    def test_parses_csv_after_preamble_with_quoted_names(self):
        self.assertEqual([l.name for l in self.layers], ["L0", "L,1"])
        self.assertEqual(self.layers[1].grad_bytes, 4000000)
        self.assertEqual(self.layers[1].backward_ms, 3.0)
        with self.assertRaises(ValueError):
            sm.parse_time_csv("no header here\n")

    def test_ring_cost(self):
        # 2(4-1)/4 * 4e6 bytes / 1e6 bytes/ms + 2*3*0.01 ms = 6 + 0.06.
        self.assertAlmostEqual(sm.ring_ms(4e6, 4, 8.0, 0.01), 6.06)
        self.assertEqual(sm.ring_ms(4e6, 1, 8.0, 0.01), 0.0)

    def test_buckets_fill_in_reverse_order(self):
        # Cap 3 MiB = 3145728 bytes: L1's 4e6 bytes close bucket 0 (ready after L1's backward);
        # L0's 2e6 bytes are the last bucket (ready after L0's backward).
        self.assertEqual(sm.make_buckets(self.layers, 3 * sm.MIB), [(4000000, 1), (2000000, 0)])
        self.assertEqual(sm.make_buckets(self.layers, 25 * sm.MIB), [(6000000, 0)])

    def test_one_gpu_is_forward_plus_backward(self):
        r = sm.simulate(self.layers, 1, config())
        self.assertAlmostEqual(r["step_ms"], 2.0 + 5.0)
        self.assertEqual(r["comm_ms"], 0.0)
        self.assertEqual(r["exposed_ms"], 0.0)

    def test_four_gpus_two_buckets(self):
        # Bucket 0 (4e6 B): ready at 3, costs 6.06, ends 9.06. Bucket 1 (2e6 B): ready at 5,
        # waits for the stream, costs 3.06, ends 12.12. Backward ends at 5.
        # step = 2 + max(5, 12.12) = 14.12; comm 9.12; exposed 7.12; efficiency 7 / 14.12.
        r = sm.simulate(self.layers, 4, config())
        self.assertAlmostEqual(r["step_ms"], 14.12)
        self.assertAlmostEqual(r["comm_ms"], 9.12)
        self.assertAlmostEqual(r["exposed_ms"], 7.12)
        rows = sm.predict(self.layers, [1, 4], config())
        self.assertAlmostEqual(rows[0][4], 1.0)
        self.assertAlmostEqual(rows[1][4], 7.0 / 14.12)

    def test_four_gpus_one_bucket(self):
        # One 6e6-byte bucket ready at 5: 9 + 0.06 ms, all exposed: step = 2 + 5 + 9.06.
        r = sm.simulate(self.layers, 4, config(bucket_mb=25.0))
        self.assertAlmostEqual(r["step_ms"], 16.06)
        self.assertAlmostEqual(r["exposed_ms"], 9.06)

    def test_reduction_hidden_behind_backward(self):
        # Fast link (800 Gb/s = 1e8 B/ms), no latency: bucket 0 costs 0.06 ms from t = 3, inside
        # L0's backward; bucket 1 costs 0.03 ms from t = 5: only that is exposed.
        r = sm.simulate(self.layers, 4, config(link_gbps=800.0, latency_us=0.0))
        self.assertAlmostEqual(r["comm_ms"], 0.09)
        self.assertAlmostEqual(r["exposed_ms"], 0.03)
        self.assertAlmostEqual(r["step_ms"], 7.03)

    def test_speedup_scales_compute_only(self):
        r = sm.simulate(self.layers, 4, config(speedup=2.0))
        # Compute halves: F 1, L1 ends 1.5, L0 ends 2.5. Bucket 0: 1.5 -> 7.56; bucket 1 -> 10.62.
        self.assertAlmostEqual(r["step_ms"], 1.0 + 10.62)
        self.assertAlmostEqual(r["comm_ms"], 9.12)

    def test_intra_node_link_applies_within_a_node(self):
        # 4 GPUs in one node (gpus_per_node 8): intra 16 Gb/s = 2e6 B/ms, 1 us latency.
        cfg = config(gpus_per_node=8, intra_gbps=16.0, intra_latency_us=1.0)
        self.assertAlmostEqual(sm.allreduce_ms(4e6, 4, cfg), 1.5 * 2 + 6 * 0.001)

    def test_hierarchical(self):
        # N 4 = 2 nodes x 2 GPUs; intra 2e6 B/ms, 1 us; inter 1e6 B/ms, 10 us.
        # reduce-scatter 0.5 * 4e6 / 2e6 + 1 * 0.001 = 1.001; inter ring on 2e6 bytes over 2
        # nodes: 1 * 2e6 / 1e6 + 2 * 0.01 = 2.02; all-gather 1.001. Total 4.022.
        cfg = config(gpus_per_node=2, intra_gbps=16.0, intra_latency_us=1.0,
                     topology="hierarchical")
        self.assertAlmostEqual(sm.allreduce_ms(4e6, 4, cfg), 4.022)
        flat = config(gpus_per_node=2, intra_gbps=16.0, intra_latency_us=1.0)
        self.assertAlmostEqual(sm.allreduce_ms(4e6, 4, flat), 6.06)

    def test_forced_backward_below_first_learnable_layer_is_dropped(self):
        # data (backward 4 ms, forced) -> L0 -> L1: training never runs data's backward.
        layers = sm.parse_time_csv(CSV.replace("L0,", "data,Input,0.5,4.0,0\nL0,"))
        self.assertAlmostEqual(sm.simulate(layers, 1, config())["step_ms"], 2.5 + 5.0)
        self.assertAlmostEqual(sm.simulate(layers, 4, config())["step_ms"], 2.5 + 12.12)
        self.assertAlmostEqual(sm.dropped_backward_ms(layers, config()), 4.0)
        kept = config(keep_forced_backward=True)
        # Kept: backward ends at 9; the reductions (ending at 12.12) are still later.
        self.assertAlmostEqual(sm.simulate(layers, 1, kept)["step_ms"], 2.5 + 9.0)
        self.assertAlmostEqual(sm.simulate(layers, 4, kept)["step_ms"], 2.5 + 12.12)
        self.assertEqual(sm.dropped_backward_ms(layers, kept), 0.0)

    def test_layers_without_gradients_make_no_bucket(self):
        layers = sm.parse_time_csv("name,type,forward_ms,backward_ms,grad_bytes\n"
                                   "relu,ReLU,1,1,0\n")
        self.assertEqual(sm.make_buckets(layers, sm.MIB), [])
        self.assertAlmostEqual(sm.simulate(layers, 64, config())["step_ms"], 2.0)


class PrototxtRewriteTest(unittest.TestCase):
    def test_data_layer_becomes_input_of_same_shapes(self):
        import tempfile
        net = ('name: "n" # comment\n'
               'layer { name: "data" type: "Data" top: "data" top: "label"\n'
               '  include { phase: TRAIN }\n'
               '  transform_param { scale: 0.5 crop_size: 24 }\n'
               '  data_param { source: "/nonexistent/lmdb" batch_size: 16 } }\n'
               'layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"\n'
               '  inner_product_param { num_output: 3 } }\n')
        with tempfile.NamedTemporaryFile("w", suffix=".prototxt", delete=False) as f:
            f.write(net)
        try:
            text, notes = sm.make_runnable(f.name, data_shape=(3, 32, 32))
            with self.assertRaises(ValueError):
                sm.make_runnable(f.name)
        finally:
            os.unlink(f.name)
        parsed = sm.parse_prototxt(text)
        layer = parsed[1][1]
        self.assertIn(["type", '"Input"'], layer)
        self.assertIn(["include", [["phase", "TRAIN"]]], layer)
        shapes = [v for k, v in dict(layer)["input_param"]]
        self.assertEqual(shapes, [[["dim", "16"], ["dim", "3"], ["dim", "24"], ["dim", "24"]],
                                  [["dim", "16"]]])
        self.assertNotIn("data_param", dict(layer))
        self.assertEqual(len(notes), 1)


if __name__ == "__main__":
    unittest.main()
