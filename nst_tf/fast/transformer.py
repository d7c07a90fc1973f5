"""The image transformation network of Johnson et al. (2016), with two later improvements.

Layout (from the paper's supplementary material): 9x9 conv 32 -> 3x3 stride-2 conv 64 ->
3x3 stride-2 conv 128 -> 5 residual blocks of two 3x3 convs 128 -> two x2 upsampling stages
to 64 and 32 channels -> 9x9 conv to 3 channels. Changes, each from a later paper:
instance normalisation instead of batch normalisation (Ulyanov et al. 2016), and
nearest-neighbour resize followed by a convolution instead of transposed convolutions,
which avoids checkerboard artefacts (Odena et al. 2016). Convolutions use reflection
padding, so borders do not darken.

Input: RGB in [0, 1], any height and width (:func:`stylize_images` pads to a multiple of 4 and
crops back); output: RGB in [0, 1] (sigmoid), float32 whatever the compute policy.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops


class ReflectionPad(layers.Layer):
    """Pads height and width by ``pad`` pixels mirroring the image (no zero border)."""

    def __init__(self, pad: int, **kwargs):
        super().__init__(**kwargs)
        self.pad = int(pad)

    def call(self, x):
        p = self.pad
        y = ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")
        # Keep the static channel count: TFLite cannot lower a convolution whose input channels are unknown.
        return _pin_channels(y, x.shape[-1])

    def get_config(self):
        return {**super().get_config(), "pad": self.pad}


def _pin_channels(x, channels: int):
    """Reshape to [B, H, W, channels] so graph converters see a static channel count.

    After a pad whose sizes are computed at run time TFLite's converter loses the channel
    dimension and cannot lower the next convolution; a reshape with the constant channel
    count restores it (EnsureShape/set_shape do not survive conversion).
    """
    s = tf.shape(x)
    return tf.reshape(x, tf.stack([s[0], s[1], s[2], channels]))


def _conv(x, filters, kernel, stride=1, name=None, norm=True, relu=True):
    x = ReflectionPad(kernel // 2, name=f"{name}_pad")(x)
    x = layers.Conv2D(filters, kernel, strides=stride, padding="valid", name=name)(x)
    if norm:
        x = layers.GroupNormalization(groups=-1, epsilon=1e-3, name=f"{name}_in")(x)  # instance norm
    if relu:
        x = layers.ReLU(name=f"{name}_relu")(x)
    return x


def build_transformer(name: str = "transformer") -> keras.Model:
    """The network; build it inside ``nst_tf.precision.policy_scope`` for mixed precision."""
    inputs = keras.Input(shape=(None, None, 3), name="image")
    x = _conv(inputs, 32, 9, name="conv1")
    x = _conv(x, 64, 3, stride=2, name="down1")
    x = _conv(x, 128, 3, stride=2, name="down2")
    for i in range(1, 6):
        y = _conv(x, 128, 3, name=f"res{i}a")
        y = _conv(y, 128, 3, name=f"res{i}b", relu=False)
        x = layers.Add(name=f"res{i}")([x, y])
    for i, filters in enumerate((64, 32), start=1):
        x = layers.UpSampling2D(2, interpolation="nearest", name=f"up{i}_resize")(x)
        x = _conv(x, filters, 3, name=f"up{i}")
    x = _conv(x, 3, 9, name="out", norm=False, relu=False)
    outputs = layers.Activation("sigmoid", dtype="float32", name="rgb")(x)
    return keras.Model(inputs, outputs, name=name)


def stylize_images(model: keras.Model, batch: tf.Tensor) -> tf.Tensor:
    """Run ``model`` on a float batch in [0, 1] of any size: reflect-pad to a multiple of 4, crop back."""
    batch = tf.convert_to_tensor(batch, tf.float32)
    h, w = tf.shape(batch)[1], tf.shape(batch)[2]
    ph, pw = (-h) % 4, (-w) % 4
    padded = tf.pad(batch, [[0, 0], [0, ph], [0, pw], [0, 0]], mode="REFLECT")
    padded = _pin_channels(padded, 3)
    out = model(padded, training=False)
    return tf.cast(out[:, :h, :w, :], tf.float32)
