"""The one way a ``--model`` value becomes something that stylises: :func:`open_stylizer`.

``nst-apply``, ``nst-apply-beam``, ``nst-web`` and the Python API all call it:

    from nst_tf.feedforward import open_stylizer
    net = open_stylizer("arbitrary", styles=["starry_night.jpg"], strength=0.8)
    out = net.stylize([photo])[0]                 # float H x W x 3 in [0, 1]
    net = open_stylizer("runs/starry")            # a workdir, its saved_model/, or a .tflite file

A ``--model`` value is ``arbitrary`` (the any-style network with Magenta's published weights), a
training workdir of ``nst-train-fast`` (per-style or ``--arch=arbitrary``), a SavedModel folder
or a ``.tflite`` file. Any-style models need ``styles`` (paintings or ``.npy`` style vectors,
mixed by ``style_weights``), except when opened with ``styles=None`` to encode styles per call
(:attr:`Stylizer.network`, as the web app does).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from nst_tf import images
from nst_tf.errors import UserError
from nst_tf.feedforward import workdir as wd

Runner = Callable[[np.ndarray], np.ndarray]  # uint8 [B, H, W, 3] -> uint8 [B, H, W, 3]


@dataclass
class Stylizer:
    """A network with its style: ``run`` maps a uint8 batch to a uint8 batch of the same size."""

    run: Optional[Runner]
    description: str
    network: object = None  #: any-style models: the :class:`ArbitraryStylizer` (new styles, vectors)
    vector: Optional[np.ndarray] = None  #: any-style models opened with styles: the (mixed) style vector
    arch: Optional[str] = None  #: the architecture, for the memory check (None: exported, not checked)
    #: paints one large uint8 image in tiles (:class:`~nst_tf.feedforward.tiled.TiledNetwork`)
    tiled: Optional["TiledRun"] = None

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """A uint8 batch stylised. An image whose whole-picture call is too large is painted in
        tiles where the network allows it, else refused (naming the largest size that fits); a
        batch too large for the memory runs one image at a time."""
        from nst_tf.feedforward import footprint

        if self.run is None:
            raise UserError("this any-style model was opened without a style; pass styles to open_stylizer")
        n, h, w = np.shape(batch)[:3]
        if self.arch not in footprint.MIB_PER_MEGAPIXEL:  # an exported file: nothing to check
            return self.run(batch)
        from nst_tf import memory

        avail = memory.limit_bytes()  # read once per call (meminfo, cgroup, devices)
        if self.tiled is not None and footprint.should_tile(self.arch, h, w, avail):
            tile = footprint.choose_tile(self.arch, h, w, self.tiled.halo, avail)
            return np.stack([self.tiled(image, tile) for image in batch])
        footprint.check(self.arch, h, w, available=avail)
        if n > 1 and not footprint.fits(self.arch, h, w, n, available=avail):
            return np.concatenate([self.run(batch[i : i + 1]) for i in range(n)])
        return self.run(batch)

    def run_batches(self, items: Sequence[np.ndarray], batch_size: int = 4) -> list:
        """uint8 H x W x 3 images in, uint8 images out; same-size images go through together."""
        out: list = [None] * len(items)
        by_size: dict = {}
        for i, item in enumerate(items):
            by_size.setdefault(np.shape(item), []).append(i)
        for idx in by_size.values():
            for start in range(0, len(idx), batch_size):
                chunk = idx[start : start + batch_size]
                for i, result in zip(chunk, self(np.stack([items[i] for i in chunk]))):
                    out[i] = np.asarray(result, np.uint8)
        return out

    def stylize(self, frames: Sequence[np.ndarray], batch_size: int = 4) -> list:
        """Float [0, 1] images in, float images out (in batches of same-size images)."""
        done = self.run_batches([images.to_uint8(f) for f in frames], batch_size)
        return [r.astype(np.float32) / 255.0 for r in done]


class TiledRun:
    """A network painting one uint8 H x W x 3 image in tiles, built on first use; ``extra(image)``
    gives its other inputs (an any-style network's style vector)."""

    def __init__(self, model, extra: Callable[[np.ndarray], list] = lambda image: []):
        from nst_tf.feedforward import tiled

        self.model, self.extra, self.networks = model, extra, {}
        self.halo, self.multiple = tiled.receptive_field(model)  # multiple: the network's total stride

    def __call__(self, image: np.ndarray, tile: Optional[int] = None) -> np.ndarray:
        import logging

        from nst_tf.feedforward import tiled

        tile = tile or tiled.DEFAULT_TILE
        if tile not in self.networks:
            self.networks[tile] = tiled.TiledNetwork(self.model, tile)
        network, log = self.networks[tile], logging.getLogger("nst_tf")
        h, w = image.shape[:2]
        log.info("%dx%d px in tiles: %s", w, h, network.describe(h, w))
        return network(image, self.extra(image), tiled.TileProgress(log.info))


def _float_runner(model, forward) -> Runner:
    def run(batch: np.ndarray) -> np.ndarray:
        out = np.asarray(forward(model, np.asarray(batch, np.float32) / 255.0))
        return np.round(np.clip(out, 0.0, 1.0) * 255.0).astype(np.uint8)

    return run


def _open_trained(path, precision: str = "auto", jit_compile="off", n_images: int = 1) -> Stylizer:
    """A per-style network: a ``.tflite`` file or a SavedModel folder (run as exported, float32), or a
    workdir: its checkpoint at the precision and XLA setting measured fastest here
    (:class:`~nst_tf.feedforward.perstyle_stylizer.CheckpointNetwork`), else its export."""
    from nst_tf.feedforward import johnson_export

    p = Path(path)
    if p.is_file() and p.suffix == ".tflite":
        return Stylizer(johnson_export.load_tflite(p), f"per-style network {p} (TFLite)")
    latest = None if wd.saved_model(p) == p else wd.latest_checkpoint(p)
    if latest:
        from nst_tf.feedforward.johnson import PER_STYLE_ARCHS
        from nst_tf.feedforward.perstyle_stylizer import CheckpointNetwork

        arch = wd.arch(p)
        if arch not in PER_STYLE_ARCHS:
            raise UserError(
                f"{p / wd.ARCH_FILE} names an unknown network {arch!r}; expected one of {', '.join(PER_STYLE_ARCHS)}"
            )
        net = CheckpointNetwork(arch, latest, precision, jit_compile, n_images)
        described = f"per-style network {p} ({arch}, {net.describe()})"
        return Stylizer(_float_runner(net, lambda m, x: m(x)), described, arch=arch, tiled=TiledRun(net.model))
    saved = wd.saved_model(p)
    if saved is not None:
        arch = wd.arch(p) if saved != p else None
        return Stylizer(johnson_export.load_saved_model(saved), f"per-style network {saved} (SavedModel)", arch=arch)
    raise UserError(
        f"{path} is neither a SavedModel, a .tflite file nor a training workdir with checkpoints; "
        "pass the --workdir of nst-train-fast or its saved_model/ folder"
    )


def open_any_style_network(model: str = wd.ANY_STYLE, precision: str = "auto", jit_compile="off", n_images: int = 1):
    """The any-style network (:class:`ArbitraryStylizer`) a ``--model`` value names; ``jit_compile``
    ``auto`` decides XLA by measurement for a run of ``n_images`` photos."""
    from nst_tf.feedforward.anystyle_stylizer import ArbitraryStylizer

    source = "published" if str(model) == wd.ANY_STYLE else str(model)
    return ArbitraryStylizer(precision, weights_source=source, jit_compile=jit_compile, n_images=n_images)


def style_vectors(network, styles: Sequence, read: Callable = images.load_image) -> list:
    """One style vector per painting (``read`` decodes it) or ``.npy`` file."""
    from nst_tf.feedforward.anystyle_stylizer import load_vector

    return [load_vector(s) if str(s).lower().endswith(".npy") else network.style_vector(read(s)) for s in styles]


def check_styles(
    styles: Sequence, style_weights: Optional[Sequence[float]] = None, read: Optional[Callable] = None
) -> None:
    """Refuse missing or unreadable styles before any network is built (a bad style would spoil
    every output); ``read`` decodes a painting (default: local files)."""
    if not styles:
        raise UserError(
            "an any-style --model (arbitrary, or a workdir of nst-train-fast --arch=arbitrary) needs "
            "--style: one or more painting images (or .npy style vectors)"
        )
    if style_weights and len(style_weights) != len(styles):
        raise UserError(f"{len(style_weights)} --style_weights for {len(styles)} --style; give one per style")
    for style in styles:
        if str(style).lower().endswith(".npy"):
            continue
        if read is not None:
            read(style)
        elif "://" not in str(style):
            images.load_image(style)


def _with_vector(net, vector: np.ndarray, strength: float) -> Stylizer:
    tiled = TiledRun(net.transfer_model, lambda image: [net.mixed_vector(image, vector, strength)])
    return Stylizer(
        net.stylizer(vector, strength), net.describe(), network=net, vector=vector, arch=wd.ANY_STYLE, tiled=tiled
    )


def open_stylizer(
    model,
    styles: Optional[Sequence] = (),
    *,
    style_weights: Optional[Sequence[float]] = None,
    strength: float = 1.0,
    precision: str = "auto",
    jit_compile="off",
    n_images: int = 1,
    network=None,
    read: Optional[Callable] = None,
) -> Stylizer:
    """Open ``model`` (see the module docstring) with its style.

    Any-style models: ``styles`` are checked before the network is built, then encoded once and
    mixed by ``style_weights``; ``styles=None`` opens the network alone. ``network``: an
    already-built any-style network to reuse. ``read``: how a painting is decoded (default: local
    files; Beam reads through its filesystems). ``precision`` and ``jit_compile`` (``auto``: XLA
    weighed for ``n_images`` photos) apply to the any-style network and to a per-style network
    opened from its workdir's checkpoint; SavedModel and TFLite files run as exported.
    """
    from nst_tf.feedforward.anystyle_stylizer import check_strength, mix_vectors

    if not wd.is_any_style(model):
        return _open_trained(model, precision, jit_compile, n_images)
    strength = check_strength(strength)
    if styles is not None:
        check_styles(styles, style_weights, read)
    net = network or open_any_style_network(model, precision, jit_compile, n_images)
    if styles is None:
        return Stylizer(None, net.describe(), network=net, arch=wd.ANY_STYLE)
    return _with_vector(
        net, mix_vectors(style_vectors(net, styles, read or images.load_image), style_weights), strength
    )


def check_models(models: Sequence[str]) -> bool:
    """Refuse no model, or the any-style network beside others; returns whether it is one any-style model."""
    models = [str(m) for m in models]
    if not models:
        raise UserError(
            "--model is required: arbitrary (with --style), a training workdir, a SavedModel folder or a .tflite file"
        )
    if wd.ANY_STYLE in models and len(models) > 1:
        raise UserError("--model=arbitrary cannot be combined with other models; give several --style instead")
    return len(models) == 1 and wd.is_any_style(models[0])


def open_stylizers(models: Sequence[str], styles: Sequence = (), *, per_region: bool = False, **kwargs) -> list:
    """Several styles placed by masks: one stylizer per trained model, or per style of one any-style
    model (all sharing its network); otherwise a one-element list from :func:`open_stylizer`."""
    if not check_models(models):
        options = {k: kwargs[k] for k in ("precision", "jit_compile", "n_images") if k in kwargs}
        return [_open_trained(str(m), **options) for m in models]
    if not per_region:
        return [open_stylizer(models[0], styles, **kwargs)]
    read = kwargs.get("read")
    check_styles(styles, kwargs.pop("style_weights", None), read)
    net = open_stylizer(models[0], None, **kwargs).network
    strength = kwargs.get("strength", 1.0)
    return [_with_vector(net, v, strength) for v in style_vectors(net, styles, read or images.load_image)]
