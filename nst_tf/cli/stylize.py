"""nst-stylize: Gatys style transfer from the command line.

    nst-stylize --content=photo.jpg --style=painting.jpg --output=out.jpg
    nst-stylize --flagfile=flags/demo.flags
    nst-stylize --content=photos/ --style='paintings/*.jpg' --output=results/   # every pair
    nst-stylize --content=me.jpg --style=a.jpg,b.jpg --style_weights=0.7,0.3   # one blended style

Every optimisation flag is generated from a field of ``nst_tf.StylizeConfig`` (same name,
default and help); the flags defined here are the command's own: inputs, output, batch.
"""

from __future__ import annotations

from absl import flags

from nst_tf.cli import common, config_flags, stops
from nst_tf.config import StylizeConfig
from nst_tf.errors import UserError

PROG = "nst-stylize"

flags.DEFINE_list(
    "content",
    None,
    "Content photo(s): files, folders or globs, comma-separated; or one video "
    "(.mp4, .mov, .webm, .mkv, or a folder of frames named by a pattern: shot/%04d.png).",
)
flags.DEFINE_float("fps", None, "Frame rate of a folder-of-frames --content (default 25); a video keeps its own.")
flags.DEFINE_list(
    "style",
    None,
    "Style painting(s): files, folders or globs, comma-separated. Without "
    "--style_weights, each style image gives its own output.",
)
flags.DEFINE_string(
    "output",
    None,
    "Output image (.jpg/.png/.webp), or a folder when there are several outputs. "
    "Default: outputs/<content>_<style>.jpg, or outputs/ for several.",
)
flags.DEFINE_bool("overwrite", False, "Replace existing outputs (otherwise refused, or skipped in a batch).")
flags.DEFINE_integer(
    "save_every",
    0,
    "Also write the image every N steps as <output>.stepN.<ext> "
    "(<output>.scaleS.stepN.<ext> with several scales; 0: off).",
)
flags.DEFINE_string("logdir", None, "Write TensorBoard scalars and images, and loss_curve.png, here.")
flags.DEFINE_float(
    "temporal_weight",
    50.0,
    "Video --content: weight of the temporal loss holding each frame near "
    "the previous result warped along the optical flow (Ruder et al. 2016; "
    "0: warm start only).",
)
common.define_tpu_flag()
config_from_flags = config_flags.define(StylizeConfig)  # every StylizeConfig field is a flag

FLAGS = flags.FLAGS


def _inputs(name: str) -> list:
    from nst_tf import images

    items = common.split_list(getattr(FLAGS, name))
    if not items:
        raise UserError(f"--{name} is required; pass an image file, a folder or a glob")
    return images.expand_paths(items)


def main(argv) -> int:
    from nst_tf import batch

    contents, styles = _inputs("content"), _inputs("style")
    config = config_from_flags()
    from nst_tf import video

    if any(video.is_video(c) for c in contents):
        return _video(contents, styles, config)
    video.check_fps(FLAGS.fps, contents)
    with common.device_scope(FLAGS.tpu):
        outcome = batch.run_batch(contents, styles, config, FLAGS.output, overwrite=FLAGS.overwrite,
                                  save_every=FLAGS.save_every, logdir=FLAGS.logdir)  # fmt: skip
    if outcome.interrupted:
        return stops.exit_code()
    if outcome.refused:
        return common.fail(
            PROG,
            batch.refused_summary(outcome.refused, outcome.folder / "manifest.json"),
            code=common.EXIT_SOME_REFUSED,
        )
    return common.EXIT_OK


def _video(contents, styles, config) -> int:
    """One video --content: optimised frame by frame with the temporal loss, written to a video --output."""
    from nst_tf import video
    from nst_tf.video import gatys as video_gatys

    clip, style = video_gatys.check_clip_inputs(contents, styles, config, FLAGS.fps)
    output = FLAGS.output or video.styled_name(clip, "outputs")
    with common.device_scope(FLAGS.tpu):
        done = video_gatys.stylize_video(clip, style, config, output, FLAGS.temporal_weight,
                                         overwrite=FLAGS.overwrite, verbose=True, fps=FLAGS.fps)  # fmt: skip
    common.say(f"wrote {output} ({done['frames']} frames, {done['seconds'] / done['frames']:.1f} s per frame)")
    return common.EXIT_OK


def run():
    common.run_app(PROG, main)


if __name__ == "__main__":
    run()
