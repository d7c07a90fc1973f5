"""Exact tiling: geometry, the tiled gradient equals the whole-image one, the memory plan."""

import numpy as np
import pytest
import tensorflow as tf
from clitools import TINY, one_line_error, run_cli

from nst_tf import images, memory, tiling, vgg
from nst_tf.config import GATYS_CONTENT_LAYERS, GATYS_STYLE_LAYERS
from nst_tf.errors import UserError
from nst_tf.objective import Objective

SHALLOW = dict(content_layers=("block2_conv2",), style_layers=("block1_conv1", "block2_conv1", "block3_conv1"))


def test_receptive_fields_by_hand():
    # conv1_1: one pixel either side. pool1: covers conv1_2 at 2q, 2q+1, each +-2 px.
    assert vgg.receptive_field("block1_conv1", "vgg16") == (1, 1, 1)
    assert vgg.receptive_field("block1_pool", "vgg16") == (2, 2, 3)
    assert vgg.receptive_field("block2_conv1", "vgg16") == (2, 4, 5)
    assert vgg.receptive_field("block5_conv1", "vgg16") == (16, 58, 73)
    assert vgg.receptive_field("block5_conv1", "vgg19") == (16, 70, 85)
    assert vgg.geometry(GATYS_CONTENT_LAYERS + GATYS_STYLE_LAYERS, "vgg19") == (16, 96)
    assert vgg.geometry(SHALLOW["content_layers"] + SHALLOW["style_layers"], "vgg16") == (4, 16)


@pytest.mark.parametrize("h,w,tile", [(96, 80, 32), (100, 37, 16), (2048, 1365, 700), (50, 50, 64)])
def test_tile_interiors_partition_the_image(h, w, tile):
    align, halo = 16, 32
    tiles = tiling.plan(h, w, tile, halo, align)
    cover = np.zeros((h, w), int)
    for t in tiles:
        y0, y1, x0, x1 = t.inner
        Y0, Y1, X0, X1 = t.outer
        cover[y0:y1, x0:x1] += 1
        assert y0 % align == 0 and x0 % align == 0 and Y0 % align == 0 and X0 % align == 0
        assert (Y0, X0) == (max(0, y0 - halo), max(0, x0 - halo))
        assert (Y1, X1) == (min(h, y1 + halo), min(w, x1 + halo))
        assert y1 - y0 <= max(tile, align) + align and x1 - x0 <= max(tile, align) + align
    assert (cover == 1).all()


@pytest.fixture(scope="module")
def shallow_extractor(small_config):
    from nst_tf import build_extractor

    return build_extractor(small_config.replace(**SHALLOW))


@pytest.fixture(scope="module")
def pictures(content_path, style_path):
    c = images.resize(images.load_image(content_path), 96)  # 96 x 64
    s = images.resize(images.load_image(style_path), 80)
    x = np.clip(c + np.random.default_rng(0).normal(0, 0.1, c.shape), 0, 1).astype(np.float32)
    return c, s, x[None]


def _compare(whole, tiled, x, scale=1.0):
    terms, grad = whole.value_and_grad(x, scale)
    t_terms, t_grad = tiled.value_and_grad(x, scale)
    for k in terms:
        np.testing.assert_allclose(float(t_terms[k]), float(terms[k]), rtol=2e-5, err_msg=k)
    g, tg = grad.numpy(), t_grad.numpy()
    return np.abs(tg - g).max() / np.abs(g).max()


@pytest.mark.parametrize("formulation", ["normalized", "tutorial", "keras_example"])
def test_tiled_gradient_equals_whole_image_gradient(small_config, shallow_extractor, pictures, formulation):
    c, s, x = pictures
    config = small_config.replace(loss=formulation, style_weights=(0.7, 0.3), **SHALLOW)
    styles = [s, images.resize(s[:, ::-1], 64)]
    whole = Objective(shallow_extractor, config, c, styles, (0.7, 0.3))
    tiled = tiling.TiledObjective(shallow_extractor, config, c, styles, (0.7, 0.3), tile=24)
    assert len(tiled.tiles) == 12  # 64 x 96 px in 24 px tiles: 3 x 4, each with a 16 px halo
    assert _compare(whole, tiled, x) < 1e-5


def test_tiled_gradient_exact_at_the_gatys_layers(small_config, hed_extractor, content_path, style_path):
    # Tiles of 64 px with the 80 px halo that conv5_1 needs: 208 x 160 px is split 4 x 3.
    c = images.resize(images.load_image(content_path), 208)
    s = images.resize(images.load_image(style_path), 208)
    x = np.clip(c[::-1] * 0.5 + 0.25, 0, 1)[None].astype(np.float32)
    tiled = tiling.TiledObjective(hed_extractor, small_config, c, [s], tile=64)
    assert len(tiled.tiles) == 12 and tiled.halo == 80
    assert _compare(Objective(hed_extractor, small_config, c, [s]), tiled, x, scale=8.0) < 1e-5


