"""Precision and XLA choice (mocked CPUs, GPUs, TPU; cached calibration; overrides), scoping, loss scaling."""

import json

import keras
import pytest

from nst_tf import calibrate, calibration, precision
from nst_tf.errors import UserError


@pytest.fixture
def cpu(monkeypatch):
    """A machine with no GPU and no TPU whose CPU flags the test sets."""
    monkeypatch.setattr(precision, "gpu_capabilities", lambda: [])
    monkeypatch.setattr(precision, "gpu_names", lambda: [])
    monkeypatch.setattr(precision, "has_tpu", lambda: False)
    monkeypatch.setattr(precision, "cpu_model", lambda: "Test CPU")

    def set_flags(*names):
        monkeypatch.setattr(precision, "cpu_flags", lambda: {"sse2", "avx2", "fma", *names})

    set_flags()
    return set_flags


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NST_TF_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "calibration.json"


def test_cpu_without_bfloat16_is_float32(cpu):
    assert precision.auto_policy() == ("float32", "CPU without native bfloat16")
    assert precision.resolve("auto") == "float32"


@pytest.mark.parametrize("flag", ["avx512_bf16", "amx_bf16"])
def test_cpu_with_native_bfloat16(cpu, flag):
    cpu("avx512f", flag)
    assert precision.auto_policy() == ("mixed_bfloat16", flag)
    assert flag in precision.device_description()


def test_real_cpu_flags_are_read():
    flags = precision.cpu_flags()
    assert isinstance(flags, set)
    expected = "mixed_bfloat16" if flags & set(precision.CPU_BF16_FLAGS) else "float32"
    if not precision.gpu_capabilities() and not precision.has_tpu():
        assert precision.resolve("auto") == expected


@pytest.mark.parametrize(
    "caps, expected",
    [([(8, 0)], "mixed_float16"), ([(7, 0)], "mixed_float16"), ([(6, 1)], "float32"), ([(7, 0), (6, 0)], "float32")],
)
def test_auto_on_gpus(cpu, monkeypatch, caps, expected):
    cpu("avx512_bf16")  # a GPU wins over the CPU's bfloat16
    monkeypatch.setattr(precision, "gpu_capabilities", lambda: caps)
    policy, reason = precision.auto_policy()
    assert policy == expected and "compute capability" in reason


def test_auto_on_tpu(cpu, monkeypatch):
    monkeypatch.setattr(precision, "has_tpu", lambda: True)
    assert precision.resolve("auto") == "mixed_bfloat16"
    jit, why = calibration.decide_jit("auto", "vgg16", "mixed_bfloat16", measure=None)
    assert jit and "TPU" in why


def test_explicit_and_unknown(cpu):
    cpu("avx512_bf16")
    assert precision.resolve("mixed_float16") == "mixed_float16"
    assert precision.resolve("float32") == "float32"
    assert precision.describe_policy("float32", "float32") == "float32 (chosen)"
    assert precision.describe_policy("auto", "mixed_bfloat16") == "mixed_bfloat16 (auto: avx512_bf16)"
    with pytest.raises(UserError, match="unknown precision 'float8'; choose one of"):
        precision.resolve("float8")


def test_calibration_measures_once_then_reads_the_cache(cpu, cache):
    calls = []

    def measure(jit):
        calls.append(jit)
        return {False: 0.28, True: 0.62}[jit]

    jit, why = calibration.decide_jit("auto", "vgg16", "mixed_bfloat16", measure)
    assert jit is False and why == "auto: 0.28 vs 0.62 s/step measured now"
    assert sorted(calls) == [False, True]
    entry = json.loads(cache.read_text())[calibration.calibration_key("vgg16", "mixed_bfloat16")]
    assert entry == {"xla_on_s": 0.62, "xla_off_s": 0.28, "jit_compile": False}

    jit, why = calibration.decide_jit("auto", "vgg16", "mixed_bfloat16", measure)
    assert jit is False and "measured earlier" in why and len(calls) == 2  # not measured again
    # Another backbone or policy is another key: measured on its own.
    jit, _ = calibration.decide_jit("auto", "vgg19", "float32", lambda j: 0.5 if j else 0.9)
    assert jit is True and len(json.loads(cache.read_text())) == 2


def test_recalibrate_measures_again(cpu, cache):
    calibration.decide_jit("auto", "vgg16", "float32", lambda j: 1.0 if j else 2.0)
    jit, why = calibration.decide_jit("auto", "vgg16", "float32", lambda j: 2.0 if j else 1.0, recalibrate=True)
    assert jit is False and "measured now" in why


def test_forced_override_never_measures(cpu, cache):
    def boom(jit):
        raise AssertionError("must not measure")

    assert calibration.decide_jit("on", "vgg16", "float32", boom) == (True, "chosen")
    assert calibration.decide_jit("off", "vgg16", "float32", boom) == (False, "chosen")
    assert not cache.exists()
    with pytest.raises(UserError, match="unknown jit_compile"):
        calibration.decide_jit("sometimes", "vgg16", "float32", boom)


def test_damaged_cache_is_measured_again(cpu, cache, caplog):
    cache.parent.mkdir(parents=True)
    cache.write_text("{not json")
    jit, why = calibration.decide_jit("auto", "vgg16", "float32", lambda j: 1.0 if j else 2.0)
    assert jit is True and "measured now" in why
    assert "unreadable calibration cache" in caplog.text
    assert json.loads(cache.read_text())  # rewritten whole


def test_choose_speed_measures_the_real_step(cpu, cache, hed_extractor, small_config):
    config = small_config.replace(jit_compile="auto", precision="auto")  # the mocked CPU: auto = float32
    first = calibrate.choose_speed(config, hed_extractor)
    entry = json.loads(cache.read_text())[calibration.calibration_key("vgg16", "float32")]
    assert entry["xla_on_s"] > 0 and entry["xla_off_s"] > 0
    assert first.jit_compile == (entry["xla_on_s"] < entry["xla_off_s"])
    assert first.policy == "float32" and first.policy_reason == "auto: CPU without native bfloat16"
    text = first.describe()
    assert text.startswith("float32 (auto: CPU without native bfloat16), XLA ") and "s/step measured now" in text
    again = calibrate.choose_speed(config, hed_extractor)
    assert again.jit_compile == first.jit_compile and "measured earlier" in again.jit_reason


def test_connect_tpu_without_one_is_a_user_error():
    with pytest.raises(UserError, match="could not connect to the TPU 'no-such-tpu'"):
        precision.connect_tpu("no-such-tpu")


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
    assert isinstance(
        precision.wrap_optimizer(keras.optimizers.Adam(), "mixed_float16"), keras.optimizers.LossScaleOptimizer
    )
    for policy in ("float32", "mixed_bfloat16"):
        assert not isinstance(
            precision.wrap_optimizer(keras.optimizers.Adam(), policy), keras.optimizers.LossScaleOptimizer
        )
