"""nst-export: a feed-forward network written for the TF runtimes and checked in each."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Optional

from nst_tf.config.options import as_tuples, check_choice, check_strings, option
from nst_tf.errors import UserError

FORMATS = ("saved_model", "tflite", "onnx", "tfjs")
QUANTIZATIONS = ("none", "float16", "dynamic", "int8")
MAX_SHAPE = 8192


def parse_shape(text: str) -> tuple:
    """``"1024x768"`` -> (1024, 768): width x height, each 32..8192 px."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(text))
    if not match:
        raise UserError(f"shapes must be WIDTHxHEIGHT buckets such as 512x512,1024x768, got {text!r}")
    width, height = int(match.group(1)), int(match.group(2))
    if not (32 <= width <= MAX_SHAPE and 32 <= height <= MAX_SHAPE):
        raise UserError(f"shape {text!r}: width and height must be 32..{MAX_SHAPE} px")
    return width, height


@dataclass(frozen=True)
class ExportConfig:
    """Exporting a network (``nst-export``). Each field is a flag of that command."""

    model: Optional[str] = option(
        None,
        "What to export: arbitrary (the any-style network), or a training workdir of nst-train-fast "
        "(per-style or --arch=arbitrary).",
        kind="str",
    )
    style: tuple = option(
        (),
        "Any-style models: paintings (or .npy style vectors) whose style is baked into the files; "
        "without it the files take a style image as a second input.",
        kind="list",
    )
    output: Optional[str] = option(None, "Folder to write (must not exist, unless --overwrite).", kind="str")
    name: Optional[str] = option(
        None, "Model name: TF Serving's NAME/VERSION/ folder and the files' names (default: from --model).", kind="str"
    )
    version: int = option(1, "TF Serving version folder of the SavedModel.")
    formats: tuple = option(
        ("saved_model", "tflite"),
        "Comma list of saved_model, tflite, onnx, tfjs (TF.js graph model; needs the converter's own "
        "environment, see --tfjs_converter).",
        choices=FORMATS,
        kind="list",
    )
    quantize: tuple = option(
        ("none",),
        "TFLite files to make, comma list: none (float32), float16, dynamic (int8 weights), int8 "
        "(full integer, calibrated on --calibration_images).",
        choices=QUANTIZATIONS,
        kind="list",
    )
    shapes: tuple = option(
        (),
        "Fixed-shape buckets WIDTHxHEIGHT (e.g. 512x512,1024x768): a SavedModel signature each "
        "(checked under XLA, for TPUs) and TFLite files of that size (faster on phones).",
        kind="list",
    )
    calibration_images: tuple = option(
        (), "Photos that calibrate --quantize=int8 (default: the bundled photos).", kind="list"
    )
    check_size: int = option(256, "Longer side of the photo each file is checked on.", unit="px")
    tfjs_converter: Optional[str] = option(
        None,
        "--formats=tfjs: the tensorflowjs_converter to run. It pins its own TensorFlow, so it lives in "
        "its own environment (python -m venv .tools/tfjs && .tools/tfjs/bin/pip install tensorflowjs==4.22.0 "
        "ydf==0.11.0). Default: .tools/tfjs/bin/tensorflowjs_converter, else the one on PATH.",
        kind="str",
    )
    node_modules: str = option(
        ".tools/node_modules",
        "--formats=tfjs: the node_modules folder holding @tensorflow/tfjs, which checks the files in Node.js "
        "(npm install --prefix .tools @tensorflow/tfjs@4).",
        kind="str",
    )
    overwrite: bool = option(False, "Replace an existing --output folder.")

    def __post_init__(self):
        check_strings(self, ("model", "output", "name", "tfjs_converter", "node_modules"))
        lists = ("style", "formats", "quantize", "shapes", "calibration_images")
        for name in lists:  # an empty list flag arrives as None
            if getattr(self, name) is None:
                object.__setattr__(self, name, ())
        as_tuples(self, lists)
        if not self.model:
            raise UserError("--model is required: arbitrary or a training workdir of nst-train-fast")
        if not self.output:
            raise UserError("--output is required: a folder to write (e.g. --output=export/)")
        if not self.formats:
            raise UserError(f"--formats is empty; choose from {', '.join(FORMATS)}")
        for value in self.formats:
            check_choice("format", value, FORMATS)
        for value in self.quantize:
            check_choice("quantize", value, QUANTIZATIONS)
        if not self.quantize:
            raise UserError(f"--quantize is empty; choose from {', '.join(QUANTIZATIONS)}")
        object.__setattr__(self, "shapes", tuple(dict.fromkeys(parse_shape(s) for s in self.shapes)))
        for name, low in (("version", 1), ("check_size", 32)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise UserError(f"{name} must be a whole number of at least {low}, got {value!r}")
        if self.name is not None and not re.fullmatch(r"[A-Za-z0-9_.+-]+", self.name):
            raise UserError(f"name {self.name!r} must be letters, digits, '_', '-', '.' or '+' (it names folders)")

    def replace(self, **changes) -> "ExportConfig":
        return dataclasses.replace(self, **changes)
