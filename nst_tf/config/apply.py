"""nst-apply (and nst-apply-beam): applying a feed-forward network."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar, Optional

from nst_tf.config.options import (
    JIT_OPTIONS,
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
)
from nst_tf.errors import UserError

#: the default ``temporal_denoise`` of nst-apply and nst-web's video jobs (tuned on the chelsea and
#: astronaut clips of benchmarks/video_cameras.py; rocket and grace_hopper held out)
DEFAULT_DENOISE = 0.7
#: the default ``temporal_blend`` of nst-apply and nst-web's video jobs
DEFAULT_BLEND = 0.5
#: ``temporal_hold``'s default (benchmarks/RESULTS.md, issue #34)
DEFAULT_HOLD = True


@dataclass(frozen=True)
class ApplyConfig:
    """Applying a trained feed-forward network (``nst-apply``). Each field is a flag of that command."""

    #: Old flag spellings that still work for one release, with a one-line deprecation warning
    #: (``--temporal_weight`` is nst-stylize's temporal *loss weight*; here it was the blend).
    RENAMED_FLAGS: ClassVar[dict] = {"temporal_weight": "temporal_blend"}

    batch_size: int = option(4, "Same-size images per batch.")
    blend: float = option(0.0, "Fraction of the original mixed back into the result (0..1).")
    preserve_colors: str = option(
        "none",
        "Keep the photo's colours: none, luminance (transfer luminance only, YIQ) "
        "or histogram (colour statistics matched to the photo's; a trained "
        "network's style is fixed, so its result is recoloured).",
        choices=PRESERVE_COLORS,
    )
    style_masks: Optional[tuple] = option(
        None,
        "With several --model: one mask per model, aligned with the input "
        "(white = that model's style; where no mask covers, the photo).",
        kind="list",
    )
    feather: float = option(0.02, "Soften the mask edges by a Gaussian of this fraction of the image's longer side.")
    size: Optional[int] = option(
        None,
        "Resize each input so its longer side is this many pixels first (default: full resolution).",
        kind="int",
        unit="px",
    )
    work_size: int = option(
        1024,
        "Brush-stroke scale: a still image larger than this (longer side) is painted at this size, "
        "then brought to its own size with its detail, so a print has the strokes of this preview; "
        "0 paints at full resolution (fine strokes; large images in tiles).",
        unit="px",
    )
    bits: int = option(8, "Bits per channel of still-image outputs: 8, or 16 (.png and .tif outputs).")
    strength: float = option(
        1.0,
        "With --model=arbitrary: how much of the painting's style, 0..1 (the style vector "
        "is mixed with the photo's own, as in Magenta).",
    )
    style_weights: Optional[tuple] = option(
        None,
        "With --model=arbitrary and several --style: mix their style "
        "vectors with these weights, one per style (default: equal).",
        kind="floats",
    )
    precision: str = option(
        "auto",
        "Compute precision of the any-style network and of a per-style network opened from its "
        "workdir (exported files run as exported): auto measures float32 against bfloat16 once on "
        "CPUs that have it (cached), else as for nst-stylize.",
        choices=PRECISIONS,
    )
    jit_compile: str = option(
        "auto",
        "XLA-compile the network (the any-style one, or a per-style one from its workdir). It compiles "
        "once per image shape "
        "and then may run each image faster or slower, depending on the CPU: auto measures both once "
        "on this machine (cached) and weighs the compile time over the run's inputs; on or off.",
        choices=JIT_OPTIONS,
    )

    align_grid: bool = option(
        True,
        "Videos and animations: pad each frame by the camera's accumulated motion so a panning shot "
        "stays on the network's stride grid (most of a pan's flicker comes from that grid), and paint "
        "a zoom or turn on a canvas where the scene keeps one geometry.",
    )
    temporal_blend: float = option(
        DEFAULT_BLEND,
        "Videos and animations: how much of the previous output, warped along the "
        "optical flow, is kept where the motion is reliable (0 = independent "
        "frames, which flicker; below 1).",
    )

    temporal_denoise: float = option(
        DEFAULT_DENOISE,
        "Videos and animations: how much of the previous frame, moved along the motion, is mixed "
        "into each photo before it is painted where the motion is reliable, scaled by the clip's "
        "measured noise (0 = off; a clean clip is painted as it is). Steadies noisy footage "
        "without blurring the painting.",
    )
    temporal_hold: bool = option(
        DEFAULT_HOLD,
        "Videos and animations: keep the previous photo's fine detail wherever the local "
        "brightness has not changed beyond the clip's noise, and keep more of the previous output "
        "where such a still area was painted anew, so flat skies and walls (night skies above all) "
        "stop repainting their noise; brightness changes still pass (--notemporal_hold: off).",
    )

    def __post_init__(self):
        as_tuples(self, ("style_masks",))
        object.__setattr__(self, "jit_compile", jit_option(self.jit_compile))
        check_numbers(self, nonnegative=("temporal_blend", "temporal_denoise"))
        for name in ("temporal_blend", "temporal_denoise"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise UserError(f"{name} must be at least 0 and below 1, got {getattr(self, name)}")
        object.__setattr__(self, "style_weights", floats_option("style_weights", self.style_weights))
        check_strings(self, ("preserve_colors", "precision"))
        check_numbers(self, positive=("batch_size",), nonnegative=("feather", "blend", "strength"))
        if not 0.0 <= self.blend <= 1.0:
            raise UserError(f"blend must be between 0 and 1, got {self.blend}")
        if not 0.0 <= self.strength <= 1.0:
            raise UserError(f"strength must be between 0 and 1, got {self.strength}")
        if self.size is not None and (isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 8):
            raise UserError(f"size must be a whole number of at least 8 px, got {self.size!r}")
        if (
            isinstance(self.work_size, bool)
            or not isinstance(self.work_size, int)
            or not (self.work_size == 0 or self.work_size >= 64)
        ):
            raise UserError(
                f"work_size must be 0 (full resolution) or a whole number of at least 64 px, got {self.work_size!r}"
            )
        if self.bits not in (8, 16):
            raise UserError(f"bits must be 8 or 16, got {self.bits!r}")
        check_weights("style weights", self.style_weights)
        check_choice("preserve_colors", self.preserve_colors, PRESERVE_COLORS)
        check_choice("precision", self.precision, PRECISIONS)

    def replace(self, **changes) -> "ApplyConfig":
        return dataclasses.replace(self, **changes)
