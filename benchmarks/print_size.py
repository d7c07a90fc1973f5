"""Print size (issue #32): time, peak memory, stroke scale and seams of 24 and 100 megapixel results.

    python benchmarks/print_size.py                      # every case (about 10 minutes on 2 cores)
    python benchmarks/print_size.py --cases=collage:24:1024

Test photos are made here from the bundled 512 px photos, as no larger ones ship with the project
(say so beside every figure): ``collage`` tiles them at their own resolution over the whole
frame (real photographic detail at every pixel); ``grain`` enlarges one (astronaut) and adds
sensor-like noise (sigma 3 grey levels), the detail a camera adds. Both are saved as JPEG q92.

Each case runs ``nst-apply --model=arbitrary`` in a fresh process: wall time end to end (Python,
TensorFlow, network, decoding, painting, writing) and the child's peak RSS. Then, on the 24 MP
results: the print shrunk to the working size against painting at that size directly (style and
content distance, HED VGG16 features), the fine detail it holds (mean absolute gradient) against
that painting simply enlarged, and for the tiled full-resolution run the gradient across tile
borders against everywhere.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import ROOT, environment, write_json  # noqa: E402

CONTENT = os.path.join(ROOT, "examples", "content")
STYLE = os.path.join(ROOT, "examples", "style", "starry_night.jpg")
SIZES = {24: (6000, 4000), 100: (12000, 8000)}
DEFAULT_CASES = "collage:24:1024,grain:24:1024,collage:100:1024,grain:100:1024,collage:24:0"
Image.MAX_IMAGE_PIXELS = None


def make_photo(kind: str, megapixels: int, folder: str) -> str:
    path = os.path.join(folder, f"{kind}_{megapixels}mp.jpg")
    if os.path.exists(path):
        return path
    w, h = SIZES[megapixels]
    if kind == "grain":
        base = Image.open(os.path.join(CONTENT, "astronaut.jpg")).convert("RGB")
        base = base.crop((0, 64, 512, 405)).resize((w, h), Image.LANCZOS)  # 3:2, as cameras shoot
        pixels = np.asarray(base, np.float32)
        rng = np.random.default_rng(0)
        for top in range(0, h, 1000):  # in strips: the noise for 100 MP at once would take 2.4 GB
            strip = pixels[top : top + 1000]
            pixels[top : top + 1000] = strip + rng.normal(0.0, 3.0, strip.shape[:2])[..., None]
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=92)
        return path
    photos = [Image.open(os.path.join(CONTENT, f)).convert("RGB") for f in sorted(os.listdir(CONTENT))]
    canvas, y, i = Image.new("RGB", (w, h)), 0, 0
    while y < h:
        x = 0
        while x < w:
            p = photos[i % len(photos)]
            p = p.transpose(Image.FLIP_LEFT_RIGHT) if (i // len(photos)) % 2 else p
            p = p.resize((round(p.width * 340 / p.height), 340), Image.LANCZOS) if p.height != 340 else p
            canvas.paste(p, (x, y))
            x, i = x + p.width, i + 1
        y += 340
    canvas.save(path, quality=92)
    return path


def run_apply(photo: str, output: str, *flags) -> dict:
    cmd = ["/usr/bin/time", "-f", "PEAK_KIB %M", sys.executable, "-m", "nst_tf.cli.apply_fast", "--model=arbitrary",
           f"--style={STYLE}", f"--input={photo}", f"--output={output}", "--overwrite", *flags]  # fmt: skip
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    wall = time.perf_counter() - t0
    if r.returncode:
        raise SystemExit(f"nst-apply failed:\n{r.stderr[-3000:]}")
    peak = int([line for line in r.stderr.splitlines() if line.startswith("PEAK_KIB")][-1].split()[1])
    painted = [line for line in r.stdout.splitlines() if line.startswith("wrote ")][-1]
    ms = float(painted.split("(1 frame, ")[1].split(" ms")[0])
    return {
        "wall_s": round(wall, 1),
        "painting_s": round(ms / 1000, 1),
        "peak_rss_mib": round(peak / 1024),
        "log": [line for line in r.stdout.splitlines() if "tile" in line or "painting at" in line][:3],
    }


def gradient_energy(image: np.ndarray) -> float:
    a = image.astype(np.float32)
    return float((np.abs(np.diff(a, axis=0)).mean() + np.abs(np.diff(a, axis=1)).mean()) / 2)


def seam_ratio(image: np.ndarray, halo: int, multiple: int, tile: int) -> dict:
    """Mean absolute gradient across the tile borders over that of every row/column."""
    from nst_tf.feedforward.tiled import plan_tiles

    h, w = image.shape[:2]
    tiles = plan_tiles(h + (-h) % multiple, w + (-w) % multiple, tile, halo, multiple)
    rows = sorted({t.core[0] for t in tiles} - {0})
    cols = sorted({t.core[1] for t in tiles} - {0})
    a = image.astype(np.float32)
    dy, dx = np.abs(np.diff(a, axis=0)).mean(axis=(1, 2)), np.abs(np.diff(a, axis=1)).mean(axis=(0, 2))
    across = np.concatenate([dy[[r - 1 for r in rows]], dx[[c - 1 for c in cols]]])
    return {
        "border_gradient": round(float(across.mean()), 3),
        "everywhere_gradient": round(float((dy.mean() + dx.mean()) / 2), 3),
        "ratio": round(float(across.mean() / ((dy.mean() + dx.mean()) / 2)), 3),
        "borders": {"rows": rows, "columns": cols},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=DEFAULT_CASES, help="kind:megapixels:work_size, comma-separated")
    ap.add_argument("--json", default=os.path.join(ROOT, "benchmarks", "print_size.json"))
    ap.add_argument("--folder", default=os.path.join(tempfile.gettempdir(), "nst_print_bench"))
    ap.add_argument("--crops", default=os.path.join(ROOT, "examples", "print_size.jpg"))
    args = ap.parse_args()
    os.makedirs(args.folder, exist_ok=True)
    rows = []
    for case in args.cases.split(","):
        kind, mp, work = case.split(":")
        photo = make_photo(kind, int(mp), args.folder)
        out = os.path.join(args.folder, f"{kind}_{mp}mp_w{work}.jpg")
        row = {"photo": kind, "megapixels": int(mp), "size": SIZES[int(mp)], "work_size": int(work)}
        row.update(run_apply(photo, out, f"--work_size={work}"))
        row["output"] = out
        rows.append(row)
        print(f"{kind} {mp} MP work_size={work}: {row['wall_s']} s end to end, painting {row['painting_s']} s, "
              f"peak RSS {row['peak_rss_mib']} MiB", flush=True)  # fmt: skip
    quality = stroke_scale(rows, args.folder, args.crops)
    payload = {"environment": environment(), "style": STYLE, "cases": rows, "stroke_scale": quality}
    for r in rows:
        r.pop("output")
    write_json(args.json, payload)


def stroke_scale(rows: list, folder: str, crops_path: str) -> dict:
    """Quality of the 24 MP collage results (see the module docstring)."""
    from nst_tf import images, metrics
    from nst_tf.feedforward import print_size, tiled

    done = {(r["photo"], r["megapixels"], r["work_size"]): r["output"] for r in rows}
    out = {}
    feats = metrics.FeatureMetrics(max_side=1024)
    for kind in ("collage", "grain"):
        key = (kind, 24, 1024)
        if key not in done:
            continue
        photo = np.asarray(Image.open(make_photo(kind, 24, folder)).convert("RGB"))
        direct_path = os.path.join(folder, f"{kind}_24mp_at1024.png")
        run_apply(make_photo(kind, 24, folder), direct_path, "--size=1024", "--work_size=0")
        direct = images.load_image(direct_path)
        small_photo = print_size.shrink(photo, 1024)
        big = np.asarray(Image.open(done[key]).convert("RGB"))
        entry = {}
        for name, picture in (("print", print_size.shrink(big, 1024)), ("direct_1024", direct)):
            entry[name] = {
                "style_distance": round(feats.style_distance(picture, STYLE), 4),
                "content_distance": round(feats.content_distance(picture, small_photo), 4),
            }
        if (kind, 24, 0) in done:
            native = np.asarray(Image.open(done[(kind, 24, 0)]).convert("RGB"))
            entry["native_24mp_shrunk"] = {
                "style_distance": round(feats.style_distance(print_size.shrink(native, 1024), STYLE), 4),
                "content_distance": round(feats.content_distance(print_size.shrink(native, 1024), small_photo), 4),
            }
            halo, multiple = 60, 4  # the any-style network's (tiled.receptive_field)
            entry["seams"] = seam_ratio(native, halo, multiple, tiled.DEFAULT_TILE)
            save_crops(photo, big, native, entry["seams"]["borders"], crops_path)
        entry["photo_style_distance"] = round(feats.style_distance(small_photo, STYLE), 4)
        enlarged = print_size.resize_uint8(images.to_uint8(direct), max(photo.shape[:2]))
        entry["gradient_energy"] = {"print": round(gradient_energy(big), 3),
                                    "direct_1024_enlarged": round(gradient_energy(enlarged), 3),
                                    "photo": round(gradient_energy(photo), 3)}  # fmt: skip
        out[kind] = entry
        print(kind, entry, flush=True)
    return out


def save_crops(photo, big, native, borders, path) -> None:
    """A 100% crop of the photo, the print and the full-resolution tiled result centred on a tile
    corner, above the three pictures whole."""
    y, x = borders["rows"][0], borders["columns"][0]
    box = (slice(y - 200, y + 200), slice(x - 300, x + 300))
    crops = [Image.fromarray(a[box]) for a in (photo, big, native)]
    wholes = [Image.fromarray(a).resize((600, 400), Image.LANCZOS) for a in (photo, big, native)]
    sheet = Image.new("RGB", (3 * 600 + 20, 820), "white")
    for i, (whole, crop) in enumerate(zip(wholes, crops)):
        sheet.paste(whole, (i * 610, 0))
        sheet.paste(crop, (i * 610, 420))
    sheet.save(path, quality=88)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
