"""nst_tf.calibration: the feed-forward network's XLA choice weighs compile time over the run."""

import json

import pytest

from nst_tf import calibration, precision


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NST_TF_CACHE", str(tmp_path))
    monkeypatch.setattr(precision, "has_tpu", lambda: False)
    return tmp_path / "calibration.json"


def test_network_xla_pays_back_only_over_enough_images(cache):
    calls = []

    def measure(jit):  # XLA: ~2 s to compile (beyond the plain first call's 10 ms), then 30 ms, not 40, an image
        calls.append(jit)
        return (2.03, 0.03) if jit else (0.05, 0.04)

    jit, why = calibration.decide_network_jit("auto", "net", "float32", 1, measure)
    assert not jit and "auto for 1 image: 2.02 s with XLA (1.99 s to compile, 30 ms each)" in why
    assert "0.04 s without (40 ms each), measured now" in why
    assert calibration.decide_network_jit("auto", "net", "float32", 150, measure)[0] is False  # 6.49 vs 6.00 s
    jit, why = calibration.decide_network_jit("auto", "net", "float32", 500, measure)
    assert jit and why.endswith("measured earlier")
    assert calls == [True, False]  # measured once, then read from the cache
    entry = json.loads(cache.read_text())[calibration.calibration_key("net", "float32, XLA")]
    assert entry == {"xla_first_s": 2.03, "xla_each_s": 0.03, "plain_first_s": 0.05, "plain_each_s": 0.04}


def test_network_xla_that_is_slower_per_image_is_never_chosen(cache):
    def measure(jit):  # as measured on the Zen 4 EPYC: XLA 38 ms an image, without it 27 ms
        return (1.53, 0.038) if jit else (0.57, 0.027)

    assert not any(calibration.decide_network_jit("auto", "net", "float32", n, measure)[0] for n in (1, 9, 10_000))


def test_network_xla_choices_and_tpu(cache, monkeypatch):
    def boom(jit):
        raise AssertionError("nothing to measure")

    assert calibration.decide_network_jit("on", "net", "float32", 1, boom) == (True, "chosen")
    assert calibration.decide_network_jit("off", "net", "float32", 10**6, boom) == (False, "chosen")
    monkeypatch.setattr(precision, "has_tpu", lambda: True)
    assert calibration.decide_network_jit("auto", "net", "float32", 1, boom)[0] is True
