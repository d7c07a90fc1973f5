"""Any style, no training: encode a painting once as a style vector, then stylise photos with it.

    from nst_tf.feedforward import ArbitraryStylizer
    net = ArbitraryStylizer()                       # published weights, precision chosen per device
    wave = net.style_vector("great_wave.jpg")       # 100 floats: save, mix, reuse
    out = net.transfer("photo.jpg", wave, strength=0.8)          # float HxWx3 in [0, 1]
    both = net.mix([wave, net.style_vector("starry.jpg")], [0.5, 0.5])

Strength follows Magenta: the style vector is interpolated with the photo's own vector
(``strength * style + (1 - strength) * content``), so 0 gives the network's rendering of the
photo in its own style and 1 the full painting style.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional, Sequence

import keras
import numpy as np
import tensorflow as tf

from nst_tf import calibration, images
from nst_tf.errors import UserError, first_line
from nst_tf.feedforward import anystyle as networks
from nst_tf.feedforward import anystyle_weights as weights
from nst_tf.feedforward import workdir as wd

log = logging.getLogger(__name__)

MIN_SIDE = 8  # the 9x9 reflect padding and two stride-2 convs need this many pixels


def check_strength(strength) -> float:
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0.0 <= strength <= 1.0:
        raise UserError(f"strength must be between 0 and 1, got {strength!r}")
    return float(strength)


def mix_vectors(vectors: Sequence[np.ndarray], style_weights: Optional[Sequence[float]] = None) -> np.ndarray:
    """A weighted average of style vectors (weights need not add to 1; they are normalised)."""
    vectors = [np.asarray(v, np.float32).reshape(networks.STYLE_DIM) for v in vectors]
    if not vectors:
        raise UserError("mixing needs at least one style vector")
    w = np.ones(len(vectors), np.float32) if style_weights is None else np.asarray(style_weights, np.float32)
    if w.shape != (len(vectors),):
        raise UserError(f"{len(w)} style weights for {len(vectors)} styles; give one weight per style")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise UserError(f"style weights must be zero or more with a positive sum, got {list(map(float, w))}")
    return np.tensordot(w / w.sum(), np.stack(vectors), axes=1).astype(np.float32)


def save_vector(vector: np.ndarray, path) -> Path:
    """Write a style vector as ``.npy`` (atomically)."""
    from nst_tf.files import atomic_write

    vector = np.asarray(vector, np.float32).reshape(networks.STYLE_DIM)
    if Path(path).is_dir():
        raise UserError(f"{path} is a folder; name a file for the style vector, e.g. {Path(path) / 'style.npy'}")
    return atomic_write(path, lambda fh: np.save(fh, vector))


def load_vector(path) -> np.ndarray:
    try:
        v = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:  # EOFError: an empty or cut-off file
        raise UserError(
            f"{path} is not a style vector file ({exc}); write one with save_vector or nst-apply --save_style_vector"
        ) from None
    if v.size != networks.STYLE_DIM or not np.all(np.isfinite(v)):
        raise UserError(f"{path} holds {v.size} values; a style vector has {networks.STYLE_DIM} finite values")
    return v.reshape(networks.STYLE_DIM).astype(np.float32)


def _check_image(image: np.ndarray, what: str) -> np.ndarray:
    image = np.asarray(image, np.float32)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise UserError(f"the {what} must be an RGB image H x W x 3, got shape {image.shape}")
    if min(image.shape[:2]) < MIN_SIDE:
        raise UserError(
            f"the {what} is {image.shape[1]}x{image.shape[0]} px; the any-style network needs at "
            f"least {MIN_SIDE} px on each side (use a larger image or a larger --size)"
        )
    return image


def style_input(image: np.ndarray, size: int) -> np.ndarray:
    """The style image with its shorter side at ``size`` (aspect kept), as the predictor was trained."""
    h, w = image.shape[:2]
    scale = size / min(h, w)
    return images.resize_to(image, (max(1, round(h * scale)), max(1, round(w * scale))))


class ArbitraryStylizer:
    """The style-prediction and style-transfer networks, built once, with compiled calls.

    ``precision``: ``auto`` (the device's choice, as for optimisation) or a Keras policy name.
    ``weights``: ``published`` (Magenta's, converted once and cached) or a folder holding
    ``predict.weights.h5`` and ``transfer.weights.h5`` (for instance a training workdir's export).
    ``jit_compile``: XLA for the transfer network, ``auto`` (measured on this machine once, then
    weighed for ``n_images`` photos: :func:`nst_tf.calibration.decide_network_jit`), ``on``/``off``
    or a bool.
    """

    def __init__(
        self,
        precision_name: str = "auto",
        weights_source: str = "published",
        recalibrate: bool = False,
        jit_compile="off",
        n_images: int = 1,
    ):
        self.jit_compile = False
        predictor, transfer = networks.build_pair("float32")
        if weights_source == "published":
            weights.load_published(predictor, transfer)
        else:
            load_weights_folder(predictor, transfer, weights_source)
        self._set_models(predictor, transfer)
        self.policy, self.policy_reason = calibration.decide_policy(
            precision_name, "arbitrary-style network", self._seconds_per_call, recalibrate
        )
        if self.policy != "float32":
            self._set_models(*networks.build_pair(self.policy, like=(predictor, transfer)))
        option = {True: "on", False: "off"}.get(jit_compile, jit_compile)
        jit, self.jit_reason = calibration.decide_network_jit(
            option, "arbitrary-style transfer", self.policy, n_images, self._first_and_each_call, recalibrate
        )
        if jit:
            self.jit_compile = True
            self._set_models(self.predictor, self.transfer_model)

    def _set_models(self, predictor: keras.Model, transfer: keras.Model) -> None:
        self.predictor, self.transfer_model = predictor, transfer
        spec = tf.TensorSpec([None, None, None, 3], tf.float32)
        self._predict = tf.function(lambda x: predictor(x, training=False), input_signature=[spec])
        self._transfer = tf.function(
            lambda x, v: networks.transfer_images(transfer, x, v),
            jit_compile=self.jit_compile,
            reduce_retracing=True,
            input_signature=[spec, tf.TensorSpec([None, networks.STYLE_DIM], tf.float32)],
        )

    def _first_and_each_call(self, jit: bool) -> tuple:
        """(first call, best of 3 later calls) in seconds of the transfer network on a 256 px photo."""
        import time

        probe = ArbitraryStylizer.__new__(ArbitraryStylizer)
        probe.jit_compile = jit
        probe._set_models(self.predictor, self.transfer_model)
        image = tf.constant(np.random.default_rng(0).uniform(size=(1, 256, 256, 3)).astype(np.float32))
        vector = tf.zeros([1, networks.STYLE_DIM], tf.float32)
        times = []
        for _ in range(4):
            t0 = time.perf_counter()
            probe._transfer(image, vector).numpy()
            times.append(time.perf_counter() - t0)
        return times[0], min(times[1:])

    def _seconds_per_call(self, policy: str) -> float:
        """Style encoding plus transfer of a 256 px photo under ``policy`` (best of 3, after a warm-up)."""
        import time

        probe = ArbitraryStylizer.__new__(ArbitraryStylizer)
        probe.jit_compile = False
        probe._set_models(
            *(
                networks.build_pair(policy, like=(self.predictor, self.transfer_model))
                if policy != "float32"
                else (self.predictor, self.transfer_model)
            )
        )
        image = np.random.default_rng(0).uniform(size=(1, 256, 256, 3)).astype(np.float32)
        times = []
        for _ in range(4):
            t0 = time.perf_counter()
            v = probe._predict(tf.constant(image))
            probe._transfer(tf.constant(image), v).numpy()
            times.append(time.perf_counter() - t0)
        return min(times[1:])

    def describe(self) -> str:
        xla = f"XLA {'on' if self.jit_compile else 'off'} ({self.jit_reason})"
        return f"any-style network (Ghiasi et al. 2017), {self.policy} ({self.policy_reason}), {xla}"

    # ----------------------------------------------------------------- style vectors

    def style_vector(self, style, size: int = networks.STYLE_SIZE) -> np.ndarray:
        """The 100-d vector of a style image (path or float array); the image is resized so its
        shorter side is ``size`` px first."""
        if isinstance(style, (str, Path)) and Path(style).suffix.lower() == ".npy":
            return load_vector(style)
        image = _check_image(images.load_image(style), "style image")
        return self._predict(style_input(image, size)[None]).numpy()[0]

    def mixed_vector(self, image: np.ndarray, vector: np.ndarray, strength: float) -> np.ndarray:
        """``vector`` mixed with a uint8 photo's own at ``strength`` (the photo encoded from a
        1024 px copy, so a print-size photo is never held as floats)."""
        vector = np.asarray(vector, np.float32).reshape(networks.STYLE_DIM)
        if strength >= 1.0:
            return vector
        from nst_tf.feedforward.print_size import shrink

        return strength * vector + (1.0 - strength) * self.style_vector(shrink(np.asarray(image), 1024))

    def content_vectors(self, batch: np.ndarray) -> np.ndarray:
        """Each photo's own style vector (for strength below 1)."""
        return np.stack([self.style_vector(img) for img in batch])

    mix = staticmethod(mix_vectors)

    # ----------------------------------------------------------------- stylising

    def transfer_batch(self, batch: np.ndarray, vector: np.ndarray, strength: float = 1.0) -> np.ndarray:
        """Float [B, H, W, 3] in [0, 1] -> float [B, H, W, 3], all with one style vector."""
        strength = check_strength(strength)
        batch = np.asarray(batch, np.float32)
        _check_image(batch[0], "photo")
        v = np.broadcast_to(
            np.asarray(vector, np.float32).reshape(1, networks.STYLE_DIM), (len(batch), networks.STYLE_DIM)
        )
        if strength < 1.0:
            v = strength * v + (1.0 - strength) * self.content_vectors(batch)
        return self._transfer(tf.constant(batch), tf.constant(v, tf.float32)).numpy()

    def transfer(self, content, vector: np.ndarray, strength: float = 1.0) -> np.ndarray:
        """One photo (path or float array) with a style vector -> float H x W x 3 in [0, 1]."""
        image = _check_image(images.load_image(content), "photo")
        return self.transfer_batch(image[None], vector, strength)[0]

    def stylize(self, content, style, strength: float = 1.0) -> np.ndarray:
        """One photo in the style of one painting (paths or arrays)."""
        return self.transfer(content, self.style_vector(style), strength)

    def export(self, directory, tflite: Optional[str] = "float16") -> Path:
        """Write the SavedModel (``serve``, ``style_vector``, ``transfer`` signatures) to ``directory``
        and, unless ``tflite`` is None, ``predict.tflite`` and ``transfer.tflite`` beside it
        (``float16`` or ``int8`` weights). See :mod:`nst_tf.feedforward.anystyle_export`."""
        from nst_tf.feedforward import anystyle_export as export

        directory = export.export_saved_model(self.predictor, self.transfer_model, directory)
        if tflite:
            export.export_tflite(directory, directory, tflite)
        return directory

    def stylizer(self, vector: np.ndarray, strength: float = 1.0):
        """A uint8 batch -> uint8 batch callable (the interface of ``nst_tf.feedforward.apply``)."""
        strength = check_strength(strength)

        def run(batch: np.ndarray) -> np.ndarray:
            out = self.transfer_batch(np.asarray(batch, np.float32) / 255.0, vector, strength)
            return np.round(np.clip(out, 0.0, 1.0) * 255.0).astype(np.uint8)

        return run


def load_weights_folder(predictor: keras.Model, transfer: keras.Model, folder) -> None:
    """Weights from a folder with ``predict.weights.h5`` and ``transfer.weights.h5``, or from a
    workdir of ``nst-train-fast --arch=arbitrary`` (its exported weights, else its latest checkpoint)."""
    folder = wd.anystyle_weights(folder)
    if not (folder / wd.ANYSTYLE_WEIGHT_FILES["predict"]).is_file() and networks.restore_latest(
        predictor, transfer, folder
    ):
        return
    paths = {k: folder / name for k, name in wd.ANYSTYLE_WEIGHT_FILES.items()}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise UserError(
            f"{folder} has no any-style weights ({', '.join(missing)} missing); pass the --workdir of "
            "nst-train-fast --arch=arbitrary, or use the published weights"
        )
    try:
        predictor.load_weights(paths["predict"])
        transfer.load_weights(paths["transfer"])
    except Exception as exc:
        raise UserError(
            f"the any-style weights in {folder} could not be loaded "
            f"({first_line(exc, 160)}); train or export "
            "them again"
        ) from None
