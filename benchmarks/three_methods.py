"""Optimisation vs per-style network vs any-style network, on every example style.

    python benchmarks/three_methods.py                      # trains 3 per-style networks first (cached)
    python benchmarks/three_methods.py --recipe=none --arch=johnson_slim --train_steps=300

For each painting in examples/style/: a per-style network trained on the three photos of
examples/content/ with ``nst-train-fast --flagfile=--recipe`` (default flags/distill.flags: the
compact network distilled from the any-style network); with ``--recipe=none`` the perceptual-loss
recipe instead (--arch, --train_steps at --train_size px). The workdirs are kept under --runs and
reused, with their training time. Then on the held-out photos of benchmarks/holdout/ (never seen in training):
Gatys optimisation (``nst_tf.stylize``, --optimize_steps), the per-style network and the any-style
network (Magenta's published weights), all at --size px on the offline VGG16-HED network. Scores:
MSE and SSIM against the photo, content and style distances (``nst_tf.metrics``), seconds per image
(the networks: best of 3 after a warm-up, style encoded once; optimisation: one run), and the two
networks' milliseconds per image at --speed_size px at their defaults (precision and XLA chosen
by measurement on this machine; median of 15 calls taken in turn, after 3 warm-up calls each).
Writes JSON, a bar chart and a contact sheet (photo, painting, the three results).
"""

from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import ROOT, bar_chart, environment, scores, summarise, write_json  # noqa: E402

METHODS = ("optimisation", "per-style network", "any-style network")


def _train(style: str, args) -> tuple:
    """(workdir, training seconds) of the per-style network for ``style``, trained unless kept."""
    name = os.path.splitext(os.path.basename(style))[0]
    recipe = os.path.splitext(os.path.basename(args.recipe))[0] if args.recipe != "none" else None
    workdir = os.path.join(args.runs, f"{recipe}_{name}" if recipe else f"{args.arch}_{args.train_steps}_{name}")
    timing = os.path.join(workdir, "train_seconds.txt")
    if os.path.isdir(os.path.join(workdir, "saved_model")):
        print(f"reusing {workdir}", flush=True)
        return workdir, float(open(timing).read()) if os.path.isfile(timing) else None
    cmd = [sys.executable, "-m", "nst_tf.cli.train_fast", f"--style={style}", f"--workdir={workdir}", "--weights=hed"]
    cmd += [f"--data_dir={os.path.join(ROOT, 'examples', 'content')}"]
    if recipe:
        cmd += [f"--flagfile={args.recipe}"]
    else:
        cmd += [f"--arch={args.arch}", f"--steps={args.train_steps}", f"--image_size={args.train_size}",
                "--batch_size=4", "--backbone=vgg16", f"--checkpoint_every={args.train_steps}"]  # fmt: skip
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    seconds = time.perf_counter() - t
    with open(timing, "w") as fh:
        fh.write(f"{seconds:.1f}")
    print(f"trained {workdir} in {seconds:.0f} s", flush=True)
    return workdir, seconds


def _interleaved_median_ms(fns: dict, repeats: int = 15) -> dict:
    """Median ms per call of each function, timed in turn (a, b, a, b, ...) after 3 warm-up calls
    each, so that a slow start of the process or a busy moment of the VM falls on all of them."""
    import statistics

    for fn in fns.values():
        for _ in range(3):
            fn()
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    return {k: round(statistics.median(v) * 1000, 1) for k, v in times.items()}


