"""Gatys et al. (2016) style transfer by optimising the pixels of an image.

``stylize(content, style, config)`` is the whole algorithm:

1. load the images (``nst_tf.images``); with ``preserve_colors="histogram"`` recolour the
   style images to the content's colour statistics;
2. build a VGG multi-output feature model under the chosen precision policy
   (``nst_tf.backbones``, ``nst_tf.precision``);
3. for each scale (coarse to fine): plan memory (``nst_tf.tiling.plan_memory``: the whole
   image at once, or exact tiles when it would not fit, or refuse), resize, compute the
   content features and the style Gram matrices once in float32 (``nst_tf.objective``), and
   optimise an image, initialised from the previous scale's result (or the content, noise,
   the style, a file):

   * ``adam``/``sgd``: a ``tf.function`` step: features -> content + style + TV loss
     (``nst_tf.losses``) -> gradients (through a ``LossScaleOptimizer`` under float16)
     -> update with an exponential-decay learning rate -> clip pixels to [0, 1]. A
     non-finite or jumping loss restores the best image and halves the learning rate;
   * ``lbfgs``: scipy's L-BFGS-B on the same loss and gradient, with bounds [0, 1];
   * with tiles, the loss and gradient come from ``TiledObjective.value_and_grad`` (equal
     to the whole-image ones) and only the update runs as a ``tf.function``;

4. post-process (luminance colour preservation, blend with the content).

Callbacks see every step; Ctrl-C ends the loop early and keeps the latest image.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import keras
import numpy as np
import tensorflow as tf

from nst_tf import backbones, images, precision, tiling
from nst_tf.config import INITS, StylizeConfig
from nst_tf.errors import UserError
from nst_tf.monitor import ProgressPrinter
from nst_tf.objective import TERMS, Objective

log = logging.getLogger("nst_tf")


@dataclass
class StepInfo:
    """What a callback sees after each step."""

    step: int  #: steps done so far in this scale (1-based)
    steps: int  #: steps planned in this scale
    losses: dict  #: weighted ``content``, ``style``, ``tv`` and ``total`` of the image before this step
    elapsed_s: float  #: seconds since the run started (tracing included)
    learning_rate: float
    get_image: Callable[[], np.ndarray] = field(repr=False)  #: the current image (H x W x 3, [0, 1])
    scale: int = 1  #: current scale (1-based)
    scales: int = 1
    size: int = 0  #: longer side at this scale [px]


@dataclass
class StylizeResult:
    image: np.ndarray  #: the stylised (and post-processed) image, H x W x 3 float32 in [0, 1]
    history: list  #: per-step loss dicts, all scales in order
    steps_done: int
    seconds: float
    interrupted: bool  #: True when Ctrl-C (or SIGTERM in the CLI) ended the loop early
    policy: str  #: the dtype policy used
    extractor: str  #: backbone, weights and policy, in words
    stopped_early: bool = False  #: the --tol/--patience criterion ended a scale
    recoveries: int = 0  #: divergences recovered from


def build_extractor(config: StylizeConfig, policy: Optional[str] = None) -> backbones.FeatureExtractor:
    """The feature model ``stylize`` needs for ``config`` (build once, pass to many calls)."""
    return backbones.build_extractor(
        tuple(config.content_layers) + tuple(config.style_layers),
        backbone=config.backbone,
        weights=config.weights,
        pooling=config.pooling,
        policy=policy or precision.resolve(config.precision),
    )


def scale_sizes(config: StylizeConfig) -> list:
    """Longer sides of the coarse-to-fine stages, ending at ``config.size``."""
    return [max(16, round(config.size / config.scale_factor ** (config.scales - 1 - i))) for i in range(config.scales)]


def _min_side(layers: Sequence[str]) -> int:
    deepest_block = max(int(name[5]) for name in layers)  # "blockB_..."
    return 2 ** (deepest_block - 1)


def _check_min_size(label: str, img: np.ndarray, layers: Sequence[str]) -> None:
    need = _min_side(layers)
    if min(img.shape[:2]) < need:
        raise UserError(
            f"the {label} image is {img.shape[1]}x{img.shape[0]} px after resizing, smaller than the "
            f"{need} px the deepest chosen layer needs; raise --size (or --style_scale) or use shallower layers"
        )


def _initial_image(config: StylizeConfig, content: np.ndarray, style: np.ndarray) -> np.ndarray:
    if config.init == "content":
        return content
    if config.init == "noise":
        rng = np.random.default_rng(config.seed)
        return rng.uniform(0.0, 1.0, size=content.shape).astype(np.float32)
    if config.init == "style":
        return images.resize_to(style, content.shape[:2])
    return images.resize_to(images.load_image(config.init), content.shape[:2])


def _style_blend_weights(config: StylizeConfig, n_styles: int) -> tuple:
    w = config.style_weights or (1.0,) * n_styles
    if len(w) != n_styles:
        raise UserError(f"{len(w)} style weights for {n_styles} style images; give one weight per style")
    total = float(sum(map(float, w)))
    return tuple(float(x) / total for x in w)


class _ScaledSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """ExponentialDecay times a factor that the divergence guard can lower."""

    def __init__(self, config: StylizeConfig):
        self.decay = keras.optimizers.schedules.ExponentialDecay(
            config.learning_rate, decay_steps=config.decay_steps, decay_rate=config.decay_rate
        )
        self.factor = tf.Variable(1.0, trainable=False, dtype=tf.float32, name="lr_factor")

    def __call__(self, step):
        return self.decay(step) * tf.cast(self.factor, tf.float32)

    def get_config(self):
        return {"decay": self.decay.get_config()}


def _make_optimizer(config: StylizeConfig, policy: str):
    schedule = _ScaledSchedule(config)
    if config.optimizer == "adam":
        inner = keras.optimizers.Adam(schedule, beta_1=config.adam_beta_1, epsilon=config.adam_epsilon)
    else:
        inner = keras.optimizers.SGD(schedule)
    return precision.wrap_optimizer(inner, policy), schedule


def _reset_slots(optimizer) -> None:
    """Zero the optimizer's moment estimates (not its step count or loss scale)."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    for v in inner.variables:
        if v is inner.iterations or "learning_rate" in v.path:
            continue
        v.assign(tf.zeros_like(v))


