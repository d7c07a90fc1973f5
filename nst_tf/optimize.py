"""The optimisers that drive an image towards low Gatys loss: Adam/SGD steps here, scipy's L-BFGS-B in
:mod:`nst_tf.lbfgs`.

Both take an objective (``nst_tf.objective.Objective`` or ``nst_tf.tiling.TiledObjective``)
through one interface:

* ``objective.value_and_grad(image, scale)`` -> (terms, gradient of ``scale * total``);
* ``objective.fusable``: True when ``objective(image)`` can be differentiated inside one
  ``tf.function`` (the whole-image objective). Then the Adam step is one compiled graph:
  loss -> gradient (through a ``LossScaleOptimizer`` under float16) -> update -> clip. A tiled
  objective computes its gradient tile by tile and only the update is compiled.

The learning rate follows ``ExponentialDecay`` (continuous: ``lr * decay_rate ** (step /
decay_steps)``) times a factor the divergence guard halves. The guard: a non-finite loss, or
one above ``divergence_factor`` times the best so far, restores the best image, zeroes Adam's
moments and halves the rate; after ``max_recoveries`` it stops with the best image.
"""

from __future__ import annotations

import logging
import math
from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from nst_tf import precision
from nst_tf.config import StylizeConfig
from nst_tf.lbfgs import lbfgs
from nst_tf.objective import TERMS
from nst_tf.steps import RunState, StepInfo  # noqa: F401  (StepInfo: part of this module's API)

log = logging.getLogger("nst_tf")


# --------------------------------------------------------------------------- Adam / SGD


class ScaledSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """ExponentialDecay (continuous) times a factor that the divergence guard can lower."""

    def __init__(self, config: StylizeConfig):
        self.decay = keras.optimizers.schedules.ExponentialDecay(
            config.learning_rate, decay_steps=config.decay_steps, decay_rate=config.decay_rate
        )
        self.factor = tf.Variable(1.0, trainable=False, dtype=tf.float32, name="lr_factor")

    def __call__(self, step):
        return self.decay(step) * tf.cast(self.factor, tf.float32)

    def get_config(self):
        return {"decay": self.decay.get_config()}


def make_optimizer(config: StylizeConfig, policy: str):
    """The configured Adam or SGD on a :class:`ScaledSchedule`, loss-scaled under float16."""
    schedule = ScaledSchedule(config)
    if config.optimizer == "adam":
        inner = keras.optimizers.Adam(
            schedule, beta_1=config.adam_beta_1, beta_2=config.adam_beta_2, epsilon=config.adam_epsilon
        )
    else:
        inner = keras.optimizers.SGD(schedule)
    return precision.wrap_optimizer(inner, policy), schedule


