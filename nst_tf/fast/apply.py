"""Applying a trained style network: load it from an export or a training workdir, run it on images and GIFs."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import tensorflow as tf
from PIL import Image, ImageSequence

from nst_tf import images
from nst_tf.errors import UserError
from nst_tf.fast import export

Stylizer = Callable[[np.ndarray], np.ndarray]  # uint8 [B, H, W, 3] -> uint8 [B, H, W, 3]


def load_stylizer(path) -> Stylizer:
    """A SavedModel directory, a ``.tflite`` file, or a training workdir (its export, else its latest checkpoint)."""
    p = Path(path)
    if p.is_file() and p.suffix == ".tflite":
        return export.load_tflite(p)
    if (p / "saved_model.pb").is_file():
        return export.load_saved_model(p)
    if (p / "saved_model" / "saved_model.pb").is_file():
        return export.load_saved_model(p / "saved_model")
    latest = tf.train.latest_checkpoint(str(p / "checkpoints")) if (p / "checkpoints").is_dir() else None
    if latest:
        from nst_tf.fast import workdir_arch
        from nst_tf.fast.transformer import ARCHS, build_transformer, stylize_images

        arch = workdir_arch(p)
        if arch not in ARCHS:
            raise UserError(f"{p / 'arch.txt'} names an unknown network {arch!r}; expected one of {', '.join(ARCHS)}")
        model = build_transformer(arch)
        tf.train.Checkpoint(model=model).restore(latest).expect_partial()

        def run(batch: np.ndarray) -> np.ndarray:
            out = stylize_images(model, np.asarray(batch, np.float32) / 255.0).numpy()
            return np.round(np.clip(out, 0, 1) * 255).astype(np.uint8)

        return run
    raise UserError(f"{path} is neither a SavedModel, a .tflite file nor a training workdir with checkpoints; "
                    "pass the --workdir of nst-train-fast or its saved_model/ folder")


def postprocess(out: np.ndarray, original: np.ndarray, preserve_colors: str, blend: float) -> np.ndarray:
    """Colour preservation and blending for float images in [0, 1] (as in Gatys post-processing)."""
    if preserve_colors == "luminance":
        out = images.transfer_luminance(out, original)
    elif preserve_colors == "histogram":
        out = images.match_color(out, original)
    return images.blend(out, original, blend) if blend else out


def stylize_arrays(stylizer: Stylizer, frames: list, batch_size: int) -> list:
    """Float [0, 1] frames in, float frames out; same-size frames go through in batches."""
    out = [None] * len(frames)
    by_size: dict = {}
    for i, f in enumerate(frames):
        by_size.setdefault(f.shape, []).append(i)
    for idx in by_size.values():
        for start in range(0, len(idx), batch_size):
            chunk = idx[start:start + batch_size]
            batch = np.stack([images.to_uint8(frames[i]) for i in chunk])
            result = stylizer(batch)
            for i, r in zip(chunk, result):
                out[i] = r.astype(np.float32) / 255.0
    return out


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
    from nst_tf.files import atomic_write

    images.check_output_path(path, overwrite)
    pil = [Image.fromarray(images.to_uint8(f)) for f in frames]
    fmt = "GIF" if Path(path).suffix.lower() == ".gif" else "WEBP"
    return atomic_write(path, lambda fh: pil[0].save(fh, format=fmt, save_all=True, append_images=pil[1:],
                                                     duration=durations, loop=0))


def composite(outputs: list, masks: list, original: np.ndarray, feather: float = 0.02) -> np.ndarray:
    """Several stylised versions of one image, each kept where its mask is white.

    ``outputs``: float H x W x 3 images in [0, 1]; ``masks``: one H' x W' weight map in [0, 1]
    per output (any size: resized); ``feather``: the mask edges are blurred by this fraction of
    the longer side (a Gaussian of that sigma). Where the masks add up to less than 1 the
    original shows through; where they overlap they are averaged.
    """
    from PIL import ImageFilter

    from nst_tf.masks import resize_mask

    h, w = original.shape[:2]
    sigma = feather * max(h, w)
    weights = []
    for m in masks:
        m = resize_mask(m, (h, w))
        if sigma > 0:
            blurred = Image.fromarray(np.round(m * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(sigma))
            m = np.asarray(blurred, np.float32) / 255.0
        weights.append(m[..., None])
    total = np.sum(weights, axis=0)
    mixed = np.sum([wk * o for wk, o in zip(weights, outputs)], axis=0) + np.maximum(0.0, 1.0 - total) * original
    return np.clip(mixed / np.maximum(1.0, total), 0.0, 1.0).astype(np.float32)
