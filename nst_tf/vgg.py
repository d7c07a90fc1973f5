"""The VGG layout as plain data (no TensorFlow): the one description memory, tiling and benchmarks read.

Simonyan & Zisserman (2015): five blocks of 3x3 'same' convolutions (VGG16: 2, 2, 3, 3, 3 a
block; VGG19: 2, 2, 4, 4, 4) with 64, 128, 256, 512, 512 channels, each block ending in a 2x2
pooling of stride 2. Keras names the layers ``block{B}_conv{I}`` and ``block{B}_pool``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Sequence

from nst_tf.config import BACKBONES, check_choice

BLOCK_CONVS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
BLOCK_CHANNELS = (64, 128, 256, 512, 512)

_LAYER_NAME = re.compile(r"^block(\d)_(?:conv(\d)|pool)$")


@dataclass(frozen=True)
class VGGLayer:
    name: str  #: Keras name, e.g. ``block4_conv2`` or ``block4_pool``
    block: int  #: 1..5
    kind: str  #: ``conv`` (3x3, stride 1, ReLU included) or ``pool`` (2x2, stride 2)
    channels: int  #: output channels
    stride: int  #: input pixels per output position
    fan_in: int  #: input channels


def vgg_layers(backbone: str) -> list[VGGLayer]:
    """The convolution and pooling layers of ``backbone`` in order."""
    check_choice("backbone", backbone, BACKBONES)
    out, c_in = [], 3
    for block, (convs, channels) in enumerate(zip(BLOCK_CONVS[backbone], BLOCK_CHANNELS), start=1):
        stride = 2 ** (block - 1)
        for i in range(1, convs + 1):
            out.append(VGGLayer(f"block{block}_conv{i}", block, "conv", channels, stride, c_in))
            c_in = channels
        out.append(VGGLayer(f"block{block}_pool", block, "pool", channels, stride * 2, channels))
    return out


def layer_names(backbone: str) -> list[str]:
    """Names of the convolution and pooling layers of ``backbone`` in order."""
    return [layer.name for layer in vgg_layers(backbone)]


def layer_info(name: str, backbone: str) -> VGGLayer:
    """The :class:`VGGLayer` of a canonical layer name (see :func:`resolve_layer` for aliases)."""
    for layer in vgg_layers(backbone):
        if layer.name == name:
            return layer
    raise ValueError(f"{name!r} is not a layer of {backbone}")


def layer_block(name: str) -> int:
    """Block number (1..5) of a canonical layer name, for either backbone."""
    m = _LAYER_NAME.match(name)
    if not m:
        raise ValueError(f"{name!r} is not a VGG layer name (blockB_convI or blockB_pool)")
    return int(m.group(1))


def min_input_side(layers: Sequence[str]) -> int:
    """Smallest image side [px] that still gives the deepest of ``layers`` one feature position."""
    return 2 ** (max(layer_block(n) for n in layers) - 1)


def receptive_field(layer: str, backbone: str) -> tuple:
    """``(stride, before, after)``: a feature at grid position ``p`` of ``layer`` is computed from
    input pixels ``stride * p - before`` to ``stride * p + after`` (3x3 'same' convolutions,
    2x2 pooling with stride 2)."""
    stride, before, after = 1, 0, 0
    for info in vgg_layers(backbone):
        if info.kind == "pool":
            after += stride
            stride *= 2
        else:
            before += stride
            after += stride
        if info.name == layer:
            return stride, before, after
    raise ValueError(f"{layer!r} is not a layer of {backbone}")


def geometry(layers: Sequence[str], backbone: str) -> tuple:
    """``(align, halo)`` in pixels for exact tiling at ``layers``: tile edges on multiples of
    ``align`` (the deepest layer's stride), and a halo covering every layer's receptive field."""
    fields = [receptive_field(n, backbone) for n in layers]
    align = max(stride for stride, _, _ in fields)
    reach = max(max(before, after) for _, before, after in fields)
    return align, align * math.ceil(reach / align)
