"""Exact tiled evaluation of the Gatys loss and its gradient, for images too large to process whole.

Every term of the objective is a sum over the positions of some feature map, except the style
term, which is a function of Gram matrices that are themselves sums over positions. So:

1. The image is split into tiles whose *interiors* partition it. Interior edges lie on multiples
   of the deepest layer's stride, so the pooling windows of a tile line up with the whole
   image's. Each tile is grown by a *halo* at least as wide as the receptive field of the deepest
   layer used: every feature inside a tile's interior then sees exactly the pixels it sees in the
   whole image, so it has exactly the whole image's value.
2. Pass 1 (forward only): each tile adds its interior's ``F^T F`` to every style layer's Gram
   sum. That gives the global Gram matrices ``G``, the style loss, and ``dL/dG`` (C x C a layer).
3. Pass 2, per tile: back-propagate ``<dL/dG, F^T F> / N`` over the interior (with ``dL/dG``
   held constant its gradient at each position equals the global style loss's) plus the content
   loss over the interior, and add the tile's pixel gradient, halo included, into the
   full-image gradient. The halo pixels' gradients are what the neighbouring interiors' features
   send back; summing them over tiles is the chain rule, not a blend, so there are no seams.
4. The total-variation term is cheap and is computed on the whole image.

The result equals the whole-image gradient up to float rounding (``tests/test_tiling.py``
checks it, and checks that a halo that is too small is caught). The price is one extra
forward pass over every tile per step plus the halo's share of the work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import tensorflow as tf

from nst_tf import backbones, losses, memory
from nst_tf.errors import UserError
from nst_tf.objective import Objective

AUTO_MIN_TILE = 128  #: --tile=auto never picks smaller tiles: below this the halo's work dominates [px]



@dataclass(frozen=True)
class Tile:
    inner: tuple  #: (y0, y1, x0, x1) of the interior, in image pixels
    outer: tuple  #: (y0, y1, x0, x1) of the interior grown by the halo, clipped to the image


def receptive_field(layer: str, backbone: str) -> tuple:
    """``(stride, before, after)``: a feature at grid position ``p`` of ``layer`` is computed from
    input pixels ``stride * p - before`` to ``stride * p + after`` (3x3 'same' convolutions,
    2x2 pooling with stride 2)."""
    stride, before, after = 1, 0, 0
    for name in backbones.layer_names(backbone):
        if name.endswith("_pool"):
            after += stride
            stride *= 2
        else:
            before += stride
            after += stride
        if name == layer:
            return stride, before, after
    raise ValueError(f"{layer!r} is not a layer of {backbone}")


def geometry(layers: Sequence[str], backbone: str) -> tuple:
    """``(align, halo)`` in pixels for exact tiling at ``layers``: tile edges on multiples of
    ``align`` (the deepest layer's stride), and a halo covering every layer's receptive field."""
    fields = [receptive_field(n, backbone) for n in layers]
    align = max(stride for stride, _, _ in fields)
    reach = max(max(before, after) for _, before, after in fields)
    return align, align * math.ceil(reach / align)


def _axis(n: int, tile: int, halo: int, align: int) -> list:
    count = max(1, math.ceil(n / tile))
    step = align * math.ceil(math.ceil(n / count) / align)
    spans = []
    for start in range(0, n, step):
        stop = min(n, start + step)
        spans.append(((start, stop), (max(0, start - halo), min(n, stop + halo))))
    return spans


def plan(height: int, width: int, tile: int, halo: int, align: int) -> list:
    """Tiles with interiors of at most about ``tile`` px (balanced, multiples of ``align``) covering the image."""
    tile = max(align, tile - tile % align)
    return [Tile((ya, yb, xa, xb), (yA, yB, xA, xB))
            for (ya, yb), (yA, yB) in _axis(height, tile, halo, align)
            for (xa, xb), (xA, xB) in _axis(width, tile, halo, align)]


def _masks(t: Tile, strides: dict) -> dict:
    """Per layer, a 1 x h x w x 1 mask of the tile's feature map that is 1 on the interior."""
    (ya, yb, xa, xb), (yA, yB, xA, xB) = t.inner, t.outer
    out = {}
    for name, s in strides.items():
        m = np.zeros((1, (yB - yA) // s, (xB - xA) // s, 1), np.float32)
        m[:, (ya - yA) // s: yb // s - yA // s, (xa - xA) // s: xb // s - xA // s] = 1.0
        out[name] = tf.constant(m)
    return out


def _crop(image: np.ndarray, t: Tile) -> tf.Tensor:
    y0, y1, x0, x1 = t.outer
    return tf.constant(image[None, y0:y1, x0:x1])


def _masked_gram_sum(features, mask) -> tf.Tensor:
    f = tf.cast(features, tf.float32) * mask
    return tf.einsum("bijc,bijd->bcd", f, f)


class TiledObjective(Objective):
    """:class:`~nst_tf.objective.Objective` evaluated on tiles of at most ``tile`` px plus a halo.

    ``value_and_grad`` returns the same terms and gradient as the whole-image objective; the
    targets are computed tile by tile too, so content and style images of any size work.
    """

    def __init__(self, extractor, config, content, styles, style_blend=(1.0,), *, tile: int, halo: int = None):
        layers = backbones.resolve_layers(tuple(config.content_layers) + tuple(config.style_layers),
                                          extractor.backbone)
        self.align, needed = geometry(layers, extractor.backbone)
        self.halo = needed if halo is None else halo  # a smaller halo is for tests only: not exact
        self.tile = tile
        self.strides = {n: receptive_field(n, extractor.backbone)[0] for n in dict.fromkeys(layers)}
        self._tile_grams = tf.function(self._tile_grams_fn, jit_compile=config.jit_compile, reduce_retracing=True)
        self._tile_grad = tf.function(self._tile_grad_fn, jit_compile=config.jit_compile, reduce_retracing=True)
        self._tv = tf.function(self._tv_fn, jit_compile=config.jit_compile, reduce_retracing=True)
        super().__init__(extractor, config, content, styles, style_blend)

    def describe(self) -> str:
        inner = self.tiles[0].inner
        return (f"{len(self.tiles)} tiles of {inner[1] - inner[0]}x{inner[3] - inner[2]} px "
                f"+ {self.halo} px halo")

    def plan(self, height: int, width: int) -> list:
        return plan(height, width, self.tile, self.halo, self.align)

    # -- targets

    def _init_content(self, content: np.ndarray) -> None:
        self.shape = content.shape[:2]
        self.tiles = self.plan(*self.shape)
        self.tile_masks = [_masks(t, self.strides) for t in self.tiles]
        self.tile_targets = []
        energy = {n: 0.0 for n in self.content_layers}
        count = {n: 0.0 for n in self.content_layers}
        for t, masks in zip(self.tiles, self.tile_masks):
            feats = self.extractor(_crop(content, t))
            targets = {n: tf.cast(feats[n], tf.float32) * masks[n] for n in self.content_layers}
            for n, p in targets.items():
                energy[n] += float(tf.reduce_sum(tf.square(p)))
                count[n] += float(tf.reduce_sum(masks[n])) * int(p.shape[-1])
            self.tile_targets.append(targets)
        self.content_norms = {n: losses.content_normalizer(self.formulation, energy[n], count[n])
                              for n in self.content_layers}

    def _grams_and_counts(self, image: np.ndarray, tiles=None, masks=None) -> tuple:
        tiles = tiles or self.plan(*image.shape[:2])
        masks = masks or [_masks(t, self.strides) for t in tiles]
        sums = {n: 0.0 for n in self.style_layers}
        counts = {n: 0.0 for n in self.style_layers}
        for t, m in zip(tiles, masks):
            part = self._tile_grams(_crop(image, t), {n: m[n] for n in self.style_layers})
            for n in self.style_layers:
                sums[n] += part[n]
                counts[n] += float(tf.reduce_sum(m[n]))
        return {n: sums[n] / counts[n] for n in self.style_layers}, counts

    def grams(self, image: np.ndarray) -> dict:
        return self._grams_and_counts(image)[0]

    # -- per-tile graphs

    def _tile_grams_fn(self, crop, masks):
        feats = self.extractor(crop)
        return {n: _masked_gram_sum(feats[n], masks[n]) for n in masks}

    def _tile_grad_fn(self, crop, masks, targets, content_norms, style_grads, factor):
        cw = self.weights[0]
        with tf.GradientTape() as tape:
            tape.watch(crop)
            feats = self.extractor(crop)
            content = tf.add_n([
                content_norms[n] * tf.reduce_sum(masks[n] * tf.square(tf.cast(feats[n], tf.float32) - targets[n]))
                for n in self.content_layers
            ]) / float(len(self.content_layers))
            # Linear in this tile's Gram sum; its gradient is the global style loss's.
            style = tf.add_n([tf.reduce_sum(style_grads[n] * _masked_gram_sum(feats[n], masks[n]))
                              for n in self.style_layers])
            loss = (cw * content + style) * factor
        return content, tape.gradient(loss, crop)

    def _tv_fn(self, image, factor):
        with tf.GradientTape() as tape:
            tape.watch(image)
            tv = losses.total_variation_loss(image, self.formulation)
            loss = self.weights[2] * tv * factor
        return tv, tape.gradient(loss, image)

    # -- loss and gradient

    def __call__(self, image) -> dict:
        return self.value_and_grad(image)[0]

    def value_and_grad(self, image, scale: float = 1.0):
        """The terms and the gradient of ``scale * total`` with respect to ``image`` (1 x H x W x 3)."""
        x = np.asarray(image.numpy() if hasattr(image, "numpy") else image, np.float32)
        factor = tf.constant(scale, tf.float32)
        # Pass 1: global Gram matrices, the style loss and its gradient with respect to them.
        grams, counts = self._grams_and_counts(x[0], self.tiles, self.tile_masks)
        with tf.GradientTape() as tape:
            tape.watch(grams)
            style = self.style_term(grams)
        d_grams = tape.gradient(style, grams)
        sw = self.weights[1]
        style_grads = {n: sw * d_grams[n] / counts[n] for n in self.style_layers}
        # Pass 2: per-tile back-propagation, summed into the full-image gradient.
        grad = np.zeros_like(x)
        content = 0.0
        for t, masks, targets in zip(self.tiles, self.tile_masks, self.tile_targets):
            c, g = self._tile_grad(_crop(x[0], t), masks, targets, self.content_norms, style_grads, factor)
            content += c
            y0, y1, x0, x1 = t.outer
            grad[:, y0:y1, x0:x1] += g.numpy()
        tv, g_tv = self._tv(tf.constant(x), factor)
        grad += g_tv.numpy()
        return self.combine(content, style, tv), tf.constant(grad)


def _content_target_bytes(tiles: list, content_layers, strides: dict) -> int:
    total = 0
    for t in tiles:
        y0, y1, x0, x1 = t.outer
        for n in content_layers:
            s = strides[n]
            total += ((y1 - y0) // s) * ((x1 - x0) // s) * memory.channels(n) * 4
    return total


@dataclass(frozen=True)
class MemoryPlan:
    tile: int | None  #: tile interior [px], None: the whole image at once
    need_bytes: int  #: estimated peak
    tiles: int = 1
    halo: int = 0

    def describe(self) -> str:
        text = f"est. peak memory {memory.gib(self.need_bytes)}"
        if self.tile:
            text += f" in {self.tiles} tiles of up to {self.tile} px + {self.halo} px halo"
        return text


def plan_memory(option, content_layers, style_layers, backbone: str, height: int, width: int, policy: str,
                available: int | None = None) -> MemoryPlan:
    """Decide between a whole-image step and tiles for ``--tile=option`` (``auto``, ``off`` or a size).

    ``auto`` tiles only when the whole image would not fit, with the largest tiles that fit.
    Raises :class:`UserError` when nothing fits, naming the largest size that would.
    """
    layers = tuple(dict.fromkeys(tuple(content_layers) + tuple(style_layers)))
    avail = available if available is not None else memory.limit_bytes()
    if option == "off":
        return MemoryPlan(None, memory.check_fits(layers, backbone, height, width, policy, avail))
    whole = memory.estimate_peak_bytes(layers, backbone, height, width, policy)
    align, halo = geometry(layers, backbone)
    strides = {n: receptive_field(n, backbone)[0] for n in layers}

    def tiled(tile):
        tiles = plan(height, width, tile, halo, align)
        if len(tiles) == 1:
            return whole, 1
        th = max(t.outer[1] - t.outer[0] for t in tiles)
        tw = max(t.outer[3] - t.outer[2] for t in tiles)
        need = memory.tiled_peak_bytes(layers, backbone, height, width, th, tw, policy,
                                       _content_target_bytes(tiles, content_layers, strides))
        return need, len(tiles)

    if option != "auto":
        need, count = tiled(int(option))
        if count == 1:
            return MemoryPlan(None, memory.check_fits(layers, backbone, height, width, policy, avail))
        if avail is not None and need > avail:
            raise UserError(f"tiles of {option} px need about {memory.gib(need)} of memory but "
                            f"{memory.gib(avail)} is available; use a smaller --tile or --tile=auto")
        return MemoryPlan(int(option), need, count, halo)
    if avail is None or whole <= avail:
        return MemoryPlan(None, whole)
    side = max(height, width)
    state = memory.IMAGE_COPIES * height * width * 3 * 4
    for count in range(2, side // AUTO_MIN_TILE + 1) if state < avail else ():
        tile = align * math.ceil(math.ceil(side / count) / align)
        need, n_tiles = tiled(tile)
        if need <= avail:
            return MemoryPlan(tile, need, n_tiles, halo)
    # Not even the smallest tiles fit: the whole-image state is too large.
    grow = ((AUTO_MIN_TILE + 2 * halo) / AUTO_MIN_TILE) ** 2  # content targets are kept for halos too
    per_pixel = memory.IMAGE_COPIES * 3 * 4 + sum(
        grow * memory.channels(n) * 4 / strides[n] ** 2 for n in dict.fromkeys(content_layers))
    one_tile = memory.estimate_peak_bytes(layers, backbone, AUTO_MIN_TILE + 2 * halo, AUTO_MIN_TILE + 2 * halo, policy)
    need = one_tile + per_pixel * height * width
    room = max(avail - one_tile, 0)
    fit = int(math.sqrt(room / per_pixel * side / min(height, width)))
    fit -= fit % 16
    raise UserError(
        f"a {width}x{height} px run needs about {memory.gib(need)} of memory even in tiles but "
        f"{memory.gib(avail)} is available; the largest --size that fits is about {fit} px"
    )
