"""Training the any-style network (Ghiasi et al. 2017) with nst_tf's perceptual losses.

Each step pairs a batch of photos (``--data_dir``) with a batch of paintings (``--style``: a
folder of paintings, searched recursively, or one image), both random square crops of
``image_size``. The style predictor encodes each painting, the transformer paints its photo with
that vector, and the losses are those of the per-style network (:class:`nst_tf.feedforward.train.
PerceptualLoss`) with each painting's own Gram matrices as its style target. Both halves train, as
in the paper. ``init_from="published"`` starts from Magenta's weights (fine-tuning on your own
paintings); otherwise from random weights, which needs a large collection of paintings (the paper
used ~80k) and a GPU for days.

Everything else is the per-style trainer's: the tf.distribute strategy, the precision policy with
loss scaling, checkpoints with exact resume (photos and paintings resume in the same order), the
TensorBoard logs and progress lines. :meth:`ArbitraryTrainer.export_weights` writes the two
``.weights.h5`` files that :class:`nst_tf.feedforward.ArbitraryStylizer` and ``nst-apply`` load.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import tensorflow as tf

from nst_tf import images
from nst_tf.errors import UserError
from nst_tf.feedforward import anystyle as networks
from nst_tf.feedforward import anystyle_weights as weights
from nst_tf.feedforward import data
from nst_tf.feedforward import workdir as wd
from nst_tf.feedforward.train import PerceptualLoss, Trainer


def style_paths(style) -> list:
    """The paintings: every readable image under a folder, or one image file."""
    p = Path(style).expanduser()
    if p.is_dir():
        try:
            return data.list_images(p)
        except UserError:
            raise UserError(f"no readable images under {p}; point --style at a folder of paintings") from None
    images.load_image(p)  # one painting: a clear error now if it is not an image
    return [str(p)]


class ArbitraryTrainer(Trainer):
    """:class:`~nst_tf.feedforward.train.Trainer` for the two-part any-style network."""

    def _prepare(self, style) -> None:
        self.style_paths = style_paths(style)
        self.style_image = None

    def _build_model(self) -> keras.Model:
        self.predictor = networks.build_style_predictor()
        self.transfer = networks.build_style_transfer()
        if self.config.init_from == "published" and not self._has_checkpoints():
            weights.load_published(self.predictor, self.transfer)
        return networks.combined_model(self.predictor, self.transfer)

    def _has_checkpoints(self) -> bool:
        return wd.latest_checkpoint(self.workdir) is not None

    def _build_loss(self) -> PerceptualLoss:
        return PerceptualLoss(self.config, None, self.policy)

    def _forward(self, batch, training: bool) -> tuple:
        photos, paintings = batch
        return self.model([photos, paintings], training=training), photos, self.loss.grams(paintings)

    def _dataset(self, data_dir, start_step: int, part=None, per_replica=None) -> tuple:
        c = self.config
        paths = data.list_images(data_dir)
        photos = data.make_dataset(
            paths, c.image_size, c.batch_size, seed=c.seed, skip_batches=start_step, part=part, per_replica=per_replica
        )
        paintings = data.make_dataset(
            self.style_paths,
            c.image_size,
            c.batch_size,
            seed=c.seed + 1,
            skip_batches=start_step,
            part=part,
            per_replica=per_replica,
        )
        return tf.data.Dataset.zip((photos, paintings)), len(paths)

    def export_weights(self, folder=None) -> Path:
        """Write ``predict.weights.h5`` and ``transfer.weights.h5`` (float32) into ``folder``
        (default ``workdir/weights``), each atomically."""
        folder = Path(folder) if folder is not None else self.workdir / wd.WEIGHTS
        folder.mkdir(parents=True, exist_ok=True)
        builders = {"predict": networks.build_style_predictor, "transfer": networks.build_style_transfer}
        for name, model in (("predict", self.predictor), ("transfer", self.transfer)):
            model = wd.float32_copy(model, builders[name])
            tmp = folder / f".{name}.partial.weights.h5"  # Keras wants the .weights.h5 ending
            model.save_weights(tmp)
            os.replace(tmp, folder / wd.ANYSTYLE_WEIGHT_FILES[name])
        return folder
