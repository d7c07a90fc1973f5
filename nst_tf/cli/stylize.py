"""nst-stylize: Gatys style transfer from the command line.

    nst-stylize --content=photo.jpg --style=painting.jpg --output=out.jpg
    nst-stylize --flagfile=flags/demo.flags

Every flag maps onto a field of ``nst_tf.StylizeConfig`` (same name, same default).
"""

from __future__ import annotations

from pathlib import Path

from absl import flags

from nst_tf import config as cfg
from nst_tf.cli import common
from nst_tf.config import StylizeConfig
from nst_tf.errors import UserError

PROG = "nst-stylize"


_D = StylizeConfig()

flags.DEFINE_string("content", None, "Content photo: an image file.")
flags.DEFINE_string("style", None, "Style painting: an image file.")
flags.DEFINE_string("output", None, "Output image (.jpg/.png/.webp). Default: outputs/<content>_<style>.jpg")
flags.DEFINE_bool("overwrite", False, "Replace an existing output file.")
flags.DEFINE_integer("size", _D.size, "Longer side of the result in pixels.")
flags.DEFINE_float("style_scale", _D.style_scale, "Style image's longer side relative to --size.")
flags.DEFINE_integer("steps", _D.steps, "Optimisation steps.")
flags.DEFINE_enum("optimizer", _D.optimizer, list(cfg.OPTIMIZERS), "Optimizer.")
flags.DEFINE_float("learning_rate", _D.learning_rate, "Initial learning rate (image values in 0..1).")
flags.DEFINE_integer("decay_steps", _D.decay_steps, "ExponentialDecay: steps per decay_rate factor.")
flags.DEFINE_float("decay_rate", _D.decay_rate, "ExponentialDecay factor (1 = constant rate).")
flags.DEFINE_float("adam_beta_1", _D.adam_beta_1, "Adam beta_1.")
flags.DEFINE_float("adam_epsilon", _D.adam_epsilon, "Adam epsilon.")
flags.DEFINE_float("content_weight", _D.content_weight, "Weight of the content loss.")
flags.DEFINE_float("style_weight", _D.style_weight, "Weight of the style loss.")
flags.DEFINE_float("tv_weight", _D.tv_weight, "Weight of the total-variation loss.")
flags.DEFINE_list("content_layers", list(_D.content_layers), "Content layers (e.g. relu4_2 or block4_conv2).")
flags.DEFINE_list("style_layers", list(_D.style_layers), "Style layers.")
flags.DEFINE_list("style_layer_weights", None, "One weight per style layer (default: equal).")
flags.DEFINE_enum("loss", _D.loss, list(cfg.LOSSES),
                  "Loss formulation: normalized (default), or that of the TF tutorial / classic Keras example.")
flags.DEFINE_enum("backbone", _D.backbone, list(cfg.BACKBONES), "Feature network.")
flags.DEFINE_string("weights", _D.weights, "auto, imagenet, hed (offline VGG16) or a path to an .h5 file.")
flags.DEFINE_enum("pooling", _D.pooling, list(cfg.POOLING), "Pooling in the feature network.")
flags.DEFINE_enum("precision", _D.precision, list(cfg.PRECISIONS),
                  "Compute precision; auto: mixed_float16 on recent GPUs, mixed_bfloat16 on TPU, float32 on CPU.")
flags.DEFINE_bool("jit_compile", _D.jit_compile, "XLA-compile the step (--nojit_compile to turn off).")
flags.DEFINE_string("init", _D.init, "Starting image: content, noise, style or a path to an image.")
flags.DEFINE_integer("seed", _D.seed, "Random seed.")
flags.DEFINE_integer("save_every", 0, "Also write the image every N steps as <output>.stepN.<ext> (0: off).")

FLAGS = flags.FLAGS


def _one(name: str) -> str:
    items = common.split_list(getattr(FLAGS, name))
    if not items:
        raise UserError(f"--{name} is required; pass an image file, e.g. --{name}=examples/{name}/...")
    if len(items) > 1:
        raise UserError(f"--{name} got {len(items)} files; give exactly one image")
    return items[0]


def config_from_flags() -> StylizeConfig:
    def floats(name):
        values = common.split_list(getattr(FLAGS, name))
        try:
            return tuple(float(v) for v in values) or None
        except ValueError:
            raise UserError(f"--{name} must be a comma-separated list of numbers, got {getattr(FLAGS, name)}") from None

    return StylizeConfig(
        size=FLAGS.size,
        style_scale=FLAGS.style_scale,
        steps=FLAGS.steps,
        optimizer=FLAGS.optimizer,
        learning_rate=FLAGS.learning_rate,
        decay_steps=FLAGS.decay_steps,
        decay_rate=FLAGS.decay_rate,
        adam_beta_1=FLAGS.adam_beta_1,
        adam_epsilon=FLAGS.adam_epsilon,
        content_weight=FLAGS.content_weight,
        style_weight=FLAGS.style_weight,
        tv_weight=FLAGS.tv_weight,
        content_layers=tuple(common.split_list(FLAGS.content_layers)),
        style_layers=tuple(common.split_list(FLAGS.style_layers)),
        style_layer_weights=floats("style_layer_weights"),
        loss=FLAGS.loss,
        backbone=FLAGS.backbone,
        weights=FLAGS.weights,
        pooling=FLAGS.pooling,
        precision=FLAGS.precision,
        jit_compile=FLAGS.jit_compile,
        init=FLAGS.init,
        seed=FLAGS.seed,
    )


def _step_path(output: Path, step: int) -> Path:
    return output.with_name(f"{output.stem}.step{step:05d}{output.suffix}")


def main(argv) -> int:
    from nst_tf import images
    from nst_tf.gatys import stylize

    content, style = _one("content"), _one("style")
    if FLAGS.save_every < 0:
        raise UserError(f"--save_every must be 0 (off) or positive, got {FLAGS.save_every}")
    config = config_from_flags()
    output = Path(FLAGS.output or f"outputs/{Path(content).stem}_{Path(style).stem}.jpg")
    images.check_output_path(output, FLAGS.overwrite)
    snapshots = []
    if FLAGS.save_every:
        snapshots = [_step_path(output, s) for s in range(FLAGS.save_every, config.steps + 1, FLAGS.save_every)]
        for p in snapshots:
            images.check_output_path(p, FLAGS.overwrite)
    # Fail on unreadable inputs now, not after building the network.
    images.load_image(content)
    images.load_image(style)

    def save_snapshot(info):
        if FLAGS.save_every and info.step % FLAGS.save_every == 0:
            images.save_image(info.get_image(), _step_path(output, info.step), overwrite=True)

    result = stylize(content, style, config, callbacks=[save_snapshot])
    images.save_image(result.image, output, overwrite=FLAGS.overwrite)
    h, w = result.image.shape[:2]
    state = "interrupted, kept the latest image" if result.interrupted else "done"
    print(f"wrote {output} ({w}x{h} px, {result.steps_done} steps, {result.seconds:.1f} s, {state})", flush=True)
    if result.interrupted:
        return common.EXIT_SIGTERM if common.terminated() else common.EXIT_SIGINT
    return common.EXIT_OK


def run():
    common.run_app(PROG, main)


if __name__ == "__main__":
    run()
