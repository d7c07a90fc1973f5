"""A per-style network from its training checkpoint, at the precision and XLA setting fastest here.

The exported SavedModel and TFLite files run in float32, as deployment runtimes expect. On the
machine at hand the same weights often run faster in bfloat16 (CPUs with native bfloat16) or
with XLA: :class:`CheckpointNetwork` builds the network under the policy that
:func:`nst_tf.calibration.decide_policy` measured for this architecture, and compiles it with
XLA when :func:`nst_tf.calibration.decide_network_jit` finds that it pays for ``n_images`` photos
(both measured once per device, TensorFlow version and architecture, then cached).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from nst_tf import calibration, precision
from nst_tf.feedforward.johnson import build_transformer, stylize_images

#: The probe image of the measurements (px). At 256 px a compact network's bfloat16 and float32 calls
#: took the same time on a Zen 4 CPU; at 512 px bfloat16 was twice as fast: probe at a photo's size.
PROBE_SIDE = 512


class CheckpointNetwork:
    """``arch`` restored from ``checkpoint``; calling it maps a float [B, H, W, 3] batch in [0, 1]
    to the stylised batch (float32)."""

    def __init__(self, arch: str, checkpoint: str, precision_name="auto", jit_compile="off", n_images: int = 1):
        self.arch, self.checkpoint = arch, checkpoint
        self.float32_model = self._restore("float32")
        self.model, self.jit = self.float32_model, False
        what = f"per-style {arch} network, {PROBE_SIDE} px probe"
        self.policy, self.policy_reason = calibration.decide_policy(precision_name, what, self._seconds_per_call)
        if self.policy != "float32":
            self.model = self._restore(self.policy)
        option = {True: "on", False: "off"}.get(jit_compile, jit_compile)
        self.jit, self.jit_reason = calibration.decide_network_jit(
            option, what, self.policy, n_images, self._first_and_each_call
        )
        self._run = self._compiled(self.model, self.jit)

    def _restore(self, policy: str):
        with precision.policy_scope(policy):
            model = build_transformer(self.arch)
        tf.train.Checkpoint(model=model).restore(self.checkpoint).expect_partial()
        return model

    @staticmethod
    def _compiled(model, jit: bool):
        return tf.function(lambda x: stylize_images(model, x), jit_compile=jit, reduce_retracing=True)

    def _calls(self, model, jit: bool) -> list:
        run = self._compiled(model, jit)
        probe = tf.constant(np.random.default_rng(0).uniform(size=(1, PROBE_SIDE, PROBE_SIDE, 3)).astype(np.float32))
        times = []
        for _ in range(4):
            t0 = time.perf_counter()
            run(probe).numpy()
            times.append(time.perf_counter() - t0)
        return times

    def _seconds_per_call(self, policy: str) -> float:
        model = self.float32_model if policy == "float32" else self._restore(policy)
        return min(self._calls(model, False)[1:])

    def _first_and_each_call(self, jit: bool) -> tuple:
        times = self._calls(self.model, jit)
        return times[0], min(times[1:])

    def describe(self) -> str:
        return (
            f"{self.policy} ({self.policy_reason}), XLA {'on' if self.jit else 'off'} ({self.jit_reason}), "
            f"{Path(self.checkpoint).name}"
        )

    def __call__(self, batch) -> np.ndarray:
        return self._run(tf.convert_to_tensor(np.asarray(batch, np.float32))).numpy()
