"""nst-apply: stylise images, folders, globs and animated GIFs with a feed-forward network.

nst-apply --model=arbitrary --style=painting.jpg --input=photo.jpg --output=photo_styled.jpg
nst-apply --model=runs/starry --input=photos/ --output=stylised/
nst-apply --model=runs/starry/model.tflite --input=clip.gif --output=clip_starry.gif
nst-apply --model=arbitrary --style=painting.jpg --input=shot/%04d.png --output=shot.mp4 --fps=24
"""

from __future__ import annotations

from absl import flags

from nst_tf import batch
from nst_tf.cli import common, config_flags
from nst_tf.config import ApplyConfig

PROG = "nst-apply"

flags.DEFINE_list(
    "model",
    None,
    "arbitrary (the any-style network with the published weights, with --style), a "
    "training workdir (of --arch=arbitrary too: then with --style), its saved_model/ folder, or a "
    ".tflite file; several (with "
    "--style_masks) put each style where its mask is white.",
)
flags.DEFINE_list(
    "style",
    None,
    "With --model=arbitrary: painting images (or .npy style vectors); several are mixed "
    "by --style_weights, or placed by --style_masks.",
)
flags.DEFINE_string(
    "save_style_vector",
    None,
    "With --model=arbitrary: also write the (mixed) style vector to this .npy file, to reuse with --style=FILE.npy.",
)
flags.DEFINE_list(
    "input",
    None,
    "Images, folders or globs; animated GIFs keep their animation; videos (.mp4, .mov, "
    ".webm, .mkv) and folders of frames named by a pattern (shot/%04d.png) are "
    "streamed frame by frame, blended along the motion.",
)
flags.DEFINE_float("fps", None, "Frame rate of a folder-of-frames --input (default 25); a video keeps its own.")
flags.DEFINE_string("output", None, "Output file (one input) or folder (default: outputs/<name>_styled.<ext>).")
flags.DEFINE_bool("overwrite", False, "Replace existing outputs (otherwise refused, or skipped in a batch).")
config_from_flags = config_flags.define(ApplyConfig)  # every ApplyConfig field is a flag

FLAGS = flags.FLAGS


def main(argv) -> int:
    from nst_tf.feedforward import apply  # loads TensorFlow only when the networks are opened

    report = apply.apply_files(
        config_from_flags(),
        common.split_list(FLAGS.model),
        common.split_list(FLAGS.input),
        FLAGS.output,
        styles=common.split_list(FLAGS.style),
        fps=FLAGS.fps,
        overwrite=FLAGS.overwrite,
        save_style_vector=FLAGS.save_style_vector,
        report=common.say,
    )
    if report.refused:
        return common.fail(PROG, batch.refused_summary(report.refused, report.manifest), code=common.EXIT_SOME_REFUSED)
    return common.EXIT_OK


def run():
    common.run_app(PROG, main)


if __name__ == "__main__":
    run()
