"""Seconds per Gatys step and peak memory across image sizes, precisions and XLA.

    python benchmarks/step_time.py                       # VGG19 (random weights), 128/256/512 px
    python benchmarks/step_time.py --backbone=vgg16 --weights=hed --sizes=256
    python benchmarks/step_time.py --precisions=float32,mixed_float16 --xla=off,on --steps=5
    python benchmarks/step_time.py --backbone=vgg16 --sizes=256,512 \
        --precisions=auto,float32,mixed_bfloat16 --xla=auto,off,on

``auto`` (precision or XLA) is what a default run chooses on this machine (the XLA choice is
read from, or measured into, the calibration cache); the JSON records what it chose and why.

Each configuration runs in its own subprocess so that its peak RSS is its own. Weights do
not change the arithmetic, so VGG19 runs with a randomly initialised weights file unless
--weights names one. Prints a table and writes JSON (default benchmarks/step_time.json).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

from _common import CONTENT, ROOT, STYLE, emit, environment, peak_rss_mib, random_weights, run_child, write_json


def one(args) -> dict:
    """Time one configuration in this process."""
    from nst_tf import StylizeConfig, build_extractor, images, stylize

    config = StylizeConfig(
        size=args.size,
        steps=args.warmup + args.steps,
        backbone=args.backbone,
        weights=args.weights,
        precision=args.precision,
        jit_compile=args.xla,
    )
    ex = build_extractor(config)
    # A square image of exactly size x size px, so that sizes are comparable.
    content = images.resize_to(images.load_image(CONTENT), (args.size, args.size))
    style = images.resize_to(images.load_image(STYLE), (args.size, args.size))
    stamps = []
    t0 = time.perf_counter()
    result = stylize(
        content, style, config, extractor=ex, verbose=False, callbacks=[lambda info: stamps.append(time.perf_counter())]
    )
    first = stamps[0] - t0
    per_step = [b - a for a, b in zip(stamps[args.warmup - 1 :], stamps[args.warmup :])]
    return {
        "size": args.size,
        "precision": args.precision,
        "xla": args.xla,
        "chosen": result.speed,  # what auto resolved to, and why
        "backbone": args.backbone,
        "first_step_s": round(first, 3),
        "step_s_median": round(statistics.median(per_step), 4),
        "step_s_min": round(min(per_step), 4),
        "steps_timed": len(per_step),
        "peak_rss_mib": peak_rss_mib(),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="128,256,512")
    p.add_argument("--precisions", default="float32,mixed_float16")
    p.add_argument("--xla", default="off,on")
    p.add_argument("--backbone", default="vgg19")
    p.add_argument("--weights", default=None, help="weights (default: random for vgg19, hed for vgg16)")
    p.add_argument("--steps", type=int, default=5, help="timed steps per configuration")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps (tracing, XLA compile)")
    p.add_argument("--json", default=os.path.join(ROOT, "benchmarks", "step_time.json"))
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, help=argparse.SUPPRESS)
    p.add_argument("--precision", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        emit(one(args))
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        weights = args.weights or ("hed" if args.backbone == "vgg16" else random_weights(args.backbone, tmp))
        rows = []
        for size in [int(s) for s in args.sizes.split(",")]:
            for prec in args.precisions.split(","):
                for xla in args.xla.split(","):
                    cmd = [
                        sys.executable,
                        os.path.abspath(__file__),
                        "--one",
                        f"--size={size}",
                        f"--precision={prec}",
                        f"--xla={xla}",
                        f"--backbone={args.backbone}",
                        f"--weights={weights}",
                        f"--steps={args.steps}",
                        f"--warmup={args.warmup}",
                    ]
                    row = run_child(cmd, f"size={size} precision={prec} xla={xla}")
                    if row is None:
                        continue
                    rows.append(row)
                    print(
                        f"{row['size']:>5} px  {row['precision']:<15} XLA {row['xla']:<3}  "
                        f"{row['step_s_median']:8.3f} s/step  (first step {row['first_step_s']:.1f} s)  "
                        f"peak RSS {row['peak_rss_mib']:.0f} MiB",
                        flush=True,
                    )

    env = environment()
    print("\n| size | precision | XLA | s/step (median) | first step s | peak RSS MiB |\n|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['size']} | {r['precision']} | {r['xla']} | {r['step_s_median']:.3f} | "
            f"{r['first_step_s']:.1f} | {r['peak_rss_mib']:.0f} |"
        )
    write_json(
        args.json, {"environment": env, "backbone": args.backbone, "command": " ".join(sys.argv), "results": rows}
    )
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
