"""Video: flicker (warping error) and speed of the any-style network, frame by frame vs blended along the flow.

    python benchmarks/video_temporal.py                       # 2 held-out clips, 48 frames, 256 px
    python benchmarks/video_temporal.py --frames=96 --weights=0.4,0.6,0.8

The clips are camera moves over the held-out photos (a diagonal pan over rocket.jpg, a vertical
pan over grace_hopper.jpg; 256x192 / 192x256 px): real photo content with a known, smooth motion;
and a simulated handheld phone shot over rocket.jpg (zoom and turn with shake, exposure wobble and
sensor noise; handheld_clip).
Each clip is stylised with Starry Night by the any-style network (the style vector made once),
in batches of 4 as nst-apply does, then either kept as is (independent frames) or passed through
nst_tf.temporal.TemporalBlender (DIS flow both ways, occlusion mask, blend). Reported per clip
and weight: the warping error (Lai et al. 2018, nst_tf.temporal) of the output and of the input,
the mean style and content distances of every 4th frame (nst_tf.metrics on VGG16-HED), and frames
per second of stylising + flow + blending after a warm-up (decoding and encoding not included).
With ``--align_grid=off,on`` (the default) each clip is also painted with its frames kept on the
network's stride grid (nst_tf.video.grid, what nst-apply does by default). ``--denoise=0.7 --hold``:
the blended rows prepare the photos as nst-apply does by default (denoised and held along the
motion before painting). Writes video_temporal.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import ROOT, STYLE, environment, write_json  # noqa: E402

CLIPS = {
    "rocket_pan": ("rocket.jpg", (256, 192), (3, 1)),
    "grace_hopper_pan": ("grace_hopper.jpg", (192, 256), (1, 4)),
    "rocket_handheld": ("rocket.jpg", (256, 192), None),
}


def handheld_clip(src: np.ndarray, size: tuple, frames: int, seed: int = 0) -> list:
    """What a phone held in the hand records, roughly: a slow zoom (1.0 -> 1.25) and turn (4 degrees)
    with hand shake (a random walk of about 2 px and 0.3 degrees a frame), exposure wobble (+-3%)
    and sensor noise (sigma 2/255), then rounded to 8 bits. Not a real clip: none is available here."""
    import cv2

    rng = np.random.default_rng(seed)
    w, h = size
    base = cv2.resize(src, (int(w * 1.4), int(h * 1.4)), interpolation=cv2.INTER_AREA)
    cx, cy = base.shape[1] / 2, base.shape[0] / 2
    shake, turn, out = np.zeros(2), 0.0, []
    for i in range(frames):
        t = i / max(1, frames - 1)
        shake = 0.8 * shake + rng.normal(0, 2.0, 2)
        turn = 0.8 * turn + rng.normal(0, 0.3)
        m = cv2.getRotationMatrix2D((cx, cy), 4 * t + turn, 1.0 + 0.25 * t)
        m[:, 2] += np.array([w / 2 - cx, h / 2 - cy]) + shake
        frame = cv2.warpAffine(base, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        frame = frame * (1 + 0.03 * np.sin(i * 1.7)) + rng.normal(0, 2 / 255, frame.shape)
        out.append(np.clip(frame, 0, 1).astype(np.float32))
    return out


def make_clip(name: str, frames: int) -> list:
    from nst_tf import images

    file, (w, h), step = CLIPS[name]
    if step is None:
        src = images.load_image(os.path.join(ROOT, "benchmarks", "holdout", file))
        return [images.to_uint8(f) for f in handheld_clip(src, (w, h), frames)]
    dx, dy = step
    src = images.load_image(os.path.join(ROOT, "benchmarks", "holdout", file))
    need_w, need_h = w + dx * frames, h + dy * frames
    scale = max(need_w / src.shape[1], need_h / src.shape[0], 1.0)
    if scale > 1.0:
        src = images.resize_to(src, (int(np.ceil(src.shape[0] * scale)), int(np.ceil(src.shape[1] * scale))))
    return [images.to_uint8(src[dy * i : dy * i + h, dx * i : dx * i + w]) for i in range(frames)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--weights", default="0.5", help="temporal weights to compare with independent frames")
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--score_every", type=int, default=4, help="style/content distances of every Nth frame")
    ap.add_argument("--align_grid", default="off,on", help="frames kept on the network's stride grid: off, on or both")
    ap.add_argument("--denoise", type=float, default=0.0, help="the blend's --temporal_denoise (nst-apply: 0.7)")
    ap.add_argument("--hold", action="store_true", help="the blend's --temporal_hold (nst-apply's default)")
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "video_temporal.json"))
    args = ap.parse_args()

    from nst_tf import images, metrics
    from nst_tf.feedforward.anystyle_stylizer import ArbitraryStylizer
    from nst_tf.video import temporal

    net = ArbitraryStylizer(args.precision)
    print(net.describe(), flush=True)
    run = net.stylizer(net.style_vector(STYLE))
    feats = metrics.FeatureMetrics()
    rows = []
    from nst_tf.video.grid import GridAligner, stylize_aligned
    from nst_tf.video.stream import paint_in_order

    def in_fours(frames):
        return [o for s in range(0, len(frames), 4) for o in run(np.stack(frames[s : s + 4]))]

    for clip, align in [(c, a == "on") for c in CLIPS for a in args.align_grid.split(",")]:
        frames = make_clip(clip, args.frames)
        run(np.stack(frames[:4]))  # warm-up (tracing)
        t = time.perf_counter()
        styled = stylize_aligned(frames, GridAligner(4), in_fours) if align else in_fours(frames)
        t_net = time.perf_counter() - t
        input_error = temporal.warping_error(frames, frames)
        for weight in [0.0] + [float(w) for w in args.weights.split(",")]:
            t = time.perf_counter()
            if weight > 0 and (args.denoise or args.hold):  # the photos are prepared before painting
                blender = temporal.TemporalBlender(weight, denoise=args.denoise, hold=args.hold)
                photos = lambda ps: [images.to_uint8(p) for p in ps]  # noqa: E731
                paint = (
                    (lambda ps: stylize_aligned(photos(ps), GridAligner(4), in_fours))
                    if align
                    else (lambda ps: in_fours(photos(ps)))
                )
                floats = [f.astype(np.float32) / 255.0 for f in frames]
                out = [images.to_uint8(o) for o in paint_in_order(floats, paint, blender)]
                seconds = time.perf_counter() - t
            else:
                blender = temporal.TemporalBlender(weight)
                out = [images.to_uint8(blender(f.astype(np.float32) / 255.0, s)) for f, s in zip(frames, styled)]
                seconds = t_net + time.perf_counter() - t
            row = {
                "clip": clip,
                "align_grid": align,
                "temporal_weight": weight,
                "frames": len(frames),
                "size": f"{frames[0].shape[1]}x{frames[0].shape[0]}",
                "warping_error": temporal.warping_error(out, frames),
                "input_warping_error": input_error,
                "style_distance": float(
                    np.mean([feats.style_distance(o.astype(np.float32) / 255, STYLE) for o in out[:: args.score_every]])
                ),
                "content_distance": float(
                    np.mean(
                        [
                            feats.content_distance(o.astype(np.float32) / 255, f.astype(np.float32) / 255)
                            for o, f in zip(out[:: args.score_every], frames[:: args.score_every])
                        ]
                    )
                ),
                "fps": len(frames) / seconds,
                "trusted_pixels": float(np.mean(blender.trusted)) if blender.trusted else None,
            }
            rows.append(row)
            print(
                f"{clip:18s} grid {'on ' if align else 'off'} w={weight:.1f}  "
                f"warping error {row['warping_error']:.5f} (input {input_error:.5f})  "
                f"style {row['style_distance']:.4f}  content {row['content_distance']:.2f}"
                f"  {row['fps']:.1f} frames/s",
                flush=True,
            )
    summary = {}
    for clip in CLIPS:
        base = next(r for r in rows if r["clip"] == clip and r["temporal_weight"] == 0.0 and not r["align_grid"])
        for r in rows:
            if r["clip"] == clip and r is not base:
                key = f"{clip} grid {'on' if r['align_grid'] else 'off'} w={r['temporal_weight']}"
                summary[key] = {
                    "warping_error_ratio": r["warping_error"] / base["warping_error"],
                    "style_distance_change": r["style_distance"] / base["style_distance"] - 1,
                    "fps": r["fps"],
                }
                print(
                    f"{key}: warping error {summary[key]['warping_error_ratio']:.2f}x independent (target <= 0.5), "
                    f"style distance {100 * summary[key]['style_distance_change']:+.1f}% (target within 10%), "
                    f"{r['fps']:.1f} frames/s (target >= 10)"
                )
    write_json(
        args.out,
        {
            "rows": rows,
            "summary": summary,
            "environment": environment(),
            "command": "python benchmarks/video_temporal.py " + " ".join(sys.argv[1:]),
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
