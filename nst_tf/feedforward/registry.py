"""Every feed-forward architecture in one table: what trains it, what its style input is, how it exports.

=================  ===============================  ==========================================
name               trainer                          style input (``--style`` of training)
=================  ===============================  ==========================================
``johnson``        :class:`train.Trainer`           one painting
``johnson_slim``   :class:`train.Trainer`           one painting
``compact``        :class:`train.Trainer`           one painting
``arbitrary``      :class:`anystyle_train.          a folder of paintings (or one)
                   ArbitraryTrainer`
=================  ===============================  ==========================================

Any per-style network trains from a teacher instead (``--teacher=arbitrary``:
:class:`distill.DistillTrainer`). ``train``, ``make_trainer`` and ``export`` look the
architecture up here; nothing else branches on its name. Importing this module does not load
TensorFlow (the entries import lazily).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

from nst_tf.errors import UserError
from nst_tf.feedforward import workdir as wd


def _per_style_trainer():
    from nst_tf.feedforward.train import Trainer

    return Trainer


def _distill_trainer():
    from nst_tf.feedforward.distill import DistillTrainer

    return DistillTrainer


def _any_style_trainer():
    from nst_tf.feedforward.anystyle_train import ArbitraryTrainer

    return ArbitraryTrainer


def _check_painting(style) -> None:
    from nst_tf import images

    images.load_image(style)


def _check_paintings(style) -> None:
    from nst_tf.feedforward.anystyle_train import style_paths

    style_paths(style)


def _export_per_style(trainer, workdir: Path) -> list:
    from nst_tf.feedforward import johnson_export

    saved = johnson_export.export_saved_model(trainer.model, workdir / wd.SAVED_MODEL)
    lite = johnson_export.export_tflite(saved, workdir / wd.TFLITE)
    half = johnson_export.export_tflite(saved, workdir / wd.TFLITE_FP16, float16_weights=True)
    return [saved, lite, half]


def _export_any_style(trainer, workdir: Path) -> list:
    from nst_tf.feedforward.anystyle_stylizer import ArbitraryStylizer

    folder = trainer.export_weights()
    saved = ArbitraryStylizer("float32", weights_source=folder).export(workdir / wd.SAVED_MODEL)
    return [folder, saved, saved / "predict.tflite", saved / "transfer.tflite"]


@dataclass(frozen=True)
class Arch:
    trainer: Callable[[], type]  #: returns the trainer class (imported on demand)
    check_style: Callable[[object], None]  #: refuses a bad training --style at once
    export: Callable[[object, Path], list]  #: (trainer, workdir) -> the paths written


ARCHS = {
    "johnson": Arch(_per_style_trainer, _check_painting, _export_per_style),
    "johnson_slim": Arch(_per_style_trainer, _check_painting, _export_per_style),
    "compact": Arch(_per_style_trainer, _check_painting, _export_per_style),
    wd.ANY_STYLE: Arch(_any_style_trainer, _check_paintings, _export_any_style),
}


def get(name: str) -> Arch:
    if name not in ARCHS:
        raise UserError(f"unknown network architecture {name!r}; expected one of {', '.join(ARCHS)}")
    return ARCHS[name]


def make_trainer(config, style, workdir, strategy=None):
    """The trainer for ``config.arch`` (``style``: a painting, or for the any-style network a folder
    of them); with ``config.teacher`` the distilling trainer of :mod:`nst_tf.feedforward.distill`."""
    trainer = _distill_trainer() if config.teacher != "none" else get(config.arch).trainer()
    return trainer(config, style, workdir, strategy)


def train(
    config,
    style,
    data_dir,
    workdir,
    *,
    verbose: bool = True,
    callbacks: Sequence[Callable[[int, dict], None]] = (),
    strategy=None,
):
    """Train (or resume) a style network in ``workdir``; returns the trainer."""
    trainer = make_trainer(config, style, workdir, strategy)
    trainer.fit(data_dir, callbacks=callbacks, verbose=verbose)
    return trainer


def export(trainer, workdir: Optional[Path] = None) -> list:
    """Write the trained network's deployable files into its workdir; returns their paths."""
    return get(trainer.config.arch).export(trainer, Path(workdir or trainer.workdir))
