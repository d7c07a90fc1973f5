"""Command-line flags generated from a config dataclass: name, default, help and kind in one place.

Each field made with :func:`nst_tf.config.option` becomes an absl flag of the same name.
Values are not checked here: the config checks them once, with the same message for the
Python API and every command.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Callable, Iterable

from absl import flags

from nst_tf.cli.common import split_list


def _help(f: dataclasses.Field) -> str:
    meta = f.metadata
    text = meta["help"]
    if meta.get("unit"):
        text += f" [{meta['unit']}]"
    return text


def define(cls, skip: Iterable[str] = ()) -> Callable[..., object]:
    """Define one flag per field of ``cls`` except ``skip``; returns ``config_from_flags(**extra)``,
    which builds a ``cls`` from the parsed flags (its ``names`` attribute lists the flags)."""
    skip = set(skip)
    names = []
    for f in dataclasses.fields(cls):
        if f.name in skip or "kind" not in f.metadata:
            continue
        kind, default, text = f.metadata["kind"], f.default, _help(f)
        if kind == "bool":
            flags.DEFINE_bool(f.name, default, text)
        elif kind == "int":
            flags.DEFINE_integer(f.name, default, text)
        elif kind == "float":
            flags.DEFINE_float(f.name, default, text)
        elif kind in ("list", "floats"):
            flags.DEFINE_list(f.name, None if default is None else [str(v) for v in default], text)
        else:
            flags.DEFINE_string(f.name, None if default is None else str(default), text)
        names.append(f.name)

    renamed = {old: new for old, new in getattr(cls, "RENAMED_FLAGS", {}).items() if new in names}
    for old, new in renamed.items():
        flags.DEFINE_string(old, None, f"Deprecated spelling of --{new} (works for one release).")

    def config_from_flags(**extra):
        for old, new in renamed.items():
            _take_renamed(old, new)
        return build(cls, names, **extra)

    config_from_flags.names = tuple(names)
    return config_from_flags


def build(cls, names: Iterable[str], **extra):
    """An instance of ``cls`` from the parsed flags ``names`` (plus ``extra`` fields)."""
    values = {}
    for name in names:
        value = getattr(flags.FLAGS, name)
        if isinstance(value, list):
            value = tuple(split_list(value)) or None
        values[name] = value
    values.update(extra)
    return cls(**values)


def _take_renamed(old: str, new: str) -> None:
    """Move a value given under a flag's old spelling to its new name, with a one-line warning."""
    from nst_tf.errors import UserError

    held = flags.FLAGS[old]
    if not held.present:
        return
    if flags.FLAGS[new].present:
        raise UserError(f"--{old} is the old spelling of --{new}; give only --{new}")
    logging.getLogger("nst_tf").warning("--%s is deprecated and will be removed; use --%s", old, new)
    try:
        flags.FLAGS[new].parse(held.value)
    except flags.IllegalFlagValueError as exc:
        raise UserError(f"--{old}: {exc}") from None
