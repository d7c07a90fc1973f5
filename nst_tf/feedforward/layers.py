"""Keras layers the feed-forward networks share: reflection padding, and exact fast rewrites of
the upsampling conv and of a conv with few output channels (for CPU kernels and TFLite)."""

from __future__ import annotations

import tensorflow as tf
from keras import layers, ops


class ReflectionPad(layers.Layer):
    """Pads height and width by ``pad`` pixels mirroring the image (no zero border)."""

    def __init__(self, pad: int, **kwargs):
        super().__init__(**kwargs)
        self.pad = int(pad)

    def call(self, x, training=False):
        y = mirror_pad(x, self.pad, training=bool(training))
        # Keep the static channel count: TFLite cannot lower a convolution whose input channels are unknown.
        return pin_channels(y, x.shape[-1])

    def get_config(self):
        return {**super().get_config(), "pad": self.pad}


class InstanceNormalization(layers.GroupNormalization):
    """Instance normalisation: Keras's ``GroupNormalization`` with one group per channel (the same
    weights: checkpoints of either restore into the other), computed on the 4D
    feature map as one per-channel scale and shift in float32.

    Keras reshapes to 5D groups first; LiteRT's XNNPACK runs MEAN on 4D tensors only, so every
    norm of an exported per-style network ran in the reference kernels, outside the delegated
    graph (per-style ``johnson`` at 512 px on a 2-core Zen 4, LiteRT: float32 490 -> 273 ms,
    int8 354 -> 104 ms).
    """

    def __init__(self, epsilon: float = 1e-3, **kwargs):
        kwargs["groups"] = -1
        super().__init__(epsilon=epsilon, **kwargs)

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        mean, variance = ops.moments(x, axes=[1, 2], keepdims=True)
        scale = ops.rsqrt(variance + self.epsilon)
        if self.scale:
            scale = scale * ops.cast(self.gamma, "float32")
        shift = -mean * scale
        if self.center:
            shift = shift + ops.cast(self.beta, "float32")
        return ops.cast(x * scale + shift, self.compute_dtype)


def _rows(x, axis: int, index: int):
    """Row (axis 1) or column (axis 2) ``index`` of an NHWC tensor, kept as a size-1 axis."""
    end = index + 1 if index != -1 else None
    return x[:, index:end] if axis == 1 else x[:, :, index:end]


def mirror_pad(x, pad: int, symmetric: bool = False, training: bool = False):
    """Pad height and width by ``pad`` mirroring the edges: reflected (the edge row not repeated,
    as ``tf.pad(mode="REFLECT")``) or ``symmetric`` (repeated). Exact.

    For inference it is built from one-row slices and a concatenation rather than TF's
    MirrorPad: LiteRT's XNNPACK delegate has no MIRROR_PAD kernel, so each one split the
    delegated graph and ran in the reference kernel. Measured on a 2-core Zen 4 (LiteRT 2.3,
    any-style network at 512 px): float32 90 -> 52 ms, int8 64 -> 28 ms. In TensorFlow without
    XLA it is faster too (mixed_bfloat16 36 -> 31 ms with the norm rewrite), under XLA the same
    (55 / 58 ms). While ``training`` it is TF's MirrorPad, whose gradient is one pass: the
    slices' own adds one full-size tensor per slice (johnson training steps took 17% longer).
    The graphs carry no custom gradient, so SavedModels save and load without one.
    """
    mode = "SYMMETRIC" if symmetric else "REFLECT"
    if training:
        return tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode=mode)
    first = 0 if symmetric else 1
    y = x
    for axis in (1, 2):
        before = [_rows(y, axis, first + i) for i in reversed(range(pad))]
        after = [_rows(y, axis, -1 - first - i) for i in range(pad)]
        y = tf.concat(before + [y] + after, axis=axis)
    return y


def pin_channels(x, channels: int):
    """Reshape to [B, H, W, channels] so graph converters see a static channel count.

    After a pad whose sizes are computed at run time TFLite's converter loses the channel
    dimension and cannot lower the next convolution; a reshape with the constant channel
    count restores it (EnsureShape/set_shape do not survive conversion).
    """
    s = tf.shape(x)
    return tf.reshape(x, tf.stack([s[0], s[1], s[2], channels]))


