"""LiteRT (TFLite) files from a :class:`~nst_tf.deploy.servable.Part`, and their check in LiteRT.

Quantisations (``--quantize``):

* ``none``: float32 weights and activations; the reference.
* ``float16``: float16 weights (half the file), float32 arithmetic on CPUs.
* ``dynamic``: int8 weights, activations quantised on the fly per call (dynamic range).
* ``int8``: int8 weights and activations, calibrated on photos; float [0, 1] pixels in and out
  (quantised at the file's edges, as the converter's selective quantisation leaves them; divide
  the photo's bytes by 255). Instance normalisation is
  where full-integer models of style networks lose their quality (the per-picture mean, variance
  and reciprocal square root span ranges one int8 scale cannot hold; tensorflow/tensorflow#41521),
  so those statistics and the per-channel scale and shift they make are kept in float, additions
  included (the variance plus epsilon, quantised with one scale for all channels, cost 1-3 dB; in
  float the residual additions cost no measurable time), and the convolutions are int8. Activation
  ranges come from a high percentile of the calibration values, not their extremes
  (:func:`percentile_ranges`), and the file is made from a copy of the network whose conv outputs
  before each norm have zero mean and equal spread per channel on the calibration photos (the
  same pictures; :mod:`nst_tf.deploy.equalize`).

Internal tensor names are dropped from every file (inputs and outputs keep theirs): the
converter's fused names took 22 kB of each any-style file, 12% of an int8 one.

Each file is checked by :func:`check`: it runs in LiteRT in a fresh process that does not import
TensorFlow (:mod:`nst_tf.deploy.litert_run`), as a phone would run it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

from nst_tf.deploy.servable import Part
from nst_tf.errors import UserError

QUANTIZATIONS = ("none", "float16", "dynamic", "int8")
#: TFLite ops of instance normalisation (statistics, scale and shift), kept in float in ``int8`` files
FLOAT_STATISTICS_OPS = ("MEAN", "SQUARED_DIFFERENCE", "RSQRT", "SUB", "MUL", "ADD")
#: ``int8``: activation ranges span this percentile of the calibration photos' values, not their
#: extremes (set on the tuning photos chelsea, coffee_sky and coffee_night; benchmarks/RESULTS.md)
RANGE_PERCENTILE = 99.99


def require_litert() -> None:
    import importlib.util

    if importlib.util.find_spec("ai_edge_litert") is None:
        raise UserError("checking TFLite files needs LiteRT: pip install 'nst_tf[export]'")


def _converter(fn, specs) -> tf.lite.TFLiteConverter:
    """The converter of a concrete function. TF asks for ``trackable_obj`` and warns without it,
    but given a module holding the Keras 3 models it writes a file without their weights (a
    constant picture, caught by the check): the frozen-graph path is the one that works."""
    concrete = tf.function(fn, input_signature=specs).get_concrete_function()
    from absl import logging

    level = logging.get_verbosity()
    logging.set_verbosity(logging.ERROR)
    try:
        return tf.lite.TFLiteConverter.from_concrete_functions([concrete], None)
    finally:
        logging.set_verbosity(level)


def _float_specs(specs: list) -> list:
    return [tf.TensorSpec(s.shape, tf.float32, name=s.name) if s.dtype == tf.uint8 else s for s in specs]


def convert(part: Part, quantize: str, shape: Optional[tuple], calibration: Sequence[list]) -> bytes:
    """The flatbuffer of ``part`` (``shape``: fixed (width, height), or None for any size).
    ``calibration``: sample inputs (lists of uint8 arrays, as :attr:`Part.sample` gives) for int8."""
    return drop_internal_names(_convert(part, quantize, shape, calibration))


def drop_internal_names(flatbuffer: bytes) -> bytes:
    """The same model without the names of its internal tensors (inputs, outputs and signatures
    keep theirs)."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(flatbuffer))
    for graph in model.subgraphs:
        keep = {int(i) for i in graph.inputs} | {int(i) for i in graph.outputs}
        for index, tensor in enumerate(graph.tensors):
            if index not in keep:
                tensor.name = None
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _convert(part: Part, quantize: str, shape: Optional[tuple], calibration: Sequence[list]) -> bytes:
    if quantize not in QUANTIZATIONS:
        raise UserError(f"unknown --quantize {quantize!r}; choose from {', '.join(QUANTIZATIONS)}")
    specs = part.specs(shape)
    if quantize != "int8":
        converter = _converter(part.pixels, specs)
        if quantize != "none":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]  # alone: dynamic-range int8 weights
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        return converter.convert()
    if part.floats is None:
        raise UserError(
            f"--quantize=int8 needs a fixed style: the {part.name or 'model'} part takes a style vector; "
            "pass --style to bake one in, or use --quantize=dynamic"
        )

    def representative():
        for inputs in calibration:
            yield [x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x for x in inputs]

    floats = part.floats if part.int8_floats is None else part.int8_floats([s[0] for s in representative()])
    converter = _converter(floats, _float_specs(specs))

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    options = tf.lite.experimental.QuantizationDebugOptions(denylisted_ops=list(FLOAT_STATISTICS_OPS))
    with _quiet():
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter, debug_dataset=representative, debug_options=options
        )
        debugger.calibrated_model = percentile_ranges(debugger.calibrated_model, representative())
        return debugger.get_nondebug_quantized_model()


