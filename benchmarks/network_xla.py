"""nst-apply --model=arbitrary on a folder of photos with --jit_compile=auto, on and off: whole
command time and the network's ms per image, as a user runs it (issue #37's case: nine 512 px
photos). The photos are the held-out ones (benchmarks/holdout, never used for tuning) and the
examples, resized and repeated to --count.

    python benchmarks/network_xla.py                      # 9 photos at 512 px
    python benchmarks/network_xla.py --count=60 --size=384

Each setting runs in a fresh process; ``auto (first)`` starts with an empty calibration cache (it
measures once), ``auto (cached)`` reads it. Prints a table and writes benchmarks/network_xla.json.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile
import time

from _common import ROOT, environment, write_json


def photos(folder: str, count: int, size: int) -> None:
    from nst_tf import images

    sources = sorted(glob.glob(os.path.join(ROOT, "benchmarks", "holdout", "*.jpg")))
    sources += sorted(glob.glob(os.path.join(ROOT, "examples", "content", "*.jpg")))
    for i in range(count):
        img = images.resize(images.load_image(sources[i % len(sources)]), size)
        images.save_image(img, os.path.join(folder, f"p{i:03d}.jpg"))


def run(folder: str, out: str, jit: str, cache: str) -> dict:
    cmd = [sys.executable, "-m", "nst_tf.cli.apply_fast", "--model=arbitrary", f"--input={folder}",
           f"--output={out}", f"--style={os.path.join(ROOT, 'examples', 'style', 'starry_night.jpg')}",
           f"--jit_compile={jit}", "--overwrite"]  # fmt: skip
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, NST_TF_CACHE=cache))
    wall = time.perf_counter() - t0
    if r.returncode:
        raise SystemExit(f"{jit}: {r.stderr[-2000:]}")
    per_image = [float(ms) for ms in re.findall(r"\(\d+ frames?, (\d+) ms per frame\)", r.stdout)]
    header = next((line for line in r.stdout.splitlines() if line.startswith("any-style network")), "")
    return {"wall_s": round(wall, 2), "ms_per_image": round(sum(per_image) / len(per_image), 1), "header": header}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=9)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--json", default=os.path.join(ROOT, "benchmarks", "network_xla.json"))
    args = p.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder, cache = os.path.join(tmp, "photos"), os.path.join(tmp, "cache")
        os.makedirs(folder)
        photos(folder, args.count, args.size)
        for label, jit in (("auto (first)", "auto"), ("auto (cached)", "auto"), ("on", "on"), ("off", "off")):
            rows[label] = run(folder, os.path.join(tmp, "out"), jit, cache)
    print(f"\n{args.count} photos at {args.size} px, nst-apply --model=arbitrary ({environment()['device']})\n")
    print("| --jit_compile | command s | ms per image | chosen |\n|---|---|---|---|")
    for label, row in rows.items():
        chosen = row["header"].split("), ", 1)[-1] if label.startswith("auto") else "-"
        print(f"| {label} | {row['wall_s']} | {row['ms_per_image']} | {chosen} |")
    write_json(args.json, {"environment": environment(), "count": args.count, "size": args.size, "rows": rows})


if __name__ == "__main__":
    main()
