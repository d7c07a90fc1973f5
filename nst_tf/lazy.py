"""Package names imported on first use, so ``import nst_tf`` (or a subpackage) does not load TensorFlow."""

from __future__ import annotations

import importlib


def exports(package: str, names: dict) -> tuple:
    """``(__getattr__, __dir__)`` for a package whose ``names`` map to the modules defining them."""

    def __getattr__(name):
        if name in names:
            return getattr(importlib.import_module(names[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(importlib.import_module(package).__dict__) | set(names))

    return __getattr__, __dir__
