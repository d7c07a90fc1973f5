"""Optimisation on videos (Ruder, Dosovitskiy & Brox 2016): each frame starts from the previous
result warped along the optical flow and is held near it by a temporal loss where the flow is
trusted.

    from nst_tf import StylizeConfig
    from nst_tf.video import gatys as video_gatys
    video_gatys.stylize_video("clip.mp4", "starry.jpg", StylizeConfig(size=256, steps=100), "clip_starry.mp4")

Frame 1 is optimised as a still image (every scale of ``config``); every later frame runs only
the last scale, initialised from ``M * warp(prev) + (1 - M) * frame`` (``M``: the soft mask of
:class:`nst_tf.video.motion.Motion`, as the feed-forward blend uses), with the loss
``temporal_weight * mean over M of (x - warp(prev))^2`` added. Frames are streamed; the output is
written whole at the end (atomic).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from nst_tf import images, video
from nst_tf.config import StylizeConfig
from nst_tf.errors import UserError
from nst_tf.video import temporal

log = logging.getLogger("nst_tf")


def stylize_video(
    content,
    style,
    config: StylizeConfig,
    output,
    temporal_weight: float = 50.0,
    *,
    overwrite: bool = False,
    extractor=None,
    verbose: bool = False,
    fps=None,
) -> dict:
    """Stylise the video ``content`` (a file or a frame pattern, read at ``fps`` if a pattern) into
    ``output`` (either too); returns frames, seconds and the mean trusted fraction.

    The photos are not denoised along the motion first as nst-apply's are: tried on the noisy pan of
    benchmarks/video_optimise_noisy.py (Zen 4), the optimisation's flicker did not come from the
    photos' noise (aligned-frame difference 0.03874 with denoising, 0.03873 without)."""
    from nst_tf.gatys import build_extractor, stylize

    if temporal_weight < 0:
        raise UserError(f"temporal_weight must be zero or more, got {temporal_weight}")
    if not video.is_video(output):
        raise UserError(f"a video --content needs a video --output ({video.KINDS})")
    if video.output_exists(output) and not overwrite:
        raise UserError(f"{output} already exists; pass --overwrite to replace it or choose another name")
    from nst_tf.files import check_folder_writable

    check_folder_writable(Path(output).parent, "choose another --output")  # before the network is built
    extractor = extractor or build_extractor(config)
    from nst_tf.video.motion import Motion

    motion = Motion()  # the blend's motion and mask: noise-relative tolerances, the camera's global motion
    later = config.replace(scales=1, steps=config.steps_at(config.scales))
    prev_photo = prev_out = None
    trusted, t0 = [], time.perf_counter()
    reuse = {}  # frames 2..n share one objective and compiled step (same size, style and settings)
    interrupted = False
    with video.open_video(content, fps) as clip, video.open_writer(output, like=clip) as out:
        try:
            for i, frame in enumerate(clip.frames(), start=1):
                photo = frame.astype(np.float32) / 255.0
                if prev_out is None:
                    result = stylize(photo, style, config, extractor=extractor, verbose=verbose)
                else:
                    small = images.resize_to(photo, prev_out.shape[:2])
                    to_prev, mask = motion(small, prev_photo)
                    warped = temporal.warp(prev_out, to_prev, sharp=True)
                    trusted.append(float(mask.mean()))
                    init = mask[..., None] * warped + (1 - mask[..., None]) * small
                    result = stylize(
                        photo,
                        style,
                        later,
                        extractor=extractor,
                        verbose=verbose,
                        init_image=init,
                        temporal=(warped, mask, temporal_weight) if temporal_weight else None,
                        reuse=reuse,
                    )
                prev_out = result.image
                prev_photo = images.resize_to(photo, prev_out.shape[:2])
                out.write(images.to_uint8(prev_out))
                if result.interrupted:  # Ctrl-C / SIGTERM: keep the frames made so far (this one's latest image)
                    interrupted = True
                    break
                done = time.perf_counter() - t0
                total = clip.frame_count
                log.info(
                    "frame %d%s: %.1f s per frame%s",
                    i,
                    f"/{total}" if total else "",
                    done / i,
                    f", about {done / i * (total - i):.0f} s left" if total > i else "",
                )
        except KeyboardInterrupt:  # between frames (flow, encoding): the frames written so far stay
            interrupted = True
        n = out.frames_written
    if interrupted:
        log.warning("interrupted at frame %d; %s holds the %d frames made so far", n, output, n)
        raise KeyboardInterrupt()
    if n == 0:
        raise UserError(f"{content} holds no video frames")
    return {"frames": n, "seconds": time.perf_counter() - t0, "trusted": float(np.mean(trusted)) if trusted else None}


def check_clip_inputs(contents: list, styles: list, config: StylizeConfig, fps=None) -> tuple:
    """nst-stylize's video case: one clip and one style (or several blended); both readable.
    Returns (the clip, the style argument for :func:`stylize_video`)."""
    if len(contents) > 1:
        raise UserError("give one video --content at a time (several photos, or one video)")
    if len(styles) > 1 and not config.combines_styles:
        raise UserError(f"a video takes one style; blend the {len(styles)} styles with --style_weights")
    for s in styles:
        images.load_image(s)
    video.check_fps(fps, contents)
    video.open_video(contents[0], fps).close()
    return contents[0], (styles if config.combines_styles else styles[0])
