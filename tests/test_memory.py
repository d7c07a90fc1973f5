"""The peak-memory estimate and the refusal with the largest size that fits."""

import pytest

from nst_tf import memory
from nst_tf.config import GATYS_CONTENT_LAYERS, GATYS_STYLE_LAYERS
from nst_tf.errors import UserError

LAYERS = GATYS_CONTENT_LAYERS + GATYS_STYLE_LAYERS


def test_activation_bytes_by_hand():
    # VGG16 up to block1_conv2 at 8x8: two 8x8x64 maps, float32.
    assert memory.activation_bytes(["block1_conv2"], "vgg16", 8, 8, "float32") == 2 * 8 * 8 * 64 * 4
    # ... plus the pool (4x4x64) and block2_conv1 (4x4x128); float16 halves it.
    assert memory.activation_bytes(["block2_conv1"], "vgg16", 8, 8, "mixed_float16") == \
        (2 * 8 * 8 * 64 + 4 * 4 * 64 + 4 * 4 * 128) * 2


def test_estimate_tracks_measured_peaks():
    # Peak RSS measured by benchmarks/step_time.py (VGG19, float32, XLA off): 926, 1272, 2314 MiB.
    for side, measured_mib in ((128, 926), (256, 1272), (512, 2314)):
        est = memory.estimate_peak_bytes(LAYERS, "vgg19", side, side, "float32") / 2**20
        assert abs(est - measured_mib) / measured_mib < 0.15, (side, est)


def test_refuses_with_largest_fitting_size():
    need = memory.estimate_peak_bytes(LAYERS, "vgg19", 4096, 4096, "float32")
    with pytest.raises(UserError, match=r"the largest --size that fits is about (\d+) px") as err:
        memory.check_fits(LAYERS, "vgg19", 4096, 4096, "float32", available=8 * 2**30)
    fit = int(err.value.args[0].split("about ")[-1].split(" px")[0])
    assert 1000 < fit < 4096
    assert memory.estimate_peak_bytes(LAYERS, "vgg19", fit, fit, "float32") <= 8 * 2**30
    assert memory.check_fits(LAYERS, "vgg19", 64, 64, "float32", available=8 * 2**30) < need


def test_memory_budget_from_environment(monkeypatch):
    monkeypatch.setenv("NST_TF_MEMORY_GIB", "1.5")
    assert memory.limit_bytes() == int(1.5 * 2**30)
    monkeypatch.setenv("NST_TF_MEMORY_GIB", "lots")
    with pytest.raises(UserError, match="NST_TF_MEMORY_GIB must be a number of GiB"):
        memory.limit_bytes()
