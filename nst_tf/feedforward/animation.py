"""Animated GIF and WebP files: all frames in (with their durations), all frames out (atomically)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageSequence

from nst_tf import images
from nst_tf.files import atomic_write


def frame_count(path) -> int:
    """How many frames an image file holds (1 for a still image)."""
    with Image.open(Path(path)) as img:
        return getattr(img, "n_frames", 1)


def read_frames(path) -> tuple:
    """All frames of an animated GIF/WebP as float arrays, with their durations (ms); one frame otherwise."""
    p = Path(path)
    with Image.open(p) as img:
        n = getattr(img, "n_frames", 1)
        if n <= 1:
            return [images.load_image(p)], None
        frames, durations = [], []
        for frame in ImageSequence.Iterator(img):
            frames.append(images.load_image(frame.convert("RGBA")))
            durations.append(frame.info.get("duration", img.info.get("duration", 100)))
        return frames, durations


def save_animation(frames: list, durations: list, path, overwrite: bool) -> Path:
    images.check_output_path(path, overwrite)
    pil = [Image.fromarray(images.to_uint8(f)) for f in frames]
    fmt = "GIF" if Path(path).suffix.lower() == ".gif" else "WEBP"
    return atomic_write(
        path, lambda fh: pil[0].save(fh, format=fmt, save_all=True, append_images=pil[1:], duration=durations, loop=0)
    )
