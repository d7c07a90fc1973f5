"""A training workdir of ``nst-train-fast``: its layout, what it holds, and the float32 copy.

    workdir/
      arch.txt          the network architecture (a key of nst_tf.feedforward.registry.ARCHS)
      checkpoints/      tf.train.CheckpointManager's checkpoints (model, optimizer, step)
      logs/             TensorBoard scalars and sample images
      saved_model/      the exported SavedModel (TF Serving, TFLite conversion)
      model.tflite, model_fp16.tflite     per-style networks: TFLite exports
      weights/          any-style networks: predict.weights.h5, transfer.weights.h5

Every other module asks this one for these names; none spells them out. Importing it does not
load TensorFlow, so commands can check paths before the slow import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from nst_tf.errors import UserError
from nst_tf.files import check_folder_writable

ARCH_FILE = "arch.txt"
CHECKPOINTS = "checkpoints"
LOGS = "logs"
SAVED_MODEL = "saved_model"
TFLITE = "model.tflite"
TFLITE_FP16 = "model_fp16.tflite"
WEIGHTS = "weights"
#: The any-style network's two halves, as written by export_weights and read by open_stylizer.
ANYSTYLE_WEIGHT_FILES = {"predict": "predict.weights.h5", "transfer": "transfer.weights.h5"}
ANY_STYLE = "arbitrary"  #: the architecture name of the any-style network (and of --model=arbitrary)


def arch(workdir) -> Optional[str]:
    """The architecture a training workdir holds: its ``arch.txt``; ``johnson`` for a workdir with
    checkpoints from before that file; None for anything else."""
    path = Path(workdir) / ARCH_FILE
    if path.is_file():
        return path.read_text().strip()
    return "johnson" if (Path(workdir) / CHECKPOINTS).is_dir() else None


def write_arch(workdir, name: str) -> None:
    from nst_tf.files import atomic_write

    atomic_write(Path(workdir) / ARCH_FILE, lambda fh: fh.write(name.encode()))


def is_any_style(model: str) -> bool:
    """Whether a ``--model`` value names the any-style network (published, or a trained workdir of it)."""
    model = str(model)
    return model == ANY_STYLE or ("://" not in model and arch(model) == ANY_STYLE)


def check(workdir: Path) -> None:
    """Refuse a --workdir that is a file or cannot be written, before any work."""
    workdir = Path(workdir)
    if workdir.exists() and not workdir.is_dir():
        raise UserError(f"--workdir {workdir} is a file; pass a folder (it is created if missing)")
    check_folder_writable(workdir, "choose another --workdir")


def checkpoints(workdir) -> Path:
    return Path(workdir) / CHECKPOINTS


def latest_checkpoint(workdir) -> Optional[str]:
    """The newest checkpoint's prefix, or None."""
    import tensorflow as tf

    folder = checkpoints(workdir)
    return tf.train.latest_checkpoint(str(folder)) if folder.is_dir() else None


def saved_model(path) -> Optional[Path]:
    """The SavedModel folder a ``--model`` path means (itself, or a workdir's export), or None."""
    p = Path(path)
    for candidate in (p, p / SAVED_MODEL):
        if (candidate / "saved_model.pb").is_file():
            return candidate
    return None


def anystyle_weights(folder) -> Path:
    """The folder holding the any-style weight files: ``folder/weights`` for a workdir, else ``folder``."""
    folder = Path(folder)
    return folder / WEIGHTS if (folder / WEIGHTS).is_dir() else folder


def has_anystyle_weights(folder) -> bool:
    """Whether ``folder`` holds any-style weights: the two files (itself or its ``weights/``) or checkpoints."""
    folder = Path(folder)
    return (anystyle_weights(folder) / ANYSTYLE_WEIGHT_FILES["predict"]).is_file() or checkpoints(folder).is_dir()


def float32_copy(model, build: Callable[[], object]):
    """The network with float32 compute (``build`` makes an empty one of the same layout).

    A model trained or run under a mixed policy (bfloat16 on a CPU with native bfloat16, float16
    on a GPU) exports for every runtime, TFLite included, which has no bfloat16 kernels. The
    variables are float32 under every policy, so the copy is exact.
    """
    from nst_tf import precision

    if model.dtype_policy.compute_dtype == "float32":
        return model
    with precision.policy_scope("float32"):
        copy = build()
    copy.set_weights(model.get_weights())
    return copy


def restore_per_style(workdir) -> tuple:
    """(float32 Keras model with the latest checkpoint's weights, architecture, checkpoint path) of a
    per-style workdir."""
    import tensorflow as tf

    from nst_tf import precision
    from nst_tf.feedforward.johnson import PER_STYLE_ARCHS, build_transformer

    workdir = Path(workdir)
    name = arch(workdir)
    if name not in PER_STYLE_ARCHS:
        raise UserError(f"{workdir / ARCH_FILE} names an unknown network {name!r}; expected one of {PER_STYLE_ARCHS}")
    latest = latest_checkpoint(workdir)
    with precision.policy_scope("float32"):
        model = build_transformer(name)
    tf.train.Checkpoint(model=model).restore(latest).expect_partial()
    return model, name, latest