def reset_slots(optimizer) -> None:
    """Zero the optimizer's moment estimates (not its step count or loss scale)."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    for v in inner.variables:
        if v is inner.iterations or "learning_rate" in v.path:
            continue
        v.assign(tf.zeros_like(v))


class AdamStepper:
    """The image variable, its safety copies and the compiled step for one scale."""

    def __init__(self, run: RunState, objective, init: np.ndarray):
        self.image = tf.Variable(init[None], dtype=tf.float32, name="image")
        self.last_good = tf.Variable(self.image, trainable=False, name="last_good")  # before a finite step
        self.best = tf.Variable(self.image, trainable=False, name="best")
        self.optimizer, self.schedule = make_optimizer(run.config, run.policy)
        self.optimizer.build([self.image])
        self.scaled = isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer)
        self.iterations = getattr(self.optimizer, "inner_optimizer", self.optimizer).iterations
        self.objective = objective
        if objective.fusable:
            self._fused = precision.compiled(self._fused_step, run.jit_compile)
        else:
            self._apply = precision.compiled(self._update, False)

    def _update(self, grad, total):
        """Apply ``grad`` (of the scaled loss under a LossScaleOptimizer); returns the learning rate used."""
        image = self.image
        lr = self.schedule(self.iterations)
        finite_loss = tf.math.is_finite(total)
        self.last_good.assign(tf.where(finite_loss, image, self.last_good))
        if not self.scaled:  # the LossScaleOptimizer skips non-finite steps itself (and lowers its scale)
            ok = tf.logical_and(finite_loss, tf.reduce_all(tf.math.is_finite(grad)))
            grad = tf.where(ok, grad, tf.zeros_like(grad))
        self.optimizer.apply_gradients([(grad, image)])
        safe = tf.where(tf.math.is_finite(image), image, self.last_good)
        image.assign(tf.clip_by_value(safe, 0.0, 1.0))
        return lr

    def _fused_step(self):
        with tf.GradientTape() as tape:
            terms = self.objective(self.image)
            loss = self.optimizer.scale_loss(terms["total"]) if self.scaled else terms["total"]
        lr = self._update(tape.gradient(loss, self.image), terms["total"])
        return tf.stack([terms[k] for k in TERMS] + [tf.cast(lr, tf.float32)])

    def step(self) -> tuple:
        """One update; returns (terms of the image before it, learning rate)."""
        if self.objective.fusable:
            *values, lr = self._fused().numpy().tolist()  # one device-to-host copy a step
        else:
            loss_scale = float(self.optimizer.dynamic_scale.numpy()) if self.scaled else 1.0
            terms, grad = self.objective.value_and_grad(self.image, loss_scale)
            lr = float(self._apply(grad, terms["total"]))
            values = [float(terms[k]) for k in TERMS]
        return dict(zip(TERMS, values)), lr

    def restart(self, init: np.ndarray) -> None:
        """Start again from ``init`` (same size) as if new: fresh moments, step 0, the full learning
        rate; the compiled step is kept (video frames after the first)."""
        for v in (self.image, self.last_good, self.best):
            v.assign(init[None])
        reset_slots(self.optimizer)
        self.iterations.assign(0)
        self.schedule.factor.assign(1.0)

    def recover(self) -> None:
        """Back to the best image, fresh moments, half the learning rate."""
        self.image.assign(self.best)
        reset_slots(self.optimizer)
        self.schedule.factor.assign(self.schedule.factor * 0.5)

    def result(self) -> np.ndarray:
        out = self.image[0].numpy()
        return out if np.all(np.isfinite(out)) else self.best[0].numpy()


class _EarlyStop:
    """``tol``/``patience``: stop once the relative loss change stays below ``tol``."""

    def __init__(self, tol: float, patience: int):
        self.tol, self.patience = tol, patience
        self.reset()

    def reset(self) -> None:
        self.prev, self.still = None, 0

    def __call__(self, total: float) -> bool:
        if self.tol > 0 and self.prev is not None and math.isfinite(total):
            self.still = self.still + 1 if abs(self.prev - total) <= self.tol * abs(self.prev) else 0
        self.prev = total
        return self.tol > 0 and self.still >= self.patience


def gradient_descent(
    run: RunState, objective, init: np.ndarray, scale: int, size: int, reuse: Optional[dict] = None
) -> np.ndarray:
    """Adam / SGD steps with the divergence guard and early stopping; returns the final image.
    ``reuse`` (a dict kept by the caller) keeps the stepper of ``objective`` for the next call."""
    config = run.config
    u = reuse.get("stepper") if reuse is not None else None
    if u is not None and u.objective is objective and u.image.shape[1:] == init.shape:
        u.restart(init)
    else:
        u = AdamStepper(run, objective, init)
        if reuse is not None:
            reuse["stepper"] = u
    early = _EarlyStop(config.tol, config.patience)
    best_total = math.inf
    steps = config.steps_at(scale)
    for step in range(1, steps + 1):
        terms, lr = u.step()
        total = terms["total"]
        run.history.append(terms)
        if math.isfinite(total) and total <= best_total:
            best_total = total
            u.best.assign(u.last_good)
        elif not math.isfinite(total) or total > config.divergence_factor * max(best_total, 1e-8):
            run.recoveries += 1
            u.recover()
            if run.recoveries > config.max_recoveries:
                log.warning(
                    "step %d: the loss diverged %d times; stopping with the best image (loss %.4g). "
                    "Lower --learning_rate.",
                    step,
                    run.recoveries,
                    best_total,
                )
                break
            # Logged once as a warning; repeats go to the INFO level.
            log.log(
                logging.WARNING if run.recoveries == 1 else logging.INFO,
                "step %d: loss %.4g (best %.4g) diverged; restored the best image and halved the learning rate to %.3g",
                step,
                total,
                best_total,
                float(u.schedule(u.iterations)),
            )
            early.reset()
            continue
        run.report(step, steps, terms, lr, lambda: u.image[0].numpy().copy(), scale, size)
        if early(total):
            log.warning(
                "converged at step %d: relative loss change below %g for %d steps", step, config.tol, config.patience
            )
            run.stopped_early = True
            break
    return u.result()


OPTIMIZERS = {"adam": gradient_descent, "sgd": gradient_descent, "lbfgs": lbfgs}


def optimize(
    run: RunState, objective, init: np.ndarray, scale: int, size: int, reuse: Optional[dict] = None
) -> np.ndarray:
    """Run the configured optimiser for one scale; returns the image (H x W x 3, [0, 1]).
    ``reuse``: see :func:`gradient_descent` (L-BFGS reuses the objective's compiled gradient)."""
    return OPTIMIZERS[run.config.optimizer](run, objective, init, scale, size, reuse)
