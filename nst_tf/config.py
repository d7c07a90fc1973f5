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
POOLING = ("max", "avg")
PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
LOSSES = ("normalized", "tutorial", "keras_example")
OPTIMIZERS = ("adam", "sgd", "lbfgs")
PRESERVE_COLORS = ("none", "luminance", "histogram")
INITS = ("content", "noise", "style")

def _as_tuples(obj, names) -> None:
    """Comma-separated strings and lists become tuples (frozen dataclasses need the setattr)."""
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, str):
            value = tuple(v for v in value.split(",") if v.strip())
        if value is not None:
            object.__setattr__(obj, name, tuple(value))


def _check_numbers(obj, positive=(), nonnegative=()) -> None:
    for names, allow_zero in ((positive, False), (nonnegative, True)):
        for name in names:
            v = getattr(obj, name)
            ok = isinstance(v, (int, float)) and math.isfinite(v) and (v >= 0 if allow_zero else v > 0)
            if not ok:
                raise UserError(f"{name} must be {'zero or more' if allow_zero else 'positive'}, got {v!r}")


def _check_choice(name: str, value, choices) -> None:
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


@dataclass(frozen=True)
class StylizeConfig:
    """Every tunable of the Gatys optimisation. Units in brackets.

    Defaults give a good result on ImageNet VGG19 and on the offline HED VGG16 alike,
    because the default ``loss="normalized"`` measures each term relative to its target.
    """

    size: int = 512  #: longer side of the result [px]
    style_scale: float = 1.0  #: style image's longer side relative to ``size``
    steps: object = 300  #: optimisation steps per scale (L-BFGS: iterations), or one count per scale, e.g. ``(200, 60, 20)``
    optimizer: str = "adam"  #: ``adam``, ``sgd`` or ``lbfgs`` (scipy's L-BFGS-B)
    learning_rate: float = 0.02  #: initial step size [pixel value per step for Adam; image in 0..1]
    decay_steps: int = 100  #: ExponentialDecay: the rate is multiplied by ``decay_rate`` every this many steps
    decay_rate: float = 0.9  #: ExponentialDecay factor (1.0 keeps the rate constant)
    adam_beta_1: float = 0.9  #: Adam first-moment decay
    adam_epsilon: float = 1e-8  #: Adam epsilon (the TF tutorial used 0.1 with its larger losses)
    content_weight: float = 1.0  #: weight of the content term
    style_weight: float = 10.0  #: weight of the style term
    tv_weight: float = 10.0  #: weight of the total-variation (smoothness) term
    content_layers: tuple = GATYS_CONTENT_LAYERS  #: layers compared with the content image
    style_layers: tuple = GATYS_STYLE_LAYERS  #: layers whose Gram matrices are matched
    style_layer_weights: Optional[tuple] = None  #: one weight per style layer (default: equal)
    style_weights: Optional[tuple] = None  #: blend weights, one per style image (default: equal)
    scales: int = 1  #: coarse-to-fine stages; stage i runs at ``size / scale_factor**(scales-1-i)``
    scale_factor: float = 2.0  #: size ratio between consecutive stages
    preserve_colors: str = "none"  #: ``none``, ``luminance`` (keep content colours, YIQ) or ``histogram`` (recolour the style)
    blend: float = 0.0  #: fraction of the content image mixed back into the result (0..1)
    tol: float = 0.0  #: early stop when the relative loss change stays below this (0: off)
    patience: int = 20  #: ... for this many consecutive steps
    divergence_factor: float = 3.0  #: a loss above this multiple of the best so far counts as diverged
    max_recoveries: int = 8  #: give up (keeping the best image) after this many divergences
    loss: str = "normalized"  #: loss formulation: ``normalized``, ``tutorial``, ``keras_example``
    backbone: str = "vgg19"  #: ``vgg19`` or ``vgg16``
    weights: str = "auto"  #: ``auto``, ``imagenet``, ``hed`` or a path to an ``.h5`` file
    pooling: str = "max"  #: ``max`` or ``avg`` (Gatys et al. preferred average pooling)
    precision: str = "auto"  #: ``auto``, ``float32``, ``mixed_float16``, ``mixed_bfloat16``
    jit_compile: bool = True  #: XLA-compile the step (20-30% faster per step on CPU at 256-512 px, 2-5 s compile per size)
    init: str = "content"  #: ``content``, ``noise``, ``style`` or a path to an image
    seed: int = 0  #: random seed (noise init)
    tile: object = "auto"  #: ``auto`` (tile only when the whole image does not fit in memory), ``off``, or a tile size [px]

    def __post_init__(self):
        _as_tuples(self, ("content_layers", "style_layers", "style_layer_weights", "style_weights"))
        object.__setattr__(self, "tile", _tile_option(self.tile))
        object.__setattr__(self, "steps", _steps_option(self.steps))
        self.validate()

    def validate(self) -> None:
        """Raise :class:`UserError` for values that cannot work."""
        _check_numbers(self, positive=("size", "style_scale", "learning_rate", "decay_steps", "decay_rate",
                                       "scales", "patience"),
                       nonnegative=("content_weight", "style_weight", "tv_weight", "tol", "max_recoveries"))
        if isinstance(self.steps, tuple) and len(self.steps) != self.scales:
            raise UserError(f"{len(self.steps)} step counts for {self.scales} scales; give one count, or one per scale")
        if not self.scale_factor > 1.0:
            raise UserError(f"scale_factor must be greater than 1, got {self.scale_factor}")
        if not self.divergence_factor > 1.0:
            raise UserError(f"divergence_factor must be greater than 1, got {self.divergence_factor}")
        if not 0.0 <= self.blend <= 1.0:
            raise UserError(f"blend must be between 0 and 1, got {self.blend}")
        _check_weights("style weights", self.style_weights)
        if self.size < 16:
            raise UserError(f"size must be at least 16 px, got {self.size}")
        if self.scales > 1 and self.size / self.scale_factor ** (self.scales - 1) < 16:
            raise UserError(
                f"{self.scales} scales with factor {self.scale_factor} make the first stage smaller than 16 px; "
                "use fewer --scales or a larger --size"
            )
        for name, choices in (("optimizer", OPTIMIZERS), ("loss", LOSSES), ("precision", PRECISIONS),
                              ("backbone", BACKBONES), ("pooling", POOLING), ("preserve_colors", PRESERVE_COLORS)):
            _check_choice(name, getattr(self, name), choices)
        if not self.content_layers or not self.style_layers:
            raise UserError("give at least one content layer and one style layer")
        if self.style_layer_weights is not None:
            if len(self.style_layer_weights) != len(self.style_layers):
                raise UserError(
                    f"{len(self.style_layer_weights)} style layer weights for {len(self.style_layers)} "
                    "style layers; give one weight per layer"
                )
            _check_weights("style layer weights", self.style_layer_weights)

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

    image_size: int = 256  #: training crop side [px]
    batch_size: int = 4  #: photos per step (across all replicas)
    steps: int = 40000  #: training steps
    learning_rate: float = 1e-3  #: Adam initial learning rate
    decay_steps: int = 10000  #: ExponentialDecay period [steps]
    decay_rate: float = 1.0  #: ExponentialDecay factor (1.0: constant, as in the paper)
    content_weight: float = 1.0
    style_weight: float = 10.0
    tv_weight: float = 10.0
    style_scale: float = 2.0  #: style image's longer side relative to image_size
    content_layers: tuple = JOHNSON_CONTENT_LAYERS
    style_layers: tuple = JOHNSON_STYLE_LAYERS
    backbone: str = "vgg16"  #: the loss network (the paper used VGG16)
    weights: str = "auto"
    precision: str = "auto"
    checkpoint_every: int = 500  #: steps between checkpoints (and TensorBoard images)
    seed: int = 0

    def __post_init__(self):
        _as_tuples(self, ("content_layers", "style_layers"))
        _check_numbers(self, positive=("image_size", "batch_size", "learning_rate", "decay_steps", "decay_rate",
                                       "style_scale", "checkpoint_every"),
                       nonnegative=("content_weight", "style_weight", "tv_weight"))
        if self.image_size < 32 or self.image_size % 4:
            raise UserError(f"image_size must be a multiple of 4 and at least 32, got {self.image_size}")
        _check_choice("backbone", self.backbone, BACKBONES)
        _check_choice("precision", self.precision, PRECISIONS)

    def replace(self, **changes) -> "FastTrainConfig":
        return dataclasses.replace(self, **changes)
