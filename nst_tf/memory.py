"""The memory model of a Gatys step and the plan it leads to, decided before anything large is allocated.

``plan_memory`` chooses, per scale, between the whole image at once and exact tiles
(``nst_tf.tiling``), or refuses with the largest size that fits.

Model: ``peak = runtime + factor x (bytes of the activations kept for the backward pass)``,
where the activations are every VGG layer output up to the deepest layer used. The constants
were fitted to the peak RSS measured by ``benchmarks/step_time.py`` (VGG19, float32, CPU:
926 / 1272 / 2314 MiB at 128 / 256 / 512 px; see benchmarks/RESULTS.md): the TensorFlow
runtime with the network takes ~850 MiB and the step ~4.5x the activation bytes
(activations, their gradients, temporaries). The runtime term carries 150 MiB of headroom over that
fit: the peak moves by ~10% between CPUs and library versions (VGG16 at 255x384 px: 1422 MiB on a
2-core AVX2 EPYC, 1483 MiB on the CI machine, against 1348 MiB from the bare fit), and an estimate
below the real peak lets a run through to an out-of-memory kill.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Optional, Sequence

from nst_tf import tiling, vgg
from nst_tf.errors import UserError

# The process before any image: Python, TensorFlow, the backbone (measured 1.0-1.2 GiB on the CPU
# machines here; a clean install of the same versions ran 0.1-0.2 GiB higher than an older one).
RUNTIME_BYTES = 1250 * 2**20
ACTIVATION_FACTOR = 4.5


def activation_bytes(layers: Sequence[str], backbone: str, height: int, width: int, policy: str) -> int:
    """Bytes of all layer outputs up to the deepest of ``layers`` for one H x W image."""
    itemsize = 4 if policy == "float32" else 2
    seq = vgg.vgg_layers(backbone)
    wanted = set(layers)
    deepest = max(i for i, layer in enumerate(seq) if layer.name in wanted)
    return itemsize * sum(
        math.ceil(height / layer.stride) * math.ceil(width / layer.stride) * layer.channels
        for layer in seq[: deepest + 1]
    )


def estimate_peak_bytes(layers, backbone: str, height: int, width: int, policy: str) -> int:
    return int(RUNTIME_BYTES + ACTIVATION_FACTOR * activation_bytes(layers, backbone, height, width, policy))


# A tiled step keeps about this many image-sized float32 arrays alive besides one tile's work:
# the image, its best and last good copies, Adam's two moments, the gradient (NumPy and TF),
# the NumPy copy the tiles are cut from, the TV gradient, the content and style images.
IMAGE_COPIES = 12


def tiled_peak_bytes(
    layers, backbone: str, height: int, width: int, tile_height: int, tile_width: int, policy: str, target_bytes: int
) -> int:
    """Peak of a tiled step: one tile (halo included) at a time, plus the whole-image state and
    ``target_bytes`` of content-feature targets kept for all tiles."""
    one_tile = estimate_peak_bytes(layers, backbone, tile_height, tile_width, policy)
    return int(one_tile + IMAGE_COPIES * height * width * 3 * 4 + target_bytes)


def gpu_total_bytes() -> Optional[int]:
    """Memory of the first NVIDIA GPU from ``nvidia-smi`` (TensorFlow reserves most of it for
    itself once started, so the free figure means nothing), or None."""
    import shutil
    import subprocess

    if not shutil.which("nvidia-smi"):
        return None
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.split()
        return int(float(out[0]) * 2**20) if out else None
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


GPU_USABLE = 0.9  #: share of a GPU's memory a plan may fill (the rest: CUDA context, cuDNN workspaces)


def limit_bytes() -> Optional[int]:
    """The memory a run may use: ``$NST_TF_MEMORY_GIB`` if set, else on a GPU 90% of its memory
    (``nvidia-smi``), else the RAM available now; None when unknown (TPU)."""
    text = os.environ.get("NST_TF_MEMORY_GIB")
    if text:
        try:
            return int(float(text) * 2**30)
        except ValueError:
            raise UserError(f"NST_TF_MEMORY_GIB must be a number of GiB, got {text!r}") from None
    if not _on_accelerator():
        return available_bytes()
    total = gpu_total_bytes()
    return int(total * GPU_USABLE) if total else None


def available_bytes() -> Optional[int]:
    """Memory available to this process now (Linux ``MemAvailable``, the cgroup limit, and the room left
    under an address-space limit such as ``ulimit -v``), or None if unknown."""
    avail = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
    except OSError:
        return None
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = open(limit_file).read().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:
            avail = min(avail, int(text)) if avail else int(text)
    room = address_space_room()
    if room is not None:
        avail = min(avail, room) if avail else room
    return avail


def address_space_room() -> Optional[int]:
    """Bytes this process may still map under its address-space limit (``ulimit -v``), or None if unlimited."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    used = 0
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    used = int(line.split()[1]) * 1024
    except OSError:
        pass
    return max(0, soft - used)


def gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


