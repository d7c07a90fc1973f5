"""Metric values on known cases, and nst-evaluate's files."""

import json
import math

import numpy as np
import pytest
from clitools import run_cli
from PIL import Image, ImageFilter

from nst_tf import images, metrics


@pytest.fixture(scope="module")
def photo(content_path):
    return images.resize(images.load_image(content_path), 96)


@pytest.fixture(scope="module")
def features():
    return metrics.FeatureMetrics()


def test_identical_images(photo, features):
    assert metrics.mse(photo, photo) == 0.0
    assert math.isinf(metrics.psnr(photo, photo))
    assert metrics.ssim(photo, photo) == pytest.approx(1.0, abs=1e-6)
    assert metrics.ms_ssim(photo, photo) == pytest.approx(1.0, abs=1e-5)
    assert features.content_distance(photo, photo) == pytest.approx(0.0, abs=1e-6)
    assert features.style_distance(photo, photo) == pytest.approx(0.0, abs=1e-6)


def test_psnr_and_mse_by_hand():
    a = np.zeros((8, 8, 3), np.float32)
    b = np.full((8, 8, 3), 0.1, np.float32)
    assert metrics.mse(a, b) == pytest.approx(0.01, rel=1e-5)
    assert metrics.psnr(a, b) == pytest.approx(20.0, rel=1e-5)


def test_noise_scores_worse_than_blur(photo, features):
    blurred = images.load_image(Image.fromarray(images.to_uint8(photo)).filter(ImageFilter.GaussianBlur(1.5)))
    noisy = np.clip(photo + np.random.default_rng(0).normal(0, 0.25, photo.shape), 0, 1).astype(np.float32)
    assert metrics.ssim(blurred, photo) > metrics.ssim(noisy, photo)
    assert metrics.psnr(blurred, photo) > metrics.psnr(noisy, photo)
    assert metrics.mse(blurred, photo) < metrics.mse(noisy, photo)
    assert metrics.ms_ssim(blurred, photo) > metrics.ms_ssim(noisy, photo)
    assert features.content_distance(blurred, photo) < features.content_distance(noisy, photo)


def test_ms_ssim_small_images():
    tiny = np.random.default_rng(0).uniform(size=(16, 16, 3)).astype(np.float32)
    assert metrics.ms_ssim(tiny, tiny) is None  # one scale only: not multi-scale
    small = np.random.default_rng(0).uniform(size=(48, 48, 3)).astype(np.float32)
    assert metrics.ms_ssim(small, small) == pytest.approx(1.0, abs=1e-5)


def test_style_distance_prefers_the_style(photo, style_path, features):
    style = images.resize(images.load_image(style_path), 96)
    assert features.style_distance(style, style) < 1e-6
    assert features.style_distance(photo, style) > 0.2


def test_nst_evaluate_smoke(tmp_path, content_path, style_path):
    """The command end to end (the scores and files themselves: tests/test_evaluation.py)."""
    out = tmp_path / "same.png"
    images.save_image(images.resize(images.load_image(content_path), 48), out)
    r = run_cli(f"--content={out}", f"--style={style_path}", f"--outputs={out}", f"--report={tmp_path / 'r.json'}",
                module="nst_tf.cli.evaluate")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "ssim" in r.stdout and "same.png" in r.stdout and f"wrote {tmp_path / 'r.json'}" in r.stdout
    assert json.loads((tmp_path / "r.json").read_text())["results"][0]["psnr"] == "inf"


def test_nst_evaluate_bad_input(tmp_path, style_path):
    r = run_cli("--content=nope.jpg", f"--style={style_path}", f"--outputs={style_path}", module="nst_tf.cli.evaluate")
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        "nst-evaluate: error: image file not found: nope.jpg; check the path"
    ]
