"""Spatial control: masked Gram matrices, masks at every layer, two styles on two halves, tiles with masks."""

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from clitools import TINY, one_line_error, run_cli

from nst_tf import images, losses, masks, metrics, stylize, tiling
from nst_tf.errors import UserError
from nst_tf.objective import Objective

ROOT = Path(__file__).resolve().parents[1]
WAVE = ROOT / "examples" / "style" / "great_wave.jpg"
SHALLOW = dict(content_layers=("block2_conv2",), style_layers=("block1_conv1", "block2_conv1", "block3_conv1"))


def test_masked_gram_matches_numpy(rng):
    f = rng.normal(size=(1, 6, 5, 4)).astype(np.float32)
    m = rng.uniform(size=(1, 6, 5, 1)).astype(np.float32)
    m[0, :2] = 0.0  # a region the statistics must ignore
    flat, w = f.reshape(30, 4).astype(np.float64), m.reshape(30).astype(np.float64)
    expected = (flat * w[:, None]).T @ flat / w.sum()
    np.testing.assert_allclose(
        losses.masked_gram_matrix(tf.constant(f), tf.constant(m))[0].numpy(), expected, rtol=1e-5, atol=1e-6
    )
    ones = tf.ones((1, 6, 5, 1))
    np.testing.assert_allclose(
        losses.masked_gram_matrix(tf.constant(f), ones).numpy(), losses.gram_matrix(tf.constant(f)).numpy(), rtol=1e-6
    )


def test_content_mask_weights_positions(rng):
    f, p = rng.normal(size=(2, 1, 3, 4, 2)).astype(np.float32)
    m = rng.uniform(size=(1, 3, 4, 1)).astype(np.float32)
    got = float(losses.content_loss(tf.constant(f), tf.constant(p), "keras_example", tf.constant(m)))
    np.testing.assert_allclose(got, float(np.sum(m * (f - p) ** 2)), rtol=1e-5)


@pytest.mark.parametrize("pooling", ["max", "avg"])
def test_layer_masks_follow_the_network_pooling(hed_extractor, pooling):
    mask = np.zeros((37, 53), np.float32)
    mask[:, :20] = 1.0
    layers = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv2", "block5_conv1")
    lm = masks.layer_masks(mask, layers, "vgg16", pooling)
    feats = hed_extractor(tf.zeros((1, 37, 53, 3)))
    for n in layers:
        assert lm[n].shape[1:3] == feats[n].shape[1:3], n
    # block2: 2x2 pooling of columns 0..19 -> 10 full columns; the rest empty.
    assert float(tf.reduce_min(lm["block2_conv1"][0, :, :10])) == 1.0
    assert float(tf.reduce_max(lm["block2_conv1"][0, :, 10:])) == 0.0


