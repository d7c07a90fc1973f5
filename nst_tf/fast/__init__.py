"""Fast style transfer (Johnson, Alahi & Fei-Fei, 2016): a feed-forward network per style.

``transformer`` holds the image transformation network, ``data`` the photo pipeline,
``train`` the training loop and ``export`` the SavedModel / TFLite exports.
"""

from pathlib import Path
from typing import Optional

ARCH_FILE = "arch.txt"  #: a workdir's network architecture (nst_tf.fast.transformer.ARCHS)


def workdir_arch(workdir: Path) -> Optional[str]:
    """The architecture a training workdir holds: its ``arch.txt``; ``johnson`` for a workdir with
    checkpoints from before that file; None for a new one."""
    path = Path(workdir) / ARCH_FILE
    if path.is_file():
        return path.read_text().strip()
    return "johnson" if (Path(workdir) / "checkpoints").is_dir() else None
