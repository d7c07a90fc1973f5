"""A clip streamed through a feed-forward painting: frames read in chunks, painted, blended along
the motion, written. ``nst-apply`` (videos) and nst-web's video jobs share it."""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from nst_tf import images
from nst_tf.errors import UserError


def paint_in_order(frames: list, paint: Callable[[list], list], blender) -> list:
    """Outputs of consecutive ``frames`` (float): each photo prepared by ``blender`` (denoised along
    the motion), all painted in one ``paint`` call, then blended in order."""
    photos = [blender.prepare(f) for f in frames]
    return [blender(f, s) for f, s in zip(frames, paint(photos))]


def stylize_clip(
    clip,
    out,
    paint: Callable[[list], list],
    blender,
    batch_size: int,
    size: Optional[int] = None,
    progress: Optional[Callable[[int, int], None]] = None,
    name: str = "the clip",
) -> int:
    """Frames of the opened ``clip`` (a :class:`~nst_tf.video.VideoReader` or frame sequence), in
    chunks of ``batch_size``, resized to ``size`` (longer side; None keeps them), painted by
    ``paint`` (float frames in order -> outputs, e.g. :meth:`Applier.clip_frames`), blended by
    ``blender`` (a :class:`~nst_tf.video.temporal.TemporalBlender`) and written to ``out``.
    ``progress(frames written, frames expected or 0)`` is called after each chunk (it may raise to
    stop). Returns the number of frames written; a clip without frames (``name`` in the message) is a
    :class:`UserError`."""
    chunk: list = []
    total = clip.frame_count

    def flush():
        frames = [f.astype(np.float32) / 255.0 for f in chunk]
        frames = [images.resize(f, size) for f in frames] if size else frames
        for output in paint_in_order(frames, paint, blender):
            out.write(images.to_uint8(output))
        chunk.clear()
        if progress is not None:
            progress(out.frames_written, total)

    for frame in clip.frames():
        chunk.append(frame)
        if len(chunk) >= batch_size:
            flush()
    if chunk:
        flush()
    if out.frames_written == 0:
        raise UserError(f"{name} holds no video frames")
    return out.frames_written
