"""nst-stylize: the Gatys optimisation's config (every field a flag of that command)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

from nst_tf.config.options import (
    BACKBONES,
    JIT_OPTIONS,
    LOSSES,
    OPTIMIZERS,
    POOLING,
    PRECISIONS,
    PRESERVE_COLORS,
    as_tuples,
    check_choice,
    check_numbers,
    check_strings,
    check_weights,
    floats_option,
    jit_option,
    option,
    steps_option,
    tile_option,
)
from nst_tf.errors import UserError

# Gatys et al. (2016): content conv4_2, style conv1_1 ... conv5_1 (equal weights).
GATYS_CONTENT_LAYERS = ("block4_conv2",)
GATYS_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")


@dataclass(frozen=True)
class StylizeConfig:
    """Every tunable of the Gatys optimisation. Units in brackets.

    Defaults give a good result on ImageNet VGG19 and on the offline HED VGG16 alike,
    because the default ``loss="normalized"`` measures each term relative to its target.
    Each field is also an ``nst-stylize`` flag of the same name (generated from this class).
    """

    size: int = option(512, "Longer side of the result.", unit="px")
    style_scale: float = option(1.0, "Style image's longer side relative to size.")
    steps: object = option(
        300, "Optimisation steps per scale (L-BFGS: iterations), or one count per scale, e.g. 200,60,20.", kind="str"
    )
    optimizer: str = option("adam", "Optimizer: adam, sgd or lbfgs (scipy's L-BFGS-B).", choices=OPTIMIZERS)
    learning_rate: float = option(0.02, "Initial step size (image values in 0..1).", unit="per step")
    decay_steps: int = option(
        100,
        "ExponentialDecay (continuous): the rate is multiplied by decay_rate over every this many steps.",
        unit="steps",
    )
    decay_rate: float = option(0.9, "ExponentialDecay factor (1 keeps the rate constant).")
    adam_beta_1: float = option(0.9, "Adam first-moment decay.")
    adam_beta_2: float = option(
        0.9,
        "Adam second-moment decay. 0.9 reaches the result of Keras' default 0.999 in "
        "about 25% fewer steps (measured: benchmarks/RESULTS.md, time to quality).",
    )
    adam_epsilon: float = option(1e-8, "Adam epsilon (the TF tutorial used 0.1 with its larger losses).")
    content_weight: float = option(1.0, "Weight of the content loss.")
    style_weight: float = option(10.0, "Weight of the style loss.")
    tv_weight: float = option(10.0, "Weight of the total-variation (smoothness) loss.")
    content_layers: tuple = option(
        GATYS_CONTENT_LAYERS, "Layers compared with the content image (e.g. relu4_2 or block4_conv2)."
    )
    style_layers: tuple = option(GATYS_STYLE_LAYERS, "Layers whose Gram matrices are matched.")
    style_layer_weights: Optional[tuple] = option(None, "One weight per style layer (default: equal).", kind="floats")
    style_weights: Optional[tuple] = option(
        None,
        "Blend the style images into one style with these weights, one per "
        "style image (default: equal; nst-stylize without it gives each "
        "style image its own output).",
        kind="floats",
    )
    style_masks: Optional[tuple] = option(
        None,
        "One mask image per style image, aligned with the content (any size; "
        "white = that style, grey = partly, black = none; where no mask "
        "covers, no style term). The styles then make one output.",
        kind="list",
    )
    style_image_masks: Optional[tuple] = option(
        None,
        "One mask per style image, aligned with that style image: take its statistics from the white region only.",
        kind="list",
    )
    content_mask: Optional[str] = option(
        None,
        "A mask aligned with the content: a per-pixel content weight map "
        "(white keeps those regions closest to the photo).",
        kind="str",
    )
    scales: int = option(1, "Coarse-to-fine stages; stage i runs at size / scale_factor**(scales-1-i).")
    scale_factor: float = option(2.0, "Size ratio between consecutive stages.")
    preserve_colors: str = option(
        "none",
        "Keep the content's colours: none, luminance (transfer luminance only, "
        "YIQ) or histogram (recolour the style image first).",
        choices=PRESERVE_COLORS,
    )
    blend: float = option(0.0, "Fraction of the content image mixed back into the result (0..1).")
    tol: float = option(0.0, "Early stop when the relative loss change stays below this (0: off).")
    patience: int = option(20, "... for this many consecutive steps.", unit="steps")
    divergence_factor: float = option(
        3.0, "A loss above this multiple of the best so far counts as diverged (best image restored, rate halved)."
    )
    max_recoveries: int = option(8, "Stop after this many divergences, keeping the best image.")
    loss: str = option(
        "normalized",
        "Loss formulation: normalized, or that of the TF tutorial / the classic Keras example.",
        choices=LOSSES,
    )
    backbone: str = option("vgg19", "Feature network: vgg19 or vgg16.", choices=BACKBONES)
    weights: str = option(
        "auto", "Feature network weights: auto, imagenet, hed (offline VGG16) or a path to an .h5 file."
    )
    pooling: str = option(
        "max", "Pooling in the feature network: max or avg (Gatys et al. preferred avg).", choices=POOLING
    )
    precision: str = option(
        "auto",
        "Compute precision: auto (mixed_float16 on GPUs with tensor cores, "
        "mixed_bfloat16 on TPUs and on CPUs with native bfloat16, else float32), "
        "float32, mixed_float16 or mixed_bfloat16.",
        choices=PRECISIONS,
    )
    jit_compile: str = option(
        "auto", "XLA-compile the step: auto (measured once per machine and cached), on or off.", choices=JIT_OPTIONS
    )
    calibrate: bool = option(False, "Measure XLA on and off again instead of using the cached answer.")
    init: str = option(
        "content",
        "Starting image: content, noise, style, arbitrary (the any-style network's picture of the "
        "first style, painted at up to 1024 px and enlarged with the photo's detail: few steps "
        "then finish a large result) or a path to an image.",
    )
    seed: int = option(0, "Random seed (noise init).")
    tile: object = option(
        "auto",
        "Process large images in exact tiles: auto (only when the whole image does "
        "not fit in memory), off, or a tile size in pixels.",
        kind="str",
    )

    def __post_init__(self):
        as_tuples(self, ("content_layers", "style_layers", "style_masks", "style_image_masks"))
        for name in ("style_layer_weights", "style_weights"):
            object.__setattr__(self, name, floats_option(name, getattr(self, name)))
        object.__setattr__(self, "tile", tile_option(self.tile))
        object.__setattr__(self, "jit_compile", jit_option(self.jit_compile))
        check_strings(
            self,
            (
                "optimizer",
                "loss",
                "backbone",
                "weights",
                "pooling",
                "precision",
                "init",
                "preserve_colors",
                "content_mask",
            ),
        )
        object.__setattr__(self, "steps", steps_option(self.steps))
        self.validate()

    def validate(self) -> None:
        """Raise :class:`UserError` for values that cannot work."""
        check_numbers(
            self,
            positive=("size", "style_scale", "learning_rate", "decay_steps", "decay_rate", "scales", "patience"),
            nonnegative=(
                "content_weight",
                "style_weight",
                "tv_weight",
                "tol",
                "max_recoveries",
                "seed",
                "adam_epsilon",
            ),
        )
        check_numbers(
            self, positive=("adam_beta_1", "adam_beta_2", "scale_factor", "divergence_factor"), nonnegative=("blend",)
        )
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
        check_weights("style weights", self.style_weights)
        if self.style_masks and self.style_weights and len(self.style_masks) != len(self.style_weights):
            raise UserError(
                f"{len(self.style_masks)} style masks for {len(self.style_weights)} style weights; "
                "give one of each per style image"
            )
        if self.size < 16:
            raise UserError(f"size must be at least 16 px, got {self.size}")
        if self.scales > 1 and self.size / self.scale_factor ** (self.scales - 1) < 16:
            raise UserError(
                f"{self.scales} scales with factor {self.scale_factor} make the first stage smaller than 16 px; "
                "use fewer --scales or a larger --size"
            )
        for name, choices in (
            ("optimizer", OPTIMIZERS),
            ("loss", LOSSES),
            ("precision", PRECISIONS),
            ("backbone", BACKBONES),
            ("pooling", POOLING),
            ("preserve_colors", PRESERVE_COLORS),
        ):
            check_choice(name, getattr(self, name), choices)
        if not self.content_layers or not self.style_layers:
            raise UserError("give at least one content layer and one style layer")
        if self.style_layer_weights is not None:
            if len(self.style_layer_weights) != len(self.style_layers):
                raise UserError(
                    f"{len(self.style_layer_weights)} style layer weights for {len(self.style_layers)} "
                    "style layers; give one weight per layer"
                )
            check_weights("style layer weights", self.style_layer_weights)

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
