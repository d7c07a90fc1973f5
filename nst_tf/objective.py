"""The Gatys objective: weighted content + style + total-variation loss against fixed targets.

The targets (content features, style Gram matrices) are computed once, in float32, when the
objective is built. :class:`Objective` evaluates the whole image at once;
:class:`nst_tf.tiling.TiledObjective` gives the same loss and gradient tile by tile.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow as tf

from nst_tf import backbones, losses
from nst_tf.config import StylizeConfig
from nst_tf.errors import UserError

TERMS = ("content", "style", "tv", "total")


def weighted(weights: Sequence[float], content, style, tv) -> dict:
    """The terms times their ``(content, style, tv)`` weights, and their total."""
    cw, sw, tw = weights
    terms = {"content": cw * content, "style": sw * style, "tv": tw * tv}
    terms["total"] = terms["content"] + terms["style"] + terms["tv"]
    return terms


class Objective:
    """Weighted content + style + TV loss of an image batch (1 x H x W x 3, values in [0, 1]).

    Several style images contribute ``sum_k w_k * style_loss(x, style_k)``.
    ``fusable``: the loss can be differentiated inside one ``tf.function`` (the optimiser then
    compiles loss, gradient and update together); the tiled objective cannot.
    """

    fusable = True

    def __init__(self, extractor, config: StylizeConfig, content: np.ndarray, styles: Sequence[np.ndarray],
                 style_blend: Sequence[float] = (1.0,), *, jit_compile: bool = False):
        self.extractor = extractor
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
        self._init_content(content)
        self.style_targets = []  # (blend weight, {layer: Gram (1 x C x C)})
        for style, w in zip(styles, style_blend):
            if w != 0.0:
                self.style_targets.append((float(w), self.grams(style)))
        self._value_and_grad = None

    # -- targets (overridden by the tiled objective)

    def _init_content(self, content: np.ndarray) -> None:
        feats = self.extractor(tf.constant(content[None]))
        self.content_targets = {n: tf.cast(feats[n], tf.float32) for n in self.content_layers}

    def grams(self, image: np.ndarray) -> dict:
        """Gram matrices of ``image`` (H x W x 3) at the style layers."""
        feats = self.extractor(tf.constant(image[None]))
        return {n: losses.gram_matrix(feats[n]) for n in self.style_layers}

    # -- the loss

    def style_term(self, grams: dict) -> tf.Tensor:
        """Unweighted style loss for the image's Gram matrices ``grams`` (all style images blended)."""
        return tf.add_n([
            bw * lw * losses.style_loss_from_gram(grams[n], targets[n], self.formulation)
            for bw, targets in self.style_targets
            for n, lw in zip(self.style_layers, self.style_layer_weights)
        ])

    def combine(self, content, style, tv) -> dict:
        """The weighted terms and their total."""
        return weighted(self.weights, content, style, tv)

    def __call__(self, image: tf.Tensor) -> dict:
        feats = self.extractor(image)
        content = tf.add_n([
            losses.content_loss(feats[n], self.content_targets[n], self.formulation) for n in self.content_layers
        ]) / float(len(self.content_layers))
        style = self.style_term({n: losses.gram_matrix(feats[n]) for n in self.style_layers})
        return self.combine(content, style, losses.total_variation_loss(image, self.formulation))

    def value_and_grad(self, image, scale: float = 1.0):
        """The terms (float32 scalars) and the gradient of ``scale * total`` with respect to ``image``."""
        if self._value_and_grad is None:
            @tf.function(jit_compile=self.jit_compile, reduce_retracing=True)
            def value_and_grad(x, factor):
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    terms = self(x)
                    loss = terms["total"] * factor
                return terms, tape.gradient(loss, x)

            self._value_and_grad = value_and_grad
        return self._value_and_grad(tf.convert_to_tensor(image, tf.float32), tf.constant(scale, tf.float32))
