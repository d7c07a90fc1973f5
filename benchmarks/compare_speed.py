"""nst_tf's stylize against the TF tutorial loop and the classic Keras example loop, in one run.

    python benchmarks/compare_speed.py --size=256 --steps=500     # writes benchmarks/compare_speed_256.json

Same content/style, backbone (default: offline VGG16-HED) and image size for all. Reports seconds
per step, peak RSS (each method in its own subprocess), and the wall time nst_tf needs to reach the
tutorial's final quality: both its style distance and its content distance (nst_tf.metrics, on the
fixed VGG16-HED network), checked every --check_every steps (checking time excluded). The Keras
example runs --keras_steps steps for its step time only. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from _common import ROOT, emit, peak_rss_mib, run_child, write_json


class _Reached(KeyboardInterrupt):
    """Ends nst_tf's loop once the target is met (stylize keeps the image, as on Ctrl-C)."""


def _images(args):
    from nst_tf import images

    c = images.resize(images.load_image(args.content), args.size)
    s = images.resize(images.load_image(args.style), args.size)
    return c, s


def run_method(args) -> dict:
    import numpy as np

    from nst_tf import metrics

    c, s = _images(args)
    feats = metrics.FeatureMetrics()
    out = {"method": args.method}
    if args.method in ("tutorial", "keras_example"):
        import reference_loops

        fn = getattr(reference_loops, args.method)
        steps = args.steps if args.method == "tutorial" else args.keras_steps
        t0 = time.perf_counter()
        extra = {"tv_weight": args.tutorial_tv} if args.method == "tutorial" else {}
        img, per_step, _ = fn(c, s, steps, backbone=args.backbone, weights=args.weights, **extra)
        out.update(
            steps=steps,
            wall_s=round(time.perf_counter() - t0, 1),
            s_per_step=round(per_step, 4),
            style_distance=feats.style_distance(img, s),
            content_distance=feats.content_distance(img, c),
        )
    else:
        from nst_tf import StylizeConfig, build_extractor, stylize

        config = StylizeConfig(
            size=args.size,
            steps=args.steps,
            backbone=args.backbone,
            weights=args.weights,
            precision=args.precision,
            jit_compile=args.jit_compile,
            scales=args.scales,
            style_weight=args.style_weight,
        )
        ex = build_extractor(config)
        state = {"excluded": 0.0, "reached": None, "stamps": []}
        t0 = time.perf_counter()

        def check(info):
            now = time.perf_counter()
            state["stamps"].append(now)
            if info.step % args.check_every or info.scale < info.scales:
                return
            elapsed = now - t0 - state["excluded"]  # optimisation time only
            img = info.get_image()
            sd, cd = feats.style_distance(img, s), feats.content_distance(img, c)
            state["excluded"] += time.perf_counter() - now
            if sd <= args.target_style and cd <= args.target_content:
                state["reached"] = (info.step, elapsed, sd, cd)
                raise _Reached()

        result = stylize(c, s, config, extractor=ex, verbose=False, callbacks=[check])
        diffs = np.diff(state["stamps"])
        out.update(speed=result.speed)
        out.update(
            steps=result.steps_done,
            s_per_step=round(float(np.median(diffs[1:])) if len(diffs) > 1 else 0, 4),
            style_distance=feats.style_distance(result.image, s),
            content_distance=feats.content_distance(result.image, c),
        )
        if state["reached"]:
            step, secs, sd, cd = state["reached"]
            out.update(reached_at_step=step, s_to_target=round(secs, 1))
    out["peak_rss_mib"] = round(peak_rss_mib())
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--content", default=os.path.join(ROOT, "examples", "content", "chelsea.jpg"))
    p.add_argument("--style", default=os.path.join(ROOT, "examples", "style", "starry_night.jpg"))
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--steps", type=int, default=500, help="tutorial steps, and nst_tf's maximum")
    p.add_argument("--keras_steps", type=int, default=30, help="Keras-example steps (0: skip it)")
    p.add_argument("--check_every", type=int, default=10)
    p.add_argument(
        "--tutorial_tv",
        type=float,
        default=30.0,
        help="the tutorial's TV weight (30; 0.3 suits the HED backbone, see TF-NOTES)",
    )
    p.add_argument("--scales", type=int, default=1, help="nst_tf's coarse-to-fine stages (--steps each)")
    p.add_argument(
        "--style_weight",
        type=float,
        default=10.0,
        help="nst_tf's style weight (10, its default; lower lands nearer the photo)",
    )
    p.add_argument("--precision", default="auto", help="nst_tf's precision (auto: its default; the loops are float32)")
    p.add_argument("--jit_compile", default="auto", help="nst_tf's XLA setting (auto: its default)")
    p.add_argument("--backbone", default="vgg16")
    p.add_argument("--weights", default="hed")
    p.add_argument("--json", default=None, help="default: benchmarks/compare_speed_<size>.json")
    p.add_argument("--method", default="all", help=argparse.SUPPRESS)
    p.add_argument("--target_style", type=float, default=0.0, help=argparse.SUPPRESS)
    p.add_argument("--target_content", type=float, default=0.0, help=argparse.SUPPRESS)
    args = p.parse_args()
    args.json = args.json or os.path.join(ROOT, "benchmarks", f"compare_speed_{args.size}.json")
    if args.method != "all":
        emit(run_method(args))
        return 0

    # The run's settings, forwarded unchanged to each child and recorded in the JSON.
    settings = {k: v for k, v in vars(args).items() if k not in ("json", "method", "target_style", "target_content")}

    def sub(method, **extra):
        cmd = [sys.executable, os.path.abspath(__file__), f"--method={method}"]
        cmd += [f"--{k}={v}" for k, v in {**settings, **extra}.items()]
        row = run_child(cmd, method)
        if row is None:
            raise SystemExit(f"{method} failed")
        print(row, flush=True)
        return row

    tut = sub("tutorial")
    keras_ex = [sub("keras_example")] if args.keras_steps > 0 else []
    ours = sub("ours", target_style=tut["style_distance"], target_content=tut["content_distance"])
    rows = [tut, *keras_ex, ours]
    print(
        f"\n{args.size} px, {args.backbone} ({args.weights}); nst_tf: {ours.get('speed')}; the loops: float32; "
        f"target = the tutorial's {tut['steps']}-step "
        f"distances (style {tut['style_distance']:.4f}, content {tut['content_distance']:.4f})\n"
    )
    print(
        "| method | steps | s/step | x tutorial step | style dist | content dist | s to tutorial quality "
        "| peak RSS MiB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        reach = r.get("s_to_target", r.get("wall_s") if r["method"] == "tutorial" else None)
        print(
            f"| {r['method']} | {r['steps']} | {r['s_per_step']} | {r['s_per_step'] / tut['s_per_step']:.2f} | "
            f"{r['style_distance']:.4f} | {r['content_distance']:.4f} | {reach} | {r['peak_rss_mib']} |"
        )
    recorded = {**settings, **{k: os.path.relpath(settings[k], ROOT) for k in ("content", "style")}}
    from _common import environment

    write_json(args.json, {**recorded, "environment": environment(), "command": " ".join(sys.argv), "results": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
