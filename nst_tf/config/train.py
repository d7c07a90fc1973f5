"""nst-train-fast: training a feed-forward network."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

from nst_tf.config.options import (
    BACKBONES,
    FAST_ARCHS,
    INIT_FROM,
    PRECISIONS,
    TEACHERS,
    as_tuples,
    check_choice,
    check_numbers,
    check_strings,
    option,
)
from nst_tf.errors import UserError

#: The perceptual weights without a teacher (Johnson et al.'s balance on the normalised losses).
PERCEPTUAL_WEIGHTS = {"content_weight": 1.0, "style_weight": 10.0, "tv_weight": 10.0}
TRAIN_LEARNING_RATE, FINE_TUNE_LEARNING_RATE = 1e-3, 1e-5  #: FastTrainConfig.learning_rate defaults

# Johnson et al. (2016), on VGG16: content relu2_2; style relu1_2, relu2_2, relu3_3, relu4_3.
JOHNSON_CONTENT_LAYERS = ("block2_conv2",)
JOHNSON_STYLE_LAYERS = ("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3")


@dataclass(frozen=True)
class FastTrainConfig:
    """Training a feed-forward style network (Johnson et al. 2016). Units in brackets.

    The published recipe: COCO 2014 train (~83k photos), 256 px crops, batch 4, 2 epochs
    (~40k steps), Adam 1e-3; see flags/fast_coco.flags.
    """

    arch: str = option(
        "johnson",
        "Network: johnson (Johnson et al. 2016: 32/64/128 channels, 5 residual blocks), "
        "johnson_slim (16/32/64 channels, 3 blocks), compact (every convolution at 1/4 or 1/8 "
        "scale: the fastest; train it with --teacher=arbitrary) or arbitrary (the any-style "
        "network of Ghiasi et al. 2017: --style is then a folder of paintings).",
        choices=FAST_ARCHS,
    )
    init_from: str = option(
        "none",
        "Starting weights: none (random) or published (with --arch=arbitrary: "
        "Magenta's, to fine-tune on your paintings).",
        choices=INIT_FROM,
    )
    teacher: str = option(
        "none",
        "Learn from: none (the perceptual loss alone, Johnson et al.) or arbitrary (copy the "
        "any-style network's pictures of --style: a good network in CPU-minutes; the perceptual "
        "weights then default to 0).",
        choices=TEACHERS,
    )
    teacher_weight: float = option(1.0, "Weight of the L1 distance to the teacher's pictures.")
    refine_steps: int = option(
        0,
        "With a --teacher, the last refine_steps steps add the perceptual terms (give --style_weight) "
        "to bring back the painting's texture; each runs the loss network, several times the cost "
        "of a distillation step (0: the perceptual terms with weights above 0 apply throughout).",
        unit="steps",
    )
    max_scale: float = option(
        1.0,
        "Random scales: each photo's shorter side is resized to image_size times a random factor "
        "in [1, max_scale] before the random crop (1 = no scaling).",
    )
    image_size: int = option(256, "Training crop side (multiple of 4).", unit="px")
    batch_size: int = option(4, "Photos per step, across all replicas.")
    steps: int = option(40000, "Training steps.")
    learning_rate: Optional[float] = option(
        None,
        "Adam initial learning rate (default 1e-3; 1e-5 when fine-tuning "
        "from published weights, which larger steps wreck at once).",
        kind="float",
    )
    decay_steps: int = option(10000, "ExponentialDecay (continuous) period.", unit="steps")
    decay_rate: float = option(1.0, "ExponentialDecay factor (1 = constant, as in the paper).")
    content_weight: Optional[float] = option(
        None, "Weight of the content loss (default 1; 0 with a --teacher).", kind="float"
    )
    style_weight: Optional[float] = option(
        None, "Weight of the style loss (default 10; 0 with a --teacher).", kind="float"
    )
    tv_weight: Optional[float] = option(
        None, "Weight of the total-variation loss (default 10; 0 with a --teacher).", kind="float"
    )
    style_scale: float = option(2.0, "Style image's longer side relative to image_size.")
    content_layers: tuple = option(JOHNSON_CONTENT_LAYERS, "Loss-network content layers.")
    style_layers: tuple = option(JOHNSON_STYLE_LAYERS, "Loss-network style layers.")
    backbone: str = option("vgg16", "Loss network: vgg16 (as in the paper) or vgg19.", choices=BACKBONES)
    weights: str = option("auto", "Loss network weights: auto, imagenet, hed (offline VGG16) or a path to an .h5 file.")
    precision: str = option(
        "auto",
        "Compute precision: auto (chosen for the device, as for nst-stylize), float32, "
        "mixed_float16 or mixed_bfloat16.",
        choices=PRECISIONS,
    )
    checkpoint_every: int = option(500, "Steps between checkpoints (and TensorBoard images).", unit="steps")
    seed: int = option(0, "Random seed (initial weights, data order).")

    def __post_init__(self):
        as_tuples(self, ("content_layers", "style_layers"))
        check_strings(self, ("arch", "init_from", "teacher", "backbone", "weights", "precision"))
        check_choice("teacher", self.teacher, TEACHERS)
        for name, default in PERCEPTUAL_WEIGHTS.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, 0.0 if self.teacher != "none" else default)
        if self.learning_rate is None:
            object.__setattr__(
                self, "learning_rate", FINE_TUNE_LEARNING_RATE if self.init_from == "published" else TRAIN_LEARNING_RATE
            )
        check_numbers(self, nonnegative=("seed", "steps", "refine_steps"))
        check_numbers(
            self,
            positive=(
                "image_size",
                "batch_size",
                "learning_rate",
                "decay_steps",
                "decay_rate",
                "style_scale",
                "max_scale",
                "checkpoint_every",
            ),
            nonnegative=("content_weight", "style_weight", "tv_weight", "teacher_weight"),
        )
        if self.max_scale < 1:
            raise UserError(f"max_scale must be 1 or more (1 = no random scaling), got {self.max_scale}")
        if self.refine_steps and (self.teacher == "none" or max(self.content_weight, self.style_weight) <= 0):
            raise UserError(
                "refine_steps adds the perceptual terms to a --teacher run; pass --teacher=arbitrary and a "
                "--style_weight (or --content_weight) above 0"
            )
        if self.teacher != "none" and self.arch == "arbitrary":
            raise UserError(
                "--teacher trains a per-style network; pass --arch=compact (or johnson, johnson_slim), "
                "or --teacher=none to train the any-style network"
            )
        if self.image_size < 32 or self.image_size % 4:
            raise UserError(f"image_size must be a multiple of 4 and at least 32, got {self.image_size}")
        check_choice("arch", self.arch, FAST_ARCHS)
        check_choice("init_from", self.init_from, INIT_FROM)
        if self.init_from == "published" and self.arch != "arbitrary":
            raise UserError(
                "init_from=published needs arch=arbitrary (only the any-style network has published weights)"
            )
        check_choice("backbone", self.backbone, BACKBONES)
        check_choice("precision", self.precision, PRECISIONS)

    def replace(self, **changes) -> "FastTrainConfig":
        return dataclasses.replace(self, **changes)