def _halves(tmp_path, h=32, w=48):
    left = np.zeros((h, w, 3), np.float32)
    left[:, : w // 2] = 1.0
    paths = tmp_path / "left.png", tmp_path / "right.png"
    images.save_image(left, paths[0])
    images.save_image(1.0 - left, paths[1])
    return paths


def test_two_styles_on_two_halves(hed_extractor, small_config, content_path, style_path, tmp_path):
    left, right = _halves(tmp_path)
    cfg = small_config.replace(size=96, steps=40, style_masks=(str(left), str(right)))
    result = stylize(content_path, [style_path, WAVE], cfg, extractor=hed_extractor, verbose=False)
    img = result.image
    h, w = img.shape[:2]
    feats = metrics.FeatureMetrics()
    starry = images.resize(images.load_image(style_path), 96)
    wave = images.resize(images.load_image(WAVE), 96)
    # Each half, cut away from the seam, is closer to its own style than to the other.
    lhalf, rhalf = img[:, : w // 2 - 4], img[:, w // 2 + 4 :]
    assert feats.style_distance(lhalf, starry) < 0.85 * feats.style_distance(lhalf, wave)
    assert feats.style_distance(rhalf, wave) < 0.85 * feats.style_distance(rhalf, starry)


def test_style_image_mask_takes_statistics_from_one_region(hed_extractor, small_config, pair_images, tmp_path):
    c, s = pair_images
    left, _ = _halves(tmp_path)
    cfg = small_config.replace(size=64)
    whole = Objective(hed_extractor, cfg, c, [s])
    region = Objective(hed_extractor, cfg, c, [s], masks=masks.Masks(style_image=(masks.load_mask(left),)))
    half = np.ascontiguousarray(s[:, : s.shape[1] // 2])  # same scale as inside the whole painting
    ref = Objective(hed_extractor, cfg, c, [half])
    # The left-half statistics are those of the left half of the painting (up to the border pixels
    # and resampling), and differ from the whole painting's.
    for n in whole.style_layers[:2]:  # deeper, the half-image's own borders dominate
        g_region, g_half, g_whole = (o.style_targets[0][1][n].numpy() for o in (region, ref, whole))
        assert np.abs(g_region - g_half).mean() < 0.5 * np.abs(g_whole - g_half).mean(), n


@pytest.fixture(scope="module")
def pair_images(content_path, style_path):
    return images.resize(images.load_image(content_path), 64), images.resize(images.load_image(style_path), 64)


@pytest.fixture(scope="module")
def shallow_extractor(small_config):
    from nst_tf import build_extractor

    return build_extractor(small_config.replace(**SHALLOW))


def test_tiled_equals_untiled_with_masks(small_config, shallow_extractor, content_path, style_path, rng):
    c = images.resize(images.load_image(content_path), 96)  # 96 x 64
    styles = [images.resize(images.load_image(style_path), 80), images.resize(images.load_image(WAVE), 72)]
    soft = np.clip(np.linspace(-0.5, 1.5, 96)[None, :] * np.ones((64, 1)), 0, 1).astype(np.float32)
    m = masks.Masks(style=(soft, 1.0 - soft), content=soft[:, ::-1].copy())
    config = small_config.replace(**SHALLOW)
    whole = Objective(shallow_extractor, config, c, styles, (0.6, 0.4), masks=m)
    tiled = tiling.TiledObjective(shallow_extractor, config, c, styles, (0.6, 0.4), tile=24, masks=m)
    assert len(tiled.tiles) == 12
    x = np.clip(c + rng.normal(0, 0.1, c.shape), 0, 1).astype(np.float32)[None]
    terms, grad = whole.value_and_grad(x)
    t_terms, t_grad = tiled.value_and_grad(x)
    for k in terms:
        np.testing.assert_allclose(float(t_terms[k]), float(terms[k]), rtol=2e-5, err_msg=k)
    g, tg = grad.numpy(), t_grad.numpy()
    assert np.abs(tg - g).max() / np.abs(g).max() < 1e-5


def test_mask_count_must_match(small_config, hed_extractor, pair_images, tmp_path):
    left, right = _halves(tmp_path)
    with pytest.raises(UserError, match="1 style masks for 2 style images"):
        stylize(
            *pair_images[:1],
            [pair_images[1], pair_images[1]],
            small_config.replace(size=32, steps=1, style_masks=(str(left),)),
            extractor=hed_extractor,
            verbose=False,
        )


def test_cli_two_styles_with_masks(content_path, style_path, tmp_path):
    left, right = _halves(tmp_path)
    out = tmp_path / "masked.png"
    r = run_cli(
        f"--content={content_path}",
        f"--style={style_path},{WAVE}",
        f"--style_masks={left},{right}",
        f"--output={out}",
        "--steps=2",
        *TINY,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert out.exists() and not list(tmp_path.glob("*__*"))  # one output, not one per style
    r = run_cli(
        f"--content={content_path}",
        f"--style={style_path},{WAVE}",
        f"--style_masks={left}",
        f"--output={tmp_path / 'x.png'}",
        "--steps=1",
        *TINY,
    )
    assert "1 style masks for 2 style images" in one_line_error(r)
