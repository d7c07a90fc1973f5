"""Run a LiteRT (TFLite) file with the standalone runtime, without TensorFlow.

A phone or a small board runs these files with LiteRT alone; so does this check. It imports only
numpy and ``ai-edge-litert`` (XNNPACK, the runtime's default CPU delegate, applies), and reports
whether TensorFlow was loaded, so a check that leaned on TensorFlow would show it::

    python -m nst_tf.deploy.litert_run model.tflite inputs.npz outputs.npz [repeats]

``inputs.npz`` holds one array per input, in the file's input order; ``outputs.npz`` receives the outputs
by name; stdout gets one JSON line: ``{"seconds": best call, "tensorflow_loaded": false, ...}``.
Outputs of a fully quantised file are dequantised to float (its quantisation parameters are in
the file).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np


def run(model_path: str, inputs: dict, repeats: int = 1, threads: int = 2):
    """(outputs by name, best seconds per call). ``inputs``: arrays in the file's input order."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(model_path), num_threads=threads)
    details = interpreter.get_input_details()
    if len(details) != len(inputs):
        raise ValueError(f"the file takes {len(details)} inputs, {len(inputs)} were given")
    arrays = [np.asarray(x).astype(d["dtype"]) for x, d in zip(inputs.values(), details)]
    for array, d in zip(arrays, details):
        if tuple(d["shape"]) != array.shape:
            interpreter.resize_tensor_input(d["index"], array.shape)
    interpreter.allocate_tensors()
    best = float("inf")
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        for array, d in zip(arrays, details):
            interpreter.set_tensor(d["index"], array)
        interpreter.invoke()
        best = min(best, time.perf_counter() - t0)
    result = {}
    for d in interpreter.get_output_details():
        value = interpreter.get_tensor(d["index"])
        scale, zero = d.get("quantization", (0.0, 0))
        result[d["name"]] = (value.astype(np.float32) - zero) * scale if scale else value
    return result, best


def main(argv) -> int:
    model, inputs_path, outputs_path = argv[1:4]
    repeats = int(argv[4]) if len(argv) > 4 else 1
    with np.load(inputs_path) as data:
        inputs = {k: data[k] for k in data.files}
    outputs, seconds = run(model, inputs, repeats)
    np.savez(outputs_path, **outputs)
    print(json.dumps({"seconds": seconds, "tensorflow_loaded": "tensorflow" in sys.modules}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
