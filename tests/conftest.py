"""Shared fixtures: the offline backbone built once per session, tiny test images."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Calibrations and converted weights go to a throw-away cache, never the user's.
import tempfile  # noqa: E402

os.environ["NST_TF_CACHE"] = tempfile.mkdtemp(prefix="nst_tf_test_cache_")
# nst-web keeps its results under the user's data folder: the tests (and their servers) use their own
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="nst_tf_test_data_")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "examples" / "content" / "chelsea.jpg"
STYLE = ROOT / "examples" / "style" / "starry_night.jpg"


@pytest.fixture(scope="session")
def small_config():
    from nst_tf import StylizeConfig

    return StylizeConfig(
        size=64, steps=30, backbone="vgg16", weights="hed", precision="float32", jit_compile=False
    )  # XLA compiles per image size: seconds each; one test covers it


@pytest.fixture(scope="session")
def hed_extractor(small_config):
    from nst_tf import build_extractor

    return build_extractor(small_config)


@pytest.fixture(scope="session")
def content_path():
    return CONTENT


@pytest.fixture(scope="session")
def style_path():
    return STYLE


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def photo_dir(tmp_path_factory, content_path):
    """8 generated 64 px photos (crops of an example photo), plus junk to be skipped."""
    from nst_tf import images

    d = tmp_path_factory.mktemp("photos")
    src = images.load_image(content_path)
    rng = np.random.default_rng(0)
    (d / "sub").mkdir()
    for i in range(8):
        y, x = rng.integers(0, 200), rng.integers(0, 350)
        crop = images.resize_to(src[y : y + 100, x : x + 100], (64 + 8 * (i % 3), 64))
        images.save_image(crop, d / ("sub" if i % 2 else ".") / f"p{i}.jpg")
    (d / "notes.txt").write_text("not a photo")
    (d / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    return d
