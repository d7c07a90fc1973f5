"""johnson_slim against johnson, trained the same way: scores on the held-out photos.

    python benchmarks/slim_quality.py                    # starry_night, 300 steps at 128 px (as three_methods.py)

Trains (or reuses, from --runs) both per-style architectures with three_methods.py's recipe, then
stylises benchmarks/holdout/ at --size px and prints MSE, SSIM, content and style distances and
milliseconds per image for each. Writes JSON and a sheet (photo, johnson, johnson_slim).
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import ROOT, environment, scores, summarise, write_json  # noqa: E402
from three_methods import _train  # noqa: E402

ARCHS = ("johnson", "johnson_slim")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--style", default=os.path.join(ROOT, "examples", "style", "starry_night.jpg"))
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--train_steps", type=int, default=300)
    p.add_argument("--train_size", type=int, default=128)
    p.add_argument("--runs", default=os.path.join(ROOT, "benchmarks", "runs"))
    p.add_argument("--json", default=os.path.join(ROOT, "benchmarks", "slim_quality.json"))
    p.add_argument("--sheet", default=os.path.join(ROOT, "benchmarks", "slim_quality.jpg"))
    args = p.parse_args()

    import numpy as np

    from nst_tf import images, metrics
    from nst_tf.feedforward import open_stylizer

    style = images.load_image(args.style)
    feats = metrics.FeatureMetrics(max_side=args.size)
    nets = {a: open_stylizer(_train(args.style, argparse.Namespace(**{**vars(args), "arch": a}))) for a in ARCHS}
    rows, sheet = [], []
    for ph in sorted(glob.glob(os.path.join(ROOT, "benchmarks", "holdout", "*.jpg"))):
        photo = images.resize(images.load_image(ph), args.size)
        batch = images.to_uint8(photo)[None]
        outs = []
        for arch, net in nets.items():
            net(batch)  # tracing
            t = time.perf_counter()
            out = np.asarray(net(batch)[0], np.float32) / 255.0
            row = {
                "photo": os.path.basename(ph),
                "method": arch,
                "ms": round((time.perf_counter() - t) * 1000, 1),
                **scores(out, photo, style, feats),
            }
            rows.append(row)
            outs.append(out)
            print(row, flush=True)
        sheet.append([photo] + outs)
    summary = summarise(rows, "ms")
    write_json(args.json, {"environment": environment(), "args": vars(args), "rows": rows, "mean": summary})
    images.save_image(
        sheet.contact_sheet(sheet, cell=256, captions=[["photo", *ARCHS]] * len(sheet)), args.sheet, overwrite=True
    )
    print("| arch | ms / image | MSE | SSIM | content distance | style distance |\n|---|---|---|---|---|---|")
    for m, v in summary.items():
        print(f"| {m} | {v['ms']} | {v['mse']} | {v['ssim']} | {v['content_distance']} | {v['style_distance']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
