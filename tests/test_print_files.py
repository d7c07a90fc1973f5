"""Print files: the photo's colour profile, resolution and EXIF kept; 16-bit PNG and TIFF."""

import numpy as np
import pytest
from PIL import Image, ImageCms

from nst_tf import print_files
from nst_tf.errors import UserError


@pytest.fixture(scope="module")
def tagged_photo(tmp_path_factory):
    """A 40 x 30 JPEG stored sideways (EXIF orientation 6), with an sRGB profile and 300 DPI."""
    path = tmp_path_factory.mktemp("print") / "photo.jpg"
    pixels = np.zeros((30, 40, 3), np.uint8)
    pixels[:, :20] = (200, 30, 30)  # the left half red
    exif = Image.Exif()
    exif[print_files.ORIENTATION] = 6
    exif[0x010F] = "TestCam"  # Make
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(pixels).save(path, quality=95, dpi=(300, 300), exif=exif.tobytes(), icc_profile=icc)
    return path, icc


def test_read_photo_applies_the_orientation_and_keeps_the_metadata(tagged_photo):
    path, icc = tagged_photo
    photo, meta = print_files.read_photo(path)
    assert photo.dtype == np.uint8 and photo.shape == (40, 30, 3)  # turned upright
    assert photo[2, 15, 0] > 150 and photo[-3, 15, 0] < 60  # the red half is now on top
    assert meta.icc_profile == icc and meta.dpi == (300.0, 300.0)
    exif = Image.Exif()
    exif.load(meta.exif)
    assert exif.get(print_files.ORIENTATION, 1) == 1 and exif[0x010F] == "TestCam"
    assert meta.describe() == "ICC profile, DPI, EXIF"


@pytest.mark.parametrize("name", ["out.jpg", "out.png", "out.tif", "out.webp"])
def test_eight_bit_files_carry_the_metadata(tagged_photo, tmp_path, name):
    photo, meta = print_files.read_photo(tagged_photo[0])
    path = print_files.write_print(photo, tmp_path / name, meta)
    with Image.open(path) as img:
        assert img.size == (30, 40)
        assert img.info.get("icc_profile") == meta.icc_profile
        if not name.endswith(".webp"):
            assert round(float(img.info["dpi"][0])) == 300
        assert img.getexif().get(print_files.ORIENTATION, 1) == 1  # no viewer turns it again


@pytest.mark.parametrize("name", ["out.png", "out.tif"])
def test_sixteen_bit_files_round_trip(tagged_photo, tmp_path, name):
    _, meta = print_files.read_photo(tagged_photo[0])
    ramp = np.broadcast_to(np.linspace(0.0, 1.0, 30, dtype=np.float32)[None, :, None], (40, 30, 3)).copy()
    path = print_files.write_print(ramp, tmp_path / name, meta, bits=16)
    if name.endswith(".tif"):
        import tifffile

        with tifffile.TiffFile(path) as tif:
            data = tif.asarray()
            assert "InterColorProfile" in tif.pages[0].tags
    else:
        import png

        width, height, rows, info = png.Reader(filename=str(path)).read()
        data = np.vstack([np.asarray(r, np.uint16) for r in rows]).reshape(height, width, 3)
        assert info["bitdepth"] == 16 and Image.open(path).info.get("icc_profile") == meta.icc_profile
    assert data.dtype == np.uint16 and data.shape == (40, 30, 3)
    np.testing.assert_array_equal(data, np.round(ramp * 65535).astype(np.uint16))
    assert len(np.unique(data[0, :, 0])) == 30  # steps no 8-bit file holds (65535 / 29 apart)


def test_refusals_name_the_fix(tmp_path):
    with pytest.raises(UserError, match="16-bit output needs a .png or .tif file, not x.jpg"):
        print_files.write_print(np.zeros((4, 4, 3)), tmp_path / "x.jpg", bits=16)
    with pytest.raises(UserError, match="--bits must be 8 or 16"):
        print_files.check_bits(12, None)
    (tmp_path / "kept.png").write_bytes(b"mine")
    with pytest.raises(UserError, match="already exists"):
        print_files.write_print(np.zeros((4, 4, 3)), tmp_path / "kept.png", bits=16)
    assert (tmp_path / "kept.png").read_bytes() == b"mine"