def check_fits(layers, backbone: str, height: int, width: int, policy: str, available: Optional[int] = None) -> int:
    """Estimated peak bytes; raises :class:`UserError` with the largest size that fits if it does not."""
    need = estimate_peak_bytes(layers, backbone, height, width, policy)
    avail = available if available is not None else limit_bytes()
    if avail is None or need <= avail:
        return need
    act = need - RUNTIME_BYTES
    room = avail - RUNTIME_BYTES
    side = max(height, width)
    fit = int(side * math.sqrt(room / act)) if room > 0 else 0
    fit -= fit % 16
    raise UserError(
        f"a {width}x{height} px run needs about {gib(need)} of memory but {gib(avail)} is available; "
        f"the largest --size that fits is about {fit} px (or use --tile=auto, or free some memory)"
        if fit >= 16
        else f"a {width}x{height} px run needs about {gib(need)} of memory but only {gib(avail)} is available"
    )


def _on_accelerator() -> bool:
    if os.environ.get("NST_TF_ASSUME_CPU"):
        return False
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU") or tf.config.list_logical_devices("TPU"))


AUTO_MIN_TILE = 128  #: --tile=auto never picks smaller tiles: below this the halo's work dominates [px]


def _content_target_bytes(tiles: list, content_layers, strides: dict, backbone: str) -> int:
    total = 0
    for t in tiles:
        y0, y1, x0, x1 = t.outer
        for n in content_layers:
            s = strides[n]
            total += ((y1 - y0) // s) * ((x1 - x0) // s) * vgg.layer_info(n, backbone).channels * 4
    return total


@dataclass(frozen=True)
class MemoryPlan:
    tile: int | None  #: tile interior [px], None: the whole image at once
    need_bytes: int  #: estimated peak
    tiles: int = 1
    halo: int = 0

    def describe(self) -> str:
        text = f"est. peak memory {gib(self.need_bytes)}"
        if self.tile:
            text += f" in {self.tiles} tiles of up to {self.tile} px + {self.halo} px halo"
        return text


def plan_memory(
    option,
    content_layers,
    style_layers,
    backbone: str,
    height: int,
    width: int,
    policy: str,
    available: int | None = None,
) -> MemoryPlan:
    """Decide between a whole-image step and tiles for ``--tile=option`` (``auto``, ``off`` or a size).

    ``auto`` tiles only when the whole image would not fit, with the largest tiles that fit.
    Raises :class:`UserError` when nothing fits, naming the largest size that would.
    """
    layers = tuple(dict.fromkeys(tuple(content_layers) + tuple(style_layers)))
    avail = available if available is not None else limit_bytes()
    if option == "off":
        return MemoryPlan(None, check_fits(layers, backbone, height, width, policy, avail))
    whole = estimate_peak_bytes(layers, backbone, height, width, policy)
    align, halo = vgg.geometry(layers, backbone)
    strides = {n: vgg.receptive_field(n, backbone)[0] for n in layers}

    def tiled(tile):
        tiles = tiling.plan(height, width, tile, halo, align)
        if len(tiles) == 1:
            return whole, 1
        th = max(t.outer[1] - t.outer[0] for t in tiles)
        tw = max(t.outer[3] - t.outer[2] for t in tiles)
        need = tiled_peak_bytes(
            layers,
            backbone,
            height,
            width,
            th,
            tw,
            policy,
            _content_target_bytes(tiles, content_layers, strides, backbone),
        )
        return need, len(tiles)

    if option != "auto":
        need, count = tiled(int(option))
        if count == 1:
            return MemoryPlan(None, check_fits(layers, backbone, height, width, policy, avail))
        if avail is not None and need > avail:
            raise UserError(
                f"tiles of {option} px need about {gib(need)} of memory but "
                f"{gib(avail)} is available; use a smaller --tile or --tile=auto"
            )
        return MemoryPlan(int(option), need, count, halo)
    if avail is None or whole <= avail:
        return MemoryPlan(None, whole)
    side = max(height, width)
    state = IMAGE_COPIES * height * width * 3 * 4
    for count in range(2, side // AUTO_MIN_TILE + 1) if state < avail else ():
        tile = align * math.ceil(math.ceil(side / count) / align)
        need, n_tiles = tiled(tile)
        if need <= avail:
            return MemoryPlan(tile, need, n_tiles, halo)
    # Not even the smallest tiles fit: the whole-image state is too large.
    grow = ((AUTO_MIN_TILE + 2 * halo) / AUTO_MIN_TILE) ** 2  # content targets are kept for halos too
    per_pixel = IMAGE_COPIES * 3 * 4 + sum(
        grow * vgg.layer_info(n, backbone).channels * 4 / strides[n] ** 2 for n in dict.fromkeys(content_layers)
    )
    one_tile = estimate_peak_bytes(layers, backbone, AUTO_MIN_TILE + 2 * halo, AUTO_MIN_TILE + 2 * halo, policy)
    need = one_tile + per_pixel * height * width
    room = max(avail - one_tile, 0)
    fit = int(math.sqrt(room / per_pixel * side / min(height, width)))
    fit -= fit % 16
    raise UserError(
        f"a {width}x{height} px run needs about {gib(need)} of memory even in tiles but "
        f"{gib(avail)} is available; the largest --size that fits is about {fit} px"
    )
