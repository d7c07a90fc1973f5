"""Deployable exports of the any-style network: one SavedModel with three signatures, TFLite for each half.

SavedModel signatures (uint8 RGB images of any size; float32 inside):

* ``serve(content [B, H, W, 3], style [1, h, w, 3], strength [])`` -> uint8 ``[B, H, W, 3]``
* ``style_vector(style [B, h, w, 3])`` -> float32 ``[B, 100]``
* ``transfer(content [B, H, W, 3], vector [1 or B, 100], strength [])`` -> uint8 ``[B, H, W, 3]``

The style image is resized in the graph so its shorter side is 256 px (as the Python API does).
``strength`` mixes the style vector with each photo's own (1 = the painting's style).

TFLite (for mobile): ``predict.tflite`` (signature ``predict_resized(style uint8 [B, h, w, 3]) ->
vector``, the style already resized by the caller so its shorter side is 256 px: TFLite has no
antialiased resize) and ``transfer.tflite``
(signature ``apply_vector(content uint8, vector float32 [1, 100]) -> uint8``; mix vectors for a
strength below 1 on the caller's side with the photo's own vector from ``predict.tflite``),
with float16 weights or with dynamic-range int8 weights.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from nst_tf.errors import UserError, first_line
from nst_tf.feedforward import anystyle as networks
from nst_tf.files import atomic_write, atomic_write_dir

SIGNATURES = ("serve", "style_vector", "transfer")
TFLITE_SIGNATURES = {"predict": "predict_resized", "transfer": "apply_vector"}
QUANTIZATIONS = ("float16", "int8")


def style_input_graph(images: tf.Tensor) -> tf.Tensor:
    """uint8 style images -> float [0, 1] with the shorter side at STYLE_SIZE (antialiased Lanczos)."""
    x = tf.cast(images, tf.float32) / 255.0
    hw = tf.cast(tf.shape(x)[1:3], tf.float32)
    scale = networks.STYLE_SIZE / tf.reduce_min(hw)
    size = tf.maximum(tf.cast(tf.round(hw * scale), tf.int32), 1)
    return tf.clip_by_value(tf.image.resize(x, size, method="lanczos3", antialias=True), 0.0, 1.0)


def _to_uint8(x: tf.Tensor) -> tf.Tensor:
    return tf.cast(tf.round(tf.clip_by_value(x, 0.0, 1.0) * 255.0), tf.uint8)


def export_saved_model(predictor: keras.Model, transfer: keras.Model, directory) -> Path:
    """Write the SavedModel (all signatures, float32 networks), replacing ``directory`` atomically."""
    if predictor.dtype_policy.compute_dtype != "float32":  # TFLite has no bfloat16 kernels; weights are float32
        predictor, transfer = networks.build_pair("float32", like=(predictor, transfer))
    directory = Path(directory)
    archive = keras.export.ExportArchive()
    archive.track(predictor)
    archive.track(transfer)

    def vectors_of(images):
        return predictor(style_input_graph(images), training=False)

    def mixed(content_images, vector, strength):
        own = tf.map_fn(lambda img: vectors_of(img[None])[0], content_images, fn_output_signature=tf.float32)
        v = tf.broadcast_to(tf.reshape(vector, [-1, networks.STYLE_DIM]), tf.shape(own))
        return strength * v + (1.0 - strength) * own

    def run(content_images, vector, strength):
        x = tf.cast(content_images, tf.float32) / 255.0
        v = tf.cond(
            strength < 1.0,
            lambda: mixed(content_images, vector, strength),
            lambda: tf.reshape(vector, [-1, networks.STYLE_DIM]),
        )
        return _to_uint8(networks.transfer_images(transfer, x, v))

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None, None, 3], tf.uint8, name="content"),
            tf.TensorSpec([1, None, None, 3], tf.uint8, name="style"),
            tf.TensorSpec([], tf.float32, name="strength"),
        ]
    )
    def serve(content, style, strength):
        return {"image": run(content, vectors_of(style), strength)}

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8, name="style")])
    def style_vector(style):
        return {"vector": vectors_of(style)}

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None, None, 3], tf.uint8, name="content"),
            tf.TensorSpec([None, networks.STYLE_DIM], tf.float32, name="vector"),
            tf.TensorSpec([], tf.float32, name="strength"),
        ]
    )
    def transfer_sig(content, vector, strength):
        return {"image": run(content, vector, strength)}

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8, name="style")])
    def predict_resized(style):
        return {"vector": predictor(tf.cast(style, tf.float32) / 255.0, training=False)}

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None, None, 3], tf.uint8, name="content"),
            tf.TensorSpec([1, networks.STYLE_DIM], tf.float32, name="vector"),
        ]
    )
    def apply_vector(content, vector):
        x = tf.cast(content, tf.float32) / 255.0
        return {"image": _to_uint8(networks.transfer_images(transfer, x, vector))}

    archive.add_endpoint("serve", serve)
    archive.add_endpoint("style_vector", style_vector)
    archive.add_endpoint("transfer", transfer_sig)
    archive.add_endpoint("predict_resized", predict_resized)
    archive.add_endpoint("apply_vector", apply_vector)
    return atomic_write_dir(directory, lambda path: archive.write_out(path, verbose=False))


def export_tflite(saved_model_dir, folder, quantization: str = "float16", parts=tuple(TFLITE_SIGNATURES)) -> dict:
    """``predict.tflite`` and ``transfer.tflite`` (or the ``parts`` named) in ``folder`` from the
    SavedModel; returns their paths."""
    if quantization not in QUANTIZATIONS:
        raise UserError(f"unknown TFLite quantization {quantization!r}; choose one of {', '.join(QUANTIZATIONS)}")
    paths = {}
    for part in parts:
        key = TFLITE_SIGNATURES[part]
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir), signature_keys=[key])
        converter.optimizations = [tf.lite.Optimize.DEFAULT]  # alone: dynamic-range int8 weights
        if quantization == "float16":
            converter.target_spec.supported_types = [tf.float16]
        flatbuffer = converter.convert()
        paths[part] = atomic_write(Path(folder) / f"{part}.tflite", lambda fh, fb=flatbuffer: fh.write(fb))
    return paths


def load_saved_model(directory):
    """The loaded SavedModel (call ``.signatures[name]``); a clear error for a damaged or foreign one."""
    directory = Path(directory)
    try:
        loaded = tf.saved_model.load(str(directory))
        missing = [s for s in SIGNATURES if s not in loaded.signatures]
    except (tf.errors.OpError, ValueError, OSError) as exc:
        first = first_line(exc)
        raise UserError(f"{directory} could not be loaded as a SavedModel ({first[:200]}); export it again") from None
    if missing:
        raise UserError(f"{directory} is not an any-style export (no {', '.join(missing)} signature)")
    return loaded


def tflite_runner(path, signature: str):
    """A callable for one signature of a ``.tflite`` file, keyword arguments as in the signature."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            interpreter = tf.lite.Interpreter(model_path=str(path))
        return interpreter.get_signature_runner(signature)
    except (ValueError, RuntimeError) as exc:
        first = first_line(exc)
        raise UserError(f"{path} is not a valid any-style TFLite model ({first[:200]})") from None


def as_uint8_batch(image: np.ndarray) -> np.ndarray:
    """A float H x W x 3 image in [0, 1] as a uint8 batch of one."""
    return np.round(np.clip(np.asarray(image, np.float32), 0, 1) * 255)[None].astype(np.uint8)