def test_too_small_halo_is_not_exact(small_config, shallow_extractor, pictures):
    # The check above can fail: with a 4 px halo the interiors' features are wrong near tile edges.
    c, s, x = pictures
    config = small_config.replace(**SHALLOW)
    tiled = tiling.TiledObjective(shallow_extractor, config, c, [s], tile=24, halo=4)
    _, grad = Objective(shallow_extractor, config, c, [s]).value_and_grad(x)
    _, t_grad = tiled.value_and_grad(x)
    g, tg = grad.numpy(), t_grad.numpy()
    assert np.abs(tg - g).max() / np.abs(g).max() > 1e-2


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_tiled_optimisation_follows_the_whole_image_one(small_config, shallow_extractor, pictures, optimizer):
    from nst_tf import stylize

    c, s, _ = pictures
    config = small_config.replace(size=96, steps=4, optimizer=optimizer, **SHALLOW)
    whole = stylize(c, s, config.replace(tile="off"), extractor=shallow_extractor, verbose=False)
    tiled = stylize(c, s, config.replace(tile=32), extractor=shallow_extractor, verbose=False)
    moved = np.abs(whole.image - images.resize(c, 96)).max()
    assert moved > 0.01  # the steps did something
    np.testing.assert_allclose(tiled.image, whole.image, atol=1e-4)
    np.testing.assert_allclose([h["total"] for h in tiled.history], [h["total"] for h in whole.history], rtol=1e-4)


def test_tiled_mixed_float16_matches_float32(small_config, pictures):
    from nst_tf import build_extractor, precision

    c, s, x = pictures
    config = small_config.replace(precision="mixed_float16", **SHALLOW)
    ex16 = build_extractor(config, precision.resolve("mixed_float16"))
    ex32 = build_extractor(config.replace(precision="float32"))
    t16 = tiling.TiledObjective(ex16, config, c, [s], tile=32)
    t32 = tiling.TiledObjective(ex32, config, c, [s], tile=32)
    terms16, g16 = t16.value_and_grad(x, 1024.0)  # loss-scaled, as under the LossScaleOptimizer
    terms32, g32 = t32.value_and_grad(x, 1024.0)
    assert all(v.dtype == tf.float32 for v in terms16.values())
    assert np.isfinite(g16.numpy()).all()
    np.testing.assert_allclose(float(terms16["total"]), float(terms32["total"]), rtol=2e-2)
    cos = np.sum(g16.numpy() * g32.numpy()) / np.linalg.norm(g16.numpy()) / np.linalg.norm(g32.numpy())
    assert cos > 0.99


LAYERS = dict(content_layers=GATYS_CONTENT_LAYERS, style_layers=GATYS_STYLE_LAYERS, backbone="vgg19", policy="float32")


def test_memory_plan_tiles_only_when_needed():
    whole = memory.plan_memory("auto", height=512, width=512, available=64 * 2**30, **LAYERS)
    assert whole.tile is None and "tiles" not in whole.describe()
    avail = 8 * 2**30
    plan = memory.plan_memory("auto", height=2048, width=2048, available=avail, **LAYERS)
    assert plan.tile and plan.tiles > 1 and plan.need_bytes <= avail
    assert f"{plan.tiles} tiles" in plan.describe()
    # The largest tiles that fit: one tile per axis more would be needed by any larger tile.
    bigger = memory.plan_memory(str(plan.tile * 2), height=2048, width=2048, available=2**50, **LAYERS)
    assert bigger.need_bytes > avail
    with pytest.raises(UserError, match="largest --size that fits is about"):
        memory.plan_memory("off", height=2048, width=2048, available=avail, **LAYERS)
    fixed = memory.plan_memory(256, height=1024, width=768, available=None, **LAYERS)
    assert fixed.tile == 256 and fixed.tiles == 12 and fixed.halo == 96


def test_memory_plan_refuses_with_a_size_when_even_tiles_do_not_fit():
    with pytest.raises(UserError, match=r"even in tiles .* largest --size that fits is about (\d+) px") as err:
        memory.plan_memory("auto", height=40000, width=30000, available=4 * 2**30, **LAYERS)
    fit = int(err.value.args[0].split("about ")[-1].split(" px")[0])
    plan = memory.plan_memory("auto", height=fit, width=fit * 3 // 4, available=4 * 2**30, **LAYERS)
    assert plan.tile and plan.need_bytes <= 4 * 2**30


def test_cli_tile_flag(tmp_path, content_path, style_path):
    out = tmp_path / "t.png"
    r = run_cli(
        f"--content={content_path}",
        f"--style={style_path}",
        f"--output={out}",
        "--steps=2",
        "--tile=64",
        *[a for a in TINY if not a.startswith("--size")],
        "--size=160",
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "tiles of up to 64 px + 80 px halo" in r.stdout
    assert images.load_image(out).shape[:2] == (106, 160)
    line = one_line_error(run_cli(f"--content={content_path}", f"--style={style_path}", "--tile=12", *TINY))
    assert "tile must be auto, off or a size of at least 32 px" in line
