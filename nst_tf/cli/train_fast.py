"""nst-train-fast: train a feed-forward style network on a folder of photos (Johnson et al. 2016).

    nst-train-fast --flagfile=flags/distill.flags --style=painting.jpg --workdir=runs/mine   # ~15 CPU-minutes
    nst-train-fast --style=painting.jpg --data_dir=photos/ --workdir=runs/starry --steps=2000
    nst-train-fast --flagfile=flags/fast_coco.flags --style=painting.jpg --workdir=runs/starry

On a cluster, each worker runs the same command with its TF_CONFIG (``--strategy=multi_worker``).
Checkpoints, TensorBoard logs and, at the end, the exported SavedModel (``saved_model/``) and
TFLite files (``model.tflite``, ``model_fp16.tflite``) go to --workdir. Rerunning with the same
--workdir resumes from the latest checkpoint; Ctrl-C saves one before exiting.
"""

from __future__ import annotations

from absl import flags

from nst_tf.cli import common, config_flags
from nst_tf.config import FastTrainConfig
from nst_tf.errors import UserError

PROG = "nst-train-fast"

flags.DEFINE_string("style", None, "The style image (with --arch=arbitrary: a folder of paintings, or one).")
flags.DEFINE_string(
    "data_dir", None, "Folder of training photos (searched recursively; default: the 3 photos bundled with nst_tf)."
)
flags.DEFINE_string("workdir", None, "Checkpoints, logs and exports go here; reuse it to resume.")
flags.DEFINE_bool("export", True, "Export SavedModel and TFLite at the end.")
flags.DEFINE_string(
    "strategy",
    "auto",
    "tf.distribute strategy: auto (--tpu, else several workers from TF_CONFIG, "
    "else this machine's GPUs), one_device, mirrored, multi_worker (every worker "
    "runs this command with the same --workdir and its own TF_CONFIG) or tpu.",
)
common.define_tpu_flag()
config_from_flags = config_flags.define(FastTrainConfig)  # every FastTrainConfig field is a flag

FLAGS = flags.FLAGS


def main(argv) -> int:
    from pathlib import Path

    from nst_tf.feedforward import data, registry, workdir

    for name in ("style", "workdir"):
        if not getattr(FLAGS, name):
            raise UserError(f"--{name} is required")
    config = config_from_flags()
    workdir.check(Path(FLAGS.workdir))
    registry.get(config.arch).check_style(FLAGS.style)
    data_dir = FLAGS.data_dir or data.BUNDLED_PHOTOS
    if not FLAGS.data_dir:
        common.say(f"training on the photos bundled with nst_tf ({data_dir}); pass --data_dir for your own")
    data.list_images(data_dir)  # fail now on an empty or missing folder
    from nst_tf.feedforward import distribute

    strategy = distribute.make_strategy(FLAGS.strategy, FLAGS.tpu)  # before TensorFlow runs any op
    trainer = registry.train(config, FLAGS.style, data_dir, FLAGS.workdir, strategy=strategy)
    if trainer.chief and FLAGS.export:  # the chief exports
        common.say(f"exported {', '.join(map(str, registry.export(trainer)))}")
    return common.EXIT_OK


def run():
    common.run_app(PROG, main)


if __name__ == "__main__":
    run()
