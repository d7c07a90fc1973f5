"""Configuration of every command: plain frozen dataclasses, no TensorFlow import.

One module per command (``stylize``, ``train``, ``apply``, ``web``); ``options`` holds the shared
choices, checks and :func:`option`. Each field carries what its flag needs (help, unit, kind), so
the commands' flags are generated from these classes (:mod:`nst_tf.cli.config_flags`) and the
values are checked once, here, with the same message for the Python API and every command.
"""

from nst_tf.config.apply import ApplyConfig
from nst_tf.config.options import (
    BACKBONES,
    FAST_ARCHS,
    INIT_FROM,
    INITS,
    JIT_OPTIONS,
    LOSSES,
    MIN_TILE,
    OPTIMIZERS,
    POOLING,
    PRECISIONS,
    PRESERVE_COLORS,
    TEACHERS,
    check_choice,
    option,
)
from nst_tf.config.stylize import GATYS_CONTENT_LAYERS, GATYS_STYLE_LAYERS, StylizeConfig
from nst_tf.config.train import JOHNSON_CONTENT_LAYERS, JOHNSON_STYLE_LAYERS, FastTrainConfig
from nst_tf.config.web import WebConfig

__all__ = [
    "ApplyConfig",
    "FastTrainConfig",
    "StylizeConfig",
    "WebConfig",
    "BACKBONES",
    "FAST_ARCHS",
    "TEACHERS",
    "INIT_FROM",
    "INITS",
    "JIT_OPTIONS",
    "LOSSES",
    "MIN_TILE",
    "OPTIMIZERS",
    "POOLING",
    "PRECISIONS",
    "PRESERVE_COLORS",
    "GATYS_CONTENT_LAYERS",
    "GATYS_STYLE_LAYERS",
    "JOHNSON_CONTENT_LAYERS",
    "JOHNSON_STYLE_LAYERS",
    "check_choice",
    "option",
]
