"""A web job's parameters: the form fields, checked against the server's limits, with one-line errors."""

from __future__ import annotations

import math
from dataclasses import dataclass

from nst_tf.config import PRESERVE_COLORS, check_choice
from nst_tf.errors import UserError

#: the page calls them "instant", "paint", "print size" and "video"
METHODS = ("arbitrary", "optimize", "print", "video")


@dataclass(frozen=True)
class Limits:
    """What a job may ask for. ``size`` is the longer side of the result [px]."""

    min_size: int = 64
    max_size_arbitrary: int = 2048
    max_size_optimize: int = 1024
    default_size_arbitrary: int = 1024  #: or the photo's own size, if smaller
    default_size_optimize: int = 384  #: or the photo's own size, if smaller
    max_size_video: int = 720
    default_size_video: int = 384  #: or the clip's own size, if smaller
    max_video_seconds: float = 10.0  #: a short clip: painted at about 20-60 frames/s at 384 px on 2 cores
    max_steps: int = 1000
    default_steps: int = 100  #: reaches the earlier 150-step result at 384 px (benchmarks/RESULTS.md, AMX)
    max_style_weight: float = 1e4
    default_style_weight: float = 10.0

    def describe(self) -> dict:
        return {
            "size": {
                "min": self.min_size,
                "max": {
                    "arbitrary": self.max_size_arbitrary,
                    "optimize": self.max_size_optimize,
                    "print": None,
                    "video": self.max_size_video,
                },
                "default": {
                    "arbitrary": self.default_size_arbitrary,
                    "optimize": self.default_size_optimize,
                    "print": None,  # the photo's own size
                    "video": self.default_size_video,
                },
            },
            "steps": {"min": 1, "max": self.max_steps, "default": self.default_steps},
            "style_weight": {"min": 0, "max": self.max_style_weight, "default": self.default_style_weight},
            "strength": {"min": 0, "max": 1, "default": 1},
            "preserve_colors": {"choices": list(PRESERVE_COLORS), "default": "none"},
            "methods": list(METHODS),
            "video_seconds": {"max": self.max_video_seconds},
        }


@dataclass(frozen=True)
class JobParams:
    method: str
    size: int
    steps: int
    strength: float
    style_weight: float
    preserve_colors: str


FIELDS = ("content", "style", "style_name", "method", "size", "steps", "strength", "style_weight", "preserve_colors")


def _number(fields: dict, name: str, kind, lo, hi, default):
    text = fields.get(name)
    if text is None or str(text).strip() == "":
        return default
    try:
        value = kind(str(text).strip())
    except ValueError:
        raise UserError(f"{name} must be a {'whole number' if kind is int else 'number'}, got {text!r}") from None
    if not (math.isfinite(value) and lo <= value <= hi):
        raise UserError(f"{name} must be between {lo:g} and {hi:g}, got {text!r}")
    return value


def parse_method(fields: dict) -> str:
    """The form's method (the page's names accepted), checked."""
    method = str(fields.get("method") or "arbitrary").strip()
    method = {"instant": "arbitrary", "paint": "optimize", "print size": "print"}.get(method, method)
    check_choice("method", method, METHODS)
    return method


def parse_params(fields: dict, content_shape: tuple, limits: Limits = Limits()) -> JobParams:
    """The job's parameters from the form's text fields, checked against ``limits``."""
    method = parse_method(fields)
    longest = max(content_shape[:2])
    if method == "arbitrary":
        size = _number(
            fields,
            "size",
            int,
            limits.min_size,
            limits.max_size_arbitrary,
            max(limits.min_size, min(longest, limits.default_size_arbitrary)),
        )
    elif method == "print":
        size = longest  # the photo's own size; the size field does not apply
    elif method == "video":
        default = max(limits.min_size, min(longest, limits.default_size_video))  # never enlarged
        size = _number(fields, "size", int, limits.min_size, limits.max_size_video, default)
    else:
        default = max(limits.min_size, min(longest, limits.default_size_optimize))  # never enlarged
        size = _number(fields, "size", int, limits.min_size, limits.max_size_optimize, default)
    preserve = str(fields.get("preserve_colors") or "none").strip().lower()
    preserve = {
        "true": "luminance",
        "on": "luminance",
        "1": "luminance",
        "false": "none",
        "off": "none",
        "0": "none",
    }.get(preserve, preserve)
    check_choice("preserve_colors", preserve, PRESERVE_COLORS)
    return JobParams(
        method=method,
        size=size,
        steps=_number(fields, "steps", int, 1, limits.max_steps, limits.default_steps),
        strength=_number(fields, "strength", float, 0.0, 1.0, 1.0),
        style_weight=_number(fields, "style_weight", float, 0.0, limits.max_style_weight, limits.default_style_weight),
        preserve_colors=preserve,
    )
