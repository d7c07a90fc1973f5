"""Stylising a collection on Apache Beam: match, decode, RunInference, write; broken files recorded.

    from nst_tf import beam as nst_beam
    handler = nst_beam.StylizerHandler("arbitrary", styles=["starry.jpg"])
    summary = nst_beam.run(nst_beam.BeamJob("photos/**", "styled/", handler, size=512), ["--runner=DirectRunner"])

The pipeline (``nst-apply-beam`` runs it):

1. ``MatchFiles(--input)`` on any Beam filesystem (local, ``gs://``, ``s3://``, HDFS); each
   file's name relative to the glob's fixed prefix becomes its output name under ``--output``.
2. Plan: files whose output exists are skipped (so a rerun after a crash does only what is
   missing and rewrites nothing); names that are not images are ignored.
3. Decode (header pixel limit first, then ``--size``); a file that cannot be read or decoded
   becomes a failure record instead of failing the pipeline.
4. ``RunInference`` with a :class:`StylizerHandler` in a ``KeyedModelHandler`` (the file names
   travel with the images). The handler loads the network once per worker with
   ``tf.saved_model.load`` (Beam's own TensorFlow handler uses the Keras 2 loader, which a Keras 3
   SavedModel defeats) and runs each batch in same-size groups, so images of different sizes can
   share a batch.
5. Write each image to a temporary name, then rename it into place (no partial outputs); failure
   records (JSON lines: path, stage, reason) go to ``failures-<run>.jsonl`` beside the outputs.

Beam Metrics in the ``nst_tf`` namespace count ``done``, ``skipped``, ``failed`` and ``ignored``.
"""

from nst_tf.beam.handler import StylizerHandler
from nst_tf.beam.paths import KEEP_EXTENSIONS, check_matches, glob_base, input_glob, join, output_name, read_image
from nst_tf.beam.pipeline import (
    COUNTERS,
    FAILURES_PREFIX,
    NAMESPACE,
    BeamJob,
    build,
    counters,
    describe,
    plan_job,
    run,
    summary_line,
)

__all__ = [
    "BeamJob",
    "COUNTERS",
    "FAILURES_PREFIX",
    "KEEP_EXTENSIONS",
    "NAMESPACE",
    "StylizerHandler",
    "build",
    "check_matches",
    "counters",
    "describe",
    "plan_job",
    "summary_line",
    "glob_base",
    "input_glob",
    "join",
    "output_name",
    "read_image",
    "run",
]
