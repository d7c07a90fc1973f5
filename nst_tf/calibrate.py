"""Measure, once per machine, whether XLA makes the Gatys step faster, and choose the run's speed settings.

XLA's effect differs between machines (on an AVX2 EPYC it gave 10-30%; on a Zen 4 EPYC with
``avx512_bf16`` it made both float32 and mixed_bfloat16 steps slower: ``benchmarks/RESULTS.md``),
so ``jit_compile="auto"`` times a few Adam steps of the real step function, with and without
XLA, on a small synthetic image with the run's backbone, layers and policy. The answer is cached
(``nst_tf.calibration.calibration_path()``) per device, TensorFlow version, backbone and policy,
so it costs a few seconds once, not on every run; ``calibrate=True`` (``--calibrate``) measures
again.
"""

from __future__ import annotations

import logging
import statistics
import time

import numpy as np

from nst_tf import calibration, precision
from nst_tf.config import StylizeConfig
from nst_tf.objective import Objective
from nst_tf.optimize import AdamStepper, RunState

log = logging.getLogger("nst_tf")

CALIBRATION_SIDE = 160  #: side of the synthetic square image timed [px]
CALIBRATION_STEPS = 3  #: timed steps per setting, after one untimed (tracing / compiling) step


def _synthetic(side: int, seed: int) -> np.ndarray:
    """A smooth random image: photo-like enough that the losses are ordinary."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 1, (side // 8, side // 8, 3)).astype(np.float32)
    return np.kron(coarse, np.ones((8, 8, 1), np.float32))


def step_seconds(
    config: StylizeConfig, extractor, jit_compile: bool, side: int = CALIBRATION_SIDE, steps: int = CALIBRATION_STEPS
) -> float:
    """Median seconds of one Adam step (whole image, ``side`` px square) after a warm-up step."""
    cfg = config.replace(optimizer="adam", steps=steps + 1, scales=1, tol=0.0)
    content, style = _synthetic(side, 1), _synthetic(side, 2)
    objective = Objective(extractor, cfg, content, [style], jit_compile=jit_compile)
    run = RunState(cfg, extractor.policy, (), 1, jit_compile)
    stepper = AdamStepper(run, objective, content)
    stepper.step()  # traces (and with XLA compiles) the step
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        stepper.step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def choose_speed(config: StylizeConfig, extractor) -> calibration.SpeedChoice:
    """The policy (the extractor's, built for ``config.precision``) and the XLA setting for a run."""
    policy = extractor.policy
    if config.precision == "auto" and policy == precision.resolve("auto"):
        policy_reason = f"auto: {precision.auto_policy()[1]}"
    else:
        policy_reason = "chosen"

    def measure(jit: bool) -> float:
        log.info(
            "calibrating: timing %d steps at %d px with XLA %s (once for this machine)",
            CALIBRATION_STEPS,
            CALIBRATION_SIDE,
            "on" if jit else "off",
        )
        return step_seconds(config, extractor, jit)

    jit, jit_reason = calibration.decide_jit(
        config.jit_compile, extractor.backbone, policy, measure, recalibrate=config.calibrate
    )
    return calibration.SpeedChoice(policy, jit, policy_reason, jit_reason)
