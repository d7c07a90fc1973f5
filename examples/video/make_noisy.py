"""Writes noisy.webp (lossless animated WebP): a slow pan (3 px/frame) over
benchmarks/holdout/rocket.jpg (public domain) with fresh sensor noise (sigma 4/255) in every frame,
as a phone records indoors; and, after the two nst-apply runs below, noisy_flicker.jpg: two
consecutive stylised frames and their difference aligned by the motion (brighter = more flicker).

    python examples/video/make_noisy.py clip
    nst-apply --model=arbitrary --style=examples/style/starry_night.jpg --input=examples/video/noisy.webp \\
        --output=examples/video/noisy_starry.webp --overwrite
    nst-apply --model=arbitrary --style=examples/style/starry_night.jpg --input=examples/video/noisy.webp \\
        --output=examples/video/noisy_starry_independent.webp --temporal_blend=0 --temporal_denoise=0 \\
        --noalign_grid --overwrite
    python examples/video/make_noisy.py sheet
"""

import os
import sys

import numpy as np
from PIL import Image, ImageDraw

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
W, H, N, STEP, SIGMA = 160, 112, 16, 3, 4.0


def clip() -> None:
    import camera_clips

    src = camera_clips._source(os.path.join(ROOT, "benchmarks", "holdout", "rocket.jpg"), W + STEP * N, H)
    frames, _ = camera_clips._pan(src, W, H, N, (STEP, 0), SIGMA, np.random.default_rng(4))
    pil = [Image.fromarray(f) for f in frames]
    pil[0].save(os.path.join(HERE, "noisy.webp"), save_all=True, append_images=pil[1:], duration=83, loop=0,
                lossless=True)  # fmt: skip
    print("wrote noisy.webp")


def _frames(name: str) -> list:
    with Image.open(os.path.join(HERE, name)) as im:
        out = []
        for i in range(im.n_frames):
            im.seek(i)
            out.append(np.asarray(im.convert("RGB"), np.float32) / 255)
        return out


def sheet() -> None:
    rows = []
    runs = (("noisy_starry_independent.webp", "frame by frame"), ("noisy_starry.webp", "nst-apply default"))
    for name, label in runs:
        f = _frames(name)
        t = N // 2
        a, b = f[t][:, STEP:], f[t + 1][:, :-STEP]  # frame t+1 at x shows frame t at x + STEP
        flicker = np.mean([np.abs(f[i][:, STEP:] - f[i + 1][:, :-STEP]).mean() for i in range(N - 1)])
        diff = np.clip(np.abs(a - b).mean(-1, keepdims=True).repeat(3, -1) * 4, 0, 1)
        row = np.concatenate([a, b, diff], 1)
        img = Image.fromarray((row * 255).astype(np.uint8))
        ImageDraw.Draw(img).text((4, 4), f"{label}: flicker {flicker:.3f}", fill=(255, 255, 255))
        rows.append(np.asarray(img))
    Image.fromarray(np.concatenate(rows, 0)).save(os.path.join(HERE, "noisy_flicker.jpg"), quality=88)
    print("wrote noisy_flicker.jpg")


if __name__ == "__main__":
    {"clip": clip, "sheet": sheet}[sys.argv[1] if len(sys.argv) > 1 else "clip"]()