def _best_of(fn, repeats: int = 3):
    out = fn()  # warm-up (tracing)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return out, min(times)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--optimize_steps", type=int, default=120)
    p.add_argument("--recipe", default=os.path.join(ROOT, "flags", "distill.flags"), help="flagfile, or none")
    p.add_argument("--speed_size", type=int, default=512)
    p.add_argument("--arch", default="johnson_slim")
    p.add_argument("--train_steps", type=int, default=300)
    p.add_argument("--train_size", type=int, default=128)
    p.add_argument("--runs", default=os.path.join(ROOT, "benchmarks", "runs"))
    p.add_argument("--json", default=os.path.join(ROOT, "benchmarks", "three_methods.json"))
    p.add_argument("--chart", default=os.path.join(ROOT, "benchmarks", "three_methods.png"))
    p.add_argument("--sheet", default=os.path.join(ROOT, "examples", "three_methods.jpg"))
    args = p.parse_args()

    import numpy as np

    from nst_tf import StylizeConfig, build_extractor, images, metrics, stylize
    from nst_tf import sheet as sheets
    from nst_tf.feedforward import ArbitraryStylizer, open_stylizer

    styles = sorted(glob.glob(os.path.join(ROOT, "examples", "style", "*.jpg")))
    photos = sorted(glob.glob(os.path.join(ROOT, "benchmarks", "holdout", "*.jpg")))
    trained = {s: _train(s, args) for s in styles}
    workdirs = {s: w for s, (w, _) in trained.items()}

    config = StylizeConfig(size=args.size, steps=args.optimize_steps, backbone="vgg16", weights="hed")
    extractor = build_extractor(config)
    anystyle = ArbitraryStylizer("auto", jit_compile="auto", n_images=len(photos))
    feats = metrics.FeatureMetrics(max_side=args.size)
    rows, cells, captions = [], [], []
    for s in styles:
        style = images.load_image(s)
        per_style = open_stylizer(workdirs[s], jit_compile="auto", n_images=len(photos))
        vector = anystyle.style_vector(style)
        for ph in photos:
            photo = images.resize(images.load_image(ph), args.size)
            outs, secs = {}, {}
            t = time.perf_counter()
            outs["optimisation"] = stylize(photo, style, config, extractor=extractor, verbose=False).image
            secs["optimisation"] = time.perf_counter() - t
            batch = images.to_uint8(photo)[None]
            out, secs["per-style network"] = _best_of(lambda: per_style(batch))
            outs["per-style network"] = np.asarray(out[0], np.float32) / 255.0
            outs["any-style network"], secs["any-style network"] = _best_of(lambda: anystyle.transfer(photo, vector))
            for m in METHODS:
                out = outs[m]
                row = {
                    "photo": os.path.basename(ph),
                    "style": os.path.basename(s),
                    "method": m,
                    "seconds": round(secs[m], 3),
                    **scores(out, photo, style, feats),
                }
                rows.append(row)
                print(row, flush=True)
            cells.append([photo, images.resize(style, args.size)] + [outs[m] for m in METHODS])
            minutes = trained[s][1] and f" ({trained[s][1] / 60:.0f} min training)"
            named = [m + (minutes or "") if m == "per-style network" else m for m in METHODS]
            captions.append([os.path.basename(ph), os.path.basename(s)] + named)

    square = images.to_uint8(np.random.default_rng(0).uniform(size=(args.speed_size, args.speed_size, 3)))[None]
    first = open_stylizer(workdirs[styles[0]])  # at its defaults, as nst-apply opens it for one photo
    any_style_run = anystyle.stylizer(vector)
    speed = _interleaved_median_ms(
        {"per-style network": lambda: first(square), "any-style network": lambda: any_style_run(square)}
    )
    speed["per-style network opened as"] = first.description
    print(f"ms per {args.speed_size} px image: {speed}", flush=True)
    summary = summarise(rows, "seconds")
    write_json(
        args.json,
        {
            "environment": environment(),
            "args": vars(args),
            "rows": rows,
            "mean": summary,
            "anystyle": anystyle.describe(),
            "training_seconds": {os.path.basename(s): t for s, (_, t) in trained.items()},
            f"ms_per_image_{args.speed_size}px": speed,
            "extractor": extractor.describe(),
        },
    )
    images.save_image(sheets.contact_sheet(cells, cell=192, captions=captions), args.sheet, overwrite=True)
    bar_chart(summary, ("seconds", "ssim", "content_distance", "style_distance"), args.chart, log_keys=("seconds",))
    print(f"\nmeans over {len(photos)} held-out photos x {len(styles)} styles at {args.size} px")
    print("| method | s / image (median) | MSE | SSIM | content distance | style distance |\n|---|---|---|---|---|---|")
    for m, v in summary.items():
        print(f"| {m} | {v['seconds']} | {v['mse']} | {v['ssim']} | {v['content_distance']} | {v['style_distance']} |")
    print(f"wrote {args.json}, {args.chart}, {args.sheet}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
