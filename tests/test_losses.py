"""Loss formulas against plain numpy references."""

import numpy as np
import pytest
import tensorflow as tf

from nst_tf import losses


def np_gram(f):
    b, h, w, c = f.shape
    x = f.reshape(b, h * w, c).astype(np.float64)
    return np.einsum("bpc,bpd->bcd", x, x) / (h * w)


@pytest.fixture
def feats(rng):
    return rng.normal(size=(1, 7, 5, 6)).astype(np.float32), rng.normal(size=(1, 7, 5, 6)).astype(np.float32)


def test_gram_matches_numpy(feats):
    f, _ = feats
    np.testing.assert_allclose(losses.gram_matrix(f).numpy(), np_gram(f), rtol=1e-5, atol=1e-6)


def test_gram_gradient_matches_numpy(rng):
    # d/dF sum(W * G) with G = F^T F / N is F (W + W^T) / N, for an arbitrary (non-symmetric) W.
    f = rng.normal(size=(2, 5, 3, 4)).astype(np.float32)
    w = rng.normal(size=(2, 4, 4)).astype(np.float32)
    x = tf.constant(f)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(losses.gram_matrix(x) * w)
    flat = f.reshape(2, 15, 4).astype(np.float64)
    expected = (flat @ (w + w.transpose(0, 2, 1))).reshape(f.shape) / 15
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_gram_is_float32_from_float16(feats):
    f, _ = feats
    g = losses.gram_matrix(tf.constant(f, tf.float16))
    assert g.dtype == tf.float32
    np.testing.assert_allclose(g.numpy(), np_gram(f.astype(np.float16)), rtol=1e-3, atol=1e-3)


def test_gram_of_large_float16_features_does_not_overflow():
    # 64 * 64 positions of value 200: the float16 sum (1.6e8) would be inf.
    f = tf.fill((1, 64, 64, 4), tf.constant(200.0, tf.float16))
    g = losses.gram_matrix(f)
    assert np.all(np.isfinite(g.numpy()))
    np.testing.assert_allclose(g.numpy(), 40000.0, rtol=1e-6)


@pytest.mark.parametrize("formulation", losses.FORMULATIONS)
def test_content_loss(feats, formulation):
    f, p = feats
    sq = np.sum((f.astype(np.float64) - p) ** 2)
    expected = {
        "normalized": sq / np.sum(p.astype(np.float64) ** 2),
        "tutorial": sq / f.size,
        "keras_example": sq,
    }[formulation]
    got = losses.content_loss(f, p, formulation)
    assert got.dtype == tf.float32
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


@pytest.mark.parametrize("formulation", losses.FORMULATIONS)
def test_style_loss(feats, formulation):
    f, s = feats
    g, a = np_gram(f), np_gram(s)
    sq = np.sum((g - a) ** 2)
    c = f.shape[-1]
    expected = {
        "normalized": sq / np.sum(a**2),
        "tutorial": sq / (c * c),
        "keras_example": sq / (4.0 * c * c),
    }[formulation]
    got = losses.style_loss(
        tf.constant(f, tf.float16) if formulation == "normalized" else f, np_gram(s).astype(np.float32), formulation
    )
    assert got.dtype == tf.float32
    rtol = 2e-3 if formulation == "normalized" else 1e-5  # float16 input on the first case
    np.testing.assert_allclose(float(got), expected, rtol=rtol)


def test_keras_example_style_equals_unnormalised_gram_formula(rng):
    # The classic example: sum((S - C)^2) / (4 C^2 (HW)^2) with S, C = F^T F (not averaged).
    f = rng.normal(size=(1, 6, 4, 5)).astype(np.float32)
    s = rng.normal(size=(1, 6, 4, 5)).astype(np.float32)
    raw = lambda x: np.einsum("pc,pd->cd", x.reshape(-1, 5), x.reshape(-1, 5)).astype(np.float64)  # noqa: E731
    expected = np.sum((raw(f) - raw(s)) ** 2) / (4.0 * 5**2 * (6 * 4) ** 2)
    got = losses.style_loss(f, np_gram(s).astype(np.float32), "keras_example")
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


