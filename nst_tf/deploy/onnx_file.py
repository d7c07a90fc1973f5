"""ONNX files from a :class:`~nst_tf.deploy.servable.Part` (tf2onnx), checked with onnxruntime.

The file takes and returns the same tensors as the part (uint8 NHWC images, any size; the
any-style ``transfer`` part also a float32 style vector), opset 17.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import tensorflow as tf

from nst_tf.deploy.servable import Part
from nst_tf.errors import UserError

OPSET = 17


def require_tf2onnx() -> None:
    import importlib.util

    if importlib.util.find_spec("tf2onnx") is None:
        raise UserError("--format=onnx needs tf2onnx: pip install 'nst_tf[export]'")


def convert(part: Part, shape: Optional[tuple] = None) -> bytes:
    """The serialised ONNX model of ``part``."""
    require_tf2onnx()
    import tf2onnx

    specs = part.specs(shape)
    fn = tf.function(part.pixels, input_signature=specs)
    model, _ = tf2onnx.convert.from_function(fn, input_signature=specs, opset=OPSET)
    return model.SerializeToString()


def check(path: Path, inputs: list, repeats: int = 3) -> tuple:
    """Run ``path`` with onnxruntime (CPU): (outputs by name, best seconds per call)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {i.name: x for i, x in zip(session.get_inputs(), inputs)}
    names = [o.name for o in session.get_outputs()]
    best, outputs = float("inf"), []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        outputs = session.run(names, feed)
        best = min(best, time.perf_counter() - t0)
    return dict(zip(names, outputs)), best
