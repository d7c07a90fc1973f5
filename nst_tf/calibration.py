"""Speed choices measured once per machine and cached: XLA on or off for the optimisation step
(:func:`decide_jit`), float32 or bfloat16 for small networks (:func:`decide_policy`).

Whether XLA or bfloat16 wins differs between CPUs (``benchmarks/RESULTS.md``), so ``auto`` times
both settings once per (device, TensorFlow version, model, policy) and keeps the answer in
``calibration.json`` under :func:`nst_tf.files.cache_dir`; ``recalibrate`` measures again.
:mod:`nst_tf.calibrate` times the Gatys step for :func:`decide_jit`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import tensorflow as tf

from nst_tf import files, precision
from nst_tf.config import JIT_OPTIONS, check_choice
from nst_tf.config import PRECISIONS as CHOICES

log = logging.getLogger("nst_tf")


def calibration_path() -> Path:
    return files.cache_dir() / "calibration.json"


def calibration_key(backbone: str, policy: str) -> str:
    return f"{precision.device_description()} | TF {tf.__version__} | {backbone} | {policy}"


def _read_calibrations() -> dict:
    path = calibration_path()
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        log.warning("ignoring the unreadable calibration cache %s (it will be rewritten)", path)
        return {}


def _write_calibration(key: str, entry: dict) -> None:
    data = _read_calibrations()
    data[key] = entry
    try:
        files.write_json(calibration_path(), data)
    except OSError as exc:  # a read-only home must not stop a run
        log.warning(
            "could not cache the calibration in %s (%s); it will be measured again next time", calibration_path(), exc
        )


@dataclass(frozen=True)
class SpeedChoice:
    """The precision policy and XLA setting of a run, with the reasons."""

    policy: str
    jit_compile: bool
    policy_reason: str  #: e.g. ``auto: avx512_bf16``
    jit_reason: str  #: e.g. ``auto: 0.28 vs 0.62 s/step measured``

    def describe(self) -> str:
        return f"{self.policy} ({self.policy_reason}), XLA {'on' if self.jit_compile else 'off'} ({self.jit_reason})"


def decide_jit(
    option, backbone: str, policy: str, measure: Callable[[bool], float], recalibrate: bool = False
) -> tuple[bool, str]:
    """``(jit_compile, reason)`` for ``jit_compile=option`` (``auto``, ``on``, ``off``).

    ``auto`` reads the cached calibration for this device, TF version, backbone and policy,
    or calls ``measure(jit)`` (seconds per step) for both settings and caches the faster;
    ``recalibrate`` measures again.
    """
    check_choice("jit_compile", option, JIT_OPTIONS)
    if option != "auto":
        return option == "on", "chosen"
    if precision.has_tpu():
        return True, "auto: TPU programs are always compiled"
    key = calibration_key(backbone, policy)
    entry = None if recalibrate else _read_calibrations().get(key)
    if not (isinstance(entry, dict) and {"xla_on_s", "xla_off_s"} <= entry.keys()):
        off, on = measure(False), measure(True)
        entry = {"xla_on_s": round(on, 4), "xla_off_s": round(off, 4), "jit_compile": on < off}
        _write_calibration(key, entry)
        how = "measured now"
    else:
        how = "measured earlier"
    on, off = entry["xla_on_s"], entry["xla_off_s"]
    jit = on < off
    faster, slower = (on, off) if jit else (off, on)
    return jit, f"auto: {faster:.3g} vs {slower:.3g} s/step {how}"


def decide_policy(name: str, model: str, measure: Callable[[str], float], recalibrate: bool = False) -> tuple[str, str]:
    """``(policy, reason)`` for ``precision=name`` of a small network (``model`` names it in the cache).

    ``auto`` takes the device's policy, except on a CPU with native bfloat16, where a network
    with few channels can run slower in bfloat16 (the casts cost more than the narrower
    arithmetic saves): there ``measure(policy)`` (seconds per call) times both policies once per
    device, TF version and model, and the faster is cached; ``recalibrate`` measures again.
    """
    check_choice("precision", name, CHOICES)
    if name != "auto":
        return name, "chosen"
    policy, reason = precision.auto_policy()
    if policy != "mixed_bfloat16" or precision.has_tpu():
        return policy, f"auto: {reason}"
    key = calibration_key(model, "precision")
    entry = None if recalibrate else _read_calibrations().get(key)
    if not (isinstance(entry, dict) and {"float32_s", "mixed_bfloat16_s"} <= entry.keys()):
        entry = {"float32_s": round(measure("float32"), 4), "mixed_bfloat16_s": round(measure(policy), 4)}
        _write_calibration(key, entry)
        how = "measured now"
    else:
        how = "measured earlier"
    f32, bf16 = entry["float32_s"], entry["mixed_bfloat16_s"]
    chosen = policy if bf16 < f32 else "float32"
    return chosen, f"auto: {reason}; {min(f32, bf16) * 1000:.0f} vs {max(f32, bf16) * 1000:.0f} ms/call {how}"


def decide_network_jit(option, model: str, policy: str, n_images: int,
                       measure: Callable[[bool], tuple], recalibrate: bool = False) -> tuple[bool, str]:  # fmt: skip
    """``(jit_compile, reason)`` for a feed-forward network about to stylise ``n_images`` photos.

    XLA compiles once per image shape, then may run each image faster (or, on some CPUs, slower):
    ``auto`` weighs the compile time against the per-image difference over the run.
    ``measure(jit)`` returns ``(first_call_s, steady_call_s)`` for one probe image; both settings
    are measured once per device, TensorFlow version, model and policy, and cached.
    """
    check_choice("jit_compile", option, JIT_OPTIONS)
    if option != "auto":
        return option == "on", "chosen"
    if precision.has_tpu():
        return True, "auto: TPU programs are always compiled"
    key = calibration_key(model, f"{policy}, XLA")
    entry = None if recalibrate else _read_calibrations().get(key)
    fields = {"xla_first_s", "xla_each_s", "plain_first_s", "plain_each_s"}
    if not (isinstance(entry, dict) and fields <= entry.keys()):
        (on_first, on_each), (off_first, off_each) = measure(True), measure(False)
        entry = {"xla_first_s": round(on_first, 4), "xla_each_s": round(on_each, 4),
                 "plain_first_s": round(off_first, 4), "plain_each_s": round(off_each, 4)}  # fmt: skip
        _write_calibration(key, entry)
        how = "measured now"
    else:
        how = "measured earlier"
    n = max(1, int(n_images))
    compile_s = max(0.0, entry["xla_first_s"] - entry["xla_each_s"]) - max(
        0.0, entry["plain_first_s"] - entry["plain_each_s"]
    )
    with_xla = max(0.0, compile_s) + n * entry["xla_each_s"]
    without = n * entry["plain_each_s"]
    jit = with_xla < without
    return jit, (
        f"auto for {n} image{'s' if n > 1 else ''}: {with_xla:.2f} s with XLA ({max(0.0, compile_s):.2f} s to compile, "
        f"{entry['xla_each_s'] * 1000:.0f} ms each) vs {without:.2f} s without "
        f"({entry['plain_each_s'] * 1000:.0f} ms each), {how}"
    )
