"""``compact``: a per-style network sized for CPUs and phones, every convolution at 1/4 or 1/8 scale.

Johnson's layout spends most of its time in 9x9 convolutions over full-resolution images with 3
to 32 channels, which CPU kernels run far below their peak. Here a space-to-depth step (each 4x4
block of pixels becomes 48 channels; the sub-pixel idea of Shi et al. 2016, run in reverse at the
input) moves the whole network to 1/4 of the resolution, where convolutions have enough channels
to run fast:

    space_to_depth(4) -> 3x3 conv 32 (1/4) -> 3x3 stride-2 conv 64 (1/8) -> 3 residual blocks 64
    -> x2 upsampling conv 32 (1/4) + the 1/4-scale features (a U-Net skip) -> 3x3 conv 32
    -> 3x3 conv 48 -> depth_to_space(4) -> sigmoid

with instance normalisation and reflection padding as in :mod:`nst_tf.feedforward.johnson`.
At 512 px it is about 2.7x faster than the any-style network on a 2-core Zen 4 CPU (RESULTS.md).
Its receptive field and capacity are those of a small network, so it learns best from a teacher:
``nst-train-fast --arch=compact --teacher=arbitrary`` (:mod:`nst_tf.feedforward.distill`).

Input: RGB in [0, 1] whose sides are multiples of :data:`MULTIPLE` (``stylize_images`` pads);
output: RGB in [0, 1], float32 whatever the compute policy.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from nst_tf.feedforward.layers import InstanceNormalization, ReflectionPad, UpsampleConv

FACTOR = 4  #: pixels per side folded into channels
WIDTHS = (32, 64)  #: channels at 1/4 and 1/8 scale
BLOCKS = 3  #: residual blocks at 1/8 scale
MULTIPLE = 2 * FACTOR  #: input sides must be multiples of this (space-to-depth, then a stride-2 conv)


class SpaceToDepth(layers.Layer):
    """Each ``factor`` x ``factor`` block of pixels becomes ``factor**2`` times the channels."""

    def __init__(self, factor: int, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def call(self, x):
        return tf.nn.space_to_depth(x, self.factor)

    def compute_output_shape(self, shape):
        f = self.factor
        return (shape[0], None if shape[1] is None else shape[1] // f, None if shape[2] is None else shape[2] // f,
                shape[3] * f * f)  # fmt: skip

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class DepthToSpace(SpaceToDepth):
    """The inverse of :class:`SpaceToDepth`."""

    def call(self, x):
        return tf.nn.depth_to_space(x, self.factor)

    def compute_output_shape(self, shape):
        f = self.factor
        return (shape[0], None if shape[1] is None else shape[1] * f, None if shape[2] is None else shape[2] * f,
                shape[3] // (f * f))  # fmt: skip


def _conv(x, filters, name, stride=1, norm=True, relu=True):
    x = ReflectionPad(1, name=f"{name}_pad")(x)
    x = layers.Conv2D(filters, 3, strides=stride, padding="valid", name=name)(x)
    if norm:
        x = InstanceNormalization(epsilon=1e-3, name=f"{name}_in")(x)
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


def build_compact(name: str = "transformer") -> keras.Model:
    """The network; build it inside ``nst_tf.precision.policy_scope`` for mixed precision."""
    narrow, wide = WIDTHS
    inputs = keras.Input(shape=(None, None, 3), name="image")
    x = SpaceToDepth(FACTOR, name="space_to_depth")(inputs)
    skip = _conv(x, narrow, "conv1")
    x = _conv(skip, wide, "down1", stride=2)
    for i in range(1, BLOCKS + 1):
        y = _conv(x, wide, f"res{i}a")
        y = _conv(y, wide, f"res{i}b", relu=False)
        x = layers.Add(name=f"res{i}")([x, y])
    x = UpsampleConv(narrow, name="up1")(x)
    x = InstanceNormalization(epsilon=1e-3, name="up1_in")(x)
    x = layers.ReLU(name="up1_relu")(x)
    x = layers.Add(name="skip")([x, skip])
    x = _conv(x, narrow, "mix")
    x = _conv(x, 3 * FACTOR * FACTOR, "out", norm=False, relu=False)
    x = DepthToSpace(FACTOR, name="depth_to_space")(x)
    outputs = layers.Activation("sigmoid", dtype="float32", name="rgb")(x)
    return keras.Model(inputs, outputs, name=name)
