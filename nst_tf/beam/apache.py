"""Apache Beam, imported once with its start-up warnings about optional GCP client libraries quietened."""

import logging

_root = logging.getLogger()
_level = _root.level
_root.setLevel(logging.ERROR)
try:
    import apache_beam as beam  # noqa: F401
    from apache_beam.io import fileio  # noqa: F401
    from apache_beam.io.filesystem import CompressionTypes  # noqa: F401
    from apache_beam.io.filesystems import FileSystems  # noqa: F401
    from apache_beam.metrics import Metrics  # noqa: F401
    from apache_beam.metrics.metric import MetricsFilter  # noqa: F401
    from apache_beam.ml.inference.base import KeyedModelHandler, ModelHandler, RunInference  # noqa: F401
    from apache_beam.options.pipeline_options import PipelineOptions  # noqa: F401
finally:
    _root.setLevel(_level)
