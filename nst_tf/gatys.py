"""Gatys et al. (2016) style transfer by optimising the pixels of an image: the pipeline.

``stylize(content, style, config)`` is the whole algorithm:

1. load the images (``nst_tf.images``); with ``preserve_colors="histogram"`` recolour the
   style images to the content's colour statistics;
2. choose the precision and XLA for this machine (``nst_tf.precision``: detected, or measured
   once and cached) and build a VGG multi-output feature model under that policy
   (``nst_tf.backbones``);
3. for each scale (coarse to fine): plan memory (``nst_tf.memory.plan_memory``: the whole
   image at once, exact tiles when it would not fit, or refuse), resize, build the objective
   (content features and style Gram matrices computed once, in float32: ``nst_tf.objective``,
   or ``nst_tf.tiling`` for tiles) and optimise an image initialised from the previous scale's
   result (or the content, noise, the style, a file) with ``nst_tf.optimize`` (Adam/SGD or
   L-BFGS);
4. post-process (luminance colour preservation, blend with the content).

Callbacks see every step; Ctrl-C ends the loop early and keeps the latest image.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from nst_tf import backbones, calibrate, colour, images, memory, precision, signals, tiling, vgg
from nst_tf.config import INITS, StylizeConfig
from nst_tf.errors import UserError
from nst_tf.masks import Masks, resize_mask
from nst_tf.monitor import ProgressPrinter
from nst_tf.objective import Objective
from nst_tf.optimize import RunState, StepInfo, optimize  # noqa: F401  (StepInfo: part of the API)

log = logging.getLogger("nst_tf")


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
    jit_compile: bool = False  #: whether the step was XLA-compiled
    speed: str = ""  #: the precision and XLA choice and why, in words


def build_extractor(config: StylizeConfig, policy: Optional[str] = None) -> backbones.FeatureExtractor:
    """The feature model ``stylize`` needs for ``config`` (build once, pass to many calls).

    ``policy`` defaults to ``config.precision`` resolved for this machine (``auto``: see
    :func:`nst_tf.precision.auto_policy`).
    """
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


def _check_min_size(label: str, img: np.ndarray, layers: Sequence[str]) -> None:
    need = vgg.min_input_side(layers)
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
    if config.init == "arbitrary":
        from nst_tf.feedforward import open_stylizer, print_size

        net = open_stylizer("arbitrary", [style], precision=config.precision)
        log.info("init: %s", net.description)
        painted = print_size.paint_print(images.to_uint8(content), lambda f: net.stylize([f])[0])
        return painted.astype(np.float32) / 255.0
    return images.resize_to(images.load_image(config.init), content.shape[:2])


@dataclass
class _Inputs:
    content: np.ndarray  #: full-resolution content, H x W x 3 in [0, 1]
    styles: list  #: full-resolution style images
    blend: tuple  #: normalised blend weight per style image
    masks: Optional[Masks] = None  #: style / style-image / content masks at full resolution


def _load_inputs(content, style, config: StylizeConfig) -> _Inputs:
    content_full = images.load_image(content)
    style_list = list(style) if isinstance(style, (list, tuple)) else [style]
    if not style_list:
        raise UserError("give at least one style image")
    blend = config.blend_weights(len(style_list))
    styles_full = [images.load_image(s) for s in style_list]
    if config.preserve_colors == "histogram":
        styles_full = [colour.match_color(s, content_full) for s in styles_full]
    if config.init not in INITS:
        images.load_image(config.init)  # fail now on a bad --init path
    if max(content_full.shape[:2]) * 2 < config.size:
        log.warning(
            "the content image is only %dx%d px; upscaling it to %d px makes a soft result "
            "(use a larger photo or a smaller --size)",
            content_full.shape[1],
            content_full.shape[0],
            config.size,
        )
    return _Inputs(content_full, styles_full, blend, Masks.load(config, len(style_list)))


def _run_scale(
    run: RunState,
    extractor,
    inputs: _Inputs,
    scale: int,
    size: int,
    previous,
    init_image=None,
    temporal=None,
    reuse: Optional[dict] = None,
) -> np.ndarray:
    """Plan memory, resize, build the objective and optimise one stage; returns its image.
    With ``reuse``, an objective (and its compiled step) from an earlier call at the same size
    is retargeted to this content instead of built again."""
    config = run.config
    content_layers = backbones.resolve_layers(config.content_layers, extractor.backbone)
    style_layers = backbones.resolve_layers(config.style_layers, extractor.backbone)
    # Check memory before resizing: a huge --size must be refused, not allocated.
    plan = memory.plan_memory(
        config.tile,
        content_layers,
        style_layers,
        extractor.backbone,
        *images.fit_size(inputs.content.shape, size),
        run.policy,
    )
    c = images.resize(inputs.content, size)
    ss = [images.resize(s, max(1, round(size * config.style_scale))) for s in inputs.styles]
    for label, img in [("content", c)] + [("style", s) for s in ss]:
        _check_min_size(label, img, content_layers + style_layers)
    if previous is not None:
        init = images.resize_to(previous, c.shape[:2])
    elif init_image is not None:
        init = images.resize_to(np.asarray(init_image, np.float32), c.shape[:2])
    else:
        init = _initial_image(config, c, ss[0])
    stage = f"scale {scale}/{run.scales}: " if run.scales > 1 else ""
    run.announce(
        f"{stage}stylizing {c.shape[1]}x{c.shape[0]} px, {config.steps_at(scale)} {config.optimizer} steps, "
        f"{extractor.describe()}, {plan.describe()}"
    )
    temporal = temporal if scale == run.scales else None
    key = (scale, c.shape, run.jit_compile, temporal is not None)
    if temporal is not None and plan.tile:
        raise UserError("video frames are optimised whole, and this size needs tiles; lower --size")
    if reuse is not None and not plan.tile and reuse.get("key") == key:
        objective = reuse["objective"]
        objective.set_content(c)
    elif plan.tile:
        objective = tiling.TiledObjective(
            extractor, config, c, ss, inputs.blend, tile=plan.tile, jit_compile=run.jit_compile, masks=inputs.masks
        )
    else:
        objective = Objective(extractor, config, c, ss, inputs.blend, jit_compile=run.jit_compile, masks=inputs.masks)
        if reuse is not None:
            reuse.clear()
            reuse.update(key=key, objective=objective)
    if temporal is not None:
        target, mask, weight = temporal
        objective.set_temporal(images.resize_to(target, c.shape[:2]), resize_mask(mask, c.shape[:2]), weight)
    return optimize(run, objective, init, scale, size, reuse)


def stylize(
    content,
    style,
    config: Optional[StylizeConfig] = None,
    *,
    extractor: Optional[backbones.FeatureExtractor] = None,
    callbacks: Sequence[Callable[[StepInfo], None]] = (),
    verbose: bool = True,
    init_image: Optional[np.ndarray] = None,
    temporal: Optional[tuple] = None,
    reuse: Optional[dict] = None,
) -> StylizeResult:
    """Paint ``content`` in the style of ``style``.

    ``content`` is a file path, PIL image or array (uint8, or float in [0, 1]); ``style``
    is one of those or a list of them, blended with ``config.style_weights``.
    ``extractor`` reuses a model from :func:`build_extractor` across calls. ``init_image``
    (H x W x 3) replaces ``config.init``; ``temporal=(target, mask, weight)`` adds a temporal
    loss at the last scale (video frames: :mod:`nst_tf.video_gatys`). ``reuse``: a dict the
    caller keeps between calls with the same style, config and extractor on content of one size
    (video frames); the objective's style targets and the compiled step are then built once.
    ``callbacks`` are called after every step with a :class:`StepInfo`; ``verbose`` adds a
    progress printer. Returns a :class:`StylizeResult`; ``result.image`` is the picture as
    float32 H x W x 3 in [0, 1].
    """
    config = config or StylizeConfig()
    inputs = _load_inputs(content, style, config)
    if extractor is None:
        extractor = build_extractor(config)
    speed = calibrate.choose_speed(config, extractor)
    sizes = scale_sizes(config)
    run = RunState(
        config,
        extractor.policy,
        ([ProgressPrinter()] if verbose else []) + list(callbacks),
        len(sizes),
        speed.jit_compile,
    )
    run.announce(f"speed: {speed.describe()}")
    image = None
    interrupted = False
    for scale, size in enumerate(sizes, start=1):
        run.get_latest = None
        try:
            image = _run_scale(run, extractor, inputs, scale, size, image, init_image, temporal, reuse)
        except (KeyboardInterrupt, Exception) as exc:  # an interrupt can surface inside TF as another error
            if not signals.caused_by_interrupt(exc):
                raise
            interrupted = True
            if run.get_latest:
                image = run.get_latest()
            else:  # interrupted before this stage's first step: the previous stage's image, or the photo
                image = images.resize_to(
                    inputs.content if image is None else image, images.fit_size(inputs.content.shape, size)
                )
            log.warning("interrupted after %d steps; keeping the latest image", len(run.history))
            break
    return StylizeResult(
        image=postprocess(image, inputs.content, config),
        history=run.history,
        steps_done=len(run.history),
        seconds=time.perf_counter() - run.start,
        interrupted=interrupted,
        policy=extractor.policy,
        extractor=extractor.describe(),
        stopped_early=run.stopped_early,
        recoveries=run.recoveries,
        jit_compile=speed.jit_compile,
        speed=speed.describe(),
    )


def postprocess(image: np.ndarray, content: np.ndarray, config: StylizeConfig) -> np.ndarray:
    """Luminance-only colour preservation, then blending with the content, as configured
    (``histogram`` recoloured the style image before optimising)."""
    return colour.postprocess(image, content, config.preserve_colors, config.blend)
