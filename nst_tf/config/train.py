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
    as_tuples,
    check_choice,
    check_numbers,
    check_strings,
    option,
)
from nst_tf.errors import UserError

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
        "Network: johnson (Johnson et al. 2016: 32/64/128 channels, 5 residual blocks) or "
        "johnson_slim (16/32/64 channels, 3 blocks: several times faster on CPUs and "
        "phones) or arbitrary (the any-style network of Ghiasi et al. 2017: --style is "
        "then a folder of paintings).",
        choices=FAST_ARCHS,
    )
    init_from: str = option(
        "none",
        "Starting weights: none (random) or published (with --arch=arbitrary: "
        "Magenta's, to fine-tune on your paintings).",
        choices=INIT_FROM,
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
    content_weight: float = option(1.0, "Weight of the content loss.")
    style_weight: float = option(10.0, "Weight of the style loss.")
    tv_weight: float = option(10.0, "Weight of the total-variation loss.")
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
        check_strings(self, ("arch", "init_from", "backbone", "weights", "precision"))
        if self.learning_rate is None:
            object.__setattr__(
                self, "learning_rate", FINE_TUNE_LEARNING_RATE if self.init_from == "published" else TRAIN_LEARNING_RATE
            )
        check_numbers(self, nonnegative=("seed", "steps"))
        check_numbers(
            self,
            positive=(
                "image_size",
                "batch_size",
                "learning_rate",
                "decay_steps",
                "decay_rate",
                "style_scale",
                "checkpoint_every",
            ),
            nonnegative=("content_weight", "style_weight", "tv_weight"),
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
