"""The training photos pipeline: formats TensorFlow cannot decode, random scales."""

import numpy as np
import pytest
from PIL import Image

from nst_tf.feedforward import data


def test_random_scales_are_reproducible_and_change_the_crops(photo_dir):
    paths = data.list_images(photo_dir)
    plain = next(iter(data.make_dataset(paths, 32, 4, seed=1))).numpy()
    scaled = next(iter(data.make_dataset(paths, 32, 4, seed=1, max_scale=2.0))).numpy()
    again = next(iter(data.make_dataset(paths, 32, 4, seed=1, max_scale=2.0))).numpy()
    assert scaled.shape == plain.shape == (4, 32, 32, 3)
    np.testing.assert_array_equal(scaled, again)
    assert np.abs(scaled - plain).mean() > 0.01


def test_tiff_and_webp_photos_train_instead_of_hanging(tmp_path, rng):
    # TensorFlow's decoder reads neither; Pillow does, so the folder check accepted them and the
    # pipeline used to drop every one and spin forever. Now they decode through Pillow.
    pixels = (rng.uniform(size=(40, 56, 3)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.tif")
    Image.fromarray(pixels).save(tmp_path / "b.webp", lossless=True)
    Image.fromarray(pixels).save(tmp_path / "c.png")
    paths = data.list_images(tmp_path)
    assert [p.rsplit("/", 1)[-1] for p in paths] == ["a.tif", "b.webp", "c.png"]
    batch = next(iter(data.make_dataset(paths, 32, 3, seed=0))).numpy()
    assert batch.shape == (3, 32, 32, 3)
    # the same photo, whichever decoder read it: the same crops' statistics
    means = sorted(round(float(b.mean()), 2) for b in batch)
    assert abs(means[0] - means[-1]) < 0.06 and 0.3 < means[0] < 0.7


def test_photos_that_pass_the_header_check_but_do_not_decode_are_refused(tmp_path, content_path, caplog):
    """A truncated JPEG passes Pillow's verify() but no decoder reads it: a folder of only such
    files used to leave training spinning; now it is refused, and a mixed folder is warned about."""
    from nst_tf.errors import UserError

    raw = open(content_path, "rb").read()
    bad = tmp_path / "bad"
    bad.mkdir()
    for i in range(3):
        (bad / f"cut{i}.jpg").write_bytes(raw[:700])
    with pytest.raises(UserError, match="could be decoded"):
        data.list_images(bad)
    (bad / "good.jpg").write_bytes(raw)
    with caplog.at_level("WARNING", logger="nst_tf"):
        assert len(data.list_images(bad)) == 4
    assert "could not be decoded" in caplog.text
