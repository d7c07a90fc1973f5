"""The pipeline: plan, decode, RunInference, write; failure records and counters."""

from __future__ import annotations

import dataclasses
import json
import os
import posixpath
import shutil
import time
import uuid
from typing import Optional, Sequence

import numpy as np

from nst_tf import images
from nst_tf.beam.apache import (
    CompressionTypes,
    FileSystems,
    KeyedModelHandler,
    Metrics,
    MetricsFilter,
    PipelineOptions,
    RunInference,
    beam,
    fileio,
)
from nst_tf.beam.handler import StylizerHandler
from nst_tf.beam.paths import (
    KEEP_EXTENSIONS,
    check_matches,
    glob_base,
    input_glob,
    inside,
    join,
    output_name,
    read_image,
)
from nst_tf.errors import UserError

NAMESPACE = "nst_tf"
COUNTERS = ("done", "skipped", "failed", "ignored")
FAILURES_PREFIX = "failures-"

_counters = {name: Metrics.counter(NAMESPACE, name) for name in COUNTERS}


def _failure(path: str, stage: str, reason: str) -> str:
    _counters["failed"].inc()
    return json.dumps({"path": path, "stage": stage, "reason": reason})


class Plan(beam.DoFn):
    """FileMetadata -> (input path, output path) for the files still to do."""

    def __init__(self, base: str, output: str, overwrite: bool):
        self.base, self.output, self.overwrite = base, output, overwrite

    def process(self, meta):
        path = meta.path
        # Earlier results in an --output inside the --input folder are not inputs (they would be
        # stylised again, one folder deeper, on every rerun).
        if posixpath.splitext(path)[1].lower() not in images.READ_EXTENSIONS or inside(path, self.output):
            _counters["ignored"].inc()
            return
        dest = join(self.output, output_name(path, self.base))
        if not self.overwrite and FileSystems.exists(dest):
            _counters["skipped"].inc()
            return
        yield path, dest


class Decode(beam.DoFn):
    """(path, dest) -> ((path, dest), uint8 image); failures to the ``failed`` output."""

    def __init__(self, size: Optional[int], max_pixels: int):
        self.size, self.max_pixels = size, max_pixels

    def process(self, item):
        path, dest = item
        try:
            image = read_image(path, self.max_pixels)
            if self.size:
                image = images.resize(image, self.size)
        except UserError as exc:
            yield beam.pvalue.TaggedOutput("failed", _failure(path, "decode", str(exc)))
            return
        yield (path, dest), images.to_uint8(image)


class Write(beam.DoFn):
    """((path, dest), image) -> the file at dest, written under a temporary name then renamed."""

    def process(self, item):
        (path, dest), image = item
        image = getattr(image, "inference", image)  # a PredictionResult from other handlers
        ext = posixpath.splitext(dest)[1].lower()
        fmt = KEEP_EXTENSIONS.get(ext, "PNG")
        tmp = f"{dest}.{uuid.uuid4().hex[:12]}.tmp"
        try:
            data = images.encode_image(np.asarray(image, np.uint8), fmt, quality=95)
            with FileSystems.create(tmp, compression_type=CompressionTypes.UNCOMPRESSED) as fh:
                fh.write(data)
            FileSystems.rename([tmp], [dest])
        except Exception as exc:  # noqa: BLE001  (a full disk or a refused bucket: record it, go on)
            try:
                if FileSystems.exists(tmp):
                    FileSystems.delete([tmp])
            except Exception:  # noqa: BLE001
                pass
            yield beam.pvalue.TaggedOutput("failed", _failure(path, "write", f"{type(exc).__name__}: {exc}"))
            return
        _counters["done"].inc()
        yield dest


# --------------------------------------------------------------------------- pipeline


@dataclasses.dataclass
class BeamJob:
    input: str  #: a glob on any Beam filesystem, or a local folder
    output: str  #: the output folder (same filesystems)
    handler: StylizerHandler
    size: Optional[int] = None  #: longer side [px] before stylising (None: full resolution)
    overwrite: bool = False
    max_pixels: int = images.MAX_UPLOAD_PIXELS
    run_id: str = dataclasses.field(default_factory=lambda: time.strftime("%Y%m%d-%H%M%S"))

    @property
    def failures_path(self) -> str:
        return join(self.output, f"{FAILURES_PREFIX}{self.run_id}.jsonl")


