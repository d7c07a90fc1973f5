"""Perceptual losses of Gatys et al. (2016) as pure functions, always computed in float32.

Features may arrive as float16 or bfloat16 (mixed precision); they are cast to float32
first, because float16 Gram sums overflow at 65504.

Three formulations share the same Gram matrix ``G = F^T F / (H W)`` (channels x channels,
averaged over positions) and differ only in how each term is reduced:

``normalized`` (default)
    content: ``||F - P||^2 / ||P||^2``; style: ``||G - A||^2 / ||A||^2`` per layer;
    total variation: mean squared difference of neighbouring pixels (image in [0, 1]).
    Every term is relative to its target, so one set of weights works across image sizes
    and backbones (ImageNet VGG19 features are ~10x larger than the HED VGG16's).
``tutorial``
    the TensorFlow "Neural style transfer" tutorial: mean squared errors of features and
    Grams, ``tf.image.total_variation`` (sum of absolute differences, image in [0, 1]).
``keras_example``
    the classic Keras example: summed squared feature error; style
    ``sum((G_x - G_s)^2) / (4 C^2 (HW)^2)`` on unnormalised Grams, which equals
    ``sum((g_x - g_s)^2) / (4 C^2)`` on the averaged Grams used here; TV
    ``sum((dx^2 + dy^2) ** 1.25)`` in 0..255 pixel units.
"""

from __future__ import annotations

import tensorflow as tf

from nst_tf.config import LOSSES as FORMULATIONS

_EPS = 1e-12


def _check(formulation: str) -> None:
    if formulation not in FORMULATIONS:
        raise ValueError(f"unknown loss formulation {formulation!r}; choose from {FORMULATIONS}")


@tf.custom_gradient
def _gram_sum(f: tf.Tensor):
    """``F^T F`` of B x N x C features, with the gradient of a symmetric product: one matmul
    ``F (dG + dG^T)`` where autodiff of ``F^T F`` would take two (one per operand)."""

    def grad(dg):
        return tf.linalg.matmul(f, dg + tf.linalg.matrix_transpose(dg))

    return tf.linalg.matmul(f, f, transpose_a=True), grad


def gram_matrix(features: tf.Tensor) -> tf.Tensor:
    """Channel correlations of ``features`` (B x H x W x C), averaged over positions: B x C x C."""
    f = tf.cast(features, tf.float32)
    shape = tf.shape(f)
    positions = shape[1] * shape[2]
    flat = tf.reshape(f, tf.stack([shape[0], positions, shape[3]]))
    return _gram_sum(flat) / tf.cast(positions, tf.float32)


