"""How much memory a feed-forward network needs for a batch, checked before it runs.

A network's peak grows with the pixels it paints: its activations at full resolution. The bytes
per pixel below are the peak RSS growth measured on a 2-core AMD EPYC Zen 4 (TF 2.21, one image
of 1.5 and 6 MP, float32; bfloat16 measured within 4% of it, as its statistics and output stay
float32), plus 25% headroom for other CPUs and library versions:

==================  ============  ==========================================================
network             MiB per MP    (measured: peak RSS at 6 MP minus at 1.5 MP, over 4.5 MP)
==================  ============  ==========================================================
``arbitrary``       170           the any-style network (8/16/32 channels at full, 1/2, 1/4)
``compact``         79            every convolution at 1/4 or 1/8 scale
``johnson_slim``    225
``johnson``         875           32 channels at full resolution, 9x9 convolutions
==================  ============  ==========================================================

Without this check a 100-megapixel photo under an 8 GiB limit ended in TensorFlow's
``ResourceExhaustedError`` ("internal error"). Now a picture whose whole-picture call would need
more than :data:`WHOLE_LIMIT` (or more than is available) is painted in tiles
(:mod:`nst_tf.feedforward.tiled`), and one that cannot fit even so is refused with the largest
size that fits. Exported SavedModel and TFLite files of unknown architecture are not checked.
"""

from __future__ import annotations

import math
from typing import Optional

from nst_tf import memory
from nst_tf.errors import UserError
from nst_tf.images import fit_size

MIB_PER_MEGAPIXEL = {"arbitrary": 170, "compact": 79, "johnson_slim": 225, "johnson": 875}
HEADROOM = 1.25
#: Pictures whose whole-picture call needs more than this are painted in tiles.
WHOLE_LIMIT = 2 * 2**30
#: Bytes per pixel of the picture itself around a tiled call at full resolution: the photo and the
#: result as uint8 and as float copies (colour steps, masks), measured 35-40 on a 6 MP photo.
PICTURE_BYTES = 48


def needed_bytes(arch: str, height: int, width: int, batch: int = 1) -> int:
    """Estimated peak growth of one call of ``arch`` on a ``batch`` of H x W images."""
    return int(HEADROOM * MIB_PER_MEGAPIXEL[arch] * 2**20 * batch * height * width / 1e6)


def fits(arch: Optional[str], height: int, width: int, batch: int = 1, available: Optional[int] = None) -> bool:
    if arch not in MIB_PER_MEGAPIXEL:
        return True
    avail = available if available is not None else memory.limit_bytes()
    return avail is None or needed_bytes(arch, height, width, batch) <= avail


def should_tile(arch: Optional[str], height: int, width: int, available: Optional[int] = None) -> bool:
    """Whether one H x W picture is better painted in tiles: its whole-picture call would need
    more than :data:`WHOLE_LIMIT` or than the memory available."""
    if arch not in MIB_PER_MEGAPIXEL:
        return False
    limit = WHOLE_LIMIT if available is None else min(WHOLE_LIMIT, available)
    return needed_bytes(arch, height, width) > limit


def tiled_bytes(arch: str, height: int, width: int, tile_side: int) -> int:
    """Peak growth of a tiled call: one tile's work plus the picture's own arrays."""
    return needed_bytes(arch, tile_side, tile_side) + PICTURE_BYTES * height * width


TILES = (1024, 768, 512, 384, 256)  #: tile cores tried, largest first (large tiles waste less on halos)


def choose_tile(arch: str, height: int, width: int, halo: int, available: Optional[int]) -> int:
    """The largest tile core (px) whose tiled call fits in the memory available; a picture that
    does not fit even in the smallest tiles is refused, naming the largest --size that does."""
    for tile in TILES:
        if available is None or tiled_bytes(arch, height, width, tile + 2 * halo) <= available:
            return tile
    tile_side = TILES[-1] + 2 * halo
    room = available - needed_bytes(arch, tile_side, tile_side)
    scale = math.sqrt(max(room, 0) / (PICTURE_BYTES * height * width))
    side = int(max(height, width) * scale) // 16 * 16
    need = tiled_bytes(arch, height, width, tile_side)
    raise UserError(
        f"a {width}x{height} px image needs about {memory.gib(need)} even in tiles but {memory.gib(available)} "
        f"is available; pass --size={side} or smaller (the largest that fits) or free some memory"
    )


def check(arch: Optional[str], height: int, width: int, available: Optional[int] = None) -> None:
    """Refuse one H x W image that ``arch`` cannot paint in the memory available, naming the
    largest ``--size`` (longer side) that fits."""
    if arch not in MIB_PER_MEGAPIXEL:
        return
    avail = available if available is not None else memory.limit_bytes()
    if fits(arch, height, width, 1, avail):
        return
    need = needed_bytes(arch, height, width)
    side = int(max(height, width) * math.sqrt(avail / need)) // 16 * 16
    while side > 16 and needed_bytes(arch, *fit_size((height, width), side)) > avail:
        side -= 16  # the shorter side rounds up: a very long, thin image can land just over
    network = "the any-style network" if arch == "arbitrary" else f"a {arch} network"
    raise UserError(
        f"a {width}x{height} px image needs about {memory.gib(need)} with {network} but "
        f"{memory.gib(avail)} is available; pass --size={side} or smaller (the largest that fits) or free some memory"
    )
