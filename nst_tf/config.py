"""Configuration of the Gatys optimisation: plain data, no TensorFlow import.

The CLI builds a :class:`StylizeConfig` from flags; the Python API and notebooks build
one directly. Every field has a documented default and unit.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Optional

from nst_tf.errors import UserError

BACKBONES = ("vgg19", "vgg16")
#: nst-train-fast --arch: the per-style networks (nst_tf.fast.transformer.ARCHS)
FAST_ARCHS = ("johnson", "johnson_slim", "arbitrary")
INIT_FROM = ("none", "published")
TRAIN_LEARNING_RATE, FINE_TUNE_LEARNING_RATE = 1e-3, 1e-5  #: FastTrainConfig.learning_rate defaults
POOLING = ("max", "avg")
PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
LOSSES = ("normalized", "tutorial", "keras_example")
OPTIMIZERS = ("adam", "sgd", "lbfgs")
PRESERVE_COLORS = ("none", "luminance", "histogram")
INITS = ("content", "noise", "style")
JIT_OPTIONS = ("auto", "on", "off")
#: nst-apply --jit_compile=auto compiles the any-style network with XLA from this many inputs on
XLA_MIN_IMAGES = 8

def _as_tuples(obj, names) -> None:
    """Comma-separated strings and lists become tuples of names (frozen dataclasses need the setattr)."""
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, str):
            value = tuple(v.strip() for v in value.split(",") if v.strip())
        if value is None:
            continue
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise UserError(f"{name} must be a comma-separated list of names, got {value!r}")
        object.__setattr__(obj, name, tuple(value))


def _check_strings(obj, names) -> None:
    for name in names:
        value = getattr(obj, name)
        if value is not None and not isinstance(value, str):
            raise UserError(f"{name} must be text, got {value!r}")


def _check_numbers(obj, positive=(), nonnegative=()) -> None:
    for names, allow_zero in ((positive, False), (nonnegative, True)):
        for name in names:
            v = getattr(obj, name)
            ok = isinstance(v, (int, float)) and math.isfinite(v) and (v >= 0 if allow_zero else v > 0)
            if not ok:
                raise UserError(f"{name} must be {'zero or more' if allow_zero else 'positive'}, got {v!r}")


def check_choice(name: str, value, choices) -> None:
    """The one check of a value against its choices (configs, precision, the CLIs)."""
    if value not in choices:
        raise UserError(f"unknown {name} {value!r}; choose one of {', '.join(choices)}")


def _check_weights(label: str, weights) -> None:
    if weights is not None and (any(float(w) < 0 for w in weights) or sum(map(float, weights)) <= 0):
        raise UserError(f"{label} must be zero or more and not all zero")


MIN_TILE = 32  #: smallest --tile [px]


def _tile_option(value):
    """``auto``, ``off`` or a tile size of at least MIN_TILE px (int, or a string of digits)."""
    text = str(value).strip().lower()
    if text in ("auto", "off"):
        return text
    if text.isdigit() and int(text) >= MIN_TILE:
        return int(text)
    raise UserError(f"tile must be auto, off or a size of at least {MIN_TILE} px, got {value!r}")


def _steps_option(value):
    """A step count (int, or a string of digits) or one count per scale (list, tuple or ``"200,60,20"``)."""
    items = value.split(",") if isinstance(value, str) else (list(value) if isinstance(value, (list, tuple)) else [value])
    counts = []
    for item in items:
        try:
            n = int(str(item).strip())
        except ValueError:
            raise UserError(f"steps must be a whole number or one per scale (e.g. 200,60,20), got {value!r}") from None
        if n < 0:
            raise UserError(f"steps must be zero or more, got {n}")
        counts.append(n)
    if not counts:
        raise UserError("steps must be a whole number or one per scale (e.g. 200,60,20)")
    return counts[0] if len(counts) == 1 else tuple(counts)


# Gatys et al. (2016): content conv4_2, style conv1_1 ... conv5_1 (equal weights).
GATYS_CONTENT_LAYERS = ("block4_conv2",)
GATYS_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")


def option(default, help: str, *, choices=None, kind: str = None, unit: str = None):
    """A config field with what its command-line flag needs: help text, choices, the flag's kind.

    ``kind``: ``int``, ``float``, ``bool``, ``str`` (choices are listed in the help and checked by
    the config, not by the flag parser), ``list`` (comma-separated names) or ``floats``
    (comma-separated numbers). Defaults to the type of ``default``.
    """
    if kind is None:
        kind = {bool: "bool", int: "int", float: "float", str: "str", tuple: "list"}.get(type(default), "str")
    meta = {"help": help, "choices": tuple(choices) if choices else None, "kind": kind, "unit": unit}
    return dataclasses.field(default=default, metadata=meta)


def _jit_option(value) -> str:
    """``auto``, ``on`` or ``off``; booleans and their usual spellings are accepted."""
    text = str(value).strip().lower()
    text = {"true": "on", "1": "on", "yes": "on", "false": "off", "0": "off", "no": "off"}.get(text, text)
    check_choice("jit_compile", text, JIT_OPTIONS)
    return text


def _floats(name: str, value):
    """A tuple of floats from a list or a comma-separated string (None stays None)."""
    if value is None:
        return None
    if not isinstance(value, (str, list, tuple)):
        raise UserError(f"{name} must be comma-separated numbers, got {value!r}")
    items = value.split(",") if isinstance(value, str) else list(value)
    try:
        out = tuple(float(str(v).strip()) for v in items if str(v).strip())
    except ValueError:
        raise UserError(f"{name} must be comma-separated numbers, got {value!r}") from None
    return out or None


@dataclass(frozen=True)
class StylizeConfig:
    """Every tunable of the Gatys optimisation. Units in brackets.

    Defaults give a good result on ImageNet VGG19 and on the offline HED VGG16 alike,
    because the default ``loss="normalized"`` measures each term relative to its target.
    Each field is also an ``nst-stylize`` flag of the same name (generated from this class).
    """

    size: int = option(512, "Longer side of the result.", unit="px")
    style_scale: float = option(1.0, "Style image's longer side relative to size.")
    steps: object = option(300, "Optimisation steps per scale (L-BFGS: iterations), or one count per scale, "
                                "e.g. 200,60,20.", kind="str")
    optimizer: str = option("adam", "Optimizer: adam, sgd or lbfgs (scipy's L-BFGS-B).", choices=OPTIMIZERS)
    learning_rate: float = option(0.02, "Initial step size (image values in 0..1).", unit="per step")
    decay_steps: int = option(100, "ExponentialDecay (continuous): the rate is multiplied by decay_rate "
                                   "over every this many steps.", unit="steps")
    decay_rate: float = option(0.9, "ExponentialDecay factor (1 keeps the rate constant).")
    adam_beta_1: float = option(0.9, "Adam first-moment decay.")
    adam_beta_2: float = option(0.9, "Adam second-moment decay. 0.9 reaches the result of Keras' default 0.999 in "
                                     "about 25% fewer steps (measured: benchmarks/RESULTS.md, time to quality).")
    adam_epsilon: float = option(1e-8, "Adam epsilon (the TF tutorial used 0.1 with its larger losses).")
    content_weight: float = option(1.0, "Weight of the content loss.")
    style_weight: float = option(10.0, "Weight of the style loss.")
    tv_weight: float = option(10.0, "Weight of the total-variation (smoothness) loss.")
    content_layers: tuple = option(GATYS_CONTENT_LAYERS, "Layers compared with the content image "
                                                         "(e.g. relu4_2 or block4_conv2).")
    style_layers: tuple = option(GATYS_STYLE_LAYERS, "Layers whose Gram matrices are matched.")
    style_layer_weights: Optional[tuple] = option(None, "One weight per style layer (default: equal).", kind="floats")
    style_weights: Optional[tuple] = option(None, "Blend the style images into one style with these weights, one per "
                                                  "style image (default: equal; nst-stylize without it gives each "
                                                  "style image its own output).", kind="floats")
    style_masks: Optional[tuple] = option(None, "One mask image per style image, aligned with the content (any size; "
                                                "white = that style, grey = partly, black = none; where no mask "
                                                "covers, no style term). The styles then make one output.",
                                          kind="list")
    style_image_masks: Optional[tuple] = option(None, "One mask per style image, aligned with that style image: take "
                                                      "its statistics from the white region only.", kind="list")
    content_mask: Optional[str] = option(None, "A mask aligned with the content: a per-pixel content weight map "
                                               "(white keeps those regions closest to the photo).", kind="str")
    scales: int = option(1, "Coarse-to-fine stages; stage i runs at size / scale_factor**(scales-1-i).")
    scale_factor: float = option(2.0, "Size ratio between consecutive stages.")
    preserve_colors: str = option("none", "Keep the content's colours: none, luminance (transfer luminance only, "
                                          "YIQ) or histogram (recolour the style image first).",
                                  choices=PRESERVE_COLORS)
    blend: float = option(0.0, "Fraction of the content image mixed back into the result (0..1).")
    tol: float = option(0.0, "Early stop when the relative loss change stays below this (0: off).")
    patience: int = option(20, "... for this many consecutive steps.", unit="steps")
    divergence_factor: float = option(3.0, "A loss above this multiple of the best so far counts as diverged "
                                           "(best image restored, rate halved).")
    max_recoveries: int = option(8, "Stop after this many divergences, keeping the best image.")
    loss: str = option("normalized", "Loss formulation: normalized, or that of the TF tutorial / the classic "
                                     "Keras example.", choices=LOSSES)
    backbone: str = option("vgg19", "Feature network: vgg19 or vgg16.", choices=BACKBONES)
    weights: str = option("auto", "Feature network weights: auto, imagenet, hed (offline VGG16) or a path to an "
                                  ".h5 file.")
    pooling: str = option("max", "Pooling in the feature network: max or avg (Gatys et al. preferred avg).",
                          choices=POOLING)
    precision: str = option("auto", "Compute precision: auto (mixed_float16 on GPUs with tensor cores, "
                                    "mixed_bfloat16 on TPUs and on CPUs with native bfloat16, else float32), "
                                    "float32, mixed_float16 or mixed_bfloat16.", choices=PRECISIONS)
    jit_compile: str = option("auto", "XLA-compile the step: auto (measured once per machine and cached), "
                                      "on or off.", choices=JIT_OPTIONS)
    calibrate: bool = option(False, "Measure XLA on and off again instead of using the cached answer.")
    init: str = option("content", "Starting image: content, noise, style or a path to an image.")
    seed: int = option(0, "Random seed (noise init).")
    tile: object = option("auto", "Process large images in exact tiles: auto (only when the whole image does "
                                  "not fit in memory), off, or a tile size in pixels.", kind="str")

    def __post_init__(self):
        _as_tuples(self, ("content_layers", "style_layers", "style_masks", "style_image_masks"))
        for name in ("style_layer_weights", "style_weights"):
            object.__setattr__(self, name, _floats(name, getattr(self, name)))
        object.__setattr__(self, "tile", _tile_option(self.tile))
        object.__setattr__(self, "jit_compile", _jit_option(self.jit_compile))
        _check_strings(self, ("optimizer", "loss", "backbone", "weights", "pooling", "precision", "init",
                              "preserve_colors", "content_mask"))
        object.__setattr__(self, "steps", _steps_option(self.steps))
        self.validate()

    def validate(self) -> None:
        """Raise :class:`UserError` for values that cannot work."""
        _check_numbers(self, positive=("size", "style_scale", "learning_rate", "decay_steps", "decay_rate",
                                       "scales", "patience"),
                       nonnegative=("content_weight", "style_weight", "tv_weight", "tol", "max_recoveries", "seed",
                                    "adam_epsilon"))
        _check_numbers(self, positive=("adam_beta_1", "adam_beta_2", "scale_factor", "divergence_factor"),
                       nonnegative=("blend",))
        for name in ("adam_beta_1", "adam_beta_2"):
            if not getattr(self, name) < 1.0:
                raise UserError(f"{name} must be below 1, got {getattr(self, name)}")
        for name in ("size", "scales", "decay_steps", "patience", "max_recoveries", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not float(value).is_integer():
                raise UserError(f"{name} must be a whole number, got {value!r}")
        if self.scales > 10:
            raise UserError(f"scales must be at most 10, got {self.scales}")
        if isinstance(self.steps, tuple) and len(self.steps) != self.scales:
            raise UserError(f"{len(self.steps)} step counts for {self.scales} scales; give one count, or one per scale")
        if not self.scale_factor > 1.0:
            raise UserError(f"scale_factor must be greater than 1, got {self.scale_factor}")
        if not self.divergence_factor > 1.0:
            raise UserError(f"divergence_factor must be greater than 1, got {self.divergence_factor}")
        if not 0.0 <= self.blend <= 1.0:
            raise UserError(f"blend must be between 0 and 1, got {self.blend}")
        _check_weights("style weights", self.style_weights)
        if self.style_masks and self.style_weights and len(self.style_masks) != len(self.style_weights):
            raise UserError(f"{len(self.style_masks)} style masks for {len(self.style_weights)} style weights; "
                            "give one of each per style image")
        if self.size < 16:
            raise UserError(f"size must be at least 16 px, got {self.size}")
        if self.scales > 1 and self.size / self.scale_factor ** (self.scales - 1) < 16:
            raise UserError(
                f"{self.scales} scales with factor {self.scale_factor} make the first stage smaller than 16 px; "
                "use fewer --scales or a larger --size"
            )
        for name, choices in (("optimizer", OPTIMIZERS), ("loss", LOSSES), ("precision", PRECISIONS),
                              ("backbone", BACKBONES), ("pooling", POOLING), ("preserve_colors", PRESERVE_COLORS)):
            check_choice(name, getattr(self, name), choices)
        if not self.content_layers or not self.style_layers:
            raise UserError("give at least one content layer and one style layer")
        if self.style_layer_weights is not None:
            if len(self.style_layer_weights) != len(self.style_layers):
                raise UserError(
                    f"{len(self.style_layer_weights)} style layer weights for {len(self.style_layers)} "
                    "style layers; give one weight per layer"
                )
            _check_weights("style layer weights", self.style_layer_weights)

    @property
    def combines_styles(self) -> bool:
        """Several style images make one output (blend weights or style masks given)."""
        return self.style_weights is not None or self.style_masks is not None

    def blend_weights(self, n_styles: int) -> tuple:
        """The style images' blend weights for ``n_styles`` images, normalised to sum 1."""
        w = self.style_weights or (1.0,) * n_styles
        if len(w) != n_styles:
            raise UserError(f"{len(w)} style weights for {n_styles} style images; give one weight per style image")
        total = float(sum(w))
        return tuple(float(x) / total for x in w)

    def steps_at(self, scale: int) -> int:
        """Steps of the ``scale``-th stage (1-based, coarse to fine)."""
        return self.steps[scale - 1] if isinstance(self.steps, tuple) else self.steps

    def replace(self, **changes) -> "StylizeConfig":
        return dataclasses.replace(self, **changes)




