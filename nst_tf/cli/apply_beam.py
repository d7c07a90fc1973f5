"""nst-apply-beam: stylise a whole collection with Apache Beam (local, or a cluster runner).

    nst-apply-beam --input='photos/**' --output=styled/ --model=arbitrary --style=starry.jpg --size=512
    nst-apply-beam --input='gs://bucket/photos/*.jpg' --output=gs://bucket/styled --model=gs://bucket/saved_model \\
        --runner=DataflowRunner --project=... --region=... --temp_location=gs://bucket/tmp

Every flag this command does not define is a Beam pipeline option (``--runner``,
``--direct_num_workers``, ...). Existing outputs are skipped; files that cannot be used are
written to ``failures-<run>.jsonl`` in the output folder and the pipeline goes on (exit 0).
"""

from __future__ import annotations

from absl import flags

from nst_tf.cli import common, config_flags
from nst_tf.config import ApplyConfig
from nst_tf.errors import UserError

PROG = "nst-apply-beam"

flags.DEFINE_string(
    "input",
    None,
    "A glob on any Beam filesystem (local, gs://, s3://, hdfs://) or a local folder "
    "(every image below it); quote it so the shell leaves the * alone.",
)
flags.DEFINE_string("output", None, "Output folder; each result keeps its name relative to the glob's fixed part.")
flags.DEFINE_string(
    "model",
    "arbitrary",
    "arbitrary (the any-style network, with --style), a training workdir, a SavedModel folder or a .tflite file.",
)
flags.DEFINE_list(
    "style", None, "With an any-style model: painting images or .npy style vectors, mixed by --style_weights."
)
flags.DEFINE_bool("overwrite", False, "Redo outputs that exist (otherwise they are skipped).")
flags.DEFINE_float("max_megapixels", 40.0, "Inputs larger than this are recorded as failures instead of decoded.")
# The nst-apply options that make sense per image; masks and colour options stay with nst-apply.
config_from_flags = config_flags.define(
    ApplyConfig,
    skip=(
        "blend",
        "preserve_colors",
        "style_masks",
        "feather",
        "temporal_blend",
        "temporal_denoise",
        "temporal_hold",
        "bits",
    ),
)

FLAGS = flags.FLAGS


def _beam_options(args: list):
    from apache_beam.options.pipeline_options import PipelineOptions

    options = PipelineOptions(args)
    unknown = sorted(set(options.get_all_options(retain_unknown_options=True)) - set(options.get_all_options()))
    if unknown:
        raise UserError(
            f"unknown flag --{unknown[0]}: neither an {PROG} flag nor a Beam pipeline option (see {PROG} --helpshort)"
        )
    from apache_beam.options.pipeline_options import StandardOptions
    from apache_beam.runners.runner import create_runner

    runner = options.view_as(StandardOptions).runner
    if runner:
        try:
            create_runner(runner)
        except ValueError as exc:  # Beam names its runners in the message
            known = str(exc).split("Valid values are ", 1)[-1].split(" or the fully", 1)[0]
            raise UserError(f"unknown --runner {runner}; choose one of {known} (DirectRunner runs here)") from None
        except ImportError as exc:
            needs = exc.name or exc
            raise UserError(f"--runner {runner} needs {needs}; install the Apache Beam extra for it") from None
    return args


def main(argv) -> int:
    if not FLAGS.verbose:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)  # Beam's INFO/WARNING chatter (worker set-up, metrics)
    try:
        from nst_tf import beam as nst_beam
    except ImportError as exc:
        raise UserError(
            f"nst-apply-beam needs Apache Beam ({exc.name or exc} is missing); pip install 'nst_tf[beam]'"
        ) from None
    beam_args = _beam_options(list(argv[1:]))
    if not FLAGS.input or not FLAGS.output:
        raise UserError("--input (a glob or folder) and --output (a folder) are both required")
    job = nst_beam.plan_job(config_from_flags(), FLAGS.model, common.split_list(FLAGS.style), FLAGS.input,
                            FLAGS.output, overwrite=FLAGS.overwrite, max_megapixels=FLAGS.max_megapixels)  # fmt: skip
    common.say(f"{PROG}: {nst_beam.describe(job, beam_args)}")
    common.say(f"{PROG}: {nst_beam.summary_line(nst_beam.run(job, beam_args))}")
    return common.EXIT_OK


def run():
    common.run_app(PROG, main, pass_through=True)


if __name__ == "__main__":
    run()