def build(pipeline, job: BeamJob):
    """Add the stylisation to ``pipeline``; returns (written paths, failure records)."""
    pattern = input_glob(job.input)
    todo = (
        pipeline
        | "Match" >> fileio.MatchFiles(pattern)
        | "Plan" >> beam.ParDo(Plan(glob_base(pattern), job.output, job.overwrite))
    )
    decoded = todo | "Decode" >> beam.ParDo(Decode(job.size, job.max_pixels)).with_outputs("failed", main="images")
    styled = decoded.images | "Stylize" >> RunInference(KeyedModelHandler(job.handler))
    written = styled | "Write" >> beam.ParDo(Write()).with_outputs("failed", main="written")
    failures = (decoded.failed, written.failed) | "Failures" >> beam.Flatten()
    (failures | "WriteFailures" >> beam.io.WriteToText(job.failures_path, num_shards=1, shard_name_template=""))
    return written.written, failures


def counters(result) -> dict:
    """The run's nst_tf counters (committed where the runner has them, else attempted)."""
    found = {name: 0 for name in COUNTERS}
    for c in result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]:
        value = c.committed if c.committed is not None else c.attempted
        found[c.key.metric.name] = found.get(c.key.metric.name, 0) + int(value or 0)
    return found


def run(job: BeamJob, beam_args: Sequence[str] = ()) -> dict:
    """Run the pipeline to the end; returns the counters and where the failure records are.

    ``beam_args``: standard Beam pipeline options (``--runner``, ``--direct_num_workers``, a
    cluster runner's options). An empty failure file is removed after the run.
    """
    pipeline = beam.Pipeline(options=PipelineOptions(list(beam_args)))
    build(pipeline, job)
    temp_before = _temp_folders(job.output)
    try:
        result = pipeline.run()
        result.wait_until_finish()
    except (KeyboardInterrupt, RuntimeError) as exc:
        # Ctrl-C or SIGTERM: the direct runner's worker threads report the interrupt as a RuntimeError.
        if not isinstance(exc, KeyboardInterrupt) and "KeyboardInterrupt" not in str(exc):
            raise
        for folder in _temp_folders(job.output) - temp_before:  # the half-written failure records
            shutil.rmtree(folder, ignore_errors=True)
        raise KeyboardInterrupt() from None
    summary = counters(result)
    summary["failures_file"] = job.failures_path
    if summary.get("failed") == 0 and FileSystems.exists(job.failures_path):
        FileSystems.delete([job.failures_path])
        summary["failures_file"] = None
    return summary


def _temp_folders(output: str) -> set:
    """The ``beam-temp-*`` folders Beam's file sinks keep in a local ``output`` while they write."""
    if "://" in output or not os.path.isdir(output):
        return set()
    return {os.path.join(output, name) for name in os.listdir(output) if name.startswith("beam-temp-")}


def plan_job(config, model: str, styles: Sequence[str], input: str, output: str, *, overwrite: bool = False,
             max_megapixels: float = images.MAX_UPLOAD_PIXELS / 1e6) -> BeamJob:  # fmt: skip
    """Check what ``nst-apply-beam`` was given (styles, matches, output folder) before any work and
    build the job. ``config``: an :class:`~nst_tf.config.ApplyConfig` (size, strength, precision,
    XLA, batch size, style weights)."""
    from nst_tf.feedforward import stylizers, workdir

    if max_megapixels <= 0:
        raise UserError(f"max_megapixels must be positive, got {max_megapixels}")
    if workdir.is_any_style(model):  # a bad style would spoil every output: refused before any work
        stylizers.check_styles(styles, config.style_weights, read=read_image)
    elif styles:
        raise UserError("--style needs an any-style --model (arbitrary); a trained network's style is built in")
    matched = check_matches(input_glob(input), limit=10_000)  # auto XLA weighs its compile time over these
    handler = StylizerHandler(model, styles, config.style_weights, config.strength, config.precision,
                              config.jit_compile, config.batch_size, n_images=matched,
                              work_size=config.work_size)  # fmt: skip
    if "://" not in output:
        from nst_tf.files import check_folder_writable

        check_folder_writable(output, "choose a writable --output")
    return BeamJob(input, output, handler, size=config.size, overwrite=overwrite,
                   max_pixels=int(max_megapixels * 1e6))  # fmt: skip


def describe(job: BeamJob, beam_args: Sequence[str] = ()) -> str:
    what = "any-style network" if job.handler.any_style() else job.handler.model
    size = f", {job.size} px" if job.size else ""
    return f"{input_glob(job.input)} -> {job.output} ({what}{size}; Beam options: {' '.join(beam_args) or 'defaults'})"


def summary_line(summary: dict) -> str:
    line = ", ".join(f"{k} {summary.get(k, 0)}" for k in COUNTERS)
    return line + (f"; failure records in {summary['failures_file']}" if summary["failures_file"] else "")