def reflect_pad_to_multiple(batch, multiple: int):
    """Reflect-pad a [B, H, W, 3] batch at the bottom and right to multiples of ``multiple``
    (channels pinned for the converters). The pad is written ``(m - h % m) % m``, not
    ``(-h) % m``: ONNX's Mod of a negative number is not TF's floor-mod, and tf2onnx would pad
    with a negative amount. A batch whose static size is already a multiple is returned as it is
    (fixed-shape exports then carry no MIRROR_PAD, which LiteRT's XNNPACK cannot run)."""
    static = batch.shape[1:3]
    if None not in static and all(n % multiple == 0 for n in static):
        return batch
    h, w = tf.shape(batch)[1], tf.shape(batch)[2]
    ph, pw = (multiple - h % multiple) % multiple, (multiple - w % multiple) % multiple
    return pin_channels(tf.pad(batch, [[0, 0], [0, ph], [0, pw], [0, 0]], mode="REFLECT"), 3)


class UpsampleConv(layers.Conv2D):
    """x2 nearest-neighbour upsampling, reflect padding and a 3x3 conv, computed at the low resolution.

    The same 3x3 kernel (so weights, import and training are those of a plain ``Conv2D``); each of
    the four output phases is a 3x3 conv of the input edge-padded by one pixel, with taps that sum
    the original taps falling on the same input pixel, and ``depth_to_space`` interleaves them.
    Reflect-padding the upsampled image equals upsampling the edge-padded one, so the result is
    exact, without building the upsampled tensor (measured 20 -> 12 ms for 16 -> 8 channels at
    512 px output on a 2-core AVX2 CPU).
    """

    def __init__(self, filters, kernel_size=3, padding="valid", **kwargs):
        if kernel_size not in (3, (3, 3), [3, 3]) or padding != "valid":
            raise ValueError(f"UpsampleConv is a 3x3 conv on a reflect-padded input, got {kernel_size}, {padding}")
        kwargs.setdefault("use_bias", False)
        super().__init__(filters, 3, padding="valid", **kwargs)

    def _phase_kernel(self):
        k = ops.cast(self.kernel, self.compute_dtype)
        # rows (or columns) of the edge-padded input that each phase reads, and the taps on them
        taps = {
            0: lambda t: [t[0], t[1] + t[2], ops.zeros_like(t[0])],
            1: lambda t: [ops.zeros_like(t[0]), t[0] + t[1], t[2]],
        }
        phases = []
        for a in (0, 1):
            rows = ops.stack(taps[a]([k[0], k[1], k[2]]), axis=0)
            for b in (0, 1):
                phases.append(ops.stack(taps[b]([rows[:, 0], rows[:, 1], rows[:, 2]]), axis=1))
        return ops.concatenate(phases, axis=-1)  # [3, 3, in, 4 * out], phases ordered (row, column)

    def call(self, x, training=False):
        p = mirror_pad(x, 1, symmetric=True, training=bool(training))
        p = pin_channels(p, x.shape[-1])
        y = tf.nn.conv2d(p, self._phase_kernel(), 1, "VALID")
        if self.use_bias:  # on the conv itself (each phase), where converters fuse it
            y = tf.nn.bias_add(y, ops.tile(ops.cast(self.bias, self.compute_dtype), [4]))
        return tf.nn.depth_to_space(y, 2)

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        return (b, None if h is None else 2 * h, None if w is None else 2 * w, self.filters)


class NarrowOutputConv(layers.Conv2D):
    """A conv with few output channels computed with them padded to 8 by zero filters, then sliced.

    CPU conv kernels are vectorised over output channels; for the 9x9 conv to RGB this measured
    59 -> 40 ms at 512 px on a 2-core AVX2 CPU. Same weights as a plain ``Conv2D``; exact.
    """

    def call(self, x):
        k = ops.cast(self.kernel, self.compute_dtype)
        pad = (-self.filters) % 8
        k = ops.concatenate([k, ops.zeros(k.shape[:3] + (pad,), k.dtype)], axis=-1) if pad else k
        y = tf.nn.conv2d(x, k, self.strides, "VALID")
        if self.use_bias:  # before the slice, where converters fuse it into the conv
            b = ops.cast(self.bias, self.compute_dtype)
            y = tf.nn.bias_add(y, ops.concatenate([b, ops.zeros((pad,), b.dtype)]) if pad else b)
        return y[..., : self.filters]
