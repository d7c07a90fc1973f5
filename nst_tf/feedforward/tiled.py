"""Feed-forward networks on pictures too large to paint whole: overlapping tiles that share the
instance-normalisation statistics of the whole picture, so the tiles agree and nothing shows where
they meet.

Every network here is convolutional apart from its instance norms, whose per-channel mean and
variance are taken over the whole picture. So (:class:`TiledNetwork`):

1. The picture is cut into tiles whose *cores* partition it, on multiples of the network's total
   stride, each grown by a *halo* at least as wide as the network's receptive field
   (:func:`receptive_field`): with the statistics fixed, every output pixel of a core then sees
   exactly the pixels it sees in the whole picture, and the halo is cropped off.
2. The statistics are measured norm by norm (:class:`StatsNetwork`): pass *k* runs every tile
   through the network up to norm *k*, the norms before it normalising with the statistics
   already measured, and pools norm *k*'s moments over the tiles' cores in float64. Each pass
   stops at its norm, so all of them together cost a few whole-network passes.
3. A last pass paints each tile with the measured statistics and keeps its core.

The result equals the whole picture's up to float rounding (at most one grey level in
``tests/feedforward/test_tiled.py``). Cheaper estimates do not hold: feeding every norm the
figures of a previous full pass diverged (mean error 25-100 grey levels on a 1024 px photo), and
statistics from a third of the picture, in pieces spread over it, left a mean error of 7. Memory
is one tile's work plus the picture in and out as uint8.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from nst_tf.feedforward.layers import UpsampleConv

DEFAULT_TILE = 1024  #: core side [px]; large tiles waste less on halos


def receptive_field(model: keras.Model) -> tuple[int, int]:
    """(halo, multiple) in input pixels: an upper bound of the radius over which an output pixel
    depends on the input (every conv's reach summed, as if all were in one chain), and the total
    stride tiles must be aligned to; the halo is a multiple of the stride."""
    from nst_tf.feedforward.compact import DepthToSpace, SpaceToDepth

    scale, deepest, radius = 1.0, 1.0, 0.0
    for layer in model.layers:
        if isinstance(layer, UpsampleConv):  # a 3x3 conv computed at the lower resolution, then x2
            radius += scale
            scale /= 2
        elif isinstance(layer, (layers.Conv2D, layers.DepthwiseConv2D)):
            k, d, s = layer.kernel_size[0], layer.dilation_rate[0], layer.strides[0]
            radius += (k // 2) * d * scale
            scale *= s
        elif isinstance(layer, DepthToSpace):
            scale /= layer.factor
        elif isinstance(layer, SpaceToDepth):
            radius += layer.factor * scale  # a block reaches up to factor - 1 pixels on
            scale *= layer.factor
        elif isinstance(layer, layers.UpSampling2D):
            scale /= layer.size[0]
        deepest = max(deepest, scale)
    multiple = int(round(deepest))
    return int(math.ceil(radius / multiple)) * multiple, multiple


def _is_norm(layer) -> bool:
    from nst_tf.feedforward.anystyle import ConditionalInstanceNorm

    if isinstance(layer, ConditionalInstanceNorm):
        return True
    return isinstance(layer, layers.GroupNormalization) and layer.groups in (-1, layer.input.shape[-1])


class _Reached(Exception):
    """Raised (while tracing) by the norm a statistics pass measures: the rest of the network is
    not needed."""

    def __init__(self, stats):
        super().__init__("statistics measured")
        self.stats = stats


def _normalise(layer, x, gamma, beta, mean, var):
    c = x.shape[-1]
    y = (tf.cast(x, tf.float32) - tf.reshape(mean, [1, 1, 1, c])) * tf.reshape(
        tf.math.rsqrt(var + float(layer.epsilon)), [1, 1, 1, c]
    )
    y = y * tf.reshape(tf.cast(gamma, tf.float32), [-1, 1, 1, c]) + tf.reshape(tf.cast(beta, tf.float32), [-1, 1, 1, c])
    return tf.cast(y, layer.compute_dtype)


def _core_moments(x, margins, input_height):
    """Mean and variance per channel over the tile's core: the tile less ``margins`` input pixels
    (top, left, bottom, right)."""
    h, w = tf.shape(x)[1], tf.shape(x)[2]
    m = tf.cast(margins, tf.int32) // (input_height // h)  # in this layer's pixels
    core = tf.cast(x, tf.float32)[:, m[0] : h - m[2], m[1] : w - m[3], :]
    mean, var = tf.nn.moments(core, axes=[0, 1, 2])
    return tf.concat([mean, var], axis=0)


@dataclass
class StatsNetwork:
    """``model`` run with its instance norms reading given statistics: ``forward(inputs, given,
    margins, measure)`` returns the picture when ``measure`` is past the last norm, else the core
    statistics of norm ``measure`` (the norms before it normalised with ``given``: per norm, the
    channels' means then their variances)."""

    model: keras.Model
    channels: list  #: per norm

    @property
    def width(self) -> int:
        return 2 * sum(self.channels)

    def offsets(self) -> list:
        return list(np.cumsum([0] + [2 * c for c in self.channels]))

    def forward(self, inputs, given, margins, measure: int):
        offsets, seen = self.offsets(), [0]
        input_height = tf.shape(inputs[0])[1]

        def call(layer, *args, **kwargs):
            if not _is_norm(layer):
                return layer(*args, **kwargs)
            k = seen[0]
            seen[0] += 1
            if isinstance(args[0], (list, tuple)):  # ConditionalInstanceNorm: [features, style vectors]
                x, vector = args[0]
                vector = tf.cast(vector, tf.float32)
                gamma, beta = layer.gamma(vector), layer.beta(vector)
            else:
                x = args[0]
                gamma, beta = keras.ops.convert_to_tensor(layer.gamma), keras.ops.convert_to_tensor(layer.beta)
            if k == measure:
                raise _Reached(_core_moments(x, margins, input_height))
            c, o = x.shape[-1], offsets[k]
            return _normalise(layer, x, gamma, beta, given[o : o + c], given[o + c : o + 2 * c])

        try:
            out = self.model._run_through_graph(inputs, operation_fn=lambda op: op, call_fn=call)
        except _Reached as reached:
            return reached.stats
        return out[0] if isinstance(out, (list, tuple)) else out


def stats_network(model: keras.Model) -> StatsNetwork:
    """``model``, sharing its layers and weights, ready to run with given statistics."""
    if not hasattr(model, "_run_through_graph"):
        raise RuntimeError(f"Keras {keras.__version__} does not run functional graphs op by op; tiling needs Keras 3")
    norms = [layer for layer in model.layers if _is_norm(layer)]
    channels = [(layer.input[0] if isinstance(layer.input, list) else layer.input).shape[-1] for layer in norms]
    return StatsNetwork(model, channels)


@dataclass(frozen=True)
class Tile:
    core: tuple  #: (top, left, bottom, right) of the core in the picture
    window: tuple  #: (top, left, bottom, right) of the tile, halo included (clipped to the picture)

    @property
    def margins(self) -> tuple:
        return tuple(abs(a - b) for a, b in zip(self.core, self.window))

    @property
    def core_pixels(self) -> int:
        return (self.core[2] - self.core[0]) * (self.core[3] - self.core[1])


def plan_tiles(height: int, width: int, tile: int, halo: int, multiple: int) -> list:
    """Tiles whose cores (multiples of ``multiple`` px, at most about ``tile``) partition a
    ``height`` x ``width`` picture (itself a multiple of ``multiple``)."""

    def cuts(n: int) -> list:
        pieces = max(1, math.ceil(n / tile))
        edges = [round(n * i / pieces / multiple) * multiple for i in range(pieces + 1)]
        return sorted(set(edges))

    rows, cols = cuts(height), cuts(width)
    out = []
    for t, b in zip(rows, rows[1:]):
        for left, r in zip(cols, cols[1:]):
            window = (max(0, t - halo), max(0, left - halo), min(height, b + halo), min(width, r + halo))
            out.append(Tile((t, left, b, r), window))
    return out


class TiledNetwork:
    """Paints a uint8 H x W x 3 picture tile by tile (see the module docstring).

    ``model``: the Keras network (RGB in [0, 1] first, then ``extra`` inputs such as a style
    vector, one row each); ``tile``: the core side in px.
    """

    def __init__(self, model: keras.Model, tile: int = DEFAULT_TILE):
        self.halo, self.multiple = receptive_field(model)
        self.tile = max(self.multiple, tile // self.multiple * self.multiple)
        self.net = stats_network(model)
        self._runs: dict = {}  # measure -> a tf.function traced once for every tile shape

    @property
    def norms(self) -> int:
        return len(self.net.channels)

    def plan(self, height: int, width: int) -> list:
        m = self.multiple
        return plan_tiles(height + (-height) % m, width + (-width) % m, self.tile, self.halo, m)

    def describe(self, height: int, width: int) -> str:
        n = len(self.plan(height, width))
        return (
            f"{n} tile{'s' if n > 1 else ''} of up to {self.tile} px + {self.halo} px overlap; the "
            f"{self.norms} normalisations' statistics measured over the whole picture first, one after another"
        )

    def _window(self, image: np.ndarray, tile: Tile) -> np.ndarray:
        """The tile's pixels as float [1, h, w, 3]; past the picture's bottom and right edges (up
        to the stride multiple) mirrored, as the whole-picture call pads."""
        t, left, b, r = tile.window
        h, w = image.shape[:2]
        crop = image[t : min(b, h), left : min(r, w)]
        if b > h or r > w:
            crop = np.pad(crop, ((0, max(0, b - h)), (0, max(0, r - w)), (0, 0)), mode="reflect")
        return crop[None].astype(np.float32) / 255.0

    def _call(self, image, tile: Tile, extra: Sequence[np.ndarray], given: np.ndarray, measure: int):
        inputs = [
            tf.constant(self._window(image, tile)),
            *[tf.constant(np.asarray(e, np.float32).reshape(1, -1)) for e in extra],
        ]
        if measure not in self._runs:
            specs = [tf.TensorSpec([1, None, None, 3], tf.float32)] + [
                tf.TensorSpec(x.shape, tf.float32) for x in inputs[1:]
            ]
            self._runs[measure] = tf.function(
                lambda x, g, m: self.net.forward(x, g, m, measure),
                input_signature=[specs, tf.TensorSpec([self.net.width], tf.float32), tf.TensorSpec([4], tf.int32)],
            )
        return self._runs[measure](inputs, tf.constant(given, tf.float32), tf.constant(tile.margins, tf.int32))

    def statistics(self, image: np.ndarray, extra: Sequence[np.ndarray] = (), progress: Optional[Callable] = None):
        """Every norm's statistics over the whole picture, norm by norm, pooled from the tiles'
        cores in float64."""
        tiles = self.plan(*image.shape[:2])
        given = np.zeros(self.net.width, np.float64)
        offsets, total = self.net.offsets(), sum(t.core_pixels for t in tiles)
        for k, c in enumerate(self.net.channels):
            mean, square = np.zeros(c), np.zeros(c)
            for tile in tiles:
                stats = self._call(image, tile, extra, given, k).numpy().astype(np.float64)
                n = tile.core_pixels
                mean += n * stats[:c]
                square += n * (stats[c:] + stats[:c] ** 2)
            mean, square = mean / total, square / total
            given[offsets[k] : offsets[k] + 2 * c] = np.concatenate([mean, np.maximum(square - mean**2, 0.0)])
            if progress:
                progress("statistics", k + 1, self.norms, "normalisation")
        return given

    def __call__(
        self, image: np.ndarray, extra: Sequence[np.ndarray] = (), progress: Optional[Callable] = None
    ) -> np.ndarray:
        """uint8 H x W x 3 in, uint8 H x W x 3 out."""
        image = np.asarray(image)
        h, w = image.shape[:2]
        given = self.statistics(image, extra, progress)
        out = np.empty((h, w, 3), np.uint8)
        tiles = self.plan(h, w)
        for i, tile in enumerate(tiles):
            painted = self._call(image, tile, extra, given, self.norms)
            t, left, b, r = tile.core
            wt, wl = tile.window[:2]
            core = painted[0, t - wt : min(b, h) - wt, left - wl : min(r, w) - wl]
            out[t : min(b, h), left : min(r, w)] = np.round(np.clip(core.numpy(), 0.0, 1.0) * 255.0)
            if progress:
                progress("painting", i + 1, len(tiles))
        return out


class TileProgress:
    """``progress`` for :class:`TiledNetwork`: a line every few seconds with the tile and an ETA."""

    def __init__(self, report: Callable[[str], None], every: float = 5.0):
        self.report, self.every = report, every
        self.stage, self.started, self.shown = None, 0.0, 0.0

    def __call__(self, stage: str, done: int, total: int, unit: str = "tile") -> None:
        now = time.perf_counter()
        if stage != self.stage:
            self.stage, self.started, self.shown = stage, now, now
        if now - self.shown >= self.every or (done == total and now - self.started >= self.every):
            self.shown = now
            eta = (now - self.started) / done * (total - done)
            self.report(f"  {stage}: {unit} {done}/{total}, about {eta:.0f} s left")
