#!/usr/bin/python3
"""onnxruntime peer for bench/engine-alexnet.sh: inference on the ONNX model
kiln-bench-net exported (KILN_BENCH_ONNX), so both sides run the very same
network and weights. Random input, one untimed run, then INFER_STEPS timed
runs on THREADS intra-op threads (sequential execution, all graph
optimizations). Prints "key value" lines like kiln-bench-net.

Usage: engine-ort.py MODEL.onnx BATCH INFER_STEPS THREADS
Needs onnxruntime and numpy (for the benchmark only: a venv, never CI);
exits 2 without them."""
import sys
import time

try:
    import numpy as np
    import onnxruntime as ort
except ImportError as e:
    print("missing %s: python3 -m venv /tmp/ort && /tmp/ort/bin/pip install onnxruntime numpy" % e.name,
          file=sys.stderr)
    sys.exit(2)


def main():
    model, batch, steps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    shape = session.get_inputs()[0].shape
    x = np.random.default_rng(1).uniform(-1, 1, (batch, *shape[1:])).astype(np.float32)
    feed = {session.get_inputs()[0].name: x}
    session.run(None, feed)
    t = time.perf_counter()
    for _ in range(steps):
        session.run(None, feed)
    seconds = (time.perf_counter() - t) / steps
    print("ort_version", ort.__version__)
    print("infer_images_per_s %.3f" % (batch / seconds))


if __name__ == "__main__":
    main()
