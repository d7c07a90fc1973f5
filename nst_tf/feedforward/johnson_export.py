"""Deployable exports of a trained style network: SavedModel (TF Serving, TF.js, GPU/TPU) and TFLite.

Both take a uint8 RGB batch of any height and width and return uint8 RGB of the same size,
through a ``serve`` signature. The SavedModel is written with ``keras.export.ExportArchive``:
a plain ``tf.saved_model.save`` of a Keras 3 model converts to TFLite without its weights
(constant output), so TFLite is made from the archive and both are checked numerically in
the tests.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from nst_tf.errors import UserError, first_line
from nst_tf.feedforward import workdir as wd
from nst_tf.feedforward.johnson import arch_of, build_transformer, stylize_images
from nst_tf.files import atomic_write, atomic_write_dir

SIGNATURE = "serve"


def _empty_like(model: keras.Model):
    arch, name = arch_of(model), model.name
    return lambda: build_transformer(arch, name=name)


def export_saved_model(model: keras.Model, directory) -> Path:
    """Write a SavedModel with a ``serve`` signature (uint8 [B, H, W, 3] -> uint8, float32 inside),
    replacing ``directory``."""
    directory = Path(directory)
    model = wd.float32_copy(model, _empty_like(model))
    archive = keras.export.ExportArchive()
    archive.track(model)

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8, name="images")])
    def serve(images):
        x = tf.cast(images, tf.float32) / 255.0
        y = stylize_images(model, x)
        return tf.cast(tf.round(tf.clip_by_value(y, 0.0, 1.0) * 255.0), tf.uint8)

    archive.add_endpoint(SIGNATURE, serve)
    return atomic_write_dir(directory, lambda path: archive.write_out(path, verbose=False))


def export_tflite(saved_model_dir, path, float16_weights: bool = False) -> Path:
    """Convert the SavedModel's ``serve`` signature to a ``.tflite`` file (optionally float16 weights)."""
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir), signature_keys=[SIGNATURE])
    if float16_weights:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    flatbuffer = converter.convert()
    return atomic_write(path, lambda fh: fh.write(flatbuffer))


def load_saved_model(directory):
    """A callable uint8 batch -> uint8 batch from an exported SavedModel."""
    directory = Path(directory)
    if not (directory / "variables").is_dir() or not list((directory / "variables").glob("variables.index")):
        raise UserError(
            f"{directory} is a damaged SavedModel (its variables/ folder is missing or empty); "
            "export it again (nst-train-fast --workdir=... reexports) or use the .tflite file"
        )
    try:
        loaded = tf.saved_model.load(str(directory))
        fn = loaded.signatures[SIGNATURE]
    except (tf.errors.OpError, ValueError, KeyError, OSError) as exc:
        first = first_line(exc)
        raise UserError(
            f"{directory} could not be loaded as an nst_tf SavedModel ({first[:200]}); export it again"
        ) from None

    def run(images: np.ndarray) -> np.ndarray:
        out = fn(images=tf.constant(images, tf.uint8))
        return next(iter(out.values())).numpy()

    run.loaded = loaded  # keep the trackables alive
    return run


def load_tflite(path):
    """A callable uint8 batch -> uint8 batch from a ``.tflite`` file (any image size)."""
    import warnings

    try:
        with warnings.catch_warnings():  # tf.lite.Interpreter is deprecated in favour of ai-edge-litert
            warnings.simplefilter("ignore")
            interpreter = tf.lite.Interpreter(model_path=str(path))
        runner = interpreter.get_signature_runner(SIGNATURE)
    except (ValueError, RuntimeError) as exc:
        first = first_line(exc)
        raise UserError(
            f"{path} is not a valid nst_tf TFLite model ({first[:200]}); pass a model.tflite written by nst-train-fast"
        ) from None

    def run(images: np.ndarray) -> np.ndarray:
        out = runner(images=np.asarray(images, np.uint8))
        return next(iter(out.values()))

    return run