def masked_gram_matrix(features: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """Gram matrix of the region ``mask`` (B x H x W x 1 weights in [0, 1], the features' size):
    ``sum_p m_p f_p f_p^T / sum_p m_p``, the feature statistics of that region only (Gatys et al.
    2017's guided Gram, normalised by the mask's area). A mask of ones gives :func:`gram_matrix`."""
    f = tf.cast(features, tf.float32)
    w = tf.cast(mask, tf.float32)
    shape = tf.shape(f)
    positions = shape[1] * shape[2]
    flat = tf.reshape(f * tf.sqrt(w), tf.stack([shape[0], positions, shape[3]]))
    area = tf.reshape(tf.reduce_sum(w, axis=[1, 2, 3]), [-1, 1, 1])
    return _gram_sum(flat) / (area + _EPS)


def content_normalizer(formulation: str, target_energy, count, channels=None) -> tf.Tensor:
    """Factor ``k`` with content loss ``= k * sum((F - P)^2)``.

    ``target_energy`` is ``sum(P^2)`` and ``count`` the number of elements of ``P``, both over
    the whole image (a tiled evaluation sums them over tiles; ``nst_tf.tiling``).
    """
    _check(formulation)
    if formulation == "normalized":
        return 1.0 / (tf.cast(target_energy, tf.float32) + _EPS)
    if formulation == "tutorial":
        return 1.0 / tf.cast(count, tf.float32)
    return tf.constant(1.0, tf.float32)


def style_normalizer(formulation: str, target_gram: tf.Tensor) -> tf.Tensor:
    """Factor ``k`` with style loss ``= k * sum((G - A)^2)`` for the target Gram ``A`` (B x C x C)."""
    _check(formulation)
    a = tf.cast(target_gram, tf.float32)
    channels = tf.cast(tf.shape(a)[-1], tf.float32)
    if formulation == "normalized":
        return 1.0 / (tf.reduce_sum(tf.square(a)) + _EPS)
    if formulation == "tutorial":
        return 1.0 / (tf.cast(tf.shape(a)[0], tf.float32) * tf.square(channels))
    return 1.0 / (4.0 * tf.square(channels))


def content_loss(
    features: tf.Tensor, target: tf.Tensor, formulation: str = "normalized", mask: tf.Tensor = None
) -> tf.Tensor:
    """Content term of one layer: distance of ``features`` to the content image's ``target``;
    ``mask`` (B x H x W x 1) weights each position (a content weight map)."""
    p = tf.cast(target, tf.float32)
    k = content_normalizer(formulation, tf.reduce_sum(tf.square(p)), tf.size(p))
    sq = tf.square(tf.cast(features, tf.float32) - p)
    return k * tf.reduce_sum(sq if mask is None else sq * tf.cast(mask, tf.float32))


def style_loss_from_gram(gram: tf.Tensor, target_gram: tf.Tensor, formulation: str = "normalized") -> tf.Tensor:
    """Style term of one layer from the Gram matrix ``gram`` of the image's features."""
    a = tf.cast(target_gram, tf.float32)
    return style_normalizer(formulation, a) * tf.reduce_sum(tf.square(tf.cast(gram, tf.float32) - a))


def style_loss(features: tf.Tensor, target_gram: tf.Tensor, formulation: str = "normalized") -> tf.Tensor:
    """Style term of one layer: distance of the Gram of ``features`` to ``target_gram``."""
    return style_loss_from_gram(gram_matrix(features), target_gram, formulation)


def content_loss_batch_mean(features: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    """Mean over the batch of each image's ``normalized`` content term (``content_loss`` of that
    image alone). Training uses it so every photo counts the same whatever the batch, and a
    batch split over replicas or workers has the loss of the whole batch in one process."""
    p = tf.cast(target, tf.float32)
    sq = tf.square(tf.cast(features, tf.float32) - p)
    return tf.reduce_mean(tf.reduce_sum(sq, axis=[1, 2, 3]) / (tf.reduce_sum(tf.square(p), axis=[1, 2, 3]) + _EPS))


def style_loss_batch_mean(features: tf.Tensor, target_grams: tf.Tensor) -> tf.Tensor:
    """Mean over the batch of each image's ``normalized`` style term against its own target Gram
    (B x C x C): ``style_loss`` of that image alone, whatever the other paintings of the batch."""
    a = tf.cast(target_grams, tf.float32)
    sq = tf.square(tf.cast(gram_matrix(features), tf.float32) - a)
    return tf.reduce_mean(tf.reduce_sum(sq, axis=[1, 2]) / (tf.reduce_sum(tf.square(a), axis=[1, 2]) + _EPS))


def total_variation_loss(image: tf.Tensor, formulation: str = "normalized") -> tf.Tensor:
    """Smoothness term on the image (B x H x W x 3, values in [0, 1])."""
    _check(formulation)
    x = tf.cast(image, tf.float32)
    if formulation == "tutorial":
        return tf.reduce_sum(tf.image.total_variation(x))
    if formulation == "keras_example":
        x = x * 255.0
        a = tf.square(x[:, :-1, :-1, :] - x[:, 1:, :-1, :])
        b = tf.square(x[:, :-1, :-1, :] - x[:, :-1, 1:, :])
        return tf.reduce_sum(tf.pow(a + b + _EPS, 1.25))
    dy = x[:, 1:, :, :] - x[:, :-1, :, :]
    dx = x[:, :, 1:, :] - x[:, :, :-1, :]
    return tf.reduce_mean(tf.square(dy)) + tf.reduce_mean(tf.square(dx))


def perceptual_loss(weights, content, style, tv) -> dict:
    """The one weighted perceptual loss of the optimiser and the trainers: the (unweighted, layer-
    averaged) ``content``, ``style`` and ``tv`` terms times their ``(content, style, tv)`` weights,
    and their ``total``."""
    cw, sw, tw = weights
    terms = {"content": cw * content, "style": sw * style, "tv": tw * tv}
    terms["total"] = terms["content"] + terms["style"] + terms["tv"]
    return terms
