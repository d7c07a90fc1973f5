"""scipy's L-BFGS-B on the Gatys loss (whole-image or tiled objective), pixels bounded to [0, 1]."""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import tensorflow as tf

from nst_tf import precision
from nst_tf.errors import UserError
from nst_tf.steps import RunState


def lbfgs(
    run: RunState, objective, init: np.ndarray, scale: int, size: int, reuse: Optional[dict] = None
) -> np.ndarray:
    """scipy L-BFGS-B on the loss and its gradient (whole-image or tiled), pixels bounded to [0, 1]."""
    try:
        from scipy.optimize import minimize
    except ImportError:
        raise UserError("--optimizer=lbfgs needs scipy; install it with: pip install scipy") from None
    config = run.config
    steps = config.steps_at(scale)
    shape = (1,) + init.shape
    # float16 gradients underflow without loss scaling; L-BFGS has no LossScaleOptimizer, so
    # scale by hand and halve the factor whenever the gradient overflows.
    loss_scale = {"value": 2.0**12 if precision.needs_loss_scaling(run.policy) else 1.0}
    state = {"terms": None, "x": init.astype(np.float64).ravel(), "step": 0}

    def fun(x64):
        x = tf.constant(x64.reshape(shape), tf.float32)
        for _ in range(24):
            terms, grad = objective.value_and_grad(x, loss_scale["value"])
            g = grad.numpy() / loss_scale["value"]
            if np.all(np.isfinite(g)) or loss_scale["value"] <= 1.0:
                break
            loss_scale["value"] /= 2.0
        state["terms"] = {k: float(v) for k, v in terms.items()}
        total = state["terms"]["total"]
        if not (math.isfinite(total) and np.all(np.isfinite(g))):
            return 1e30, np.zeros(x64.shape)  # the line search backs off from here
        return total, g.astype(np.float64).ravel()

    def callback(intermediate_result):
        state["step"] += 1
        state["x"] = np.array(intermediate_result.x)
        run.history.append(dict(state["terms"]))
        run.report(
            state["step"],
            steps,
            state["terms"],
            0.0,
            lambda: np.clip(state["x"].reshape(init.shape), 0, 1).astype(np.float32),
            scale,
            size,
        )

    result = minimize(
        fun,
        state["x"],
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, 1.0)] * state["x"].size,
        callback=callback,
        options={"maxiter": steps, "maxfun": max(20, steps * 3), "ftol": config.tol, "gtol": 0.0},
    )
    if config.tol > 0 and state["step"] < steps and result.success:
        run.stopped_early = True
    x = result.x if np.all(np.isfinite(result.x)) else state["x"]
    return np.clip(x.reshape(init.shape), 0.0, 1.0).astype(np.float32)
