"""Optimisation video on a noisy pan (issue #34): nst-stylize's temporal loss (with the noise-aware
motion and mask of nst_tf.video.motion) against the warm start alone.

    python benchmarks/video_optimise_noisy.py        # about 3 minutes on 2 cores

The clip: a diagonal pan (2, 1 px/frame; 10 frames, 128x96) over the held-out rocket.jpg with
fresh noise (sigma 5/255) in every frame (benchmarks/camera_clips.py). Each frame is optimised with the offline
HED VGG16 backbone (40 steps at the first frame, the last scale's steps after). Reported: the
aligned-frame difference of consecutive outputs (the motion is known) and the style distance of the
middle frame, as ratios of the warm start alone (``--temporal_weight=0``). Writes
video_optimise_noisy.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import camera_clips  # noqa: E402
from _common import ROOT, STYLE, environment, write_json  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "video_optimise_noisy.json"))
    args = ap.parse_args()

    from nst_tf import StylizeConfig, build_extractor, metrics, video
    from nst_tf.video import gatys as video_gatys

    rocket = os.path.join(ROOT, "benchmarks", "holdout", "rocket.jpg")
    frames, pairs = camera_clips.make("pan_noise5", rocket, rocket, size=(128, 96), frames=args.frames)
    config = StylizeConfig(size=128, steps=args.steps, backbone="vgg16", weights="hed", precision="float32")
    extractor = build_extractor(config)
    feats = metrics.FeatureMetrics()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "noisy.mp4")
        with video.VideoWriter(src, 12, crf=0) as out:  # near-lossless: the noise stays
            for f in frames:
                out.write(f)
        for name, weight in {"warm start only": 0.0, "temporal loss": 50.0}.items():
            dst = os.path.join(tmp, f"{name.replace(' ', '_')}.mp4")
            t = time.perf_counter()
            video_gatys.stylize_video(src, STYLE, config, dst, weight, extractor=extractor)
            seconds = time.perf_counter() - t
            with video.open_video(dst) as clip:
                outs = [f.astype(np.float32) / 255 for f in clip.frames()]
            rows.append(
                {
                    "method": name,
                    "temporal_weight": weight,
                    "aligned_difference": camera_clips.aligned_difference(outs, pairs),
                    "style_distance": feats.style_distance(outs[len(outs) // 2], STYLE),
                    "seconds_per_frame": seconds / len(outs),
                }
            )
    base = rows[0]
    for r in rows:
        r["aligned_ratio"] = r["aligned_difference"] / base["aligned_difference"]
        r["style_change"] = r["style_distance"] / base["style_distance"] - 1
        print(
            f"{r['method']:26s} aligned difference {r['aligned_difference']:.4f} ({r['aligned_ratio']:.2f}x)  "
            f"style {100 * r['style_change']:+.1f}%  {r['seconds_per_frame']:.1f} s/frame",
            flush=True,
        )
    write_json(args.out, {"rows": rows, "environment": environment(), "command": "python " + " ".join(sys.argv)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
