"""nst-evaluate: score stylised images against their content and style.

    nst-evaluate --content=photo.jpg --style=painting.jpg --outputs=results/ \\
        --report=scores.csv --sheet=scores.jpg

Prints a table; writes CSV or JSON (by the --report extension) and a side-by-side sheet with
the figures under each output. See ``nst_tf.metrics`` for what each figure means.
"""

from __future__ import annotations

from absl import flags

from nst_tf.cli import common
from nst_tf.errors import UserError

PROG = "nst-evaluate"

flags.DEFINE_string("content", None, "The content photo (or video) the outputs were made from.")
flags.DEFINE_string("style", None, "The style image the outputs were made from.")
flags.DEFINE_list("outputs", None, "Stylised images (or videos): files, folders or globs, comma-separated.")
flags.DEFINE_string("report", None, "Write the scores here: .csv or .json.")
flags.DEFINE_string("sheet", None, "Write a side-by-side sheet image here (.jpg/.png; images only).")
flags.DEFINE_bool("overwrite", False, "Replace existing report/sheet files.")
flags.DEFINE_string("backbone", "vgg16", "Network for the feature distances (fixed, independent of stylising).")
flags.DEFINE_string("weights", "hed", "Its weights: hed (offline, default), imagenet, auto or an .h5 path.")

FLAGS = flags.FLAGS


def main(argv) -> int:
    from nst_tf import evaluation, images

    for name in ("content", "style"):
        if not getattr(FLAGS, name):
            raise UserError(f"--{name} is required")
    outputs = images.expand_paths(common.split_list(FLAGS.outputs))
    if not outputs:
        raise UserError("--outputs is required: stylised image files, folders or globs")
    evaluation.check_outputs(FLAGS.content, FLAGS.report, FLAGS.sheet, FLAGS.overwrite)
    scores = evaluation.evaluate(FLAGS.content, FLAGS.style, outputs, FLAGS.backbone, FLAGS.weights)
    common.say(scores.table())
    if FLAGS.report:
        common.say(f"wrote {evaluation.write_report(scores, FLAGS.report)}")
    if FLAGS.sheet:
        common.say(f"wrote {evaluation.write_sheet(scores, FLAGS.sheet, FLAGS.overwrite)}")
    return common.EXIT_OK


def run():
    common.run_app(PROG, main)


if __name__ == "__main__":
    run()
