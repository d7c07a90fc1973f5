"""Wall time to reach the same loss: L-BFGS vs Adam (and optionally multi-scale Adam).

    python benchmarks/lbfgs_vs_adam.py                    # offline backbone, 256 px
    python benchmarks/lbfgs_vs_adam.py --size=512 --adam_steps=300 --lbfgs_steps=150

Runs Adam for --adam_steps, then L-BFGS for --lbfgs_steps on the same content, style,
backbone and loss, records loss against wall time (after the first, tracing step), and reports
when each first reaches Adam's final loss. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def trajectory(content, style, config, extractor):
    from nst_tf import stylize

    points = []

    def record(info):
        now = time.perf_counter()
        points.append((now, info.losses["total"]))

    start = time.perf_counter()
    stylize(content, style, config, extractor=extractor, verbose=False, callbacks=[record])
    # Count time from the start, so tracing/compilation is included for both optimisers.
    return [(t - start, loss) for t, loss in points]


def first_time_below(points, target):
    for t, loss in points:
        if loss <= target:
            return t
    return None


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--content", default=os.path.join(ROOT, "examples", "content", "chelsea.jpg"))
    p.add_argument("--style", default=os.path.join(ROOT, "examples", "style", "starry_night.jpg"))
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--backbone", default="vgg16")
    p.add_argument("--weights", default="hed")
    p.add_argument("--init", default="content", help="content or noise")
    p.add_argument("--adam_steps", type=int, default=200)
    p.add_argument("--lbfgs_steps", type=int, default=100)
    p.add_argument("--json", default=os.path.join(ROOT, "benchmarks", "lbfgs_vs_adam.json"))
    args = p.parse_args()

    from nst_tf import StylizeConfig, build_extractor

    base = StylizeConfig(
        size=args.size, backbone=args.backbone, weights=args.weights, precision="float32", init=args.init
    )
    extractor = build_extractor(base)
    runs = {}
    runs["adam"] = trajectory(args.content, args.style, base.replace(steps=args.adam_steps), extractor)
    runs["lbfgs"] = trajectory(
        args.content, args.style, base.replace(optimizer="lbfgs", steps=args.lbfgs_steps), extractor
    )
    target = runs["adam"][-1][1]
    rows = []
    for name, points in runs.items():
        reach = first_time_below(points, target)
        rows.append(
            {
                "optimizer": name,
                "steps": len(points),
                "wall_s": round(points[-1][0], 2),
                "final_loss": round(points[-1][1], 5),
                "s_to_adam_final_loss": None if reach is None else round(reach, 2),
            }
        )
    print(
        f"content {os.path.basename(args.content)}, style {os.path.basename(args.style)}, "
        f"{args.size} px, {args.backbone} ({args.weights}), float32, init {args.init}; "
        f"target = Adam's final loss {target:.4f}\n"
    )
    print("| optimizer | steps | wall s | final loss | s to reach Adam's final loss |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['optimizer']} | {r['steps']} | {r['wall_s']} | {r['final_loss']} | {r['s_to_adam_final_loss']} |")
    with open(args.json, "w") as fh:
        json.dump(
            {
                "size": args.size,
                "init": args.init,
                "backbone": args.backbone,
                "weights": args.weights,
                "target": target,
                "results": rows,
                "trajectories": runs,
            },
            fh,
            indent=1,
        )
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