class _Run:
    """Shared state of one ``stylize`` call across scales."""

    def __init__(self, config, policy, callbacks, scales):
        self.config = config
        self.policy = policy
        self.callbacks = callbacks
        self.scales = scales
        self.history: list = []
        self.start = time.perf_counter()
        self.stopped_early = False
        self.recoveries = 0
        self.get_latest = None  # the newest image a callback could see, kept for Ctrl-C

    def report(self, step, steps, terms, lr, get_image, scale, size):
        self.get_latest = get_image
        info = StepInfo(step, steps, terms, time.perf_counter() - self.start, lr, get_image,
                        scale, self.scales, size)
        for cb in self.callbacks:
            cb(info)


def _optimize_gradient(run: _Run, objective: Objective, init: np.ndarray, scale: int, size: int) -> np.ndarray:
    """Adam / SGD steps with divergence guards and early stopping; returns the final image."""
    config = run.config
    image = tf.Variable(init[None], dtype=tf.float32, name="image")
    last_good = tf.Variable(image, trainable=False, name="last_good")  # pre-update image of a finite step
    best = tf.Variable(image, trainable=False, name="best")
    optimizer, schedule = _make_optimizer(config, run.policy)
    optimizer.build([image])
    scaled = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    iterations = getattr(optimizer, "inner_optimizer", optimizer).iterations

    def update(grad, total):
        """Apply ``grad`` (of the scaled loss under a LossScaleOptimizer); returns the learning rate used."""
        lr = schedule(iterations)
        finite_loss = tf.math.is_finite(total)
        last_good.assign(tf.where(finite_loss, image, last_good))
        if not scaled:  # the LossScaleOptimizer skips non-finite steps itself (and lowers its scale)
            ok = tf.logical_and(finite_loss, tf.reduce_all(tf.math.is_finite(grad)))
            grad = tf.where(ok, grad, tf.zeros_like(grad))
        optimizer.apply_gradients([(grad, image)])
        safe = tf.where(tf.math.is_finite(image), image, last_good)
        image.assign(tf.clip_by_value(safe, 0.0, 1.0))
        return lr

    if isinstance(objective, tiling.TiledObjective):
        apply_update = tf.function(update, reduce_retracing=True)

        def train_step():
            loss_scale = float(optimizer.dynamic_scale.numpy()) if scaled else 1.0
            terms, grad = objective.value_and_grad(image, loss_scale)
            lr = apply_update(grad, terms["total"])
            return [float(terms[k]) for k in TERMS] + [float(lr)]
    else:
        @tf.function(jit_compile=config.jit_compile, reduce_retracing=True)
        def fused_step():
            with tf.GradientTape() as tape:
                terms = objective(image)
                loss = optimizer.scale_loss(terms["total"]) if scaled else terms["total"]
            lr = update(tape.gradient(loss, image), terms["total"])
            return tf.stack([terms[k] for k in TERMS] + [tf.cast(lr, tf.float32)])

        def train_step():
            return fused_step().numpy().tolist()  # one device-to-host copy a step

    best_total = math.inf
    prev = None
    still = 0
    steps = config.steps_at(scale)
    for step in range(1, steps + 1):
        *values, lr = train_step()
        terms = dict(zip(TERMS, values))
        total = terms["total"]
        run.history.append(terms)
        if math.isfinite(total) and total <= best_total:
            best_total = total
            best.assign(last_good)
        elif not math.isfinite(total) or total > config.divergence_factor * max(best_total, 1e-8):
            run.recoveries += 1
            image.assign(best)
            _reset_slots(optimizer)
            schedule.factor.assign(schedule.factor * 0.5)
            if run.recoveries > config.max_recoveries:
                log.warning("step %d: the loss diverged %d times; stopping with the best image (loss %.4g). "
                            "Lower --learning_rate.", step, run.recoveries, best_total)
                break
            # Logged once as a warning; repeats go to the INFO level.
            log.log(logging.WARNING if run.recoveries == 1 else logging.INFO,
                    "step %d: loss %.4g (best %.4g) diverged; restored the best image and halved the "
                    "learning rate to %.3g", step, total, best_total, float(schedule(iterations)))
            prev, still = None, 0
            continue
        run.report(step, steps, terms, lr, lambda: image[0].numpy().copy(), scale, size)
        if config.tol > 0 and prev is not None and math.isfinite(total):
            still = still + 1 if abs(prev - total) <= config.tol * abs(prev) else 0
            if still >= config.patience:
                log.warning("converged at step %d: relative loss change below %g for %d steps",
                            step, config.tol, config.patience)
                run.stopped_early = True
                break
        prev = total
    result = image[0].numpy()
    return result if np.all(np.isfinite(result)) else best[0].numpy()


