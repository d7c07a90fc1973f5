"""The int8 exporter's equalised copy: the same pictures, channels fit for one int8 scale."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from nst_tf import precision
from nst_tf.deploy.equalize import equalized, norm_pairs


def _photos(rng, n, size=32):
    return [rng.uniform(0, 1, (1, size, size, 3)).astype(np.float32) for _ in range(n)]


def _conv_outputs(model, pairs, inputs):
    probe = keras.Model(model.inputs, [model.get_layer(c.name).output for c, _ in pairs])
    return [np.asarray(o).reshape(-1, o.shape[-1]) for o in probe(inputs, training=False)]


def test_any_style_copy_paints_the_same_with_conv_channels_alike(rng):
    from nst_tf.feedforward.anystyle import build_style_transfer

    with precision.policy_scope("float32"):
        model = build_style_transfer()
    vector = rng.normal(0, 1, (1, 100)).astype(np.float32)
    feeds = [[p, vector] for p in _photos(rng, 2)]
    pairs = norm_pairs(model)
    assert len(pairs) == 13  # 10 residual convs and 3 expanding ones; the contracting convs have no norm
    before = [w.copy() for w in model.get_weights()]
    copy = equalized(model, feeds)

    new = [_photos(rng, 1)[0], vector]
    np.testing.assert_allclose(np.asarray(copy(new)), np.asarray(model(new)), atol=2e-5)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)  # the original is left as it is
    outputs = [np.concatenate(o) for o in zip(*(_conv_outputs(copy, pairs, f) for f in feeds))]
    for v in outputs:
        std = v.std(0)
        assert std.max() / std.min() < 1.01
        assert np.abs(v.mean(0)).max() < 1e-3 * std.max()
    original = [np.concatenate(o) for o in zip(*(_conv_outputs(model, pairs, f) for f in feeds))]
    widest = [v.std(0).max() / v.std(0).min() for v in original]
    assert max(widest) > 1.2  # the original's channels did differ


def test_per_style_copy_paints_the_same(rng):
    from nst_tf.feedforward.johnson import build_transformer

    with precision.policy_scope("float32"):
        model = build_transformer("johnson_slim")
    assert norm_pairs(model)
    copy = equalized(model, [[p] for p in _photos(rng, 2)])
    x = _photos(rng, 1)[0]
    np.testing.assert_allclose(np.asarray(copy(x)), np.asarray(model(x)), atol=2e-5)


def test_int8_file_of_the_copy_is_closer_to_float(rng):
    """A conv whose output channels differ 100x in spread and sit far from zero, then an instance
    norm: with one int8 scale for the conv output, the narrow channels get a few levels, which the
    norm magnifies; the equalised copy gives every channel the full range."""
    pytest.importorskip("ai_edge_litert")
    from ai_edge_litert.interpreter import Interpreter

    from nst_tf.deploy import lite, servable
    from nst_tf.feedforward.layers import InstanceNormalization

    with precision.policy_scope("float32"):
        x = keras.Input((None, None, 3))
        conv = keras.layers.Conv2D(8, 3, padding="same")
        y = InstanceNormalization()(conv(x))
        y = keras.layers.Conv2D(3, 1, activation="sigmoid")(keras.layers.ReLU()(y))
        model = keras.Model(x, y)
    kernel, bias = conv.get_weights()
    spread = np.geomspace(1, 100, 8).astype(np.float32)
    conv.set_weights([kernel * spread, (bias + 3.0) * spread])

    part = servable.single_image_part(model, lambda m, b: m(b, training=False), lambda b: [b])
    calibration = [[np.round(p * 255).astype(np.uint8)] for p in _photos(rng, 4)]
    photo = _photos(rng, 1)[0]
    reference = np.asarray(model(photo))

    def psnr(flatbuffer):
        it = Interpreter(model_content=flatbuffer)
        it.allocate_tensors()
        it.set_tensor(it.get_input_details()[0]["index"], photo)
        it.invoke()
        got = it.get_tensor(it.get_output_details()[0]["index"])
        return 10 * np.log10(1.0 / np.mean((got - reference) ** 2))

    equalised = psnr(lite.convert(part, "int8", (32, 32), calibration))
    part.int8_floats = None
    plain = psnr(lite.convert(part, "int8", (32, 32), calibration))
    assert equalised > plain + 6.0, (equalised, plain)
