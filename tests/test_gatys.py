"""The Gatys optimiser end to end on the offline backbone at tiny sizes."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from nst_tf import StylizeConfig, images, stylize
from nst_tf.errors import UserError

STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")


def _features(extractor, img):
    out = extractor(tf.constant(img[None]))
    return {k: v.numpy().astype(np.float64)[0] for k, v in out.items()}


def _gram(f):
    x = f.reshape(-1, f.shape[-1])
    return x.T @ x / x.shape[0]


def style_distance(extractor, img, style_img):
    """Mean relative Frobenius distance of Gram matrices (numpy, not the loss code path)."""
    a, b = _features(extractor, img), _features(extractor, style_img)
    return np.mean([np.linalg.norm(_gram(a[n]) - _gram(b[n])) / np.linalg.norm(_gram(b[n])) for n in STYLE_LAYERS])


def content_distance(extractor, img, content_img):
    """Mean squared feature difference at block4_conv2 (numpy)."""
    a, b = _features(extractor, img), _features(extractor, content_img)
    return float(np.mean((a["block4_conv2"] - b["block4_conv2"]) ** 2))


@pytest.fixture(scope="module")
def small_images(content_path, style_path):
    c = images.resize(images.load_image(content_path), 64)
    s = images.resize(images.load_image(style_path), 64)
    return c, s


@pytest.fixture(scope="module")
def thirty_steps(hed_extractor, small_config, small_images):
    c, s = small_images
    return stylize(c, s, small_config, extractor=hed_extractor, verbose=False)


def test_thirty_steps_move_the_distances_the_right_way(hed_extractor, small_images, thirty_steps):
    c, s = small_images
    out = thirty_steps.image
    assert out.shape == c.shape and out.dtype == np.float32
    assert np.all(np.isfinite(out)) and out.min() >= 0 and out.max() <= 1
    before = style_distance(hed_extractor, c, s)
    after = style_distance(hed_extractor, out, s)
    assert after <= 0.5 * before, (before, after)
    noise = np.random.default_rng(0).uniform(size=c.shape).astype(np.float32)
    assert content_distance(hed_extractor, out, c) < content_distance(hed_extractor, noise, c)


def test_loss_history(thirty_steps):
    totals = [h["total"] for h in thirty_steps.history]
    assert thirty_steps.steps_done == 30 and len(totals) == 30
    assert totals[-1] < 0.5 * totals[0]
    assert thirty_steps.history[0]["content"] == 0.0  # starts from the content image
    assert not thirty_steps.interrupted and thirty_steps.policy == "float32"


def test_mixed_float16_with_loss_scaling(small_config, small_images):
    c, s = small_images
    config = small_config.replace(precision="mixed_float16", steps=12, size=48)
    from nst_tf.gatys import build_extractor

    ex = build_extractor(config)
    assert keras.config.dtype_policy().name == "float32"  # not leaked
    feats = ex(tf.constant(images.resize(c, 48)[None]))
    assert all(v.dtype == tf.float16 for v in feats.values())
    seen = []
    result = stylize(c, s, config, extractor=ex, verbose=False, callbacks=[lambda info: seen.append(info.losses)])
    assert keras.config.dtype_policy().name == "float32"
    assert result.policy == "mixed_float16"
    totals = [h["total"] for h in result.history]
    assert all(np.isfinite(totals)) and totals[-1] < totals[0]
    assert len(seen) == 12


def test_losses_are_float32_under_mixed_policy(small_config, small_images):
    from nst_tf.gatys import Objective, build_extractor

    config = small_config.replace(precision="mixed_float16", size=32)
    ex = build_extractor(config)
    c, s = (images.resize(x, 32) for x in small_images)
    terms = Objective(ex, config, c, [s])(tf.constant(c[None]))
    assert all(v.dtype == tf.float32 for v in terms.values())


def test_loss_scale_optimizer_is_used_for_float16(monkeypatch, small_config, small_images, hed_extractor):
    from nst_tf import optimize

    made = []
    real = optimize.make_optimizer

    def spy(config, policy):
        opt, sched = real(config, policy)
        made.append(opt)
        return opt, sched

    monkeypatch.setattr(optimize, "make_optimizer", spy)
    config = small_config.replace(precision="mixed_float16", steps=2, size=32)
    stylize(*small_images, config, verbose=False)
    assert isinstance(made[0], keras.optimizers.LossScaleOptimizer)
    stylize(*small_images, small_config.replace(steps=1, size=32), extractor=hed_extractor, verbose=False)
    assert not isinstance(made[1], keras.optimizers.LossScaleOptimizer)


@pytest.mark.parametrize("policy", ["float32", "mixed_float16"])
def test_adam_takes_both_betas_from_the_config(policy):
    from nst_tf import optimize

    opt, _ = optimize.make_optimizer(StylizeConfig(adam_beta_1=0.8, adam_beta_2=0.95), policy)
    inner = getattr(opt, "inner_optimizer", opt)
    assert (inner.beta_1, inner.beta_2) == (0.8, 0.95)
    assert StylizeConfig().adam_beta_2 == 0.9  # the measured default, not Keras' 0.999


def test_seed_reproducible_noise_init(hed_extractor, small_config, small_images):
    cfg = small_config.replace(init="noise", seed=7, steps=3, size=32)
    a = stylize(*small_images, cfg, extractor=hed_extractor, verbose=False).image
    b = stylize(*small_images, cfg, extractor=hed_extractor, verbose=False).image
    c = stylize(*small_images, cfg.replace(seed=8), extractor=hed_extractor, verbose=False).image
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).mean() > 0.05


def test_arbitrary_init_starts_from_the_any_style_picture(small_config, small_images):
    """--init=arbitrary: the any-style network's picture of the first style, at the content's size."""
    from nst_tf import gatys

    content, style = small_images
    cfg = small_config.replace(init="arbitrary", precision="float32")
    init = gatys._initial_image(cfg, content, style)
    assert init.shape == content.shape and init.dtype == np.float32
    assert np.abs(init - content).mean() > 0.05  # painted, not the photo
    noise = gatys._initial_image(cfg.replace(init="noise"), content, style)
    assert np.abs(init - content).mean() < np.abs(noise - content).mean()  # yet it keeps the photo's layout


def test_sgd_with_exponential_decay(hed_extractor, small_config, small_images):
    cfg = small_config.replace(optimizer="sgd", learning_rate=0.1, decay_steps=2, decay_rate=0.5, steps=4, size=32)
    rates = []
    result = stylize(
        *small_images, cfg, extractor=hed_extractor, verbose=False, callbacks=[lambda i: rates.append(i.learning_rate)]
    )
    np.testing.assert_allclose(rates, [0.1 * 0.5 ** (k / 2) for k in range(4)], rtol=1e-5)
    assert result.history[-1]["total"] < result.history[0]["total"]


def test_interrupt_keeps_latest_image(hed_extractor, small_config, small_images):
    def stop_at_3(info):
        if info.step == 3:
            raise KeyboardInterrupt

    result = stylize(
        *small_images, small_config.replace(size=32), extractor=hed_extractor, verbose=False, callbacks=[stop_at_3]
    )
    assert result.interrupted and result.steps_done == 3
    assert np.all(np.isfinite(result.image))
    c = images.resize(small_images[0], 32)
    assert np.abs(result.image - c).mean() > 1e-3  # it moved from the content image


def test_progress_lines(hed_extractor, small_config, small_images, capsys):
    stylize(*small_images, small_config.replace(steps=3, size=32), extractor=hed_extractor)
    out = capsys.readouterr().out
    assert "stylizing" in out and "step 3/3" in out and "steps/s" in out and "ETA" in out


@pytest.mark.parametrize(
    "changes, pattern",
    [
        ({"steps": -1}, "steps must be zero or more"),
        ({"style_weight": -2.0}, "style_weight must be zero or more"),
        ({"optimizer": "rmsprop"}, "unknown optimizer"),
        ({"precision": "fp8"}, "unknown precision"),
        ({"style_layer_weights": (1.0, 2.0)}, "2 style layer weights for 5 style layers"),
        ({"size": 8}, "at least 16"),
        ({"adam_beta_2": 1.0}, "adam_beta_2 must be below 1"),
        ({"adam_beta_2": 0.0}, "adam_beta_2 must be"),
    ],
)
def test_config_validation(changes, pattern):
    with pytest.raises(UserError, match=pattern):
        StylizeConfig(**changes)


def test_too_small_for_layers(hed_extractor, small_config, small_images):
    tiny = np.zeros((5, 40, 3), np.float32)
    with pytest.raises(UserError, match="smaller than the 16 px"):
        stylize(tiny, small_images[1], small_config.replace(size=40), extractor=hed_extractor, verbose=False)


def test_xla_step_matches_eager_graph(hed_extractor, small_config, small_images):
    cfg = small_config.replace(steps=3, size=32)
    plain = stylize(*small_images, cfg, extractor=hed_extractor, verbose=False)
    xla = stylize(*small_images, cfg.replace(jit_compile="on"), extractor=hed_extractor, verbose=False)
    np.testing.assert_allclose(xla.image, plain.image, atol=2e-3)
    np.testing.assert_allclose([h["total"] for h in xla.history], [h["total"] for h in plain.history], rtol=1e-3)


def test_steps_per_scale(hed_extractor, small_config, small_images):
    cfg = small_config.replace(size=64, scales=2, steps="3,2")
    assert cfg.steps == (3, 2) and cfg.steps_at(1) == 3 and cfg.steps_at(2) == 2
    seen = []
    result = stylize(
        *small_images,
        cfg,
        extractor=hed_extractor,
        verbose=False,
        callbacks=[lambda info: seen.append((info.scale, info.step, info.steps))],
    )
    assert seen == [(1, 1, 3), (1, 2, 3), (1, 3, 3), (2, 1, 2), (2, 2, 2)]
    assert result.steps_done == 5 and result.image.shape[:2] == (43, 64)


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_reuse_retargets_one_compiled_step_to_new_content(hed_extractor, small_config, small_images, optimizer):
    """Video frames share one objective and compiled step (``reuse``): a frame run after another
    gives the same result and losses as the frame run alone, with temporal targets updated too."""
    c, s = small_images
    cfg = small_config.replace(steps=4, size=48, optimizer=optimizer, jit_compile="off")
    other = np.ascontiguousarray(c[:, ::-1])  # a different frame of the same size
    mask = np.ones(c.shape[:2], np.float32)
    mask[:, :10] = 0
    warped_a, warped_b = np.full_like(c, 0.3), np.clip(c * 0.8, 0, 1)
    reuse = {}
    first = stylize(other, s, cfg, extractor=hed_extractor, verbose=False, temporal=(warped_a, mask, 20.0), reuse=reuse)
    objective = reuse["objective"]
    again = stylize(
        c, s, cfg, extractor=hed_extractor, verbose=False, temporal=(warped_b, mask, 20.0), reuse=reuse, init_image=c
    )
    assert reuse["objective"] is objective  # not rebuilt
    alone = stylize(c, s, cfg, extractor=hed_extractor, verbose=False, temporal=(warped_b, mask, 20.0), init_image=c)
    np.testing.assert_allclose(again.image, alone.image, atol=1e-4)
    for key in ("content", "style", "total"):  # total includes the temporal term
        np.testing.assert_allclose([h[key] for h in again.history], [h[key] for h in alone.history], rtol=1e-4)
    assert not np.allclose(first.image, again.image, atol=0.05)
    if optimizer == "adam":
        assert reuse["stepper"].objective is objective
