"""The image transformation network of Johnson et al. (2016), with two later improvements.

Layout (from the paper's supplementary material): 9x9 conv 32 -> 3x3 stride-2 conv 64 ->
3x3 stride-2 conv 128 -> 5 residual blocks of two 3x3 convs 128 -> two x2 upsampling stages
to 64 and 32 channels -> 9x9 conv to 3 channels. Changes, each from a later paper:
instance normalisation instead of batch normalisation (Ulyanov et al. 2016), and
nearest-neighbour resize followed by a convolution instead of transposed convolutions,
which avoids checkerboard artefacts (Odena et al. 2016). Convolutions use reflection
padding, so borders do not darken.

``johnson_slim`` is our narrower variant for CPUs and phones: half the channels (16/32/64) and
3 residual blocks, with the upsampling convolutions computed at the low resolution
(:class:`UpsampleConv`) and the output conv padded to 8 filters (:class:`NarrowOutputConv`);
both are exact rewrites of the plain layers, which the full network keeps so that existing
checkpoints load.

Input: RGB in [0, 1], any height and width (:func:`stylize_images` pads to a multiple of 4 and
crops back); output: RGB in [0, 1] (sigmoid), float32 whatever the compute policy.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from nst_tf.feedforward.compact import MULTIPLE as COMPACT_MULTIPLE
from nst_tf.feedforward.compact import build_compact
from nst_tf.feedforward.layers import (
    InstanceNormalization,
    NarrowOutputConv,
    ReflectionPad,
    UpsampleConv,
    reflect_pad_to_multiple,
)


def _conv(x, filters, kernel, stride=1, name=None, norm=True, relu=True, narrow_output=False):
    x = ReflectionPad(kernel // 2, name=f"{name}_pad")(x)
    x = (NarrowOutputConv if narrow_output else layers.Conv2D)(
        filters, kernel, strides=stride, padding="valid", name=name
    )(x)
    if norm:
        x = InstanceNormalization(epsilon=1e-3, name=f"{name}_in")(x)
    if relu:
        x = layers.ReLU(name=f"{name}_relu")(x)
    return x


#: Architectures: (channels of the 9x9 conv and the two stride-2 convs, residual blocks, fast layers).
ARCHS = {"johnson": ((32, 64, 128), 5, False), "johnson_slim": ((16, 32, 64), 3, True)}


#: Every per-style architecture: the two above and ``compact`` (:mod:`nst_tf.feedforward.compact`).
PER_STYLE_ARCHS = (*ARCHS, "compact")


def build_transformer(arch: str = "johnson", name: str = "transformer") -> keras.Model:
    """The network (any of :data:`PER_STYLE_ARCHS`); build it inside
    ``nst_tf.precision.policy_scope`` for mixed precision."""
    if arch == "compact":
        return build_compact(name)
    (narrow, middle, wide), blocks, fast = ARCHS[arch]
    inputs = keras.Input(shape=(None, None, 3), name="image")
    x = _conv(inputs, narrow, 9, name="conv1")
    x = _conv(x, middle, 3, stride=2, name="down1")
    x = _conv(x, wide, 3, stride=2, name="down2")
    for i in range(1, blocks + 1):
        y = _conv(x, wide, 3, name=f"res{i}a")
        y = _conv(y, wide, 3, name=f"res{i}b", relu=False)
        x = layers.Add(name=f"res{i}")([x, y])
    for i, filters in enumerate((middle, narrow), start=1):
        if fast:
            x = UpsampleConv(filters, name=f"up{i}")(x)
            x = InstanceNormalization(epsilon=1e-3, name=f"up{i}_in")(x)
            x = layers.ReLU(name=f"up{i}_relu")(x)
        else:
            x = layers.UpSampling2D(2, interpolation="nearest", name=f"up{i}_resize")(x)
            x = _conv(x, filters, 3, name=f"up{i}")
    x = _conv(x, 3, 9, name="out", norm=False, relu=False, narrow_output=fast)
    outputs = layers.Activation("sigmoid", dtype="float32", name="rgb")(x)
    return keras.Model(inputs, outputs, name=name)


def arch_of(model: keras.Model) -> str:
    """The :data:`PER_STYLE_ARCHS` name of a built transformer (from its layers)."""
    if any(layer.name == "space_to_depth" for layer in model.layers):
        return "compact"
    widths = tuple(model.get_layer(n).filters for n in ("conv1", "down1", "down2"))
    blocks = sum(1 for layer in model.layers if layer.name.startswith("res") and layer.name[3:].isdigit())
    for name, (w, b, _) in ARCHS.items():
        if (w, b) == (widths, blocks):
            return name
    raise ValueError(f"unknown transformer layout {widths} x {blocks}")


def input_multiple(model: keras.Model) -> int:
    """What the height and width of ``model``'s input must be a multiple of."""
    return COMPACT_MULTIPLE if arch_of(model) == "compact" else 4


def stylize_images(model: keras.Model, batch: tf.Tensor) -> tf.Tensor:
    """Run ``model`` on a float batch in [0, 1] of any size: reflect-pad to the multiple of 4 (8 for
    ``compact``) the architecture needs, crop back."""
    batch = tf.convert_to_tensor(batch, tf.float32)
    multiple = input_multiple(model)
    h, w = tf.shape(batch)[1], tf.shape(batch)[2]
    out = model(reflect_pad_to_multiple(batch, multiple), training=False)
    return tf.cast(out[:, :h, :w, :], tf.float32)
