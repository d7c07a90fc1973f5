"""What every command's config shares: the choices, the checks, and :func:`option` (a field with
what its flag needs). Plain data, no TensorFlow import."""

from __future__ import annotations

import dataclasses
import math

from nst_tf.errors import UserError

BACKBONES = ("vgg19", "vgg16")
#: nst-train-fast --arch: the per-style networks (nst_tf.feedforward.johnson.ARCHS)
FAST_ARCHS = ("johnson", "johnson_slim", "compact", "arbitrary")
#: nst-train-fast --teacher (nst_tf.feedforward.distill)
TEACHERS = ("none", "arbitrary")
INIT_FROM = ("none", "published")
POOLING = ("max", "avg")
PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
LOSSES = ("normalized", "tutorial", "keras_example")
OPTIMIZERS = ("adam", "sgd", "lbfgs")
PRESERVE_COLORS = ("none", "luminance", "histogram")
INITS = ("content", "noise", "style", "arbitrary")
JIT_OPTIONS = ("auto", "on", "off")
#: nst-apply --jit_compile=auto compiles the any-style network with XLA from this many inputs on


def as_tuples(obj, names) -> None:
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


def check_strings(obj, names) -> None:
    for name in names:
        value = getattr(obj, name)
        if value is not None and not isinstance(value, str):
            raise UserError(f"{name} must be text, got {value!r}")


def check_numbers(obj, positive=(), nonnegative=()) -> None:
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


def check_weights(label: str, weights) -> None:
    if weights is not None and (any(float(w) < 0 for w in weights) or sum(map(float, weights)) <= 0):
        raise UserError(f"{label} must be zero or more and not all zero")


MIN_TILE = 32  #: smallest --tile [px]


def tile_option(value):
    """``auto``, ``off`` or a tile size of at least MIN_TILE px (int, or a string of digits)."""
    text = str(value).strip().lower()
    if text in ("auto", "off"):
        return text
    if text.isdigit() and int(text) >= MIN_TILE:
        return int(text)
    raise UserError(f"tile must be auto, off or a size of at least {MIN_TILE} px, got {value!r}")


def steps_option(value):
    """A step count (int, or a string of digits) or one count per scale (list, tuple or ``"200,60,20"``)."""
    items = (
        value.split(",") if isinstance(value, str) else (list(value) if isinstance(value, (list, tuple)) else [value])
    )
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


def jit_option(value) -> str:
    """``auto``, ``on`` or ``off``; booleans and their usual spellings are accepted."""
    text = str(value).strip().lower()
    text = {"true": "on", "1": "on", "yes": "on", "false": "off", "0": "off", "no": "off"}.get(text, text)
    check_choice("jit_compile", text, JIT_OPTIONS)
    return text


def floats_option(name: str, value):
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
