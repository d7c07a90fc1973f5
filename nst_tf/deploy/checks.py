"""What ``nst-export`` checks each file against: tolerances, comparisons, the photos it runs on.

Files are checked on a bundled photo that the int8 calibration never sees (:data:`CHECK_PHOTO`);
two-input models take another bundled photo as their style image (any picture is a style).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from nst_tf.errors import UserError

#: (largest max-abs difference in grey levels, smallest PSNR in dB) a file may show against Keras.
#: Float formats must agree to rounding; the quantised ones must still be the picture (a broken
#: conversion gives a flat or noisy image far below 20 dB); their quality is measured by
#: ``benchmarks/export_formats.py``.
TOLERANCES = {
    "none": (2, None),
    "float16": (None, 40.0),
    "dynamic": (None, 20.0),
    "int8": (None, 20.0),
}
#: the same for style vectors: largest difference relative to the vector's largest entry
VECTOR_TOLERANCES = {"none": 1e-3, "float16": 1e-2, "dynamic": 0.2, "int8": 0.2}
CHECK_PHOTO = "chelsea.jpg"  #: bundled photo the files are checked on (never used for calibration)
CHECK_STYLE = "coffee.jpg"  #: the style image of two-input models (a bundled photo)


def compare(output: np.ndarray, reference: np.ndarray, vector: bool = False) -> tuple:
    """(max abs difference, PSNR dB) of an image in grey levels; of a vector: (relative max diff, None)."""
    out, ref = np.asarray(output, np.float64), np.asarray(reference, np.float64)
    if out.shape != ref.shape:
        return float("inf"), 0.0
    if vector:
        return float(np.abs(out - ref).max() / max(np.abs(ref).max(), 1e-12)), None
    mse = float(np.mean((out - ref) ** 2))
    return float(np.abs(out - ref).max()), (99.0 if mse == 0 else float(10 * np.log10(255.0**2 / mse)))


def passes(quantize: str, diff: float, psnr: Optional[float], vector: bool) -> bool:
    if vector:
        return diff <= VECTOR_TOLERANCES[quantize]
    most, least = TOLERANCES[quantize]
    return (most is None or diff <= most) and (least is None or (psnr is not None and psnr >= least))


def as_pixels(x: np.ndarray) -> np.ndarray:
    """An image output as grey levels (int8 files give float [0, 1])."""
    x = np.asarray(x)
    return x if x.dtype == np.uint8 else np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)


def photo_at(path, shape: Optional[tuple], size: int) -> np.ndarray:
    """A uint8 photo at ``shape`` (width, height) exactly, or with its longer side at ``size``."""
    from PIL import Image

    from nst_tf import images
    from nst_tf.feedforward.print_size import resize_uint8

    photo = np.round(images.load_image(path) * 255).astype(np.uint8)
    if shape is None:
        return resize_uint8(photo, size)
    return np.asarray(Image.fromarray(photo).resize(shape, Image.LANCZOS))


def calibration_photos(config, shape) -> list:
    from nst_tf.feedforward.data import BUNDLED_PHOTOS
    from nst_tf.images import expand_paths

    paths = expand_paths(config.calibration_images) if config.calibration_images else None
    if config.calibration_images and not paths:
        raise UserError("--calibration_images matched no image; pass photo files, folders or globs")
    paths = paths or sorted(p for p in BUNDLED_PHOTOS.glob("*.jpg") if p.name != CHECK_PHOTO)
    photos = [photo_at(p, shape, config.check_size) for p in paths]
    return photos + [p[:, ::-1].copy() for p in photos]  # mirrored copies: twice the statistics
