"""Peak-memory estimate of a Gatys step, checked before anything large is allocated.

Model: ``peak = runtime + factor x (bytes of the activations kept for the backward pass)``,
where the activations are every VGG layer output up to the deepest layer used. The constants
were fitted to the peak RSS measured by ``benchmarks/step_time.py`` (VGG19, float32, CPU:
926 / 1272 / 2314 MiB at 128 / 256 / 512 px; see benchmarks/RESULTS.md): the TensorFlow
runtime with the network takes ~850 MiB and the step ~4.5x the activation bytes
(activations, their gradients, temporaries).
"""

from __future__ import annotations

import math
import os
from typing import Optional, Sequence

from nst_tf.errors import UserError

RUNTIME_BYTES = 850 * 2**20
ACTIVATION_FACTOR = 4.5

_CHANNELS = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}


def channels(layer: str) -> int:
    """Channels of a VGG layer (``blockB_...``)."""
    return _CHANNELS[int(layer[5])]


def _layer_sequence(backbone: str) -> list:
    convs = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}[backbone]
    seq = []
    for block, n in enumerate(convs, start=1):
        seq += [(f"block{block}_conv{i}", block, False) for i in range(1, n + 1)]
        seq.append((f"block{block}_pool", block, True))
    return seq


def activation_bytes(layers: Sequence[str], backbone: str, height: int, width: int, policy: str) -> int:
    """Bytes of all layer outputs up to the deepest of ``layers`` for one H x W image."""
    itemsize = 4 if policy == "float32" else 2
    seq = _layer_sequence(backbone)
    deepest = max(i for i, (name, _, _) in enumerate(seq) if name in set(layers))
    total = 0
    for name, block, is_pool in seq[: deepest + 1]:
        down = 2 ** (block if is_pool else block - 1)
        total += math.ceil(height / down) * math.ceil(width / down) * _CHANNELS[block]
    return total * itemsize


def estimate_peak_bytes(layers, backbone: str, height: int, width: int, policy: str) -> int:
    return int(RUNTIME_BYTES + ACTIVATION_FACTOR * activation_bytes(layers, backbone, height, width, policy))


# A tiled step keeps about this many image-sized float32 arrays alive besides one tile's work:
# the image, its best and last good copies, Adam's two moments, the gradient (NumPy and TF),
# the NumPy copy the tiles are cut from, the TV gradient, the content and style images.
IMAGE_COPIES = 12


def tiled_peak_bytes(layers, backbone: str, height: int, width: int, tile_height: int, tile_width: int,
                     policy: str, target_bytes: int) -> int:
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
        out = subprocess.run(["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=10).stdout.split()
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
    """Memory available to this process now (Linux ``MemAvailable``, cgroup limit), or None if unknown."""
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
    return avail


def gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


def check_fits(layers, backbone: str, height: int, width: int, policy: str,
               available: Optional[int] = None) -> int:
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
        f"the largest --size that fits is about {fit} px (or use --tile=auto, or free some memory)" if fit >= 16 else
        f"a {width}x{height} px run needs about {gib(need)} of memory but only {gib(avail)} is available"
    )


def _on_accelerator() -> bool:
    if os.environ.get("NST_TF_ASSUME_CPU"):
        return False
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU") or tf.config.list_logical_devices("TPU"))
