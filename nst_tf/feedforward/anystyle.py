"""The two halves of the arbitrary-style network of Ghiasi et al. (2017), in Keras 3.

Ghiasi, Lee, Kudlur, Dumoulin & Shlens, "Exploring the structure of a real-time, arbitrary
neural artistic stylization network" (BMVC 2017). Layer choices follow the network Magenta
published (and TF Hub serves), read from its graph:

* **Style prediction**: a MobileNetV2 trunk (width 1.0: a stride-2 3x3 conv to 32 channels, 17
  inverted-residual blocks, a 1x1 conv to 1280 channels, ReLU6 throughout, batch norm folded into
  the conv biases, TF "SAME" padding), global average pooling, then a 1x1 conv (a dense layer) to
  the 100-d **style vector**. Input: RGB in [0, 1], no other preprocessing.
* **Style transfer**: Magenta's transformer at width 0.25 (8/16/32 channels): 3 encoder convs
  (9x9, then two stride-2 3x3; bias and ReLU), 5 residual blocks, two x2 nearest-neighbour
  upsamplings each followed by a 3x3 conv, a final 9x9 conv to RGB and a sigmoid. Every conv
  reflect-pads by k // 2 and runs VALID. After each residual and decoder conv comes a
  **conditional instance norm**: instance statistics over height and width (biased variance,
  epsilon 1e-5), then a scale (gamma) and a shift (beta) that two dense layers compute from the
  style vector.

Both are fully convolutional; :func:`transfer_images` pads any size to a multiple of 4 and crops
back. Statistics and the output are float32 under every precision policy.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops

from nst_tf.feedforward.layers import NarrowOutputConv, ReflectionPad, UpsampleConv, reflect_pad_to_multiple

STYLE_DIM = 100
#: MobileNetV2 inverted-residual blocks: (expansion, output channels, stride) per block.
MOBILENET_BLOCKS = (
    (1, 16, 1),
    (6, 24, 2),
    (6, 24, 1),
    (6, 32, 2),
    (6, 32, 1),
    (6, 32, 1),
    (6, 64, 2),
    (6, 64, 1),
    (6, 64, 1),
    (6, 64, 1),
    (6, 96, 1),
    (6, 96, 1),
    (6, 96, 1),
    (6, 160, 2),
    (6, 160, 1),
    (6, 160, 1),
    (6, 320, 1),
)
TRANSFER_WIDTHS = (8, 16, 32)  # Magenta's transformer with alpha = 0.25
RESIDUAL_BLOCKS = 5
CIN_EPSILON = 1e-5
#: The style image's shorter side for the prediction network (the size Magenta trained it at).
STYLE_SIZE = 256


# --------------------------------------------------------------------------- style prediction


def _block_name(i: int) -> str:
    return "expanded_conv" if i == 0 else f"expanded_conv_{i}"


def build_style_predictor(name: str = "style_predict") -> keras.Model:
    """RGB [B, H, W, 3] in [0, 1] -> style vectors [B, 100] (float32)."""
    inputs = keras.Input(shape=(None, None, 3), name="style_image")
    x = layers.Conv2D(32, 3, strides=2, padding="same", name="Conv")(inputs)
    x = layers.ReLU(6.0, name="Conv_relu6")(x)
    channels = 32
    for i, (expansion, out, stride) in enumerate(MOBILENET_BLOCKS):
        block = _block_name(i)
        y = x
        if expansion != 1:
            y = layers.Conv2D(channels * expansion, 1, name=f"{block}_expand")(y)
            y = layers.ReLU(6.0, name=f"{block}_expand_relu6")(y)
        y = layers.DepthwiseConv2D(3, strides=stride, padding="same", name=f"{block}_depthwise")(y)
        y = layers.ReLU(6.0, name=f"{block}_depthwise_relu6")(y)
        y = layers.Conv2D(out, 1, name=f"{block}_project")(y)
        x = layers.Add(name=f"{block}_add")([x, y]) if stride == 1 and channels == out else y
        channels = out
    x = layers.Conv2D(1280, 1, name="Conv_1")(x)
    x = layers.ReLU(6.0, name="Conv_1_relu6")(x)
    x = layers.GlobalAveragePooling2D(name="bottleneck")(x)
    outputs = layers.Dense(STYLE_DIM, dtype="float32", name="style_vector")(x)
    return keras.Model(inputs, outputs, name=name)


# --------------------------------------------------------------------------- style transfer


class ConditionalInstanceNorm(layers.Layer):
    """Instance norm whose scale and shift are dense functions of a style vector.

    Called on ``[features, vectors]`` (``[B, H, W, C]``, ``[B, D]``); the moments and the affine
    step run in float32, the result is cast back to the layer's compute dtype. Written as one
    per-channel scale and shift of the features (``x * s + t`` with ``s = gamma / std`` and
    ``t = beta - mean * s``, computed on ``[B, 1, 1, C]``): two passes over the feature map
    instead of four, which is what LiteRT runs in float inside an int8 file (int8 at 512 px on a
    2-core Zen 4: 24 -> 20 ms).
    """

    def __init__(self, channels: int, epsilon: float = CIN_EPSILON, **kwargs):
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.epsilon = float(epsilon)
        self.beta = layers.Dense(self.channels, dtype="float32", name="beta")
        self.gamma = layers.Dense(self.channels, dtype="float32", name="gamma")

    def build(self, input_shape):
        self.beta.build(input_shape[1])
        self.gamma.build(input_shape[1])

    def call(self, inputs):
        x, vector = inputs
        x32 = ops.cast(x, "float32")
        vector = ops.cast(vector, "float32")
        mean, variance = ops.moments(x32, axes=[1, 2], keepdims=True)
        scale = self.gamma(vector)[:, None, None, :] * ops.rsqrt(variance + self.epsilon)
        shift = self.beta(vector)[:, None, None, :] - mean * scale
        return ops.cast(x32 * scale + shift, self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "epsilon": self.epsilon}


def _conv(x, filters, kernel, name, stride=1, use_bias=False):
    x = ReflectionPad(kernel // 2, name=f"{name}_pad")(x)
    cls = NarrowOutputConv if filters < 8 else layers.Conv2D
    return cls(filters, kernel, strides=stride, padding="valid", use_bias=use_bias, name=name)(x)


def _styled_conv(x, vector, filters, kernel, name, activation="relu", upsample=False):
    x = UpsampleConv(filters, name=name)(x) if upsample else _conv(x, filters, kernel, name)
    x = ConditionalInstanceNorm(filters, name=f"{name}_stylenorm")([x, vector])
    if activation == "relu":
        x = layers.ReLU(name=f"{name}_relu")(x)
    elif activation == "sigmoid":
        x = layers.Activation("sigmoid", dtype="float32", name="rgb")(x)
    return x


def build_style_transfer(name: str = "style_transfer") -> keras.Model:
    """``[content [B, H, W, 3] in [0, 1], vectors [B, 100]]`` -> RGB [B, H, W, 3] in [0, 1].

    ``H`` and ``W`` must be multiples of 4 (:func:`transfer_images` handles any size).
    """
    narrow, middle, wide = TRANSFER_WIDTHS
    content = keras.Input(shape=(None, None, 3), name="content_image")
    vector = keras.Input(shape=(STYLE_DIM,), name="style_vector")
    x = content
    for i, (filters, kernel, stride) in enumerate(((narrow, 9, 1), (middle, 3, 2), (wide, 3, 2)), start=1):
        x = _conv(x, filters, kernel, f"contract_conv{i}", stride=stride, use_bias=True)
        x = layers.ReLU(name=f"contract_conv{i}_relu")(x)
    for i in range(1, RESIDUAL_BLOCKS + 1):
        y = _styled_conv(x, vector, wide, 3, f"residual_residual{i}_conv1")
        y = _styled_conv(y, vector, wide, 3, f"residual_residual{i}_conv2", activation=None)
        x = layers.Add(name=f"residual_residual{i}_add")([x, y])
    for i, filters in enumerate((middle, narrow), start=1):
        x = _styled_conv(x, vector, filters, 3, f"expand_conv{i}_conv", upsample=True)
    outputs = _styled_conv(x, vector, 3, 9, "expand_conv3_conv", activation="sigmoid")
    return keras.Model([content, vector], outputs, name=name)


def transfer_images(model: keras.Model, content, vectors) -> tf.Tensor:
    """Stylise a float batch in [0, 1] of any size: reflect-pad to a multiple of 4, crop back.

    ``vectors``: ``[B, 100]``, or ``[1, 100]`` / ``[100]`` for one style for the whole batch. One
    style is given to the network as one row (the norms' scale and shift broadcast over the batch),
    so a constant style stays constant in exported graphs and converters fold its dense layers away.
    """
    content = tf.convert_to_tensor(content, tf.float32)
    vectors = tf.reshape(tf.convert_to_tensor(vectors, tf.float32), [-1, STYLE_DIM])
    if vectors.shape[0] != 1:
        vectors = tf.broadcast_to(vectors, tf.stack([tf.shape(content)[0], STYLE_DIM]))
    h, w = tf.shape(content)[1], tf.shape(content)[2]
    out = model([reflect_pad_to_multiple(content, 4), vectors], training=False)
    return tf.cast(out[:, :h, :w, :], tf.float32)


def build_pair(policy: str = "float32", like=None) -> tuple:
    """(style predictor, style transfer) under ``policy``; ``like``: a pair whose weights to copy."""
    from nst_tf import precision

    with precision.policy_scope(policy):
        predictor, transfer = build_style_predictor(), build_style_transfer()
    if like is not None:
        predictor.set_weights(like[0].get_weights())
        transfer.set_weights(like[1].get_weights())
    return predictor, transfer


def combined_model(predictor: keras.Model, transfer: keras.Model) -> keras.Model:
    """[photos, paintings] -> stylised photos: the model a training checkpoint holds."""
    photos = keras.Input(shape=(None, None, 3), name="photo")
    paintings = keras.Input(shape=(None, None, 3), name="painting")
    return keras.Model([photos, paintings], transfer([photos, predictor(paintings)]), name="arbitrary")


def restore_latest(predictor: keras.Model, transfer: keras.Model, workdir) -> bool:
    """Load both halves from the latest checkpoint of a training ``workdir``; False if it has none."""
    from nst_tf.feedforward import workdir as wd

    latest = wd.latest_checkpoint(workdir)
    if latest is None:
        return False
    tf.train.Checkpoint(model=combined_model(predictor, transfer)).restore(latest).expect_partial()
    return True
