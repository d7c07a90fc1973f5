"""Training photos as a ``tf.data`` pipeline: decode, random scale and crop to a square, batch, prefetch.

Files are found recursively. Names without an image extension and files whose header Pillow
cannot read are skipped up front (and counted); images that fail to decode later are dropped
by ``ignore_errors`` instead of stopping training.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Optional

import numpy as np
import tensorflow as tf
from PIL import Image, UnidentifiedImageError

from nst_tf.errors import UserError
from nst_tf.images import READ_EXTENSIONS

log = logging.getLogger("nst_tf")

#: nst-train-fast's default --data_dir: three photos shipped with the package (licences beside them).
BUNDLED_PHOTOS = Path(__file__).parent / "photos"


def list_images(folder) -> list:
    """Sorted paths of the readable images under ``folder`` (recursive); logs how many were skipped."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise UserError(f"--data_dir {folder} is not a folder of photos")
    found, skipped = [], 0
    for dirpath, _, names in os.walk(root):
        for name in sorted(names):
            path = Path(dirpath) / name
            if path.suffix.lower() not in READ_EXTENSIONS:
                skipped += 1
                continue
            try:
                with Image.open(path) as img:
                    img.verify()
            except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
                skipped += 1
                continue
            found.append(str(path))
    found.sort()
    if skipped:
        log.warning("skipped %d file(s) under %s that are not readable images", skipped, root)
    if not found:
        raise UserError(f"no readable images under {root}; point --data_dir at a folder of photos")
    check_decodable(found, root)
    return found


#: How many photos :func:`check_decodable` decodes in full (spread over the sorted list).
DECODE_SAMPLE = 16


def _decode_error(path: str):
    """None if ``path`` decodes in full, else the reason (one line). Pillow decodes, not TensorFlow:
    a TensorFlow op here would start TensorFlow's runtime before a multi-worker strategy is made
    ("collective ops must be configured at program startup")."""
    try:
        _pillow_rgb(path)
    except (OSError, ValueError, SyntaxError) as exc:
        return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
    return None


def check_decodable(paths: list, root) -> None:
    """Decode a sample of the photos in full, as training will. A header that Pillow accepts can
    still hide a file no decoder reads (a truncated JPEG): training drops such files, and a folder
    of nothing else would leave the endless dataset spinning without a word. Refused if none of
    the sample decodes; a warning names how many did not."""
    step = max(1, len(paths) // DECODE_SAMPLE)
    sample = paths[::step][:DECODE_SAMPLE]
    errors = {p: e for p in sample if (e := _decode_error(p)) is not None}
    if len(errors) == len(sample):
        first, reason = next(iter(errors.items()))
        raise UserError(
            f"none of the {len(sample)} images tried under {root} could be decoded (e.g. {Path(first).name}: "
            f"{reason}); they are damaged or truncated: point --data_dir at readable photos"
        )
    if errors:
        log.warning(
            "%d of %d images tried under %s could not be decoded (e.g. %s); training skips such files",
            len(errors),
            len(sample),
            root,
            Path(next(iter(errors))).name,
        )


#: What ``tf.io.decode_image`` reads itself; other formats Pillow reads (TIFF, WebP, ...), which
#: ``list_images`` accepts: decoded by TensorFlow they would all fail and be dropped, and a
#: folder of them would leave the endless dataset nothing to yield (training hung without a word).
TF_DECODES = (".jpg", ".jpeg", ".png", ".gif", ".bmp")


def _pillow_rgb(path) -> np.ndarray:
    with Image.open(path.decode() if isinstance(path, bytes) else path) as img:
        return np.asarray(img.convert("RGB"), np.uint8)


def _decode(path, native):
    def with_pillow():
        img = tf.numpy_function(_pillow_rgb, [path], tf.uint8, stateful=False)
        img.set_shape([None, None, 3])
        return img

    return tf.cond(
        native, lambda: tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False), with_pillow
    )


def _decode_and_crop(path, native, image_size: int, seed, max_scale: float = 1.0):
    img = tf.image.convert_image_dtype(_decode(path, native), tf.float32)
    shape = tf.cast(tf.shape(img)[:2], tf.float32)
    side = tf.cast(image_size, tf.float32)
    if max_scale > 1:  # the shorter side at a random multiple of image_size; the crop's own seed
        scale_seed, seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        side = side * tf.random.stateless_uniform([], scale_seed, 1.0, max_scale)
    scale = side / tf.reduce_min(shape)
    new = tf.cast(tf.math.ceil(shape * scale), tf.int32)
    img = tf.image.resize(img, new, method="area" if image_size < 512 else "bilinear", antialias=True)
    img = tf.image.stateless_random_crop(img, (image_size, image_size, 3), seed=seed)
    return tf.clip_by_value(img, 0.0, 1.0)


def make_dataset(
    paths,
    image_size: int,
    batch_size: int,
    seed: int = 0,
    skip_batches: int = 0,
    part: Optional[tuple] = None,
    per_replica: Optional[int] = None,
    max_scale: float = 1.0,
) -> tf.data.Dataset:
    """Endless shuffled batches of ``image_size`` squares. ``skip_batches`` resumes the same order.

    ``batch_size`` is the global batch. With ``part=(start, stop)`` only the photos at positions
    ``start..stop-1`` of each global batch are read (one worker's share), in batches of
    ``per_replica`` (one per local replica, in order): the workers together see exactly the
    global batches of a single process, so the same seed trains the same weights anywhere.
    ``max_scale`` > 1: each photo's shorter side is first resized to ``image_size`` times a random
    factor in [1, max_scale] (random scales as well as random crops).
    """
    # Shuffling with a fixed seed after repeat() gives the same endless order in every process,
    # so a resumed run skips exactly the batches it has already trained on.
    native = [Path(p).suffix.lower() in TF_DECODES for p in paths]
    ds = tf.data.Dataset.from_tensor_slices((list(map(str, paths)), native)).repeat()
    ds = ds.shuffle(min(len(paths), 10000), seed=seed, reshuffle_each_iteration=True)
    ds = ds.enumerate()
    ds = ds.skip(skip_batches * batch_size)
    if part is not None and tuple(part) != (0, batch_size):
        start, stop = part
        ds = ds.filter(lambda i, p: tf.logical_and(i % batch_size >= start, i % batch_size < stop))
    batch_size = per_replica or batch_size
    ds = ds.map(
        lambda i, p: _decode_and_crop(*p, image_size, tf.stack([tf.cast(seed, tf.int64), i]), max_scale),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    ds = ds.ignore_errors(log_warning=True)
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
