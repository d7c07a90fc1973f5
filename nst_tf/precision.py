"""Compute precision and XLA: chosen for the machine that runs, scoped to model building.

``auto`` precision (:func:`auto_policy`):

* TPU: ``mixed_bfloat16`` (the TPU's native format).
* NVIDIA GPU with compute capability >= 7.0 (tensor cores): ``mixed_float16`` with a dynamic
  ``LossScaleOptimizer``; older GPUs: ``float32``.
* CPU with native bfloat16 (``avx512_bf16`` or AMX ``amx_bf16`` in /proc/cpuinfo): oneDNN runs
  bfloat16 convolutions natively, ~2x float32 (measured, ``benchmarks/RESULTS.md``); otherwise
  ``float32`` (emulated float16/bfloat16 are 3-4x slower than float32 on AVX2 CPUs).

``auto`` XLA, and ``auto`` precision for small networks, are measured once per machine and
cached: :mod:`nst_tf.calibration`.

The image variable, Gram matrices and losses stay float32 under every policy; only the
network's activations take the compute dtype.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
from typing import Callable, Iterator

import keras
import tensorflow as tf

from nst_tf.config import PRECISIONS as CHOICES
from nst_tf.config import check_choice
from nst_tf.errors import UserError, first_line

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


# --------------------------------------------------------------------------- graphs


def compiled(fn: Callable, jit_compile) -> Callable:
    """``fn`` as a graph (XLA-compiled when ``jit_compile``), traced without AutoGraph.

    The step functions hold no Python control flow on tensors, so AutoGraph's source
    rewriting of every function they call (the Keras layers included) only costs time:
    0.7 s of the first 256 px step's 1.4 s on the offline VGG16 (benchmarks/RESULTS.md).
    """
    return tf.function(fn, jit_compile=bool(jit_compile), reduce_retracing=True, autograph=False)


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
        first = first_line(exc)
        raise UserError(
            f"could not connect to the TPU {address!r} ({first}); check the address, or run without --tpu"
        ) from None
    return tf.distribute.TPUStrategy(resolver)
