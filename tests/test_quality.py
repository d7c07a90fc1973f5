"""L-BFGS, multi-scale, colour preservation, several styles, guards, early stopping, blending."""

import logging

import numpy as np
import pytest
import tensorflow as tf

import nst_tf.gatys as gatys
from nst_tf import colour, images, stylize
from nst_tf.errors import UserError


@pytest.fixture(scope="module")
def pair(content_path, style_path):
    return images.resize(images.load_image(content_path), 64), images.resize(images.load_image(style_path), 64)


def test_lbfgs_lowers_the_loss_within_bounds(hed_extractor, small_config, pair):
    cfg = small_config.replace(optimizer="lbfgs", steps=8, size=32)
    seen = []
    result = stylize(*pair, cfg, extractor=hed_extractor, verbose=False, callbacks=[lambda i: seen.append(i.step)])
    totals = [h["total"] for h in result.history]
    assert 1 <= len(totals) <= 8 and seen == list(range(1, len(totals) + 1))
    c, s = (images.resize(x, 32) for x in pair)
    initial = float(gatys.Objective(hed_extractor, cfg, c, [s])(tf.constant(c[None]))["total"])
    assert totals[-1] < totals[0] < initial
    assert totals[-1] < 0.5 * initial
    assert result.image.min() >= 0 and result.image.max() <= 1


def test_lbfgs_under_mixed_float16(small_config, pair):
    cfg = small_config.replace(optimizer="lbfgs", steps=4, size=32, precision="mixed_float16")
    result = stylize(*pair, cfg, verbose=False)
    totals = [h["total"] for h in result.history]
    assert np.all(np.isfinite(totals)) and totals[-1] < totals[0]


def test_multiscale_runs_coarse_to_fine(hed_extractor, small_config, pair):
    cfg = small_config.replace(scales=2, steps=3, size=64)
    assert gatys.scale_sizes(cfg) == [32, 64]
    sizes = []
    result = stylize(
        *pair, cfg, extractor=hed_extractor, verbose=False, callbacks=[lambda i: sizes.append((i.scale, i.size))]
    )
    assert sizes == [(1, 32)] * 3 + [(2, 64)] * 3
    assert result.image.shape == (43, 64, 3)
    # The second stage starts from the upsampled first result, not the content image.
    assert result.history[3]["content"] > 0


def test_luminance_preservation_keeps_content_chroma(hed_extractor, small_config, pair):
    c, s = pair
    result = stylize(
        c, s, small_config.replace(preserve_colors="luminance", steps=10), extractor=hed_extractor, verbose=False
    )
    plain = stylize(c, s, small_config.replace(steps=10), extractor=hed_extractor, verbose=False)
    iq_content = colour.rgb_to_yiq(c)[..., 1:]
    assert np.abs(colour.rgb_to_yiq(result.image)[..., 1:] - iq_content).mean() < 0.01
    assert np.abs(colour.rgb_to_yiq(plain.image)[..., 1:] - iq_content).mean() > 0.03  # without it, colours move
    np.testing.assert_allclose(
        colour.rgb_to_yiq(result.image)[..., 0], colour.rgb_to_yiq(plain.image)[..., 0], atol=0.03
    )


def test_histogram_matching_matches_mean_and_covariance(rng):
    src = rng.uniform(0.2, 0.5, size=(40, 30, 3)).astype(np.float32)
    ref = rng.uniform(size=(20, 20, 3)).astype(np.float32) * np.array([1.0, 0.5, 0.2], np.float32)
    out = colour.match_color(src, ref)
    flat_o, flat_r = out.reshape(-1, 3), ref.reshape(-1, 3)
    np.testing.assert_allclose(flat_o.mean(0), flat_r.mean(0), atol=0.01)
    np.testing.assert_allclose(np.cov(flat_o, rowvar=False), np.cov(flat_r, rowvar=False), atol=0.01)


def test_two_styles_with_weights_1_0_equal_one_style(hed_extractor, small_config, pair, content_path):
    c, s = pair
    other = images.resize(images.load_image(content_path)[::-1], 64)  # a different "style"
    cfg = small_config.replace(steps=5, size=32)
    one = stylize(c, s, cfg, extractor=hed_extractor, verbose=False)
    two = stylize(c, [s, other], cfg.replace(style_weights=(1.0, 0.0)), extractor=hed_extractor, verbose=False)
    np.testing.assert_allclose(two.image, one.image, atol=1e-6)
    mixed = stylize(c, [s, other], cfg.replace(style_weights=(0.5, 0.5)), extractor=hed_extractor, verbose=False)
    assert np.abs(mixed.image - one.image).mean() > 1e-3


def test_style_weights_count_must_match(hed_extractor, small_config, pair):
    with pytest.raises(UserError, match="3 style weights for 2 style images"):
        stylize(
            pair[0],
            [pair[1], pair[1]],
            small_config.replace(style_weights=(1, 1, 1)),
            extractor=hed_extractor,
            verbose=False,
        )


