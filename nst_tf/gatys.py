"""Gatys et al. (2016) style transfer by optimising the pixels of an image.

``stylize(content, style, config)`` is the whole algorithm:

1. load and resize the images (``nst_tf.images``);
2. build a VGG multi-output feature model under the chosen precision policy
   (``nst_tf.backbones``, ``nst_tf.precision``);
3. compute the content features and the style Gram matrices once, in float32;
4. run a ``tf.function`` step on an image variable: features -> content + style +
   total-variation loss (``nst_tf.losses``) -> gradients (through a
   ``LossScaleOptimizer`` under float16) -> Adam or SGD with an exponential-decay
   learning rate -> clip pixels to [0, 1];
5. report progress to callbacks; Ctrl-C ends the loop early and keeps the latest image.
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

from nst_tf import backbones, images, losses, precision
from nst_tf.config import StylizeConfig
from nst_tf.errors import UserError

log = logging.getLogger("nst_tf")

@dataclass
class StepInfo:
    """What a callback sees after each step."""

    step: int  #: steps done so far (1-based)
    steps: int  #: steps planned
    losses: dict  #: weighted terms ``content``, ``style``, ``tv`` and ``total`` of the image before this step
    elapsed_s: float  #: seconds since the first step started (tracing included)
    learning_rate: float
    get_image: Callable[[], np.ndarray] = field(repr=False)  #: the current image (H x W x 3, [0, 1])


@dataclass
class StylizeResult:
    image: np.ndarray  #: the stylised image, H x W x 3 float32 in [0, 1]
    history: list  #: per-step loss dicts
    steps_done: int
    seconds: float
    interrupted: bool  #: True when Ctrl-C (or SIGTERM in the CLI) ended the loop early
    policy: str  #: the dtype policy used
    extractor: str  #: backbone, weights and policy, in words


class ProgressPrinter:
    """Prints ``step, steps/s, losses, ETA`` at most every ``every_s`` seconds (and at the end)."""

    def __init__(self, every_s: float = 5.0, stream=None):
        self.every_s = every_s
        self.stream = stream
        self._last = -math.inf
        self._t1 = None  # time after the first (tracing) step

    def __call__(self, info: StepInfo) -> None:
        now = time.perf_counter()
        if info.step == 1:
            self._t1 = now
        done = info.step == info.steps
        if not done and info.step != 1 and now - self._last < self.every_s:
            return
        self._last = now
        rate = (info.step - 1) / (now - self._t1) if self._t1 and info.step > 1 and now > self._t1 else float("nan")
        eta = (info.steps - info.step) / rate if rate and math.isfinite(rate) and rate > 0 else float("nan")
        l = info.losses
        width = len(str(info.steps))
        print(
            f"step {info.step:>{width}}/{info.steps} | {rate:5.2f} steps/s | "
            f"content {l['content']:.4g}  style {l['style']:.4g}  tv {l['tv']:.4g}  total {l['total']:.4g} | "
            f"lr {info.learning_rate:.3g} | ETA {_fmt_seconds(eta)}",
            file=self.stream,
            flush=True,
        )


def _fmt_seconds(s: float) -> str:
    if not math.isfinite(s):
        return "--:--"
    s = int(round(s))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


def build_extractor(config: StylizeConfig, policy: Optional[str] = None) -> backbones.FeatureExtractor:
    """The feature model ``stylize`` needs for ``config`` (build once, pass to many calls)."""
    return backbones.build_extractor(
        tuple(config.content_layers) + tuple(config.style_layers),
        backbone=config.backbone,
        weights=config.weights,
        pooling=config.pooling,
        policy=policy or precision.resolve(config.precision),
    )


def _min_side(layers: Sequence[str], backbone: str) -> int:
    deepest_block = max(int(name[5]) for name in layers)  # "blockB_..."
    return 2 ** (deepest_block - 1)


def _prepare_images(content, style, config: StylizeConfig, layers: Sequence[str], backbone: str):
    c = images.load_image(content)
    s = images.load_image(style)
    c = images.resize(c, config.size)
    s = images.resize(s, max(1, round(config.size * config.style_scale)))
    need = _min_side(layers, backbone)
    for label, img in (("content", c), ("style", s)):
        if min(img.shape[:2]) < need:
            raise UserError(
                f"the {label} image is {img.shape[1]}x{img.shape[0]} px after resizing, smaller than the "
                f"{need} px the deepest chosen layer needs; raise --size (or --style_scale) or use shallower layers"
            )
    return c, s


def _initial_image(config: StylizeConfig, content: np.ndarray, style: np.ndarray) -> np.ndarray:
    if config.init == "content":
        return content
    if config.init == "noise":
        rng = np.random.default_rng(config.seed)
        return rng.uniform(0.0, 1.0, size=content.shape).astype(np.float32)
    if config.init == "style":
        return images.resize_to(style, content.shape[:2])
    return images.resize_to(images.load_image(config.init), content.shape[:2])


def _make_optimizer(config: StylizeConfig, policy: str):
    schedule = keras.optimizers.schedules.ExponentialDecay(
        config.learning_rate, decay_steps=config.decay_steps, decay_rate=config.decay_rate
    )
    if config.optimizer == "adam":
        inner = keras.optimizers.Adam(schedule, beta_1=config.adam_beta_1, epsilon=config.adam_epsilon)
    else:
        inner = keras.optimizers.SGD(schedule)
    return precision.wrap_optimizer(inner, policy), schedule


class _Objective:
    """Weighted content + style + TV loss against targets computed once (float32)."""

    def __init__(self, extractor, config: StylizeConfig, content: np.ndarray, style: np.ndarray):
        self.extractor = extractor
        self.formulation = config.loss
        self.content_layers = backbones.resolve_layers(config.content_layers, extractor.backbone)
        self.style_layers = backbones.resolve_layers(config.style_layers, extractor.backbone)
        missing = set(self.content_layers + self.style_layers) - set(extractor.layers)
        if missing:
            raise UserError(f"the extractor passed in lacks layers {sorted(missing)}; build it from this config")
        lw = config.style_layer_weights or (1.0,) * len(self.style_layers)
        total = float(sum(map(float, lw)))
        self.style_layer_weights = tuple(float(w) / total for w in lw)
        self.weights = (float(config.content_weight), float(config.style_weight), float(config.tv_weight))
        cf = extractor(tf.constant(content[None]))
        sf = extractor(tf.constant(style[None]))
        self.content_targets = {n: tf.cast(cf[n], tf.float32) for n in self.content_layers}
        self.style_targets = {n: losses.gram_matrix(sf[n]) for n in self.style_layers}

    def __call__(self, image: tf.Tensor) -> dict:
        feats = self.extractor(image)
        f = self.formulation
        content = tf.add_n([
            losses.content_loss(feats[n], self.content_targets[n], f) for n in self.content_layers
        ]) / float(len(self.content_layers))
        style = tf.add_n([
            w * losses.style_loss(feats[n], self.style_targets[n], f)
            for n, w in zip(self.style_layers, self.style_layer_weights)
        ])
        tv = losses.total_variation_loss(image, f)
        cw, sw, tw = self.weights
        terms = {"content": cw * content, "style": sw * style, "tv": tw * tv}
        terms["total"] = terms["content"] + terms["style"] + terms["tv"]
        return terms


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

    ``content`` and ``style`` are file paths, PIL images or arrays (uint8, or float in
    [0, 1]). ``extractor`` reuses a model from :func:`build_extractor` across calls.
    ``callbacks`` are called after every step with a :class:`StepInfo`. Returns a
    :class:`StylizeResult`; ``result.image`` is the picture as float32 H x W x 3 in [0, 1].
    """
    config = config or StylizeConfig()
    policy = extractor.policy if extractor is not None else precision.resolve(config.precision)
    if extractor is None:
        extractor = build_extractor(config, policy)
    layers = backbones.resolve_layers(tuple(config.content_layers) + tuple(config.style_layers), extractor.backbone)
    content_img, style_img = _prepare_images(content, style, config, layers, extractor.backbone)
    objective = _Objective(extractor, config, content_img, style_img)

    image = tf.Variable(_initial_image(config, content_img, style_img)[None], dtype=tf.float32, name="image")
    last_good = tf.Variable(image, trainable=False, name="last_good")
    optimizer, schedule = _make_optimizer(config, policy)
    optimizer.build([image])
    scaled = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)

    @tf.function(jit_compile=config.jit_compile, reduce_retracing=True)
    def train_step():
        with tf.GradientTape() as tape:
            terms = objective(image)
            loss = optimizer.scale_loss(terms["total"]) if scaled else terms["total"]
        grad = tape.gradient(loss, image)
        ok = tf.math.is_finite(terms["total"])
        last_good.assign(tf.where(ok, image, last_good))
        optimizer.apply_gradients([(grad, image)])
        image.assign(tf.clip_by_value(image, 0.0, 1.0))
        return terms

    callbacks = list(callbacks)
    if verbose:
        callbacks.insert(0, ProgressPrinter())
        print(
            f"stylizing {content_img.shape[1]}x{content_img.shape[0]} px, {config.steps} {config.optimizer} steps, "
            f"{extractor.describe()}, XLA {'on' if config.jit_compile else 'off'}",
            flush=True,
        )
    history: list = []
    start = time.perf_counter()
    interrupted = False
    step = 0
    try:
        for step in range(1, config.steps + 1):
            terms = {k: float(v) for k, v in train_step().items()}
            history.append(terms)
            if not math.isfinite(terms["total"]):
                log.warning(
                    "the loss became %s at step %d; stopping and keeping the last finite image "
                    "(lower --learning_rate or use --precision=float32)", terms["total"], step,
                )
                image.assign(last_good)
                break
            info = StepInfo(
                step, config.steps, terms, time.perf_counter() - start,
                float(schedule(step - 1)), lambda: image[0].numpy().copy(),
            )
            for cb in callbacks:
                cb(info)
    except KeyboardInterrupt:
        interrupted = True
        log.warning("interrupted after %d of %d steps; keeping the latest image", max(step - 1, 0), config.steps)
    result_image = image[0].numpy()
    if not np.all(np.isfinite(result_image)):
        result_image = last_good[0].numpy()
    return StylizeResult(
        image=np.clip(result_image, 0.0, 1.0),
        history=history,
        steps_done=len(history),
        seconds=time.perf_counter() - start,
        interrupted=interrupted,
        policy=policy,
        extractor=extractor.describe(),
    )
