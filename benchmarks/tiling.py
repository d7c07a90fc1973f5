"""Exact tiling: seconds per step and peak memory, tiled vs whole-image, and the memory estimate.

    python benchmarks/tiling.py                                   # VGG19, 1024 px off/512/256, 2048 px auto
    python benchmarks/tiling.py --cases=2048:auto --backbone=vgg16 --weights=hed
    python benchmarks/tiling.py --cases=4096:auto --precision=mixed_float16   # on a GPU

A case is ``SIZE:TILE`` (``TILE`` as for ``--tile``: off, auto or pixels) on a square image.
Each case runs in its own process so its peak RSS is its own; the table sets the planner's
estimate next to it. Writes JSON (default benchmarks/tiling.json).
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
    from nst_tf import StylizeConfig, backbones, build_extractor, images, memory, stylize

    config = StylizeConfig(
        size=args.size,
        steps=args.warmup + args.steps,
        backbone=args.backbone,
        weights=args.weights,
        precision=args.precision,
        jit_compile=args.xla == "on",
        tile=args.tile,
    )
    ex = build_extractor(config)
    content = images.resize_to(images.load_image(CONTENT), (args.size, args.size))
    style = images.resize_to(images.load_image(STYLE), (args.size, args.size))
    plan = memory.plan_memory(
        config.tile,
        backbones.resolve_layers(config.content_layers, ex.backbone),
        backbones.resolve_layers(config.style_layers, ex.backbone),
        ex.backbone,
        args.size,
        args.size,
        ex.policy,
    )
    stamps = []
    t0 = time.perf_counter()
    result = stylize(
        content, style, config, extractor=ex, verbose=False, callbacks=[lambda info: stamps.append(time.perf_counter())]
    )
    per_step = [b - a for a, b in zip(stamps[args.warmup - 1 :], stamps[args.warmup :])]
    return {
        "size": args.size,
        "tile": args.tile,
        "backbone": args.backbone,
        "precision": ex.policy,
        "xla": args.xla,
        "plan": plan.describe(),
        "tiles": plan.tiles,
        "first_step_s": round(stamps[0] - t0, 1),
        "step_s_median": round(statistics.median(per_step), 3),
        "steps_timed": len(per_step),
        "final_loss": round(result.history[-1]["total"], 5),
        "estimated_peak_mib": round(plan.need_bytes / 2**20),
        "peak_rss_mib": peak_rss_mib(),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", default="1024:off,1024:512,1024:256,2048:auto")
    p.add_argument("--backbone", default="vgg19")
    p.add_argument("--weights", default=None, help="weights (default: random for vgg19, hed for vgg16)")
    p.add_argument("--precision", default="float32")
    p.add_argument("--xla", default="on")
    p.add_argument("--steps", type=int, default=2, help="timed steps per case")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps (tracing, XLA compile per tile shape)")
    p.add_argument("--json", default=os.path.join(ROOT, "benchmarks", "tiling.json"))
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, help=argparse.SUPPRESS)
    p.add_argument("--tile", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        emit(one(args))
        return 0

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        weights = args.weights or ("hed" if args.backbone == "vgg16" else random_weights(args.backbone, tmp))
        for case in args.cases.split(","):
            size, tile = case.split(":")
            cmd = [
                sys.executable,
                os.path.abspath(__file__),
                "--one",
                f"--size={size}",
                f"--tile={tile}",
                f"--backbone={args.backbone}",
                f"--weights={weights}",
                f"--precision={args.precision}",
                f"--xla={args.xla}",
                f"--steps={args.steps}",
                f"--warmup={args.warmup}",
            ]
            row = run_child(cmd, case)
            if row:
                rows.append(row)
                print(row, flush=True)
    whole = {r["size"]: r["step_s_median"] for r in rows if r["tiles"] == 1}
    print("\n| size | --tile | plan | s/step | x whole-image step | first step s | est. peak MiB | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        ratio = f"{r['step_s_median'] / whole[r['size']]:.2f}" if r["size"] in whole else "-"
        print(
            f"| {r['size']} | {r['tile']} | {r['plan']} | {r['step_s_median']} | {ratio} | {r['first_step_s']} | "
            f"{r['estimated_peak_mib']} | {r['peak_rss_mib']:.0f} |"
        )
    write_json(args.json, {"environment": environment(), "backbone": args.backbone, "results": rows})
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