# Johnson et al. (2016), on VGG16: content relu2_2; style relu1_2, relu2_2, relu3_3, relu4_3.
JOHNSON_CONTENT_LAYERS = ("block2_conv2",)
JOHNSON_STYLE_LAYERS = ("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3")


@dataclass(frozen=True)
class FastTrainConfig:
    """Training a feed-forward style network (Johnson et al. 2016). Units in brackets.

    The published recipe: COCO 2014 train (~83k photos), 256 px crops, batch 4, 2 epochs
    (~40k steps), Adam 1e-3; see flags/fast_coco.flags.
    """

    arch: str = option("johnson", "Network: johnson (Johnson et al. 2016: 32/64/128 channels, 5 residual blocks) or "
                                  "johnson_slim (16/32/64 channels, 3 blocks: several times faster on CPUs and "
                                  "phones) or arbitrary (the any-style network of Ghiasi et al. 2017: --style is "
                                  "then a folder of paintings).", choices=FAST_ARCHS)
    init_from: str = option("none", "Starting weights: none (random) or published (with --arch=arbitrary: "
                                    "Magenta's, to fine-tune on your paintings).", choices=INIT_FROM)
    image_size: int = option(256, "Training crop side (multiple of 4).", unit="px")
    batch_size: int = option(4, "Photos per step, across all replicas.")
    steps: int = option(40000, "Training steps.")
    learning_rate: Optional[float] = option(None, "Adam initial learning rate (default 1e-3; 1e-5 when fine-tuning "
                                                  "from published weights, which larger steps wreck at once).",
                                            kind="float")
    decay_steps: int = option(10000, "ExponentialDecay (continuous) period.", unit="steps")
    decay_rate: float = option(1.0, "ExponentialDecay factor (1 = constant, as in the paper).")
    content_weight: float = option(1.0, "Weight of the content loss.")
    style_weight: float = option(10.0, "Weight of the style loss.")
    tv_weight: float = option(10.0, "Weight of the total-variation loss.")
    style_scale: float = option(2.0, "Style image's longer side relative to image_size.")
    content_layers: tuple = option(JOHNSON_CONTENT_LAYERS, "Loss-network content layers.")
    style_layers: tuple = option(JOHNSON_STYLE_LAYERS, "Loss-network style layers.")
    backbone: str = option("vgg16", "Loss network: vgg16 (as in the paper) or vgg19.", choices=BACKBONES)
    weights: str = option("auto", "Loss network weights: auto, imagenet, hed (offline VGG16) or a path to an .h5 file.")
    precision: str = option("auto", "Compute precision: auto (chosen for the device, as for nst-stylize), float32, "
                                    "mixed_float16 or mixed_bfloat16.", choices=PRECISIONS)
    checkpoint_every: int = option(500, "Steps between checkpoints (and TensorBoard images).", unit="steps")
    seed: int = option(0, "Random seed (initial weights, data order).")

    def __post_init__(self):
        _as_tuples(self, ("content_layers", "style_layers"))
        _check_strings(self, ("arch", "init_from", "backbone", "weights", "precision"))
        if self.learning_rate is None:
            object.__setattr__(self, "learning_rate", FINE_TUNE_LEARNING_RATE if self.init_from == "published"
                               else TRAIN_LEARNING_RATE)
        _check_numbers(self, nonnegative=("seed", "steps"))
        _check_numbers(self, positive=("image_size", "batch_size", "learning_rate", "decay_steps", "decay_rate",
                                       "style_scale", "checkpoint_every"),
                       nonnegative=("content_weight", "style_weight", "tv_weight"))
        if self.image_size < 32 or self.image_size % 4:
            raise UserError(f"image_size must be a multiple of 4 and at least 32, got {self.image_size}")
        check_choice("arch", self.arch, FAST_ARCHS)
        check_choice("init_from", self.init_from, INIT_FROM)
        if self.init_from == "published" and self.arch != "arbitrary":
            raise UserError("init_from=published needs arch=arbitrary (only the any-style network has "
                            "published weights)")
        check_choice("backbone", self.backbone, BACKBONES)
        check_choice("precision", self.precision, PRECISIONS)

    def replace(self, **changes) -> "FastTrainConfig":
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class ApplyConfig:
    """Applying a trained feed-forward network (``nst-apply``). Each field is a flag of that command."""

    batch_size: int = option(4, "Same-size images per batch.")
    blend: float = option(0.0, "Fraction of the original mixed back into the result (0..1).")
    preserve_colors: str = option("none", "Keep the photo's colours: none, luminance (transfer luminance only, YIQ) "
                                          "or histogram (colour statistics matched to the photo's; a trained "
                                          "network's style is fixed, so its result is recoloured).",
                                  choices=PRESERVE_COLORS)
    style_masks: Optional[tuple] = option(None, "With several --model: one mask per model, aligned with the input "
                                                "(white = that model's style; where no mask covers, the photo).",
                                          kind="list")
    feather: float = option(0.02, "Soften the mask edges by a Gaussian of this fraction of the image's longer side.")
    size: Optional[int] = option(None, "Resize each input so its longer side is this many pixels first (default: "
                                       "full resolution).", kind="int", unit="px")
    strength: float = option(1.0, "With --model=arbitrary: how much of the painting's style, 0..1 (the style vector "
                                  "is mixed with the photo's own, as in Magenta).")
    style_weights: Optional[tuple] = option(None, "With --model=arbitrary and several --style: mix their style "
                                                  "vectors with these weights, one per style (default: equal).",
                                            kind="floats")
    precision: str = option("auto", "With --model=arbitrary: compute precision; auto measures float32 against "
                                     "bfloat16 once on CPUs that have it (cached), else as for nst-stylize.",
                            choices=PRECISIONS)
    jit_compile: str = option("auto", "With --model=arbitrary: XLA-compile the transfer network. It compiles once "
                                      "per image shape (seconds) and then runs ~30% faster, so auto turns it on "
                                      f"for runs of at least {XLA_MIN_IMAGES} inputs; on or off.", choices=JIT_OPTIONS)

    temporal_weight: float = option(0.5, "Videos and animations: how much of the previous output, warped along the "
                                         "optical flow, is kept where the motion is reliable (0 = independent "
                                         "frames, which flicker; below 1).")

    def __post_init__(self):
        _as_tuples(self, ("style_masks",))
        object.__setattr__(self, "jit_compile", _jit_option(self.jit_compile))
        _check_numbers(self, nonnegative=("temporal_weight",))
        if not 0.0 <= self.temporal_weight < 1.0:
            raise UserError(f"temporal_weight must be at least 0 and below 1, got {self.temporal_weight}")
        object.__setattr__(self, "style_weights", _floats("style_weights", self.style_weights))
        _check_strings(self, ("preserve_colors", "precision"))
        _check_numbers(self, positive=("batch_size",), nonnegative=("feather", "blend", "strength"))
        if not 0.0 <= self.blend <= 1.0:
            raise UserError(f"blend must be between 0 and 1, got {self.blend}")
        if not 0.0 <= self.strength <= 1.0:
            raise UserError(f"strength must be between 0 and 1, got {self.strength}")
        if self.size is not None and (isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 8):
            raise UserError(f"size must be a whole number of at least 8 px, got {self.size!r}")
        _check_weights("style weights", self.style_weights)
        check_choice("preserve_colors", self.preserve_colors, PRESERVE_COLORS)
        check_choice("precision", self.precision, PRECISIONS)