def _optimize_lbfgs(run: _Run, objective: Objective, init: np.ndarray, scale: int, size: int) -> np.ndarray:
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
        run.report(state["step"], steps, state["terms"], 0.0,
                   lambda: np.clip(state["x"].reshape(init.shape), 0, 1).astype(np.float32), scale, size)

    result = minimize(
        fun, state["x"], jac=True, method="L-BFGS-B", bounds=[(0.0, 1.0)] * state["x"].size,
        callback=callback,
        options={"maxiter": steps, "maxfun": max(20, steps * 3), "ftol": config.tol, "gtol": 0.0},
    )
    if config.tol > 0 and state["step"] < steps and result.success:
        run.stopped_early = True
    x = result.x if np.all(np.isfinite(result.x)) else state["x"]
    return np.clip(x.reshape(init.shape), 0.0, 1.0).astype(np.float32)


def stylize(
    content,
    style,
    config: Optional[StylizeConfig] = None,
    *,
    extractor: Optional[backbones.FeatureExtractor] = None,
    callbacks: Sequence[Callable[[StepInfo], None]] = (),
    verbose: bool = True,
) -> StylizeResult:
    """Paint ``content`` in the style of ``style``.

    ``content`` is a file path, PIL image or array (uint8, or float in [0, 1]); ``style``
    is one of those or a list of them, blended with ``config.style_weights``.
    ``extractor`` reuses a model from :func:`build_extractor` across calls.
    ``callbacks`` are called after every step with a :class:`StepInfo`. Returns a
    :class:`StylizeResult`; ``result.image`` is the picture as float32 H x W x 3 in [0, 1].
    """
    config = config or StylizeConfig()
    policy = extractor.policy if extractor is not None else precision.resolve(config.precision)
    if extractor is None:
        extractor = build_extractor(config, policy)
    content_layers = backbones.resolve_layers(config.content_layers, extractor.backbone)
    style_layers = backbones.resolve_layers(config.style_layers, extractor.backbone)
    layers = content_layers + style_layers
    content_full = images.load_image(content)
    style_list = list(style) if isinstance(style, (list, tuple)) else [style]
    if not style_list:
        raise UserError("give at least one style image")
    blend_weights = _style_blend_weights(config, len(style_list))
    styles_full = [images.load_image(s) for s in style_list]
    if config.preserve_colors == "histogram":
        styles_full = [images.match_color(s, content_full) for s in styles_full]
    if config.init not in INITS:
        images.load_image(config.init)  # fail now on a bad --init path

    if max(content_full.shape[:2]) * 2 < config.size:
        log.warning("the content image is only %dx%d px; upscaling it to %d px makes a soft result "
                    "(use a larger photo or a smaller --size)", content_full.shape[1], content_full.shape[0], config.size)
    sizes = scale_sizes(config)
    run = _Run(config, policy, ([ProgressPrinter()] if verbose else []) + list(callbacks), len(sizes))
    optimize = _optimize_lbfgs if config.optimizer == "lbfgs" else _optimize_gradient
    image = None
    interrupted = False
    for scale, size in enumerate(sizes, start=1):
        # Check memory before resizing: a huge --size must be refused, not allocated.
        plan = tiling.plan_memory(config.tile, content_layers, style_layers, extractor.backbone,
                                  *images.fit_size(content_full.shape, size), policy)
        c = images.resize(content_full, size)
        ss = [images.resize(s, max(1, round(size * config.style_scale))) for s in styles_full]
        for label, img in [("content", c)] + [("style", s) for s in ss]:
            _check_min_size(label, img, layers)
        init = _initial_image(config, c, ss[0]) if image is None else images.resize_to(image, c.shape[:2])
        if verbose:
            stage = f"scale {scale}/{len(sizes)}: " if len(sizes) > 1 else ""
            print(f"{stage}stylizing {c.shape[1]}x{c.shape[0]} px, {config.steps_at(scale)} {config.optimizer} steps, "
                  f"{extractor.describe()}, XLA {'on' if config.jit_compile else 'off'}, "
                  f"{plan.describe()}", flush=True)
        run.get_latest = None
        try:
            if plan.tile:
                objective = tiling.TiledObjective(extractor, config, c, ss, blend_weights, tile=plan.tile)
            else:
                objective = Objective(extractor, config, c, ss, blend_weights)
            image = optimize(run, objective, init, scale, size)
        except KeyboardInterrupt:
            interrupted = True
            image = run.get_latest() if run.get_latest else init
            log.warning("interrupted after %d steps; keeping the latest image", len(run.history))
            break
    result = postprocess(image, content_full, config)
    return StylizeResult(
        image=result,
        history=run.history,
        steps_done=len(run.history),
        seconds=time.perf_counter() - run.start,
        interrupted=interrupted,
        policy=policy,
        extractor=extractor.describe(),
        stopped_early=run.stopped_early,
        recoveries=run.recoveries,
    )


def postprocess(image: np.ndarray, content: np.ndarray, config: StylizeConfig) -> np.ndarray:
    """Luminance-only colour preservation, then blending with the content, as configured."""
    out = np.clip(image, 0.0, 1.0).astype(np.float32)
    if config.preserve_colors == "luminance":
        out = images.transfer_luminance(out, content)
    if config.blend > 0:
        out = images.blend(out, content, config.blend)
    return out