@pytest.mark.parametrize("formulation", losses.FORMULATIONS)
def test_total_variation(rng, formulation):
    x = rng.uniform(size=(1, 9, 11, 3)).astype(np.float32)
    d = x.astype(np.float64)
    if formulation == "normalized":
        expected = np.mean((d[:, 1:] - d[:, :-1]) ** 2) + np.mean((d[:, :, 1:] - d[:, :, :-1]) ** 2)
    elif formulation == "tutorial":
        expected = np.sum(np.abs(d[:, 1:] - d[:, :-1])) + np.sum(np.abs(d[:, :, 1:] - d[:, :, :-1]))
    else:
        d = d * 255.0
        a = (d[:, :-1, :-1] - d[:, 1:, :-1]) ** 2
        b = (d[:, :-1, :-1] - d[:, :-1, 1:]) ** 2
        expected = np.sum((a + b) ** 1.25)
    np.testing.assert_allclose(float(losses.total_variation_loss(x, formulation)), expected, rtol=1e-4)


def test_normalized_losses_do_not_depend_on_feature_scale(feats):
    f, p = feats
    for k in (0.1, 10.0):
        np.testing.assert_allclose(
            float(losses.content_loss(k * f, k * p)), float(losses.content_loss(f, p)), rtol=1e-4
        )
        np.testing.assert_allclose(
            float(losses.style_loss(k * f, np_gram(k * p).astype(np.float32))),
            float(losses.style_loss(f, np_gram(p).astype(np.float32))),
            rtol=1e-4,
        )


def test_zero_when_equal(feats):
    f, _ = feats
    assert float(losses.content_loss(f, f)) == 0.0
    assert float(losses.style_loss(f, losses.gram_matrix(f))) == pytest.approx(0.0, abs=1e-10)
    assert float(losses.total_variation_loss(np.full((1, 5, 5, 3), 0.3, np.float32))) == 0.0


def test_unknown_formulation_rejected(feats):
    with pytest.raises(ValueError, match="unknown loss formulation"):
        losses.content_loss(*feats, formulation="nope")


def test_batch_mean_losses_are_each_images_normalized_term_averaged(rng):
    # Images of different feature energy: the mean of per-image ratios, not the ratio of batch sums,
    # so one replica with the whole batch and two replicas with half each give the same loss.
    f = rng.normal(size=(3, 6, 5, 4)).astype(np.float32)
    p = (rng.normal(size=(3, 6, 5, 4)) * np.array([0.5, 1.0, 3.0])[:, None, None, None]).astype(np.float32)
    want_c = np.mean([np.sum((f[b] - p[b]) ** 2) / np.sum(p[b].astype(np.float64) ** 2) for b in range(3)])
    np.testing.assert_allclose(losses.content_loss_batch_mean(f, p).numpy(), want_c, rtol=1e-5)
    targets = np_gram(p)
    want_s = np.mean([np.sum((np_gram(f[b : b + 1])[0] - targets[b]) ** 2) / np.sum(targets[b] ** 2) for b in range(3)])
    np.testing.assert_allclose(losses.style_loss_batch_mean(f, targets).numpy(), want_s, rtol=1e-5)
    for b in range(3):  # one image: the same as the per-run losses of the optimiser
        one = slice(b, b + 1)
        np.testing.assert_allclose(
            losses.content_loss_batch_mean(f[one], p[one]).numpy(),
            losses.content_loss(f[one], p[one]).numpy(),
            rtol=1e-5,
        )
        np.testing.assert_allclose(
            losses.style_loss_batch_mean(f[one], targets[one]).numpy(),
            losses.style_loss(f[one], targets[one]).numpy(),
            rtol=1e-5,
        )
    halves = (losses.content_loss_batch_mean(f[:1], p[:1]) + 2 * losses.content_loss_batch_mean(f[1:], p[1:])) / 3
    np.testing.assert_allclose(halves.numpy(), want_c, rtol=1e-5)