def test_forced_nan_is_recovered(hed_extractor, small_config, pair, monkeypatch, caplog):
    calls = tf.Variable(0)
    real_call = gatys.Objective.__call__

    def poisoned(self, image):  # the 4th evaluation of the loss returns NaN
        terms = real_call(self, image)
        calls.assign_add(1)
        terms["total"] = terms["total"] * tf.where(tf.equal(calls, 4), float("nan"), 1.0)
        return terms

    monkeypatch.setattr(gatys.Objective, "__call__", poisoned)
    rates = []
    cfg = small_config.replace(steps=8, size=32, decay_rate=1.0)
    with caplog.at_level(logging.WARNING, logger="nst_tf"):
        result = stylize(
            *pair,
            cfg,
            extractor=hed_extractor,
            verbose=False,
            callbacks=[lambda info: rates.append(info.learning_rate)],
        )
    assert result.recoveries == 1
    assert "diverged; restored the best image and halved the learning rate" in caplog.text
    assert np.all(np.isfinite(result.image))
    assert rates[0] == pytest.approx(0.02) and rates[-1] == pytest.approx(0.01)
    assert len(result.history) == 8 and np.isnan(result.history[3]["total"])


def test_early_stopping(hed_extractor, small_config, pair):
    cfg = small_config.replace(steps=50, size=32, tol=0.5, patience=2)
    result = stylize(*pair, cfg, extractor=hed_extractor, verbose=False)
    assert result.stopped_early and result.steps_done < 50


def test_blend_one_returns_the_content(hed_extractor, small_config, pair):
    result = stylize(*pair, small_config.replace(steps=2, size=32, blend=1.0), extractor=hed_extractor, verbose=False)
    np.testing.assert_allclose(result.image, images.resize(pair[0], 32), atol=1e-5)


def test_interrupt_during_second_scale(hed_extractor, small_config, pair):
    def stop(info):
        if info.scale == 2 and info.step == 2:
            raise KeyboardInterrupt

    result = stylize(
        *pair, small_config.replace(scales=2, steps=3), extractor=hed_extractor, verbose=False, callbacks=[stop]
    )
    assert result.interrupted and result.steps_done == 5 and result.image.shape == (43, 64, 3)


def test_giving_up_after_max_recoveries(hed_extractor, small_config, pair, monkeypatch, caplog):
    real_call = gatys.Objective.__call__
    calls = tf.Variable(0)

    def poisoned(self, image):  # every evaluation after the second returns NaN
        terms = real_call(self, image)
        calls.assign_add(1)
        terms["total"] = terms["total"] * tf.where(calls > 2, float("nan"), 1.0)
        return terms

    monkeypatch.setattr(gatys.Objective, "__call__", poisoned)
    cfg = small_config.replace(steps=30, size=32, max_recoveries=2)
    with caplog.at_level(logging.WARNING, logger="nst_tf"):
        result = stylize(*pair, cfg, extractor=hed_extractor, verbose=False)
    assert result.recoveries == 3 and result.steps_done == 5  # 2 good steps, then 3 divergences
    assert "diverged 3 times; stopping with the best image" in caplog.text
    assert np.all(np.isfinite(result.image))


def test_init_style_and_init_from_a_file(hed_extractor, small_config, pair, tmp_path):
    c, s = pair
    expected = images.resize_to(images.resize(s, 32), images.fit_size(c.shape, 32))
    from_style = stylize(
        c, s, small_config.replace(size=32, steps=0, init="style"), extractor=hed_extractor, verbose=False
    )
    np.testing.assert_allclose(from_style.image, expected, atol=1e-6)
    path = tmp_path / "start.png"
    start = np.zeros((20, 30, 3), np.float32)
    start[:, 15:] = 1.0  # black left half, white right half
    images.save_image(start, path)
    from_file = stylize(
        c, s, small_config.replace(size=32, steps=0, init=str(path)), extractor=hed_extractor, verbose=False
    )
    h, w = from_file.image.shape[:2]
    assert (h, w) == images.fit_size(c.shape, 32)
    assert from_file.image[:, : w // 3].mean() < 0.1 and from_file.image[:, -w // 3 :].mean() > 0.9


def test_style_scale_changes_the_style_statistics(hed_extractor, small_config, pair):
    cfg = small_config.replace(size=48, steps=6)
    base = stylize(*pair, cfg, extractor=hed_extractor, verbose=False)
    double = stylize(*pair, cfg.replace(style_scale=2.0), extractor=hed_extractor, verbose=False)
    assert np.abs(base.image - double.image).mean() > 1e-3
    # A style image scaled below what the deepest layer needs is refused, naming the flag.
    with pytest.raises(UserError, match="style image .* smaller than the 16 px .* --style_scale"):
        stylize(*pair, cfg.replace(style_scale=0.2), extractor=hed_extractor, verbose=False)
