"""Deprecated: the any-style network moved to :mod:`nst_tf.feedforward` (this name works for one release)."""

import importlib
import warnings

_NAMES = ("ArbitraryStylizer", "mix_vectors", "save_vector", "load_vector")
__all__ = list(_NAMES)


def __getattr__(name):
    if name in _NAMES:
        warnings.warn(f"nst_tf.arbitrary.{name} moved to nst_tf.feedforward.{name}", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module("nst_tf.feedforward.anystyle_stylizer"), name)
    raise AttributeError(f"module 'nst_tf.arbitrary' has no attribute {name!r}")
