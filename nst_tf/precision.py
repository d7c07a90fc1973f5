"""Compute-precision policy: choose it for the hardware and scope it to model building.

``auto`` picks ``mixed_float16`` on a GPU with compute capability >= 7.0 (tensor cores),
``mixed_bfloat16`` on a TPU and ``float32`` everywhere else: on CPU, float16 is emulated
and about 3-4x slower than float32 (measured, see ``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import keras
import tensorflow as tf

from nst_tf.errors import UserError

from nst_tf.config import PRECISIONS as CHOICES


def _gpu_capabilities() -> list[tuple[int, int]]:
    caps = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        caps.append(tuple(details.get("compute_capability", (0, 0))))
    return caps


def _has_tpu() -> bool:
    return bool(tf.config.list_logical_devices("TPU"))


def resolve(name: str = "auto") -> str:
    """Turn a precision choice into a Keras dtype policy name."""
    if name not in CHOICES:
        raise UserError(f"unknown precision {name!r}; choose one of {', '.join(CHOICES)}")
    if name != "auto":
        return name
    if _has_tpu():
        return "mixed_bfloat16"
    caps = _gpu_capabilities()
    if caps and min(caps) >= (7, 0):
        return "mixed_float16"
    return "float32"


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
