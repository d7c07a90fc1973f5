"""Steps and seconds to a finished image: today's defaults against the reference quality.

    python benchmarks/time_to_quality.py                      # 256 px, four pairs, offline backbone
    python benchmarks/time_to_quality.py --size=512 --reference_steps=80

For each (content, style) pair: the *reference* is the earlier default run (float32, Adam 0.02 with
Keras' beta_2 0.999, ExponentialDecay 100 / 0.9) for --reference_steps steps; its style and content distances
(``nst_tf.metrics`` on the fixed VGG16-HED network) are the quality to reach. The *default*
run (``StylizeConfig()`` defaults at this size: precision and XLA ``auto``, any other setting
as its field says, plus --candidate overrides) is checked every --check_every steps (checking
time excluded) until both distances are no higher. Then, for the process-start figure, the CLI
``nst-stylize`` runs in a fresh process for that many steps and its wall time is taken (the
XLA calibration cache is warmed first, as after a first run on a machine).
Prints a table and writes JSON (default benchmarks/time_to_quality.json).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from _common import ROOT, environment, write_json

PAIRS = (
    "examples/content/chelsea.jpg:examples/style/starry_night.jpg,"
    "examples/content/astronaut.jpg:examples/style/great_wave.jpg,"
    "benchmarks/holdout/grace_hopper.jpg:examples/style/the_scream.jpg,"
    "benchmarks/holdout/rocket.jpg:examples/style/starry_night.jpg"
)


class _Reached(KeyboardInterrupt):
    """Stops the run once the target is met (stylize keeps the image, as on Ctrl-C)."""


def _common_fields(args) -> dict:
    return dict(size=args.size, backbone=args.backbone, weights=args.weights)


def _run(config, content, style, extractor, feats, c, s, target=None, check_every=10):
    from nst_tf import stylize

    state = {"t0": time.perf_counter(), "excluded": 0.0, "reached": None, "trace": []}

    def check(info):
        if info.scale < info.scales or (info.step % check_every and info.step != info.steps):
            return
        now = time.perf_counter()
        img = info.get_image()
        sd, cd = feats.style_distance(img, s), feats.content_distance(img, c)
        state["trace"].append((info.step, round(sd, 4), round(cd, 3)))
        state["excluded"] += time.perf_counter() - now
        if target and sd <= target[0] and cd <= target[1] and state["reached"] is None:
            state["reached"] = (info.step, round(now - state["t0"] - state["excluded"], 1), sd, cd)
            raise _Reached()

    result = stylize(content, style, config, extractor=extractor, verbose=False, callbacks=[check])
    return result, state


def _cli_seconds(content, style, args, steps, extra) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "nst_tf.cli.stylize",
            f"--content={content}",
            f"--style={style}",
            f"--output={os.path.join(tmp, 'out.jpg')}",
            f"--size={args.size}",
            f"--steps={steps}",
            f"--backbone={args.backbone}",
            f"--weights={args.weights}",
            *extra,
        ]
        t0 = time.perf_counter()
        r = subprocess.run(
            cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        )
        seconds = time.perf_counter() - t0
        if r.returncode:
            raise SystemExit(f"nst-stylize failed:\n{r.stderr[-2000:]}")
        return round(seconds, 1)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pairs", default=PAIRS, help="content:style pairs, comma-separated (paths from the repo root)")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--reference_steps", type=int, default=80)
    p.add_argument("--max_steps", type=int, default=160)
    p.add_argument("--check_every", type=int, default=5)
    p.add_argument("--candidate", default="{}", help="JSON of StylizeConfig overrides for the default run")
    p.add_argument("--backbone", default="vgg16")
    p.add_argument("--weights", default="hed")
    p.add_argument("--json", default=os.path.join(ROOT, "benchmarks", "time_to_quality.json"))
    args = p.parse_args()

    from nst_tf import StylizeConfig, build_extractor, images, metrics

    overrides = json.loads(args.candidate)
    feats = metrics.FeatureMetrics()
    reference_cfg = StylizeConfig(
        steps=args.reference_steps,
        precision="float32",
        jit_compile="off",
        learning_rate=0.02,
        decay_steps=100,
        decay_rate=0.9,
        adam_beta_2=0.999,
        **_common_fields(args),
    )
    default_cfg = StylizeConfig(steps=args.max_steps, **_common_fields(args), **overrides)
    ref_ex, def_ex = build_extractor(reference_cfg), build_extractor(default_cfg)
    rows = []
    for pair in args.pairs.split(","):
        content, style = (os.path.join(ROOT, x) for x in pair.split(":"))
        c = images.resize(images.load_image(content), args.size)
        s = images.resize(images.load_image(style), args.size)
        ref, ref_state = _run(reference_cfg, content, style, ref_ex, feats, c, s, check_every=args.reference_steps)
        target = (feats.style_distance(ref.image, s), feats.content_distance(ref.image, c))
        new, state = _run(default_cfg, content, style, def_ex, feats, c, s, target, args.check_every)
        row = {
            "pair": pair,
            "reference_steps": args.reference_steps,
            "reference_s": round(ref.seconds, 1),
            "target_style": round(target[0], 4),
            "target_content": round(target[1], 3),
            "default_speed": new.speed,
            "trace": state["trace"],
        }
        if state["reached"]:
            step, secs, sd, cd = state["reached"]
            row.update(reached_step=step, reached_s=secs, style=round(sd, 4), content=round(cd, 3))
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "trace"}), flush=True)

    # Process start to a finished image, by the CLI, with the calibration cache warm.
    first = rows[0]
    content, style = first["pair"].split(":")
    flag_overrides = [f"--{k}={v}" for k, v in overrides.items()]
    _cli_seconds(content, style, args, 1, flag_overrides)  # warms the XLA calibration cache
    cli = {
        "reference_steps_s": _cli_seconds(
            content,
            style,
            args,
            args.reference_steps,
            ["--precision=float32", "--jit_compile=on", "--adam_beta_2=0.999"],
        ),
        "default_at_reference_steps_s": _cli_seconds(content, style, args, args.reference_steps, flag_overrides),
    }
    if "reached_step" in first:
        cli["default_at_reached_step_s"] = _cli_seconds(content, style, args, first["reached_step"], flag_overrides)

    print(
        f"\n{args.size} px, {args.backbone} ({args.weights}); reference: float32 Adam 0.02 for "
        f"{args.reference_steps} steps; default: {rows[0]['default_speed']}\n"
    )
    print("| pair | target style / content | reference s | default reaches it at step | optimisation s |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['pair']} | {r['target_style']} / {r['target_content']} | {r['reference_s']} | "
            f"{r.get('reached_step', 'not within ' + str(args.max_steps))} | {r.get('reached_s', '-')} |"
        )
    print(f"\nprocess start to finished image ({first['pair']}): {cli}")
    write_json(
        args.json,
        {
            "environment": environment(),
            "command": " ".join(sys.argv),
            "size": args.size,
            "candidate": overrides,
            "results": rows,
            "cli_wall_s": cli,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
