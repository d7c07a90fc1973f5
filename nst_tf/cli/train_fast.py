"""nst-train-fast: train a feed-forward style network on a folder of photos (Johnson et al. 2016).

    nst-train-fast --style=painting.jpg --data_dir=photos/ --workdir=runs/starry --steps=2000
    nst-train-fast --flagfile=flags/fast_coco.flags --style=painting.jpg --workdir=runs/starry

Checkpoints, TensorBoard logs and, at the end, the exported SavedModel (``saved_model/``) and
TFLite files (``model.tflite``, ``model_fp16.tflite``) go to --workdir. Rerunning with the same
--workdir resumes from the latest checkpoint; Ctrl-C saves one before exiting.
"""

from __future__ import annotations

from absl import flags

from nst_tf.cli import common
from nst_tf.config import BACKBONES, PRECISIONS, FastTrainConfig
from nst_tf.errors import UserError

PROG = "nst-train-fast"
_D = FastTrainConfig()

flags.DEFINE_string("style", None, "The style image.")
flags.DEFINE_string("data_dir", None, "Folder of training photos (searched recursively).")
flags.DEFINE_string("workdir", None, "Checkpoints, logs and exports go here; reuse it to resume.")
flags.DEFINE_integer("steps", _D.steps, "Training steps.")
flags.DEFINE_integer("image_size", _D.image_size, "Training crop side in pixels (multiple of 4).")
flags.DEFINE_integer("batch_size", _D.batch_size, "Photos per step.")
flags.DEFINE_float("learning_rate", _D.learning_rate, "Adam initial learning rate.")
flags.DEFINE_integer("decay_steps", _D.decay_steps, "ExponentialDecay period in steps.")
flags.DEFINE_float("decay_rate", _D.decay_rate, "ExponentialDecay factor (1 = constant).")
flags.DEFINE_float("content_weight", _D.content_weight, "Weight of the content loss.")
flags.DEFINE_float("style_weight", _D.style_weight, "Weight of the style loss.")
flags.DEFINE_float("tv_weight", _D.tv_weight, "Weight of the total-variation loss.")
flags.DEFINE_float("style_scale", _D.style_scale, "Style image's longer side relative to --image_size.")
flags.DEFINE_list("content_layers", list(_D.content_layers), "Loss-network content layers.")
flags.DEFINE_list("style_layers", list(_D.style_layers), "Loss-network style layers.")
flags.DEFINE_enum("backbone", _D.backbone, list(BACKBONES), "Loss network.")
flags.DEFINE_string("weights", _D.weights, "auto, imagenet, hed (offline VGG16) or a path to an .h5 file.")
flags.DEFINE_enum("precision", _D.precision, list(PRECISIONS), "Compute precision (auto: by device).")
flags.DEFINE_integer("checkpoint_every", _D.checkpoint_every, "Steps between checkpoints.")
flags.DEFINE_integer("seed", _D.seed, "Random seed (initial weights, data order).")
flags.DEFINE_bool("export", True, "Export SavedModel and TFLite at the end.")

FLAGS = flags.FLAGS


def config_from_flags() -> FastTrainConfig:
    return FastTrainConfig(
        image_size=FLAGS.image_size, batch_size=FLAGS.batch_size, steps=FLAGS.steps,
        learning_rate=FLAGS.learning_rate, decay_steps=FLAGS.decay_steps, decay_rate=FLAGS.decay_rate,
        content_weight=FLAGS.content_weight, style_weight=FLAGS.style_weight, tv_weight=FLAGS.tv_weight,
        style_scale=FLAGS.style_scale, content_layers=tuple(common.split_list(FLAGS.content_layers)),
        style_layers=tuple(common.split_list(FLAGS.style_layers)), backbone=FLAGS.backbone,
        weights=FLAGS.weights, precision=FLAGS.precision, checkpoint_every=FLAGS.checkpoint_every,
        seed=FLAGS.seed,
    )


def main(argv) -> int:
    from pathlib import Path

    from nst_tf import images
    from nst_tf.fast import data, export
    from nst_tf.fast.train import Trainer

    for name in ("style", "data_dir", "workdir"):
        if not getattr(FLAGS, name):
            raise UserError(f"--{name} is required")
    config = config_from_flags()
    images.load_image(FLAGS.style)
    data.list_images(FLAGS.data_dir)  # fail now on an empty or missing folder
    workdir = Path(FLAGS.workdir)
    trainer = Trainer(config, FLAGS.style, workdir)
    trainer.fit(FLAGS.data_dir)
    if FLAGS.export:
        saved = export.export_saved_model(trainer.model, workdir / "saved_model")
        lite = export.export_tflite(saved, workdir / "model.tflite")
        half = export.export_tflite(saved, workdir / "model_fp16.tflite", float16_weights=True)
        print(f"exported {saved}, {lite} and {half}", flush=True)
    return common.EXIT_OK


def run():
    common.run_app(PROG, main)


if __name__ == "__main__":
    run()
