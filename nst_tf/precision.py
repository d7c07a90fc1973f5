"""Compute precision and XLA: chosen for the machine that runs, scoped to model building.

``auto`` precision (:func:`auto_policy`):

* TPU: ``mixed_bfloat16`` (the TPU's native format).
* NVIDIA GPU with compute capability >= 7.0 (tensor cores): ``mixed_float16`` with a dynamic
  ``LossScaleOptimizer``; older GPUs: ``float32``.
* CPU with native bfloat16 (``avx512_bf16`` or AMX ``amx_bf16`` in /proc/cpuinfo): oneDNN runs
  bfloat16 convolutions natively, ~2x float32 (measured, ``benchmarks/RESULTS.md``); otherwise
  ``float32`` (emulated float16/bfloat16 are 3-4x slower than float32 on AVX2 CPUs).

``auto`` XLA (:func:`decide_jit`): on a TPU always on; elsewhere measured once per (device,
TensorFlow version, backbone, policy) by ``nst_tf.calibrate`` and cached in
``$NST_TF_CACHE`` (default ``$XDG_CACHE_HOME/nst_tf`` or ``~/.cache/nst_tf``)
``/calibration.json``, because whether XLA wins differs between CPUs.

The image variable, Gram matrices and losses stay float32 under every policy; only the
network's activations take the compute dtype.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import keras
import tensorflow as tf

from nst_tf import files
from nst_tf.config import JIT_OPTIONS, check_choice
from nst_tf.config import PRECISIONS as CHOICES
from nst_tf.errors import UserError

log = logging.getLogger("nst_tf")

CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")  #: /proc/cpuinfo flags of native bfloat16 arithmetic


# --------------------------------------------------------------------------- what this machine is


def cpu_flags() -> set:
    """The CPU feature flags from /proc/cpuinfo (empty where there is none)."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_capabilities() -> list[tuple[int, int]]:
    caps = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        caps.append(tuple(details.get("compute_capability", (0, 0))))
    return caps


def gpu_names() -> list[str]:
    return [
        tf.config.experimental.get_device_details(g).get("device_name", "GPU")
        for g in tf.config.list_physical_devices("GPU")
    ]


def has_tpu() -> bool:
    return bool(tf.config.list_logical_devices("TPU"))


def device_description() -> str:
    """The device a run computes on, in words: the calibration cache key."""
    if has_tpu():
        return "TPU"
    names = gpu_names()
    if names:
        return "GPU " + ", ".join(names)
    bf16 = [f for f in CPU_BF16_FLAGS if f in cpu_flags()]
    return f"CPU {cpu_model()} x{os.cpu_count()}" + (f" ({', '.join(bf16)})" if bf16 else "")


# --------------------------------------------------------------------------- the policy


def auto_policy() -> tuple[str, str]:
    """``(policy, reason)`` for ``precision=auto`` on this machine."""
    if has_tpu():
        return "mixed_bfloat16", "TPU"
    caps = gpu_capabilities()
    if caps:
        cc = min(caps)
        if cc >= (7, 0):
            return "mixed_float16", f"GPU compute capability {cc[0]}.{cc[1]}"
        return "float32", f"GPU compute capability {cc[0]}.{cc[1]} has no tensor cores"
    native = [f for f in CPU_BF16_FLAGS if f in cpu_flags()]
    if native:
        return "mixed_bfloat16", native[0]
    return "float32", "CPU without native bfloat16"


def resolve(name: str = "auto") -> str:
    """Turn a precision choice into a Keras dtype policy name."""
    check_choice("precision", name, CHOICES)
    return auto_policy()[0] if name == "auto" else name


def describe_policy(name: str, policy: str) -> str:
    """``mixed_bfloat16 (auto: avx512_bf16)`` or ``float32 (chosen)``."""
    return f"{policy} (auto: {auto_policy()[1]})" if name == "auto" else f"{policy} (chosen)"


@contextlib.contextmanager
def policy_scope(policy: str) -> Iterator[None]:
    """Set the global Keras dtype policy for the block, restoring the previous one after.

    Keras layers read the policy when they are constructed, so build models inside
    this block; the models keep their policy after it ends.
    """
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def needs_loss_scaling(policy: str) -> bool:
    """float16 gradients underflow without loss scaling; bfloat16 has float32's range."""
    return policy == "mixed_float16"


def wrap_optimizer(optimizer: keras.optimizers.Optimizer, policy: str) -> keras.optimizers.Optimizer:
    """Wrap ``optimizer`` in a dynamic ``LossScaleOptimizer`` when the policy needs it."""
    if needs_loss_scaling(policy):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


# --------------------------------------------------------------------------- XLA, by measurement


def compiled(fn: Callable, jit_compile) -> Callable:
    """``fn`` as a graph (XLA-compiled when ``jit_compile``), traced without AutoGraph.

    The step functions hold no Python control flow on tensors, so AutoGraph's source
    rewriting of every function they call (the Keras layers included) only costs time:
    0.7 s of the first 256 px step's 1.4 s on the offline VGG16 (benchmarks/RESULTS.md).
    """
    return tf.function(fn, jit_compile=bool(jit_compile), reduce_retracing=True, autograph=False)


def cache_dir() -> Path:
    """Where nst_tf keeps what it measured or converted once: ``$NST_TF_CACHE``, else
    ``$XDG_CACHE_HOME/nst_tf``, else ``~/.cache/nst_tf``."""
    if os.environ.get("NST_TF_CACHE"):
        return Path(os.environ["NST_TF_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nst_tf"


def calibration_path() -> Path:
    return cache_dir() / "calibration.json"


def calibration_key(backbone: str, policy: str) -> str:
    return f"{device_description()} | TF {tf.__version__} | {backbone} | {policy}"


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
    if has_tpu():
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
    policy, reason = auto_policy()
    if policy != "mixed_bfloat16" or has_tpu():
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


# --------------------------------------------------------------------------- TPU


def connect_tpu(address: str) -> tf.distribute.Strategy:
    """Connect to the TPU at ``address`` (``local`` for one attached to this VM, a name or
    ``grpc://host:port``), initialise its system and return a ``TPUStrategy``."""
    if not address:
        raise UserError("--tpu needs an address: local, a TPU name or grpc://host:port")
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu="" if address == "local" else address)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, OSError, tf.errors.OpError) as exc:  # OSError: metadata lookup
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(
            f"could not connect to the TPU {address!r} ({first}); check the address, or run without --tpu"
        ) from None
    return tf.distribute.TPUStrategy(resolver)