@dataclass(frozen=True)
class WebConfig:
    """The ``nst-web`` server. Each field is a flag of that command."""

    host: str = option("127.0.0.1", "Address to listen on. The default serves this computer only; 0.0.0.0 opens it "
                                    "to the network (there is no login).")
    port: int = option(8765, "Port to listen on (0: any free port).")
    max_upload_mb: float = option(20.0, "Largest request (photo plus painting) accepted.", unit="MB")
    queue_size: int = option(8, "Jobs that may wait at once; more are refused with HTTP 429.")
    keep_results: int = option(50, "Finished jobs kept with their images; the oldest go first.")
    open_browser: bool = option(False, "Open the page in the default web browser once the server is up.")
    backbone: str = option("vgg19", "Feature network for paint jobs: vgg19 or vgg16.", choices=BACKBONES)
    weights: str = option("auto", "Its weights: auto, imagenet, hed (offline VGG16) or a path to an .h5 file.")
    precision: str = option("auto", "Compute precision of both networks (auto: chosen for the device).",
                            choices=PRECISIONS)
    instant_weights: str = option("published", "Any-style network weights: published (Magenta's) or a folder with "
                                               "predict.weights.h5 and transfer.weights.h5 (or a training workdir).")

    def __post_init__(self):
        _check_strings(self, ("host", "backbone", "weights", "precision", "instant_weights"))
        if not self.host.strip():  # an empty host would listen on every interface
            raise UserError("host must be an address, e.g. 127.0.0.1 (this computer only) or 0.0.0.0 (the network)")
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise UserError(f"port must be 0..65535, got {self.port!r}")
        _check_numbers(self, positive=("max_upload_mb", "queue_size", "keep_results"))
        for name in ("queue_size", "keep_results"):
            if not isinstance(getattr(self, name), int) or isinstance(getattr(self, name), bool):
                raise UserError(f"{name} must be a whole number, got {getattr(self, name)!r}")
        check_choice("backbone", self.backbone, BACKBONES)
        check_choice("precision", self.precision, PRECISIONS)

    def replace(self, **changes) -> "WebConfig":
        return dataclasses.replace(self, **changes)