def percentile_ranges(calibrated: bytes, samples, percentile: float = RANGE_PERCENTILE) -> bytes:
    """The calibrated float model with each activation's range narrowed from the calibration
    photos' extremes to their ``percentile`` (and ``100 - percentile``): the converter's min/max
    spends most int8 levels on a few outlying values, which flat areas, where the network paints
    from detail below one grey level, cannot afford."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(calibrated))
    graph = model.subgraphs[0]
    interpreter = tf.lite.Interpreter(model_content=calibrated, experimental_preserve_all_tensors=True)
    interpreter.allocate_tensors()
    inputs = [d["index"] for d in interpreter.get_input_details()]
    ranged = [
        i
        for i, t in enumerate(graph.tensors)
        if t.quantization is not None and t.quantization.min is not None and len(t.quantization.min) == 1
    ]
    values: dict = {i: [] for i in ranged if i not in inputs}
    for sample in samples:
        for index, x in zip(inputs, sample):
            interpreter.set_tensor(index, x)
        interpreter.invoke()
        for i in list(values):
            try:
                values[i].append(interpreter.get_tensor(i).ravel())
            except ValueError:  # a tensor the interpreter does not keep
                del values[i]
    for i, seen in values.items():
        v = np.concatenate(seen)
        low, high = np.percentile(v, [100.0 - percentile, percentile])
        q = graph.tensors[i].quantization
        if high > low:
            q.min[0], q.max[0] = max(float(q.min[0]), float(low)), min(float(q.max[0]), float(high))
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


@contextlib.contextmanager
def _quiet():
    """The quantisation debugger prints calibration chatter (from Python, and from C++ straight to
    file descriptor 2: ``fully_quantize: 0, ...``, XNNPACK's delegate notice) and warns that
    ``tf.lite.Interpreter`` is deprecated (it uses it inside); keep the command's output readable.
    Errors still arrive as Python exceptions; ``NST_TF_VERBOSE_TF=1`` keeps the C++ lines."""
    import warnings

    with contextlib.ExitStack() as stack:
        stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
        stack.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore")
        if not os.environ.get("NST_TF_VERBOSE_TF"):
            sys.stderr.flush()
            saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            stack.callback(os.close, devnull)
            stack.callback(os.close, saved)
            stack.callback(os.dup2, saved, 2)
        yield


def gpu_report(flatbuffer: bytes) -> str:
    """TF's model analyzer with its GPU-delegate compatibility check, as text."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        tf.lite.experimental.Analyzer.analyze(model_content=flatbuffer, gpu_compatibility=True)
    text = out.getvalue()
    lines = [ln for ln in text.splitlines() if "GPU" in ln or "not supported" in ln.lower() or "compatib" in ln]
    return "\n".join(lines) if lines else "the analyzer found no GPU delegate incompatibility"


def file_inputs(inputs: list, quantize: str) -> list:
    """A part's sample inputs as the file takes them (``int8`` files: float [0, 1] pixels)."""
    return [x.astype(np.float32) / 255.0 if quantize == "int8" and x.dtype == np.uint8 else x for x in inputs]


def check(path: Path, inputs: list, names: Sequence[str], repeats: int = 3) -> tuple:
    """Run ``path`` in LiteRT in a process without TensorFlow: (outputs by name, best seconds)."""
    require_litert()
    with tempfile.TemporaryDirectory(prefix="nst-litert-") as tmp:
        given, got = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
        np.savez(given, **dict(zip(names, inputs)))
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        proc = subprocess.run(
            [sys.executable, "-m", "nst_tf.deploy.litert_run", str(path), str(given), str(got), str(repeats)],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"LiteRT could not run {path.name}: {tail[:300]}")
        info = json.loads(proc.stdout.strip().splitlines()[-1])
        if info["tensorflow_loaded"]:
            raise RuntimeError("the LiteRT check loaded TensorFlow; it must run on LiteRT alone")
        with np.load(got) as data:
            return {k: data[k] for k in data.files}, info["seconds"]
