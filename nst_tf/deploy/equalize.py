"""A copy of a network that paints the same pictures but quantises better to int8.

In a full-integer file every convolution's output is one int8 tensor with one scale for all its
channels. Where an instance norm follows, the norm then divides each channel by its own spread,
which magnifies the rounding of the channels that are narrow or sit far from zero: in the
any-style network the conv outputs' channel spreads differ up to 3.6x within a tensor, and
channel means lie up to 8 spreads away from zero (the starry_night style on the bundled photos).

An instance norm removes each channel's mean and divides by its deviation, so the conv before it
may shift and scale each output channel freely: :func:`equalized` gives every such conv output
channel zero mean and the widest channel's deviation on the calibration photos (the conv's
weights scaled per output channel, a bias added), and scales the norm's epsilon per channel by
the square of that factor, so the copy computes the same function (to float rounding). Only
convs whose output goes nowhere but into a norm are changed.

Measured on the tuning photos (chelsea, coffee_sky, coffee_night; the any-style network with
starry_night at 256 px, int8 file against the float32 file): 36.5 / 26.2 / 25.3 dB -> 38.5 /
26.7 / 25.8 dB (benchmarks/RESULTS.md). Cross-layer scaling of the contracting convs (followed by
ReLU, not a norm) was tried beside it and not kept: 37.1-37.2 / 25.8-26.0 / 26.2 dB.
"""

from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
import tensorflow as tf


def _norm_types() -> tuple:
    from nst_tf.feedforward.anystyle import ConditionalInstanceNorm
    from nst_tf.feedforward.layers import InstanceNormalization

    return (ConditionalInstanceNorm, InstanceNormalization)


def norm_pairs(model: keras.Model) -> list:
    """``(conv, norm)`` layer pairs of ``model`` where the conv's output feeds that norm and nothing else."""
    pairs = []
    for norm in model.layers:
        if not isinstance(norm, _norm_types()) or len(norm._inbound_nodes) != 1:
            continue
        features = keras.tree.flatten(norm._inbound_nodes[0].input_tensors)[0]
        conv = features._keras_history.operation
        if isinstance(conv, keras.layers.Conv2D) and len(conv._inbound_nodes) == 1 and len(conv._outbound_nodes) == 1:
            pairs.append((conv, norm))
    return pairs


def _moments(model: keras.Model, convs: list, feeds: Sequence[list]) -> list:
    """Per conv: (mean, deviation) per output channel over every pixel the ``feeds`` give."""
    probe = keras.Model(model.inputs, [c.output for c in convs])
    sums = [np.zeros((3, c.filters)) for c in convs]
    for inputs in feeds:
        outputs = probe(inputs, training=False)
        for acc, out in zip(sums, outputs if isinstance(outputs, (list, tuple)) else [outputs]):
            v = np.asarray(out, np.float64).reshape(-1, acc.shape[1])
            acc += [np.full(acc.shape[1], len(v)), v.sum(0), (v * v).sum(0)]
    moments = []
    for n, s, s2 in sums:
        mean = s / n
        moments.append((mean, np.sqrt(np.maximum(s2 / n - mean * mean, 0.0))))
    return moments


def equalized(model: keras.Model, feeds: Sequence[list]) -> keras.Model:
    """A copy of ``model`` (same function) whose conv outputs before instance norms have zero mean
    and equal deviation per channel on ``feeds`` (lists of the model's inputs, float32 arrays).
    ``model`` itself is left as it is; without such convs it is returned as it is."""
    pairs = norm_pairs(model)
    if not pairs or not feeds:
        return model
    convs = {c.name for c, _ in pairs}

    def clone_layer(layer):
        config = layer.get_config()
        if layer.name in convs:
            config["use_bias"] = True
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone_layer)
    for layer in model.layers:
        if layer.weights and layer.name not in convs:
            copy.get_layer(layer.name).set_weights(layer.get_weights())
    for (conv, norm), (mean, deviation) in zip(pairs, _moments(model, [c for c, _ in pairs], feeds)):
        alive = deviation > 1e-6 * deviation.max()
        alpha = np.where(alive, deviation.max() / np.where(alive, deviation, 1.0), 1.0)
        kernel = conv.kernel.numpy()
        bias = conv.bias.numpy() if conv.use_bias else np.zeros(conv.filters, np.float32)
        copy.get_layer(conv.name).set_weights([kernel * alpha, (bias - mean) * alpha])
        # var(alpha x) + alpha^2 eps = alpha^2 (var(x) + eps): the norm's output is unchanged
        copy.get_layer(norm.name).epsilon = (norm.epsilon * alpha**2).astype(np.float32)
    return copy


def int8_floats(model: keras.Model, paint, feed):
    """:attr:`nst_tf.deploy.servable.Part.int8_floats` of a network ``paint(model, x)``: given the
    calibration photos, the float function of the equalised copy (``feed(x)``: the model's own
    inputs for a float batch ``x``)."""

    def floats(photos):
        copy = equalized(model, [feed(tf.constant(p, tf.float32)) for p in photos])
        return lambda x: {"image": paint(copy, x)}

    return floats
