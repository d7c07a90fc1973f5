"""``nst-export``: write a network for each runtime asked for, run each file there, keep what matches.

The folder (``--output``) is built beside its final name and renamed into place whole, so an
interrupted export leaves nothing half-written and an earlier folder intact::

    OUTPUT/
      NAME/VERSION/            SavedModel for TF Serving (serving_default, pixels, pixels_WxH)
      NAME.tflite              LiteRT, float32 (NAME-float16.tflite, NAME-dynamic.tflite,
                               NAME-int8.tflite; NAME-512x512.tflite for a --shapes bucket;
                               NAME-predict*.tflite / NAME-transfer*.tflite for two-input models)
      NAME.onnx                ONNX (NAME-predict.onnx / NAME-transfer.onnx likewise)
      NAME-tfjs/               TF.js graph model (model.json + weights; NAME-float16-tfjs/)
      export.json              every file: runtime, size, difference from the Keras model, latency
      export.log               the LiteRT analyzer's GPU-delegate report per TFLite file

Each file is run in its own runtime right after it is written (the SavedModel loaded back in
TensorFlow, its fixed-shape signatures under XLA; TFLite in LiteRT without TensorFlow; ONNX in
onnxruntime; TF.js in Node.js) on a bundled photo it was not calibrated on, and compared with the Keras model. A
file outside its tolerance (:data:`nst_tf.deploy.checks.TOLERANCES`) is removed and reported; the rest are kept.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from nst_tf.deploy import checks
from nst_tf.errors import UserError


@dataclass
class Result:
    """One file written and checked."""

    format: str
    file: str
    runtime: str
    quantize: str
    bytes: int
    max_diff: Optional[float]
    psnr_db: Optional[float]
    seconds: Optional[float]
    kept: bool
    note: str = ""

    def line(self) -> str:
        diff = "" if self.max_diff is None else f"max diff {self.max_diff:g}"
        psnr = "" if self.psnr_db is None else f"PSNR {self.psnr_db:.1f} dB"
        when = "" if self.seconds is None else f"{self.seconds * 1000:.0f} ms"
        figures = ", ".join(x for x in (diff, psnr, when) if x)
        state = "kept" if self.kept else "REMOVED"
        return f"  {self.file:<34} {self.bytes / 1e6:7.2f} MB  {self.runtime:<24} {figures}  {state}{self.note}"


def _jit(signature):
    """A loaded signature compiled with XLA, as a TPU would run it."""
    import tensorflow as tf

    return tf.function(lambda **inputs: signature(**inputs), jit_compile=True)


def _suffix(*parts) -> str:
    return "".join(f"-{p}" for p in parts if p)


class Exporter:
    """One ``nst-export`` run (see the module docstring); :meth:`run` returns the results."""

    def __init__(self, config, report: Callable[[str], None] = print):
        self.config, self.report = config, report
        self.results: list = []
        self.log: list = []

    def _check_output(self) -> Path:
        from nst_tf.files import check_folder_writable

        out = Path(self.config.output)
        if out.exists() and not out.is_dir():
            raise UserError(f"--output {out} is a file; pass a folder name")
        if out.exists() and not self.config.overwrite:
            raise UserError(f"{out} already exists; pass --overwrite to replace it or choose another --output")
        out.parent.mkdir(parents=True, exist_ok=True)
        check_folder_writable(out.parent, "choose another --output")
        return out

    def _requirements(self) -> None:
        if "tflite" in self.config.formats:
            from nst_tf.deploy.lite import require_litert

            require_litert()
        if "onnx" in self.config.formats:
            from nst_tf.deploy.onnx_file import require_tf2onnx

            require_tf2onnx()
        if "tfjs" in self.config.formats:
            from nst_tf.deploy import tfjs

            self.tfjs_tools = tfjs.require(self.config.tfjs_converter, self.config.node_modules)

    def run(self) -> list:
        from nst_tf.deploy.servable import open_servable
        from nst_tf.files import atomic_write_dir

        out = self._check_output()
        self._requirements()
        cfg = self.config
        servable = open_servable(cfg.model, cfg.style, cfg.name)
        self.servable = servable
        if "tflite" in cfg.formats and "int8" in cfg.quantize and any(p.floats is None for p in servable.parts):
            raise UserError(
                "--quantize=int8 needs a fixed style (the files would take a style vector): pass --style "
                "to bake one in, or use --quantize=dynamic"
            )
        self.report(f"exporting {servable.description} as {servable.name} to {out}")
        atomic_write_dir(out, self._write_all)
        return self.results

    # ----------------------------------------------------------------- writing

    def _write_all(self, folder: str) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True)
        writers = {"saved_model": self._saved_model, "tflite": self._tflite, "onnx": self._onnx, "tfjs": self._tfjs}
        for fmt in self.config.formats:
            writers[fmt](folder)
        if not any(r.kept for r in self.results):
            raise UserError("no file matched the Keras model within its tolerance; nothing was written")
        summary = {
            "model": self.config.model,
            "name": self.servable.name,
            "kind": self.servable.kind,
            "description": self.servable.description,
            "tolerances": {"images": checks.TOLERANCES, "vectors": checks.VECTOR_TOLERANCES},
            "files": [asdict(r) for r in self.results],
        }
        (folder / "export.json").write_text(json.dumps(summary, indent=2) + "\n")
        (folder / "export.log").write_text("\n".join(self.log) + "\n")

    def _record(self, result: Result, path: Path) -> None:
        if not result.kept:
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        self.results.append(result)
        self.report(result.line())

    def _inputs(self, shape: Optional[tuple]) -> tuple:
        from nst_tf.feedforward.data import BUNDLED_PHOTOS

        photo = checks.photo_at(BUNDLED_PHOTOS / checks.CHECK_PHOTO, shape, self.config.check_size)
        style = checks.photo_at(BUNDLED_PHOTOS / checks.CHECK_STYLE, None, 256)
        return photo, style

    def _saved_model(self, folder: Path) -> None:
        import tensorflow as tf

        from nst_tf.deploy import serving

        s, cfg = self.servable, self.config
        path = folder / s.name / str(cfg.version)
        path.parent.mkdir(parents=True)
        serving.write_saved_model(s, path, cfg.shapes)
        size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        loaded = serving.load(path)
        photo, style = self._inputs(None)
        sample = s.pixel_sample(photo, style)
        specs = s.pixel_specs(None)
        reference = tf.function(s.pixel_fn, input_signature=specs)(
            *[tf.constant(sample[spec.name], spec.dtype) for spec in specs]
        )["image"].numpy()
        got = serving.run_signature(loaded.signatures[serving.PIXELS], sample)["image"]
        encoded = self._bytes_check(loaded, photo, style)
        diff, psnr = checks.compare(np.stack([got[0], encoded]), np.concatenate([reference, reference]))
        what = f"{s.name}/{cfg.version}/"
        found = [Result("saved_model", what, "TensorFlow (loaded)", "none", size, diff, psnr, None, True)]
        part = s.shape_part
        for shape in cfg.shapes:
            photo, style = self._inputs(shape)
            inputs = part.sample(photo)
            reference = self._part_reference(part, inputs, shape)
            fn = loaded.signatures[serving.shape_signature(shape)]
            xla = _jit(fn)
            names = [spec.name for spec in part.specs(shape)]
            got = xla(**{k: tf.constant(v) for k, v in zip(names, inputs)})[part.output].numpy()
            diff, psnr = checks.compare(got, reference)
            what = f"  {serving.shape_signature(shape)}"
            found.append(Result("saved_model", what, "TensorFlow + XLA (jit)", "none", 0, diff, psnr, None, True))
        kept = all(checks.passes("none", r.max_diff, r.psnr_db, False) for r in found)
        for r in found:
            r.kept = kept
            self.results.append(r)
            self.report(r.line())
        if not kept:
            shutil.rmtree(path.parent)

    def _bytes_check(self, loaded, photo: np.ndarray, style: np.ndarray) -> np.ndarray:
        """``serving_default`` on PNG bytes, decoded: the TF Serving REST path."""
        from nst_tf import images
        from nst_tf.deploy import serving

        fn = loaded.signatures[serving.DEFAULT_SIGNATURE]
        inputs = {"image_bytes": np.array([images.encode_image(photo, "PNG")], dtype=object)}
        if "strength" in serving.signature_inputs(fn):
            inputs["strength"] = np.array([1.0], np.float32)
        if "style_bytes" in serving.signature_inputs(fn):
            inputs["style_bytes"] = np.array([images.encode_image(style, "PNG")], dtype=object)
        return images.to_uint8(images.load_image_bytes(serving.run_signature(fn, inputs)["image_bytes"][0]))

    def _part_sample(self, part, shape: Optional[tuple]) -> tuple:
        """(inputs, Keras reference output) of ``part`` on the check photo (the style photo for
        the style predictor) at ``shape``."""
        photo, style = self._inputs(shape)
        sample = part.sample(style if part.name == "predict" else photo)
        return sample, self._part_reference(part, sample, shape)

    def _part_reference(self, part, inputs: list, shape) -> np.ndarray:
        import tensorflow as tf

        specs = part.specs(shape)
        out = tf.function(part.pixels, input_signature=specs)(*[tf.constant(x, s.dtype) for x, s in zip(inputs, specs)])
        return out[part.output].numpy()

    def _tflite(self, folder: Path) -> None:
        from nst_tf.deploy import lite

        s, cfg = self.servable, self.config
        for part in s.parts:
            # the style predictor takes a style resized by the caller: no shape buckets
            for shape in (None,) if part.output == "vector" else cfg.shapes or (None,):
                sample, reference = self._part_sample(part, shape)
                for q in cfg.quantize:
                    name = s.name + _suffix(part.name, None if q == "none" else q, shape and f"{shape[0]}x{shape[1]}")
                    path = folder / f"{name}.tflite"
                    calibration = (
                        [part.sample(p) for p in checks.calibration_photos(cfg, shape or (cfg.check_size,) * 2)]
                        if q == "int8"
                        else []
                    )
                    flatbuffer = lite.convert(part, q, shape, calibration)
                    path.write_bytes(flatbuffer)
                    self.log.append(f"{path.name}: {lite.gpu_report(flatbuffer)}")
                    names = [spec.name for spec in part.specs(shape)]
                    outputs, seconds = lite.check(path, lite.file_inputs(sample, q), names)
                    got = next(iter(outputs.values()))
                    vector = part.output == "vector"
                    got = got if vector else checks.as_pixels(got)
                    diff, psnr = checks.compare(got, reference, vector)
                    ok = checks.passes(q, diff, psnr, vector)
                    runtime = "LiteRT (no TF), XNNPACK"
                    self._record(
                        Result("tflite", path.name, runtime, q, len(flatbuffer), diff, psnr, seconds, ok), path
                    )

    def _onnx(self, folder: Path) -> None:
        from nst_tf.deploy import onnx_file

        s = self.servable
        for part in s.parts:
            sample, reference = self._part_sample(part, None)
            path = folder / f"{s.name}{_suffix(part.name)}.onnx"
            data = onnx_file.convert(part)
            path.write_bytes(data)
            outputs, seconds = onnx_file.check(path, sample)
            vector = part.output == "vector"
            diff, psnr = checks.compare(next(iter(outputs.values())), reference, vector)
            ok = checks.passes("none", diff, psnr, vector)
            self._record(
                Result("onnx", path.name, "onnxruntime (CPU)", "none", len(data), diff, psnr, seconds, ok), path
            )

    def _tfjs(self, folder: Path) -> None:
        from nst_tf.deploy import tfjs

        s, cfg = self.servable, self.config
        converter, modules = self.tfjs_tools
        for part in s.parts:
            sample, reference = self._part_sample(part, None)
            names = [spec.name for spec in part.specs(None)]
            vector = part.output == "vector"
            for q in tfjs.quantizations(cfg.quantize):
                path = folder / f"{s.name}{_suffix(part.name, None if q == 'none' else q)}-tfjs"
                size = tfjs.convert(part, s.keep, path, converter, q)
                outputs, seconds = tfjs.check(path, sample, names, modules)
                diff, psnr = checks.compare(next(iter(outputs.values())), reference, vector)
                ok = checks.passes(q, diff, psnr, vector)
                runtime = "TF.js (Node, CPU)"
                self._record(Result("tfjs", f"{path.name}/", runtime, q, size, diff, psnr, seconds, ok), path)


def export(config, report: Callable[[str], None] = print) -> list:
    """Export per ``config`` (:class:`~nst_tf.config.export.ExportConfig`); the :class:`Result` list."""
    return Exporter(config, report).run()
