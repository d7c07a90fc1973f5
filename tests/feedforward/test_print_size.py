"""Print size: paint at the working size, enlarge with the photo's detail, in strips."""

import numpy as np
import pytest

from nst_tf.feedforward import print_size


@pytest.fixture(scope="module")
def photo(content_path):
    from PIL import Image

    # a 400 px photo with fine grain: detail the 100 px working copy cannot hold
    big = np.asarray(Image.open(content_path).convert("RGB").resize((400, 300), Image.LANCZOS), np.float32)
    grain = np.random.default_rng(0).normal(0.0, 6.0, big.shape[:2])[..., None]
    return np.clip(big + grain, 0, 255).astype(np.uint8)


def test_box_filter_is_the_window_mean():
    a = np.random.default_rng(1).uniform(size=(9, 11, 2)).astype(np.float32)
    out = print_size._box(a, 2)
    for y, x in [(0, 0), (4, 5), (8, 10), (3, 0)]:
        window = a[max(0, y - 2) : y + 3, max(0, x - 2) : x + 3]
        np.testing.assert_allclose(out[y, x], window.reshape(-1, 2).mean(0), rtol=1e-5)


def test_a_painting_that_is_the_photo_comes_back_as_the_photo(photo):
    """Where the painting follows the photo exactly the gain is 1: the full photo returns."""
    small = print_size.shrink(photo, 100)
    out = print_size.detail_upsample(photo, small, small).astype(float)
    enlarged = print_size.detail_upsample(photo, small, small, eps=1e6).astype(float)  # gain ~0: no detail
    assert np.abs(out - photo).mean() < 2.5  # the grain and edges are back
    assert np.abs(enlarged - photo).mean() > 2 * np.abs(out - photo).mean()


def test_the_print_shrunk_back_is_the_painting_and_holds_more_detail(photo):
    small = print_size.shrink(photo, 100)
    painted = np.clip(small[..., ::-1] * 0.8 + 0.1, 0, 1)  # a "painting" that keeps the edges
    out = print_size.detail_upsample(photo, small, painted)
    back = print_size.shrink(out, 100)
    assert np.abs(back - painted).mean() < 0.01
    plain = print_size.resize_uint8(np.round(painted * 255).astype(np.uint8), 400).astype(float)
    energy = [np.mean(np.abs(np.diff(a.astype(float), axis=1))) for a in (out, plain)]
    assert energy[0] > 1.5 * energy[1]


def test_strips_join_without_a_trace(photo, monkeypatch):
    small = print_size.shrink(photo, 100)
    whole = print_size.detail_upsample(photo, small, small[..., ::-1], bits=16)
    monkeypatch.setattr(print_size, "STRIP_ROWS", 37)
    assert whole.dtype == np.uint16
    assert np.abs(print_size.detail_upsample(photo, small, small[..., ::-1], bits=16).astype(int) - whole).max() <= 1


def test_paint_print_paints_small_photos_as_they_are(photo):
    sizes = []

    def paint(image):
        sizes.append(image.shape[:2])
        return image

    out = print_size.paint_print(photo, paint, work_size=512)
    assert sizes == [(300, 400)] and out.dtype == np.uint8 and np.array_equal(out, photo)
    lines = []
    print_size.paint_print(photo, paint, work_size=200, report=lines.append)
    assert sizes[-1] == (150, 200)
    assert lines == ["painting at 200x150 px, then 400x300 px with the photo's detail"]


def test_nst_apply_print_keeps_size_strokes_and_metadata(tmp_path, content_path, style_path):
    """A 16-bit print of a tagged photo: upright, full size, profile and DPI kept, and shrunk to the
    working size it is the painting made at that size."""
    from PIL import Image, ImageCms

    from nst_tf import print_files
    from nst_tf.config import ApplyConfig
    from nst_tf.feedforward.apply import apply_files

    src = tmp_path / "photo.jpg"
    exif = Image.Exif()
    exif[print_files.ORIENTATION] = 8  # stored turned: 192 wide, 128 tall on disk
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    photo = Image.open(content_path).convert("RGB").resize((192, 128), Image.LANCZOS)
    photo.save(src, quality=95, dpi=(240, 240), exif=exif.tobytes(), icc_profile=icc)
    config = ApplyConfig(work_size=64, bits=16, precision="float32", jit_compile="off")
    apply_files(config, ["arbitrary"], [src], tmp_path / "print.png", styles=[style_path])
    with Image.open(tmp_path / "print.png") as img:
        assert img.size == (128, 192) and img.info.get("icc_profile") == icc  # upright, profile kept
        assert round(float(img.info["dpi"][0])) == 240
    apply_files(config.replace(size=64, work_size=0, bits=8), ["arbitrary"], [src], tmp_path / "preview.png",
                styles=[style_path])  # fmt: skip
    import png

    width, height, rows, _ = png.Reader(filename=str(tmp_path / "print.png")).read()
    big = np.vstack([np.asarray(r, np.uint16) for r in rows]).reshape(height, width, 3)
    back = print_size.shrink((big // 257).astype(np.uint8), 64)
    preview = np.asarray(Image.open(tmp_path / "preview.png"), np.float32) / 255.0
    assert back.shape == preview.shape
    assert np.abs(back - preview).mean() < 0.02
