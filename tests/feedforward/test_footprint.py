"""The feed-forward networks' memory check: refuse what cannot fit, split batches that do not."""

import numpy as np
import pytest

from nst_tf.errors import UserError
from nst_tf.feedforward import footprint
from nst_tf.feedforward.stylizers import Stylizer

GIB = 2**30


def test_needed_bytes_follow_the_measured_table():
    # 100 MP with the any-style network: 170 MiB/MP x 1.25 headroom
    assert footprint.needed_bytes("arbitrary", 8000, 12500) == pytest.approx(1.25 * 170 * 2**20 * 100, rel=1e-6)
    assert footprint.needed_bytes("compact", 1000, 1000, batch=4) < footprint.needed_bytes("johnson", 1000, 1000)
    assert footprint.fits(None, 10**5, 10**5, available=1)  # an exported file: not checked


def test_refusal_names_the_largest_size_that_fits():
    with pytest.raises(UserError) as info:
        footprint.check("arbitrary", 8000, 12000, available=8 * GIB)
    message = str(info.value)
    assert "a 12000x8000 px image needs about 19.9 GiB with the any-style network but 8.0 GiB" in message
    side = int(message.split("--size=")[1].split()[0])
    assert side % 16 == 0
    footprint.check("arbitrary", side * 2 // 3, side, available=8 * GIB)  # the suggested size fits
    with pytest.raises(UserError):
        footprint.check("arbitrary", (side + 32) * 2 // 3, side + 32, available=8 * GIB)


def test_stylizer_refuses_before_running_and_splits_a_batch_that_does_not_fit(monkeypatch):
    calls = []

    def run(batch):
        calls.append(len(batch))
        return batch

    net = Stylizer(run, "a test network", arch="compact")
    budget = footprint.needed_bytes("compact", 600, 800, batch=2)  # two such images fit, four do not
    monkeypatch.setattr(footprint.memory, "limit_bytes", lambda: budget)
    batch = np.zeros((4, 600, 800, 3), np.uint8)
    assert net(batch).shape == batch.shape and calls == [1, 1, 1, 1]
    with pytest.raises(UserError, match="pass --size="):
        net(np.zeros((1, 1800, 2400, 3), np.uint8))
    assert calls == [1, 1, 1, 1]  # refused before the network ran


def test_stylizer_paints_in_tiles_what_is_too_large_whole(monkeypatch, content_path):
    """Over the whole-picture limit the network runs in tiles (same pixels); where even tiles do
    not fit, the refusal names the largest size that does."""
    import tensorflow as tf

    from nst_tf import images, memory
    from nst_tf.feedforward.johnson import build_transformer, stylize_images
    from nst_tf.feedforward.stylizers import TiledRun

    tf.keras.utils.set_random_seed(5)
    model = build_transformer("compact")

    def whole(batch):
        out = stylize_images(model, np.asarray(batch, np.float32) / 255.0).numpy()
        return np.round(out * 255).astype(np.uint8)

    tiles = TiledRun(model)
    net = Stylizer(whole, "compact, random weights", arch="compact", tiled=tiles)
    photo = images.to_uint8(images.resize_to(images.load_image(content_path), (80, 120)))[None]
    monkeypatch.setattr(footprint, "WHOLE_LIMIT", footprint.needed_bytes("compact", 40, 40))
    monkeypatch.setattr(footprint, "TILES", (48, 32))  # small tiles for a small picture
    smallest = footprint.tiled_bytes("compact", 80, 120, 32 + 2 * tiles.halo)
    monkeypatch.setattr(memory, "limit_bytes", lambda: smallest)  # room for the smaller tiles only
    out = net(photo)
    assert list(tiles.networks) == [32]
    assert np.abs(out.astype(int) - whole(photo).astype(int)).max() <= 1
    monkeypatch.setattr(memory, "limit_bytes", lambda: footprint.tiled_bytes("compact", 60, 90, 32 + 2 * tiles.halo))
    with pytest.raises(UserError, match=r"needs about .* even in tiles .*pass --size=(\d+) or smaller"):
        net(photo)
