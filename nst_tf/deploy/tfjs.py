"""TF.js graph models from a :class:`~nst_tf.deploy.servable.Part`, checked by running them in Node.js.

The converter (``tensorflowjs_converter``, from the ``tensorflowjs`` package) pins its own
TensorFlow and decision-forest packages, so it lives in an environment of its own and runs as a
subprocess on a SavedModel of the part; nothing of it is imported here. The files it writes (a
folder with ``model.json`` and weight shards) take and return the part's tensors, with uint8
images as int32 (TF.js has no uint8 tensors). Each is run right away by
:file:`tfjs_run.js` in Node.js with TensorFlow.js's CPU backend (pure JavaScript, what a browser
falls back to), on the check photo, and compared with the Keras model.

``--quantize`` maps to the converter's weight compression: ``none`` (float32) and ``float16``
(weights stored as float16, computed in float32). TF.js has no int8 arithmetic, so ``dynamic``
and ``int8`` give no TF.js file of their own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from nst_tf.errors import UserError

DEFAULT_CONVERTER = Path(".tools") / "tfjs" / "bin" / "tensorflowjs_converter"
SETUP = "python -m venv .tools/tfjs && .tools/tfjs/bin/pip install tensorflowjs==4.22.0 ydf==0.11.0"
QUANTIZE_FLAGS = {"none": [], "float16": ["--quantize_float16=*"]}
RUNNER = Path(__file__).with_name("tfjs_run.js")
#: TF.js dtype names of the signature's TensorFlow types
_NUMPY = {"DT_UINT8": np.uint8, "DT_FLOAT": np.float32, "DT_INT32": np.int32}


def quantizations(asked: Sequence[str]) -> list:
    """The TF.js files ``--quantize`` asks for (float32 when it names only integer forms)."""
    return [q for q in asked if q in QUANTIZE_FLAGS] or ["none"]


def require(converter: Optional[str], node_modules: str) -> tuple:
    """(converter path, node_modules path) for ``--formats=tfjs``, or a one-line error naming the setup."""
    if converter:
        found = Path(converter)
        if not found.is_file():
            raise UserError(f"--tfjs_converter {converter} does not exist; set it up with: {SETUP}")
    elif DEFAULT_CONVERTER.is_file():
        found = DEFAULT_CONVERTER
    elif shutil.which("tensorflowjs_converter"):
        found = Path(shutil.which("tensorflowjs_converter"))
    else:
        raise UserError(
            f"--formats=tfjs needs tensorflowjs_converter in an environment of its own: {SETUP} "
            "(or pass --tfjs_converter)"
        )
    if shutil.which("node") is None:
        raise UserError(
            "--formats=tfjs checks the files in Node.js, which is not installed (apt-get install nodejs npm)"
        )
    modules = Path(node_modules)
    if not (modules / "@tensorflow" / "tfjs" / "package.json").is_file():
        raise UserError(
            f"--formats=tfjs checks the files with TensorFlow.js, not found in {modules}: "
            "npm install --prefix .tools @tensorflow/tfjs@4 (or pass --node_modules)"
        )
    return found.resolve(), modules.resolve()


def _quiet_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    return env


def convert(part, keep: list, folder: Path, converter: Path, quantize: str = "none") -> int:
    """Write the TF.js graph model of ``part`` (any size) to ``folder``; its size in bytes.
    ``keep``: the Keras models the part uses (saved with it)."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory(prefix="nst-tfjs-") as tmp:
        module = tf.Module()
        module.pixels = tf.function(part.pixels, input_signature=part.specs(None))
        module.models = list(keep)
        saved = Path(tmp) / "saved_model"
        tf.saved_model.save(module, str(saved), signatures={"serving_default": module.pixels})
        command = [
            str(converter),
            "--input_format=tf_saved_model",
            "--output_format=tfjs_graph_model",
            "--signature_name=serving_default",
            "--saved_model_tags=serve",
            *QUANTIZE_FLAGS[quantize],
            str(saved),
            str(folder),
        ]
        proc = subprocess.run(command, capture_output=True, text=True, env=_quiet_env(), timeout=900)
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()] or ["no output"]
        raise RuntimeError(f"tensorflowjs_converter failed: {lines[-1][:300]}")
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


def check(folder: Path, inputs: list, names: Sequence[str], node_modules: Path, repeats: int = 2) -> tuple:
    """Run the TF.js model in ``folder`` in Node.js: (its outputs as numpy arrays, best seconds)."""
    signature = json.loads((Path(folder) / "model.json").read_text())["signature"]
    with tempfile.TemporaryDirectory(prefix="nst-tfjs-run-") as tmp:
        feeds = []
        for name, value in zip(names, inputs):
            value = np.asarray(value)
            value = value.astype(np.int32) if value.dtype.kind in "ui" else value.astype(np.float32)
            file = Path(tmp) / f"{name}.bin"
            value.astype(value.dtype.newbyteorder("<")).tofile(file)
            dtype = "int32" if value.dtype == np.int32 else "float32"
            feeds.append({"name": name, "dtype": dtype, "shape": list(value.shape), "file": str(file)})
        request = Path(tmp) / "request.json"
        request.write_text(json.dumps({"inputs": feeds, "output_dir": tmp, "repeats": repeats}))
        proc = subprocess.run(
            ["node", str(RUNNER), str(node_modules), str(folder), str(request)],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"TensorFlow.js could not run {Path(folder).name}: {tail[:300]}")
        info = json.loads(proc.stdout.strip().splitlines()[-1])
        wanted = {
            spec["name"].split(":")[0]: _NUMPY.get(spec["dtype"], np.float32) for spec in signature["outputs"].values()
        }
        outputs = {}
        for out in info["outputs"]:
            raw = np.fromfile(out["file"], dtype="<i4" if out["dtype"] == "int32" else "<f4").reshape(out["shape"])
            outputs[out["name"]] = raw.astype(wanted.get(out["name"], raw.dtype))
    return outputs, info["seconds"]
