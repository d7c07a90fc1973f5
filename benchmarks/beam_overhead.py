"""Pipeline overhead: nst-apply-beam on the DirectRunner against nst-apply on the same images.

    python benchmarks/beam_overhead.py                    # 50 photos, 256 px, any-style network
    python benchmarks/beam_overhead.py --images=200 --size=512 --repeats=3

The photos are crops of the example and held-out photos (all --size px on the longer side, so
both commands batch them the same way), written once to a temporary folder. Each command runs
as a fresh process to the end, --repeats times (the best is kept): wall time from start to exit,
including TensorFlow start-up and building the network, and images per second from that. The
stylisation itself is the same code in both (one style vector, the same network, XLA as given).
Writes beam_overhead.json.
"""

from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import ROOT, STYLE, environment, write_json  # noqa: E402


def _photos(folder: str, n: int, size: int) -> None:
    from nst_tf import images

    sources = sorted(
        glob.glob(os.path.join(ROOT, "examples", "content", "*.jpg"))
        + glob.glob(os.path.join(ROOT, "benchmarks", "holdout", "*.jpg"))
    )
    loaded = [images.load_image(p) for p in sources]
    for i in range(n):
        src = loaded[i % len(loaded)]
        h, w = src.shape[:2]
        side = int(min(h, w) * (0.6 + 0.3 * ((i * 7) % 5) / 4))
        y, x = (i * 37) % max(1, h - side), (i * 53) % max(1, w - side)
        crop = src[y : y + side, x : x + int(side * 4 / 3)]
        images.save_image(images.resize_to(crop, (size * 3 // 4, size)), os.path.join(folder, f"p{i:04d}.jpg"))


def _time(cmd: list) -> float:
    t = time.perf_counter()
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} failed:\n{r.stderr[-3000:]}")
    return seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=50)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--jit_compile", default="off", choices=("on", "off"))
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "beam_overhead.json"))
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        photos = os.path.join(tmp, "photos")
        os.makedirs(photos)
        _photos(photos, args.images, args.size)
        common = [f"--style={STYLE}", "--model=arbitrary", f"--jit_compile={args.jit_compile}", "--batch_size=4"]
        commands = {
            "nst-apply": lambda out: [
                sys.executable,
                "-m",
                "nst_tf.cli.apply_fast",
                f"--input={photos}",
                f"--output={out}",
                *common,
            ],
            "nst-apply-beam (DirectRunner)": lambda out: [
                sys.executable,
                "-m",
                "nst_tf.cli.apply_beam",
                f"--input={photos}",
                f"--output={out}",
                *common,
                "--runner=DirectRunner",
            ],
        }
        for name, make in commands.items():
            times = []
            for r in range(args.repeats):
                out = os.path.join(tmp, f"out_{len(rows)}_{r}")
                times.append(_time(make(out)))
                assert len(glob.glob(os.path.join(out, "*.jpg"))) == args.images, f"{name} wrote too few images"
            best = min(times)
            rows.append(
                {
                    "command": name,
                    "seconds": [round(t, 2) for t in times],
                    "best_s": round(best, 2),
                    "images_per_s": round(args.images / best, 2),
                }
            )
            print(
                f"{name:32s} best {best:6.1f} s  {args.images / best:6.2f} images/s  (runs: "
                f"{', '.join(f'{t:.1f}' for t in times)} s)",
                flush=True,
            )
    ratio = rows[1]["images_per_s"] / rows[0]["images_per_s"]
    print(f"\nBeam / nst-apply throughput: {ratio:.2f} (target >= 0.85)")
    write_json(
        args.out,
        {
            "images": args.images,
            "size": args.size,
            "jit_compile": args.jit_compile,
            "rows": rows,
            "beam_over_apply": round(ratio, 3),
            "environment": environment(),
            "command": "python benchmarks/beam_overhead.py " + " ".join(sys.argv[1:]),
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
