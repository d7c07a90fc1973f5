"""Training a per-style network from a teacher: the any-style network's picture of the same painting.

The perceptual loss of Johnson et al. needs tens of thousands of steps (a GPU job) before a
network paints well. A network that copies a teacher's pictures learns far faster: the target is
a picture, not a statistic, and no VGG pass is needed. Here the teacher is the any-style network
(Ghiasi et al. 2017, Magenta's published weights) with the style vector of ``--style``, computed
once; each step it paints the batch of photos (random crops at random scales) and the student is
trained to reproduce those pictures with an L1 pixel loss (``teacher_weight``).

An L1 copy is a little smoother than its teacher (where the student cannot place every brush
stroke exactly, the average is cheapest). The last ``refine_steps`` steps therefore add the
perceptual terms (``style_weight`` above all: Gram matrices against the painting), which bring the
texture back; each such step runs the VGG loss network and costs several distillation steps. With
``refine_steps=0`` the perceptual terms whose weights are above zero apply throughout (with a
teacher all three weights default to zero, and then no VGG is built).

Everything else is the per-style trainer's: strategy, precision policy, checkpoints with exact
resume, TensorBoard logs, progress lines and the exports.
"""

from __future__ import annotations

import functools
import logging
from typing import Optional

import numpy as np
import tensorflow as tf

from nst_tf import images, losses
from nst_tf.feedforward import anystyle as networks
from nst_tf.feedforward import anystyle_weights as weights
from nst_tf.feedforward.anystyle_stylizer import style_input
from nst_tf.feedforward.perceptual import PerceptualLoss
from nst_tf.feedforward.train import Trainer

log = logging.getLogger("nst_tf")


class Teacher:
    """The any-style network fixed to one painting: photos in [0, 1] -> its pictures (no gradient)."""

    def __init__(self, style: np.ndarray, policy: str):
        predictor, transfer = networks.build_pair("float32")
        weights.load_published(predictor, transfer)
        self.vector = tf.constant(predictor(style_input(style, networks.STYLE_SIZE)[None], training=False))
        if policy != "float32":
            _, transfer = networks.build_pair(policy, like=(predictor, transfer))
        self.transfer = transfer
        self.transfer.trainable = False

    def __call__(self, photos: tf.Tensor) -> tf.Tensor:
        return tf.stop_gradient(networks.transfer_images(self.transfer, photos, self.vector))


class DistillLoss:
    """``teacher_weight`` x mean |student - teacher|, plus the perceptual terms whose weights are
    above zero (float32 scalars; ``total`` is their sum)."""

    def __init__(self, config, style: np.ndarray, painting: np.ndarray, policy: str):
        self.config = config
        self.teacher = Teacher(painting, policy)
        c = config
        self.perceptual: Optional[PerceptualLoss] = (
            PerceptualLoss(config, style, policy) if max(c.content_weight, c.style_weight) > 0 else None
        )

    def refining(self, step: int) -> bool:
        """Whether ``step`` (1-based) adds the perceptual terms."""
        c = self.config
        return self.perceptual is not None and (c.refine_steps == 0 or step > c.steps - c.refine_steps)

    def describe(self) -> str:
        what = "the any-style network's pictures (L1)"
        return what + (f" + perceptual loss on {self.perceptual.extractor.describe()}" if self.perceptual else "")

    def __call__(self, stylised: tf.Tensor, photos: tf.Tensor, target: tf.Tensor, refine: bool = True) -> dict:
        """The terms for one batch; ``refine=False`` leaves the perceptual terms out (zero)."""
        c = self.config
        stylised = tf.cast(stylised, tf.float32)
        # Each image's mean, averaged over the batch: the same loss on one replica or split over many.
        pixel = tf.reduce_mean(tf.abs(stylised - target))
        if self.perceptual is not None and refine:
            terms = self.perceptual(stylised, photos)
        else:
            zero = tf.zeros([], tf.float32)
            tv = losses.total_variation_loss(stylised) if refine else zero
            terms = losses.perceptual_loss((c.content_weight, c.style_weight, c.tv_weight), zero, zero, tv)
        terms["teacher"] = c.teacher_weight * pixel
        terms["total"] = terms["total"] + terms["teacher"]
        return terms


class DistillTrainer(Trainer):
    """:class:`~nst_tf.feedforward.train.Trainer` whose loss compares with the teacher's pictures."""

    def _prepare(self, style) -> None:
        super()._prepare(style)
        self.painting = images.load_image(style)  # the teacher sizes it as it was trained

    def _build_loss(self) -> DistillLoss:
        self._steps: dict = {}
        return DistillLoss(self.config, self.style_image, self.painting, self.policy)

    def _step_for(self, step: int):
        refine = self.loss.refining(step)
        if refine not in self._steps:
            if refine and self._steps:
                log.info("step %d: refining with the perceptual loss for the last steps", step)
            self._steps[refine] = self._build_step(functools.partial(self.loss, refine=refine))
        return self._steps[refine]

    def _forward(self, batch, training: bool) -> tuple:
        return self.model(batch, training=training), batch, self.loss.teacher(batch)

    def _describe_loss(self) -> str:
        return self.loss.describe()
