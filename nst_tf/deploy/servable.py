"""What a ``--model`` value exports as: float32 Keras networks behind TensorFlow functions.

Three kinds, one interface (:class:`Servable`):

=====================  ==========================================  =================================
kind                   SavedModel ``pixels`` signature             file parts (TFLite, ONNX) and
                                                                   fixed-shape signatures
=====================  ==========================================  =================================
``per_style``          ``images`` uint8 [B, H, W, 3]               one: images -> image
``any_style_baked``    ``images``, ``strength`` []                 one: images -> image (the style
(``--style`` given)                                                baked in, full strength)
``any_style_pair``     ``content``, ``style`` [1, h, w, 3],        ``predict`` (style, shorter side
(no ``--style``)       ``strength`` []; ``style_vector`` (style)   256 px -> vector) and
                                                                   ``transfer`` (content, vector)
=====================  ==========================================  =================================

Strength below 1 mixes in each photo's own style vector, computed from the photo resized with
antialiasing; TFLite and XLA have no such resize, so the files and the fixed-shape signatures
paint at full strength (mix vectors from ``predict`` on the caller's side for less).

Every image input and output is uint8 RGB; the networks run in float32 inside (deployment
runtimes have no bfloat16 kernels). :attr:`Part.floats` is the same network on float [0, 1]
pixels, the form the int8 converter calibrates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import tensorflow as tf

from nst_tf.errors import UserError
from nst_tf.feedforward import workdir as wd
from nst_tf.feedforward.layers import reflect_pad_to_multiple

STYLE_DIM = 100


def to_float(images: tf.Tensor) -> tf.Tensor:
    return tf.cast(images, tf.float32) / 255.0


def to_uint8(x: tf.Tensor) -> tf.Tensor:
    return tf.cast(tf.round(tf.clip_by_value(x, 0.0, 1.0) * 255.0), tf.uint8)


def image_spec(name: str, batch: Optional[int] = None, shape: Optional[tuple] = None) -> tf.TensorSpec:
    """uint8 [batch, H, W, 3]; ``shape`` (width, height) fixes the size."""
    h, w = (None, None) if shape is None else (shape[1], shape[0])
    return tf.TensorSpec([batch, h, w, 3], tf.uint8, name=name)


@dataclass
class Part:
    """One file's worth of network (a ``.tflite`` or ``.onnx`` file).

    ``specs(shape)`` gives the input signature (``shape``: fixed (width, height) or None for any
    size); ``pixels(*inputs)`` maps those inputs to ``{"image": uint8}`` or ``{"vector": float32}``;
    ``floats`` the same on float [0, 1] images (None: the part is not fully quantisable);
    ``sample(shape)`` a list of numpy inputs for checks and calibration (``photo``: uint8 H x W x 3);
    ``int8_floats(photos)`` (optional) a ``floats`` of a copy of the network that quantises better,
    given the calibration photos (float [0, 1] batches; :mod:`nst_tf.deploy.equalize`).
    """

    name: str
    specs: Callable[[Optional[tuple]], list]
    pixels: Callable
    sample: Callable[[np.ndarray], list]
    floats: Optional[Callable] = None
    output: str = "image"
    int8_floats: Optional[Callable[[Sequence[np.ndarray]], Callable]] = None


@dataclass
class Servable:
    """A network ready to export: its kind, a name for its files, the SavedModel functions and parts."""

    kind: str
    name: str
    description: str
    #: the SavedModel pixel signature: ``(specs(shape), fn)``; fn returns ``{"image": uint8}``
    pixel_specs: Callable[[Optional[tuple]], list]
    pixel_fn: Callable
    #: the encoded-image signature's inputs besides the images (name -> dtype), e.g. strength
    bytes_inputs: Sequence[str]
    parts: list = field(default_factory=list)
    keep: list = field(default_factory=list)  #: Keras models the functions use (tracked by the export)
    style_vector: Optional[Callable] = None  #: two-input models: uint8 style [B, h, w, 3] -> {"vector"}

    @property
    def shape_part(self) -> Part:
        """The part behind the fixed-shape signatures: the whole network, or the two-input model's
        ``transfer`` (a style vector from the ``style_vector`` signature; no resize in the graph,
        which XLA could not compile)."""
        return self.parts[-1]

    def pixel_sample(self, photo: np.ndarray, style: Optional[np.ndarray] = None) -> dict:
        """Inputs of the ``pixels`` signature for one photo (uint8), by name."""
        sample = {"images" if self.kind != "any_style_pair" else "content": photo[None]}
        if self.kind != "per_style":
            sample["strength"] = np.float32(1.0)
        if self.kind == "any_style_pair":
            sample["style"] = style[None]
        return sample


def single_image_part(model, paint: Callable, feed: Callable) -> Part:
    """The one part of a network that maps float [0, 1] images to float images: ``paint(model, x)``.
    ``feed(x)``: the Keras ``model``'s own inputs for a float batch (for the int8 copy's statistics)."""
    from nst_tf.deploy.equalize import int8_floats

    return Part(
        name="",
        specs=lambda shape: [image_spec("images", 1 if shape else None, shape)],
        pixels=lambda images: {"image": to_uint8(paint(model, to_float(images)))},
        floats=lambda x: {"image": paint(model, x)},
        sample=lambda photo: [photo[None]],
        int8_floats=int8_floats(model, paint, feed),
    )


# --------------------------------------------------------------------------- per-style networks


def per_style(model, name: str, description: str) -> Servable:
    from nst_tf.feedforward.johnson import input_multiple, stylize_images

    part = single_image_part(model, stylize_images, lambda x: [reflect_pad_to_multiple(x, input_multiple(model))])
    return Servable(
        "per_style",
        name,
        description,
        pixel_specs=part.specs,
        pixel_fn=part.pixels,
        bytes_inputs=(),
        parts=[part],
        keep=[model],
    )


# --------------------------------------------------------------------------- the any-style network


def _style_input(images: tf.Tensor) -> tf.Tensor:
    from nst_tf.feedforward.anystyle_export import style_input_graph

    return style_input_graph(images)


def any_style(predictor, transfer, name: str, description: str, vector=None) -> Servable:
    """The any-style network with a baked style vector (``vector`` given) or with two image inputs."""
    from nst_tf.feedforward.anystyle import transfer_images

    def own_vectors(images):  # each photo's own style, for strength below 1
        return tf.map_fn(
            lambda img: predictor(_style_input(img[None]), training=False)[0], images, fn_output_signature=tf.float32
        )

    def mixed(images, v, s):
        v = tf.broadcast_to(tf.reshape(v, [-1, STYLE_DIM]), [tf.shape(images)[0], STYLE_DIM])
        return tf.cond(s < 1.0, lambda: s * v + (1.0 - s) * own_vectors(images), lambda: v)

    def paint(images, v, s):
        return {"image": to_uint8(transfer_images(transfer, to_float(images), mixed(images, v, s)))}

    if vector is not None:
        vector = np.asarray(vector, np.float32).reshape(1, STYLE_DIM)

        def pixels(images, strength):
            return paint(images, tf.constant(vector), strength)

        # the files and fixed-shape signatures paint at full strength
        part = single_image_part(
            transfer,
            lambda model, x: transfer_images(model, x, tf.constant(vector)),
            lambda x: [reflect_pad_to_multiple(x, 4), tf.constant(vector)],
        )
        return Servable(
            "any_style_baked",
            name,
            description,
            pixel_specs=lambda shape: [
                image_spec("images", 1 if shape else None, shape),
                tf.TensorSpec([], tf.float32, name="strength"),
            ],
            pixel_fn=pixels,
            bytes_inputs=("strength",),
            parts=[part],
            keep=[predictor, transfer],
        )

    def pair_pixels(content, style, strength):
        return paint(content, predictor(_style_input(style), training=False), strength)

    def predict(style):
        return {"vector": predictor(to_float(style), training=False)}

    def apply_vector(content, vector):
        return {"image": to_uint8(transfer_images(transfer, to_float(content), vector))}

    from nst_tf.feedforward.anystyle import STYLE_SIZE

    def style_sample(photo):
        from nst_tf.feedforward.anystyle_stylizer import style_input

        return [np.round(style_input(photo / 255.0, STYLE_SIZE) * 255).astype(np.uint8)[None]]

    def vector_sample(photo):
        return np.asarray(predictor(style_sample(photo)[0] / 255.0, training=False), np.float32)

    parts = [
        Part(
            name="predict",
            specs=lambda shape: [image_spec("style", 1 if shape else None, shape)],
            pixels=predict,
            sample=style_sample,
            output="vector",
        ),
        Part(
            name="transfer",
            specs=lambda shape: [
                image_spec("content", 1 if shape else None, shape),
                tf.TensorSpec([1, STYLE_DIM], tf.float32, name="vector"),
            ],
            pixels=apply_vector,
            sample=lambda photo: [photo[None], vector_sample(photo)],
        ),
    ]
    return Servable(
        "any_style_pair",
        name,
        description,
        pixel_specs=lambda shape: [
            image_spec("content", 1 if shape else None, shape),
            image_spec("style", 1),
            tf.TensorSpec([], tf.float32, name="strength"),
        ],
        pixel_fn=pair_pixels,
        bytes_inputs=("style", "strength"),
        parts=parts,
        style_vector=lambda style: {"vector": predictor(_style_input(style), training=False)},
        keep=[predictor, transfer],
    )


# --------------------------------------------------------------------------- --model -> Servable


def open_servable(model: str, styles: Sequence = (), name: Optional[str] = None) -> Servable:
    """The :class:`Servable` a ``--model`` value names: ``arbitrary`` or an any-style workdir (with
    ``styles``: baked; without: two image inputs), or a per-style training workdir. Exported
    files are refused: export from the weights, not from another export."""
    model = str(model)
    if wd.is_any_style(model):
        from nst_tf.feedforward.anystyle_stylizer import mix_vectors
        from nst_tf.feedforward.stylizers import check_styles, open_any_style_network, style_vectors

        if styles:
            check_styles(styles)
        net = open_any_style_network(model, precision="float32")
        base = "arbitrary" if model == wd.ANY_STYLE else Path(model).name
        if not styles:
            return any_style(net.predictor, net.transfer_model, name or base, f"{net.describe()}, two image inputs")
        vector = mix_vectors(style_vectors(net, styles))
        stem = "+".join(Path(str(s)).stem for s in styles)
        return any_style(
            net.predictor,
            net.transfer_model,
            name or stem,
            f"{net.describe()}, style {stem} baked in",
            vector=vector,
        )
    path = Path(model)
    if path.is_file() or (path.is_dir() and wd.saved_model(path) == path):
        raise UserError(
            f"{model} is already an exported model; pass the training workdir (nst-train-fast --workdir) "
            "or arbitrary, so the export starts from the weights"
        )
    if not path.is_dir():
        raise UserError(f"--model {model} does not exist; pass arbitrary or a training workdir of nst-train-fast")
    if styles:
        raise UserError("--style applies to any-style models only; a per-style network has its painting built in")
    if not wd.latest_checkpoint(path):
        raise UserError(f"{model} holds no checkpoint; train it first (nst-train-fast --workdir={model})")
    keras_model, arch, latest = wd.restore_per_style(path)
    return per_style(keras_model, name or path.name, f"per-style {arch} network from {latest}")
