"""The Gatys objective: weighted content + style + total-variation loss against fixed targets.

The targets (content features, style Gram matrices) are computed once, in float32, when the
objective is built. :class:`Objective` evaluates the whole image at once;
:class:`nst_tf.tiling.TiledObjective` gives the same loss and gradient tile by tile.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow as tf

from nst_tf import backbones, losses, precision
from nst_tf.config import StylizeConfig
from nst_tf.errors import UserError
from nst_tf.masks import layer_masks, resize_mask

TERMS = ("content", "style", "tv", "total")


class Objective:
    """Weighted content + style + TV loss of an image batch (1 x H x W x 3, values in [0, 1]).

    Several style images contribute ``sum_k w_k * style_loss(x, style_k)``.
    ``fusable``: the loss can be differentiated inside one ``tf.function`` (the optimiser then
    compiles loss, gradient and update together); the tiled objective cannot.
    """

    fusable = True

    def __init__(
        self,
        extractor,
        config: StylizeConfig,
        content: np.ndarray,
        styles: Sequence[np.ndarray],
        style_blend: Sequence[float] = (1.0,),
        *,
        jit_compile: bool = False,
        masks=None,
    ):
        self.extractor = extractor
        self.pooling = config.pooling
        self.formulation = config.loss
        self.jit_compile = bool(jit_compile)
        self.content_layers = backbones.resolve_layers(config.content_layers, extractor.backbone)
        self.style_layers = backbones.resolve_layers(config.style_layers, extractor.backbone)
        missing = set(self.content_layers + self.style_layers) - set(extractor.layers)
        if missing:
            raise UserError(f"the extractor passed in lacks layers {sorted(missing)}; build it from this config")
        lw = config.style_layer_weights or (1.0,) * len(self.style_layers)
        total = float(sum(map(float, lw)))
        self.style_layer_weights = tuple(float(w) / total for w in lw)
        self.weights = (float(config.content_weight), float(config.style_weight), float(config.tv_weight))
        self._init_masks(masks, content.shape[:2], len(styles))
        self._init_content(content)
        self.style_targets = []  # (blend weight, {layer: Gram (1 x C x C)}, index of the style image)
        for k, (style, w) in enumerate(zip(styles, style_blend)):
            if w != 0.0:
                image_mask = masks.style_image[k] if masks is not None and masks.style_image else None
                self.style_targets.append((float(w), self.grams(style, image_mask), k))
        self._value_and_grad = None

    def _init_masks(self, masks, shape, n_styles: int) -> None:
        """Masks at the content's size (``self.region_masks``: per style image, or None) and at
        every layer's resolution (``self.style_masks``, ``self.content_masks``)."""
        backbone = self.extractor.backbone
        self.region_masks = None
        self.style_masks = None  # per style image: {layer: 1 x h x w x 1}
        self.content_masks = None
        if masks is not None and masks.style:
            self.region_masks = [resize_mask(m, shape) for m in masks.style]
            self.style_masks = [layer_masks(m, self.style_layers, backbone, self.pooling) for m in self.region_masks]
        if masks is not None and masks.content is not None:
            self.content_masks = layer_masks(
                resize_mask(masks.content, shape), self.content_layers, backbone, self.pooling
            )

    # -- targets (overridden by the tiled objective)

    def _init_content(self, content: np.ndarray) -> None:
        feats = self.extractor(tf.constant(content[None]))
        # Variables, not constants: set_content retargets a traced step without tracing it again.
        self.content_targets = {
            n: tf.Variable(tf.cast(feats[n], tf.float32), trainable=False) for n in self.content_layers
        }

    def set_content(self, content: np.ndarray) -> None:
        """A new content image of the same size (the next video frame); the style targets stay."""
        feats = self.extractor(tf.constant(content[None]))
        for n in self.content_layers:
            self.content_targets[n].assign(tf.cast(feats[n], tf.float32))

    def grams(self, image: np.ndarray, mask: np.ndarray = None) -> dict:
        """Gram matrices of ``image`` (H x W x 3) at the style layers; with ``mask`` (any size),
        of that region only."""
        feats = self.extractor(tf.constant(image[None]))
        if mask is None:
            return {n: losses.gram_matrix(feats[n]) for n in self.style_layers}
        lm = layer_masks(resize_mask(mask, image.shape), self.style_layers, self.extractor.backbone, self.pooling)
        return {n: losses.masked_gram_matrix(feats[n], lm[n]) for n in self.style_layers}

    # -- the loss

    def style_term(self, grams) -> tf.Tensor:
        """Unweighted style loss for the image's Gram matrices (all style images blended).

        ``grams``: one ``{layer: Gram}`` shared by every style image, or with style masks a list
        of them, one per style image (each of its own region)."""
        per_style = grams if isinstance(grams, (list, tuple)) else None
        return tf.add_n(
            [
                bw
                * lw
                * losses.style_loss_from_gram((per_style[k] if per_style else grams)[n], targets[n], self.formulation)
                for bw, targets, k in self.style_targets
                for n, lw in zip(self.style_layers, self.style_layer_weights)
            ]
        )

    def combine(self, content, style, tv) -> dict:
        """The weighted terms and their total."""
        return losses.perceptual_loss(self.weights, content, style, tv)

    def __call__(self, image: tf.Tensor) -> dict:
        feats = self.extractor(image)
        cm = self.content_masks or {}
        content = tf.add_n(
            [
                losses.content_loss(feats[n], self.content_targets[n], self.formulation, cm.get(n))
                for n in self.content_layers
            ]
        ) / float(len(self.content_layers))
        if self.style_masks is None:
            grams = {n: losses.gram_matrix(feats[n]) for n in self.style_layers}
        else:
            grams = [
                {n: losses.masked_gram_matrix(feats[n], m[n]) for n in self.style_layers} for m in self.style_masks
            ]
        style = self.style_term(grams)
        terms = self.combine(content, style, losses.total_variation_loss(image, self.formulation))
        temporal = getattr(self, "temporal", None)
        if temporal is not None:  # video frames (Ruder et al. 2016): stay near the warped previous result
            target, mask, weight = temporal
            diff = tf.square(tf.cast(image, tf.float32) - target) * mask
            terms["temporal"] = weight * tf.reduce_sum(diff) / (3.0 * tf.reduce_sum(mask) + 1e-6)
            terms["total"] = terms["total"] + terms["temporal"]
        return terms

    def set_temporal(self, target: np.ndarray, mask: np.ndarray, weight: float) -> None:
        """Add ``weight * mean over M of (x - target)^2`` (``target``: the previous frame's result
        warped onto this frame, ``mask`` H x W: where that warp is trusted). First before the first
        step; again (same size and weight) for each later frame."""
        target = np.asarray(target, np.float32)[None]
        mask = np.asarray(mask, np.float32)[None, ..., None]
        if getattr(self, "temporal", None) is not None and self.temporal[2] == float(weight):
            self.temporal[0].assign(target)
            self.temporal[1].assign(mask)
            return
        self.temporal = (tf.Variable(target, trainable=False), tf.Variable(mask, trainable=False), float(weight))

    def value_and_grad(self, image, scale: float = 1.0):
        """The terms (float32 scalars) and the gradient of ``scale * total`` with respect to ``image``."""
        if self._value_and_grad is None:

            def value_and_grad(x, factor):
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    terms = self(x)
                    loss = terms["total"] * factor
                return terms, tape.gradient(loss, x)

            self._value_and_grad = precision.compiled(value_and_grad, self.jit_compile)
        return self._value_and_grad(tf.convert_to_tensor(image, tf.float32), tf.constant(scale, tf.float32))
