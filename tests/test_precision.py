"""Policy choice and scoping, loss-scale wrapping."""

import keras
import pytest

from nst_tf import precision
from nst_tf.errors import UserError


def test_auto_is_float32_on_cpu(monkeypatch):
    monkeypatch.setattr(precision, "_gpu_capabilities", lambda: [])
    monkeypatch.setattr(precision, "_has_tpu", lambda: False)
    assert precision.resolve("auto") == "float32"


@pytest.mark.parametrize("caps, expected", [([(8, 0)], "mixed_float16"), ([(6, 1)], "float32"), ([(7, 0), (6, 0)], "float32")])
def test_auto_on_gpus(monkeypatch, caps, expected):
    monkeypatch.setattr(precision, "_gpu_capabilities", lambda: caps)
    monkeypatch.setattr(precision, "_has_tpu", lambda: False)
    assert precision.resolve("auto") == expected


def test_auto_on_tpu(monkeypatch):
    monkeypatch.setattr(precision, "_has_tpu", lambda: True)
    assert precision.resolve("auto") == "mixed_bfloat16"


def test_explicit_and_unknown():
    assert precision.resolve("mixed_float16") == "mixed_float16"
    with pytest.raises(UserError, match="choose one of"):
        precision.resolve("float8")


def test_policy_scope_restores_even_on_error():
    before = keras.config.dtype_policy().name
    with pytest.raises(RuntimeError):
        with precision.policy_scope("mixed_float16"):
            assert keras.config.dtype_policy().name == "mixed_float16"
            layer = keras.layers.Dense(2)
            raise RuntimeError("boom")
    assert keras.config.dtype_policy().name == before
    assert layer.dtype_policy.name == "mixed_float16"


def test_wrap_optimizer():
    assert isinstance(precision.wrap_optimizer(keras.optimizers.Adam(), "mixed_float16"),
                      keras.optimizers.LossScaleOptimizer)
    for policy in ("float32", "mixed_bfloat16"):
        assert not isinstance(precision.wrap_optimizer(keras.optimizers.Adam(), policy),
                              keras.optimizers.LossScaleOptimizer)
