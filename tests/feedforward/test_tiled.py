"""Tiled feed-forward networks: whole-picture statistics make the tiles equal the whole picture."""

import numpy as np
import pytest
import tensorflow as tf

from nst_tf import images
from nst_tf.feedforward import tiled
from nst_tf.feedforward.johnson import build_transformer, stylize_images


@pytest.fixture(scope="module")
def photo(content_path):
    return images.to_uint8(images.resize_to(images.load_image(content_path), (100, 150)))


def _whole(model, photo, *extra):
    x = photo[None].astype(np.float32) / 255.0
    if extra:
        from nst_tf.feedforward.anystyle import transfer_images

        out = transfer_images(model, x, extra[0])
    else:
        out = stylize_images(model, x)
    return images.to_uint8(out.numpy()[0]).astype(int)


@pytest.fixture(scope="module")
def any_style(style_path):
    from nst_tf.feedforward import ArbitraryStylizer

    net = ArbitraryStylizer("float32")
    return net.transfer_model, net.style_vector(style_path)[None]


def test_receptive_fields_bound_every_conv_and_align_to_the_stride(any_style):
    assert tiled.receptive_field(any_style[0]) == (60, 4)  # 4+1+2 encoder, 10 x 4 residual, 4+2+4+(1) decoder
    halo, multiple = tiled.receptive_field(build_transformer("compact"))
    assert multiple == 8 and halo % 8 == 0 and halo >= 72


def test_tiles_partition_the_picture_on_stride_multiples():
    tiles = tiled.plan_tiles(100, 152, 48, 20, 4)
    cover = np.zeros((100, 152), int)
    for t in tiles:
        top, left, bottom, right = t.core
        cover[top:bottom, left:right] += 1
        assert all(v % 4 == 0 or v in (100, 152) for v in t.core)
        assert t.window[0] == max(0, top - 20) and t.window[3] == min(152, right + 20)
    assert (cover == 1).all()


def test_any_style_tiles_equal_the_whole_picture(any_style, photo):
    model, vector = any_style
    net = tiled.TiledNetwork(model, tile=64)
    assert len(net.plan(*photo.shape[:2])) == 6
    whole = _whole(model, photo, vector)
    out = net(photo, [vector]).astype(int)
    # exact up to float rounding: at most one grey level anywhere (the statistics are the whole picture's)
    assert np.abs(out - whole).max() <= 1
    assert np.mean(out != whole) < 0.01


@pytest.mark.parametrize("arch", ["compact", "johnson_slim"])
def test_per_style_tiles_equal_the_whole_picture(arch, photo):
    tf.keras.utils.set_random_seed(3)
    model = build_transformer(arch)
    whole = _whole(model, photo)
    out = tiled.TiledNetwork(model, tile=64)(photo).astype(int)
    assert np.abs(out - whole).max() <= 1


def test_tiles_without_shared_statistics_or_halo_would_show(any_style, photo):
    """The two ingredients matter: each tile normalised alone, or with too small a halo, differs."""
    model, vector = any_style
    whole = _whole(model, photo, vector)
    own = np.concatenate([_whole(model, photo[:, :76], vector), _whole(model, photo[:, 76:], vector)], axis=1)
    assert np.abs(own - whole).mean() > 3  # tiles painted on their own disagree with the whole
    net = tiled.TiledNetwork(model, tile=48)
    net.halo = 8
    assert np.abs(net(photo, [vector]).astype(int) - whole).max() > 20


def test_progress_reports_tiles_with_an_eta():
    lines = []
    progress = tiled.TileProgress(lines.append, every=0.0)
    for i in range(1, 4):
        progress("painting", i, 3)
    assert lines[-1].startswith("  painting: tile 3/3, about 0 s left")
