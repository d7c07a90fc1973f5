"""Loading every common image flavour, resizing, atomic saving."""

import os

import numpy as np
import pytest
from PIL import Image

from nst_tf import images, sheet
from nst_tf.errors import UserError


def test_load_rgb_jpeg(content_path):
    img = images.load_image(content_path)
    assert img.dtype == np.float32 and img.ndim == 3 and img.shape[2] == 3
    assert 0.0 <= img.min() and img.max() <= 1.0
    assert img.shape[:2] == (300, 451)


def test_grayscale_palette_rgba_16bit_cmyk(tmp_path):
    gray = Image.fromarray(np.full((8, 10), 128, np.uint8))
    gray.save(tmp_path / "g.png")
    out = images.load_image(tmp_path / "g.png")
    assert out.shape == (8, 10, 3)
    np.testing.assert_allclose(out, 128 / 255, atol=1e-6)

    pal = Image.fromarray(np.full((8, 10, 3), (255, 0, 0), np.uint8)).convert("P")
    pal.save(tmp_path / "p.png")
    np.testing.assert_allclose(images.load_image(tmp_path / "p.png")[0, 0], (1, 0, 0), atol=1e-6)

    rgba = np.zeros((8, 10, 4), np.uint8)
    rgba[..., 0] = 255  # red, fully transparent on the left half
    rgba[:, 5:, 3] = 255
    Image.fromarray(rgba).save(tmp_path / "a.png")
    out = images.load_image(tmp_path / "a.png")
    np.testing.assert_allclose(out[0, 0], (1, 1, 1), atol=1e-6)  # composited on white
    np.testing.assert_allclose(out[0, 9], (1, 0, 0), atol=1e-6)

    deep = Image.fromarray(np.full((8, 10), 65535 // 4, np.uint16))
    deep.save(tmp_path / "d16.png")
    np.testing.assert_allclose(images.load_image(tmp_path / "d16.png"), 0.25, atol=1e-3)

    Image.new("CMYK", (10, 8), (0, 255, 255, 0)).save(tmp_path / "c.jpg")
    out = images.load_image(tmp_path / "c.jpg")
    assert out.shape == (8, 10, 3) and out[..., 0].mean() > 0.8 and out[..., 1].mean() < 0.2


def test_exif_orientation_applied(tmp_path):
    arr = np.zeros((10, 20, 3), np.uint8)  # landscape, stored sideways
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    img.save(tmp_path / "r.jpg", exif=exif)
    assert images.load_image(tmp_path / "r.jpg").shape == (20, 10, 3)


def test_arrays_accepted():
    u8 = np.full((4, 6, 3), 255, np.uint8)
    np.testing.assert_allclose(images.load_image(u8), 1.0)
    assert images.load_image(np.zeros((4, 6))).shape == (4, 6, 3)
    with pytest.raises(UserError, match="divide"):
        images.load_image(np.full((4, 6, 3), 200.0))


@pytest.mark.parametrize(
    "name, data, pattern",
    [
        ("missing.jpg", None, "not found"),
        ("", None, "is a directory"),
        ("empty.jpg", b"", "empty file"),
        ("text.jpg", b"hello, not a picture", "not an image"),
    ],
)
def test_bad_files_give_user_errors(tmp_path, name, data, pattern):
    path = tmp_path / name
    if data is not None:
        path.write_bytes(data)
    with pytest.raises(UserError, match=pattern):
        images.load_image(path)


def test_url_names_how_to_download():
    with pytest.raises(UserError, match="download it first"):
        images.load_image("https://example.com/a.jpg")


def test_truncated_jpeg(tmp_path, content_path):
    data = content_path.read_bytes()
    (tmp_path / "t.jpg").write_bytes(data[: len(data) // 3])
    with pytest.raises(UserError, match="truncated or corrupt"):
        images.load_image(tmp_path / "t.jpg")


def test_resize_keeps_aspect():
    img = np.random.default_rng(0).uniform(size=(300, 451, 3)).astype(np.float32)
    out = images.resize(img, 64)
    assert out.shape == (43, 64, 3)
    assert out.min() >= 0 and out.max() <= 1


def test_save_roundtrip_and_no_clobber(tmp_path):
    img = np.random.default_rng(0).uniform(size=(16, 24, 3)).astype(np.float32)
    p = images.save_image(img, tmp_path / "sub" / "out.png")
    np.testing.assert_allclose(images.load_image(p), np.round(img * 255) / 255, atol=1e-6)
    with pytest.raises(UserError, match="--overwrite"):
        images.save_image(img, p)
    images.save_image(np.zeros_like(img), p, overwrite=True)
    assert images.load_image(p).max() == 0.0
    assert os.listdir(tmp_path / "sub") == ["out.png"]
    mask = os.umask(0)
    os.umask(mask)
    assert os.stat(p).st_mode & 0o777 == 0o666 & ~mask  # not mkstemp's 0600


def test_save_refuses_nan_and_leaves_nothing(tmp_path):
    img = np.full((4, 4, 3), np.nan, np.float32)
    with pytest.raises(ValueError, match="NaN"):
        images.save_image(img, tmp_path / "nan.png")
    assert os.listdir(tmp_path) == []


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    def boom(self, fp, *a, **k):
        fp.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", boom)
    with pytest.raises(OSError):
        images.save_image(np.zeros((4, 4, 3), np.float32), tmp_path / "x.jpg")
    assert os.listdir(tmp_path) == []


def test_unknown_extension():
    with pytest.raises(UserError, match="end the name with"):
        images.check_output_path("out.xyz")


def test_contact_sheet_layout():
    red = np.zeros((10, 20, 3), np.float32)
    red[..., 0] = 1
    grid = sheet.contact_sheet([[red, None], [red, red]], cell=16, pad=2)
    assert grid.shape == (2 * 16 + 3 * 2, 2 * 16 + 3 * 2, 3)
    np.testing.assert_allclose(grid[2 + 8, 2 + 8], (1, 0, 0))  # centre of first cell
    np.testing.assert_allclose(grid[2 + 8, 2 + 16 + 2 + 8], (1, 1, 1))  # empty cell stays white


def test_a_large_local_photo_loads_without_pillows_bomb_warning(tmp_path, monkeypatch):
    import warnings

    from PIL import Image

    path = tmp_path / "scan.png"
    Image.fromarray(np.zeros((12, 12, 3), np.uint8)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 144 px: over the warning line, under the error
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert images.load_image(path).shape == (12, 12, 3)
