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

from __future__ import annotations

import dataclasses
import json
import logging
import os
import posixpath
import re
import time
import uuid
from typing import Iterable, Optional, Sequence

import numpy as np

_root = logging.getLogger()
_level = _root.level
_root.setLevel(logging.ERROR)  # Beam's import warns about optional GCP client libraries on every start
try:
    import apache_beam as beam
    from apache_beam.io import fileio
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.metrics import Metrics
    from apache_beam.metrics.metric import MetricsFilter
    from apache_beam.ml.inference.base import KeyedModelHandler, ModelHandler, RunInference
    from apache_beam.options.pipeline_options import PipelineOptions
finally:
    _root.setLevel(_level)

from nst_tf import images  # noqa: E402  (after Beam, whose import is quietened above)
from nst_tf.errors import UserError  # noqa: E402

NAMESPACE = "nst_tf"
COUNTERS = ("done", "skipped", "failed", "ignored")
#: Output formats kept from the input's extension; anything else is written as PNG.
KEEP_EXTENSIONS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP"}
FAILURES_PREFIX = "failures-"

_counters = {name: Metrics.counter(NAMESPACE, name) for name in COUNTERS}


# --------------------------------------------------------------------------- paths


def glob_base(pattern: str) -> str:
    """The fixed folder a glob starts from: everything up to the last ``/`` before a wildcard."""
    wild = re.search(r"[*?\[]", pattern)
    head = pattern if wild is None else pattern[: wild.start()]
    return head[: head.rfind("/") + 1] if "/" in head else ""


def input_glob(spec: str) -> str:
    """``--input`` as a glob: a local folder means every file below it (``folder/**``)."""
    spec = spec.strip()
    if "://" not in spec and os.path.isdir(spec):
        return spec.rstrip("/") + "/**"
    return spec


def check_matches(pattern: str, limit: int = 1) -> int:
    """Refuse a glob that matches no file (Beam would fail the pipeline with a terse error); returns
    how many files it matches, counting up to ``limit``."""
    try:
        found = FileSystems.match([pattern], limits=[limit])[0].metadata_list
    except Exception:  # noqa: BLE001  (BeamIOError for a missing non-wildcard path, per filesystem)
        found = []
    if not found:
        raise UserError(
            f"no files match --input {pattern}; check the path (quote globs so the shell leaves the * alone)"
        )
    return len(found)


def output_name(path: str, base: str) -> str:
    """The output's name relative to ``--output``: the input's path below ``base``, with an
    extension Beam's writers can keep (others become ``.png``)."""
    rel = path[len(base) :] if base and path.startswith(base) else posixpath.basename(path)
    rel = rel.lstrip("/")
    stem, ext = posixpath.splitext(rel)
    return rel if ext.lower() in KEEP_EXTENSIONS else stem + ".png"


def join(folder: str, name: str) -> str:
    return FileSystems.join(folder.rstrip("/"), *name.split("/"))


# --------------------------------------------------------------------------- model handler


class StylizerHandler(ModelHandler):
    """RunInference handler: uint8 H x W x 3 images in, stylised uint8 images out.

    ``model``: ``arbitrary`` (the any-style network with the published weights), a training
    workdir, a SavedModel folder or a ``.tflite`` file, as for ``nst-apply``. ``styles`` (with an
    any-style model): paintings or ``.npy`` style vectors, mixed by ``style_weights``. Only these
    strings are pickled to the workers; the networks are built in :meth:`load_model`.
    """

    def __init__(
        self,
        model: str,
        styles: Sequence[str] = (),
        style_weights: Optional[Sequence[float]] = None,
        strength: float = 1.0,
        precision: str = "auto",
        jit_compile: str = "off",
        max_batch_size: int = 8,
    ):
        super().__init__()
        self.model, self.styles, self.style_weights = str(model), [str(s) for s in styles], style_weights
        self.strength, self.precision, self.jit_compile = strength, precision, jit_compile
        self.max_batch_size = max_batch_size

    def any_style(self) -> bool:
        from nst_tf.feedforward import workdir

        return workdir.is_any_style(self.model)

    def load_model(self):
        from nst_tf.feedforward import open_stylizer

        if not self.any_style():
            return open_stylizer(self.model)
        return open_stylizer(
            self.model,
            self.styles,
            style_weights=self.style_weights,
            strength=self.strength,
            precision=self.precision,
            jit_compile=self.jit_compile == "on",
            read=read_image,
        )

    def run_inference(self, batch: Sequence[np.ndarray], model, inference_args=None) -> Iterable[np.ndarray]:
        return model.run_batches(list(batch), self.max_batch_size)

    def batch_elements_kwargs(self):
        return {"min_batch_size": 1, "max_batch_size": self.max_batch_size}

    def get_num_bytes(self, batch) -> int:
        return sum(int(np.asarray(b).nbytes) for b in batch)


def read_image(path: str, max_pixels: int = images.MAX_UPLOAD_PIXELS) -> np.ndarray:
    """Any Beam filesystem's image as float RGB in [0, 1] (header pixel limit checked first)."""
    try:
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as fh:
            data = fh.read()
    except Exception as exc:  # noqa: BLE001  (every filesystem raises its own kinds)
        raise UserError(f"{path} could not be read ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
    return images.load_image_bytes(data, what=path, max_pixels=max_pixels)


# --------------------------------------------------------------------------- DoFns


def _failure(path: str, stage: str, reason: str) -> str:
    _counters["failed"].inc()
    return json.dumps({"path": path, "stage": stage, "reason": reason})


class Plan(beam.DoFn):
    """FileMetadata -> (input path, output path) for the files still to do."""

    def __init__(self, base: str, output: str, overwrite: bool):
        self.base, self.output, self.overwrite = base, output, overwrite

    def process(self, meta):
        path = meta.path
        if posixpath.splitext(path)[1].lower() not in images.READ_EXTENSIONS:
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
    result = pipeline.run()
    result.wait_until_finish()
    summary = counters(result)
    summary["failures_file"] = job.failures_path
    if summary.get("failed") == 0 and FileSystems.exists(job.failures_path):
        FileSystems.delete([job.failures_path])
        summary["failures_file"] = None
    return summary
