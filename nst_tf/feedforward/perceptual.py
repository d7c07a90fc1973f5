"""The perceptual loss of a feed-forward network's training batch (Johnson et al. 2016): content
against each photo, style against fixed (or per-image) Gram matrices, TV; the terms assembled by
:func:`nst_tf.losses.perceptual_loss`, as the optimiser's are."""

from __future__ import annotations

from typing import Optional

import numpy as np
import tensorflow as tf

from nst_tf import backbones, losses
from nst_tf.config import FastTrainConfig


class PerceptualLoss:
    """Content + style + TV loss of stylised batches (float32), style Grams computed once."""

    def __init__(self, config: FastTrainConfig, style: Optional[np.ndarray], policy: str):
        self.config = config
        self.extractor = backbones.build_extractor(
            tuple(config.content_layers) + tuple(config.style_layers),
            backbone=config.backbone,
            weights=config.weights,
            policy=policy,
        )
        self.content_layers = backbones.resolve_layers(config.content_layers, self.extractor.backbone)
        self.style_layers = backbones.resolve_layers(config.style_layers, self.extractor.backbone)
        self.style_grams = self.grams(tf.constant(style[None])) if style is not None else None

    def grams(self, styles: tf.Tensor) -> dict:
        """Gram matrices of a batch of style images at the style layers (float32, no gradient)."""
        feats = self.extractor(styles)
        return {n: tf.stop_gradient(losses.gram_matrix(feats[n])) for n in self.style_layers}

    def __call__(self, stylised: tf.Tensor, photos: tf.Tensor, style_grams: Optional[dict] = None) -> dict:
        """Losses of a stylised batch; ``style_grams`` (one per image) default to the fixed style's."""
        c = self.config
        out = self.extractor(stylised)
        ref = self.extractor(photos)
        batch = tf.shape(stylised)[0]
        if style_grams is None:
            style_grams = {n: tf.repeat(g, batch, axis=0) for n, g in self.style_grams.items()}
        # Each image's terms, averaged over the batch: the same loss on one replica or split over many.
        content = tf.add_n(
            [losses.content_loss_batch_mean(out[n], tf.stop_gradient(ref[n])) for n in self.content_layers]
        )
        content = content / float(len(self.content_layers))
        style = tf.add_n([losses.style_loss_batch_mean(out[n], style_grams[n]) for n in self.style_layers])
        style = style / float(len(self.style_layers))
        tv = losses.total_variation_loss(stylised)
        return losses.perceptual_loss((c.content_weight, c.style_weight, c.tv_weight), content, style, tv)
