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

import numpy as np
import tensorflow as tf

from nst_tf import backbones, losses, vgg
from nst_tf.masks import layer_masks, resize_mask
from nst_tf.objective import Objective
from nst_tf.precision import compiled


@dataclass(frozen=True)
class Tile:
    inner: tuple  #: (y0, y1, x0, x1) of the interior, in image pixels
    outer: tuple  #: (y0, y1, x0, x1) of the interior grown by the halo, clipped to the image


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
    return [
        Tile((ya, yb, xa, xb), (yA, yB, xA, xB))
        for (ya, yb), (yA, yB) in _axis(height, tile, halo, align)
        for (xa, xb), (xA, xB) in _axis(width, tile, halo, align)
    ]


def _masks(t: Tile, strides: dict) -> dict:
    """Per layer, a 1 x h x w x 1 mask of the tile's feature map that is 1 on the interior."""
    (ya, yb, xa, xb), (yA, yB, xA, xB) = t.inner, t.outer
    out = {}
    for name, s in strides.items():
        m = np.zeros((1, (yB - yA) // s, (xB - xA) // s, 1), np.float32)
        m[:, (ya - yA) // s : yb // s - yA // s, (xa - xA) // s : xb // s - xA // s] = 1.0
        out[name] = tf.constant(m)
    return out


def _crop(image: np.ndarray, t: Tile) -> tf.Tensor:
    y0, y1, x0, x1 = t.outer
    return tf.constant(image[None, y0:y1, x0:x1])


def _masked_gram_sum(features, mask) -> tf.Tensor:
    f = tf.cast(features, tf.float32) * mask
    return tf.einsum("bijc,bijd->bcd", f, f)


def _crop_mask(full: tf.Tensor, t: Tile, stride: int, shape) -> tf.Tensor:
    """The part of a whole-image layer mask (1 x h x w x 1) under tile ``t``'s feature map."""
    y0, x0 = t.outer[0] // stride, t.outer[2] // stride
    return full[:, y0 : y0 + int(shape[1]), x0 : x0 + int(shape[2])]


def _region_weights(interior: dict, t: Tile, strides: dict, layers, region) -> dict:
    """Per layer, sqrt of the tile's weights: its interior mask, times the region's mask if any."""
    out = {}
    for n in layers:
        w = interior[n]
        if region is not None:
            w = w * _crop_mask(region[n], t, strides[n], w.shape)
        out[n] = tf.sqrt(w)
    return out


class TiledObjective(Objective):
    """:class:`~nst_tf.objective.Objective` evaluated on tiles of at most ``tile`` px plus a halo.

    ``value_and_grad`` returns the same terms and gradient as the whole-image objective; the
    targets are computed tile by tile too, so content and style images of any size work.
    """

    fusable = False

    def __init__(
        self,
        extractor,
        config,
        content,
        styles,
        style_blend=(1.0,),
        *,
        tile: int,
        halo: int = None,
        jit_compile: bool = False,
        masks=None,
    ):
        layers = backbones.resolve_layers(tuple(config.content_layers) + tuple(config.style_layers), extractor.backbone)
        self.align, needed = vgg.geometry(layers, extractor.backbone)
        self.halo = needed if halo is None else halo  # a smaller halo is for tests only: not exact
        self.tile = tile
        self.strides = {n: vgg.receptive_field(n, extractor.backbone)[0] for n in dict.fromkeys(layers)}
        self._tile_grams = compiled(self._tile_grams_fn, jit_compile)
        self._tile_grad = compiled(self._tile_grad_fn, jit_compile)
        self._tv = compiled(self._tv_fn, jit_compile)
        super().__init__(extractor, config, content, styles, style_blend, jit_compile=jit_compile, masks=masks)
        # The regions whose Gram matrices the style term compares: the whole image, or one per
        # style mask; per tile, the square roots of their weights (interior x mask) at each layer.
        regions = self.style_masks or [None]
        self.tile_regions = [
            [_region_weights(m, t, self.strides, self.style_layers, r) for r in regions]
            for t, m in zip(self.tiles, self.tile_masks)
        ]
        self.region_counts = [
            {n: sum(float(tf.reduce_sum(tr[i][n] ** 2)) for tr in self.tile_regions) for n in self.style_layers}
            for i in range(len(regions))
        ]

    def describe(self) -> str:
        inner = self.tiles[0].inner
        return f"{len(self.tiles)} tiles of {inner[1] - inner[0]}x{inner[3] - inner[2]} px + {self.halo} px halo"

    def plan(self, height: int, width: int) -> list:
        return plan(height, width, self.tile, self.halo, self.align)

    # -- targets

    def _init_content(self, content: np.ndarray) -> None:
        self.shape = content.shape[:2]
        self.tiles = self.plan(*self.shape)
        self.tile_masks = [_masks(t, self.strides) for t in self.tiles]
        cm = self.content_masks
        self.tile_content_weights = [
            {n: m[n] * (_crop_mask(cm[n], t, self.strides[n], m[n].shape) if cm else 1.0) for n in self.content_layers}
            for t, m in zip(self.tiles, self.tile_masks)
        ]
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
        self.content_norms = {
            n: losses.content_normalizer(self.formulation, energy[n], count[n]) for n in self.content_layers
        }

    def _gram_sums(self, image: np.ndarray, tiles, weights) -> dict:
        """Sum over tiles of each tile's ``sum_p w_p f_p f_p^T`` (``weights``: per tile, sqrt(w) a layer)."""
        sums = {n: 0.0 for n in self.style_layers}
        for t, w in zip(tiles, weights):
            part = self._tile_grams(_crop(image, t), w)
            for n in self.style_layers:
                sums[n] += part[n]
        return sums

    def grams(self, image: np.ndarray, mask: np.ndarray = None) -> dict:
        tiles = self.plan(*image.shape[:2])
        region = None
        if mask is not None:
            region = layer_masks(
                resize_mask(mask, image.shape), self.style_layers, self.extractor.backbone, self.pooling
            )
        weights = [_region_weights(_masks(t, self.strides), t, self.strides, self.style_layers, region) for t in tiles]
        sums = self._gram_sums(image, tiles, weights)
        return {n: sums[n] / (sum(float(tf.reduce_sum(w[n] ** 2)) for w in weights) + 1e-12) for n in self.style_layers}

    # -- per-tile graphs

    def _tile_grams_fn(self, crop, masks):
        feats = self.extractor(crop)
        return {n: _masked_gram_sum(feats[n], masks[n]) for n in masks}

    def _tile_grad_fn(self, crop, content_weights, targets, content_norms, region_weights, region_grads, factor):
        cw = self.weights[0]
        with tf.GradientTape() as tape:
            tape.watch(crop)
            feats = self.extractor(crop)
            content = tf.add_n(
                [
                    content_norms[n]
                    * tf.reduce_sum(content_weights[n] * tf.square(tf.cast(feats[n], tf.float32) - targets[n]))
                    for n in self.content_layers
                ]
            ) / float(len(self.content_layers))
            # Linear in this tile's Gram sums; its gradient is the global style loss's.
            style = tf.add_n(
                [
                    tf.reduce_sum(grads[n] * _masked_gram_sum(feats[n], weights[n]))
                    for weights, grads in zip(region_weights, region_grads)
                    for n in self.style_layers
                ]
            )
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
        # Pass 1: global Gram matrices (per region), the style loss and its gradient with respect to them.
        region_grams = [
            {
                n: g / (self.region_counts[i][n] + 1e-12)
                for n, g in self._gram_sums(x[0], self.tiles, [tr[i] for tr in self.tile_regions]).items()
            }
            for i in range(len(self.region_counts))
        ]
        with tf.GradientTape() as tape:
            tape.watch(region_grams)
            style = self.style_term(region_grams if self.style_masks else region_grams[0])
        d_grams = tape.gradient(style, region_grams)
        sw = self.weights[1]
        region_grads = [
            {n: sw * d[n] / (self.region_counts[i][n] + 1e-12) for n in self.style_layers}
            for i, d in enumerate(d_grams)
        ]
        # Pass 2: per-tile back-propagation, summed into the full-image gradient.
        grad = np.zeros_like(x)
        content = 0.0
        for t, cwts, targets, rw in zip(self.tiles, self.tile_content_weights, self.tile_targets, self.tile_regions):
            c, g = self._tile_grad(_crop(x[0], t), cwts, targets, self.content_norms, rw, region_grads, factor)
            content += c
            y0, y1, x0, x1 = t.outer
            grad[:, y0:y1, x0:x1] += g.numpy()
        tv, g_tv = self._tv(tf.constant(x), factor)
        grad += g_tv.numpy()
        return self.combine(content, style, tv), tf.constant(grad)
