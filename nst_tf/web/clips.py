"""Video uploads of nst-web: checked as they arrive (a video at all, short enough), kept in a
private temporary file until their job ends, and painted frame by frame with the any-style
network, kept on its stride grid and blended along the motion as ``nst-apply`` does
(:func:`nst_tf.video.stream.stylize_clip`)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from nst_tf.errors import UserError

#: what the page says a video may be
KINDS = "an MP4, MOV, WebM or MKV video"


def receive(data: bytes, max_seconds: float) -> tuple:
    """(temporary file, first frame (float), seconds) of an uploaded clip; one-line errors for a file
    that is not a video, a clip without frames or one longer than ``max_seconds``."""
    from nst_tf import video

    fd, name = tempfile.mkstemp(prefix="nst_web_clip_", suffix=".video")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            with video.open_video(path) as clip:
                first = next(iter(clip.frames()), None)
                seconds = _seconds(clip)
        except UserError:
            raise UserError(f"the file could not be read as a video; send {KINDS}") from None
        if first is None:
            raise UserError(f"the video holds no frames; send {KINDS}")
        if seconds > max_seconds:
            raise UserError(f"the video is {seconds:.1f} s long; send one of at most {max_seconds:g} s (trim it first)")
        return path, first.astype(np.float32) / 255.0, seconds
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _seconds(clip) -> float:
    duration = clip.container.duration  # microseconds, from the container
    if duration:
        return duration / 1e6
    return clip.frame_count / float(clip.fps) if clip.frame_count else 0.0


def paint_clip(job, dst: Path, stylizer, vector, multiple: int, postprocess, report) -> np.ndarray:
    """Paint ``job.clip`` into ``dst`` (MP4, the input's rate and sound); ``report(done, total,
    latest painted frame)`` after each batch (it raises to cancel). Returns the last painted frame."""
    from nst_tf import video
    from nst_tf.config.apply import DEFAULT_BLEND, DEFAULT_DENOISE, DEFAULT_HOLD
    from nst_tf.video.grid import GridAligner, stylize_aligned
    from nst_tf.video.stream import stylize_clip
    from nst_tf.video.temporal import TemporalBlender

    p = job.params
    aligner = GridAligner(multiple)
    last = []

    def run(frames: list) -> list:
        return list(stylizer.transfer_batch(np.stack(frames), vector, p.strength))

    def paint(frames: list) -> list:
        outs = [postprocess(o, f) for o, f in zip(stylize_aligned(frames, aligner, run), frames)]
        last[:] = outs[-1:]
        return outs

    with video.open_video(job.clip) as clip, video.open_writer(dst, like=clip) as out:
        stylize_clip(
            clip,
            out,
            paint,
            TemporalBlender(DEFAULT_BLEND, denoise=DEFAULT_DENOISE, hold=DEFAULT_HOLD),
            4,
            p.size,
            lambda done, total: report(done, total, last[0]),
            name="the video",
        )
    return last[0]
