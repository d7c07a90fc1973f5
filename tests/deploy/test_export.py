"""nst-export: every format written, run in its own runtime and matched to the Keras model."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import numpy as np
import pytest

from nst_tf import images
from nst_tf.config.export import ExportConfig, parse_shape
from nst_tf.deploy import checks, serving
from nst_tf.deploy import export as ex
from nst_tf.errors import UserError
from nst_tf.feedforward.johnson import stylize_images


@pytest.fixture(scope="module")
def perstyle_export(perstyle_workdir, tmp_path_factory):
    workdir, _ = perstyle_workdir
    out = tmp_path_factory.mktemp("exp") / "export"
    cfg = ExportConfig(
        model=str(workdir),
        output=str(out),
        name="slim",
        formats=("saved_model", "tflite", "onnx"),
        quantize=("none", "float16", "dynamic"),
        shapes=("64x48",),
        check_size=64,
    )
    lines = []
    return out, ex.export(cfg, report=lines.append), lines


def test_every_format_is_written_checked_and_kept(perstyle_export):
    out, results, lines = perstyle_export
    files = {r.file for r in results}
    assert {"slim.tflite", "slim-float16.tflite", "slim-dynamic.tflite", "slim.onnx"} <= {
        f.replace("-64x48", "") for f in files
    }
    assert all(r.kept for r in results), [r for r in results if not r.kept]
    assert (out / "slim" / "1" / "saved_model.pb").is_file()  # TF Serving's NAME/VERSION/
    for r in results:
        if r.file.endswith(".tflite") or r.file.endswith(".onnx"):
            assert (out / r.file).stat().st_size == r.bytes
    float_files = [r for r in results if r.quantize == "none"]
    assert all(r.max_diff <= 2 for r in float_files)
    assert all(r.psnr_db >= 40 for r in results if r.quantize == "float16")
    xla = [r for r in results if "pixels_64x48" in r.file]
    assert xla and xla[0].runtime.startswith("TensorFlow + XLA")
    report = json.loads((out / "export.json").read_text())
    assert {f["file"] for f in report["files"]} == files
    assert "slim-float16-64x48.tflite" in (out / "export.log").read_text()
    assert len(lines) == len(results) + 1  # the header, then a line per file


def test_saved_model_matches_keras_on_a_new_photo(perstyle_workdir, perstyle_export, rng):
    out, _, _ = perstyle_export
    _, keras_model = perstyle_workdir
    loaded = serving.load(out / "slim")  # the highest version under NAME/
    photo = (rng.uniform(size=(1, 37, 53, 3)) * 255).astype(np.uint8)  # an odd size
    got = serving.run_signature(loaded.signatures["pixels"], {"images": photo})["image"]
    want = np.round(np.clip(stylize_images(keras_model, photo / 255.0).numpy(), 0, 1) * 255)
    assert got.shape == photo.shape
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1


def test_rest_predict_request_shapes(perstyle_export, rng):
    out, _, _ = perstyle_export
    loaded = serving.load(out / "slim")
    fn = loaded.signatures[serving.DEFAULT_SIGNATURE]
    photo = (rng.uniform(size=(40, 30, 3)) * 255).astype(np.uint8)
    b64 = base64.b64encode(images.encode_image(photo, "PNG")).decode()
    pixels = serving.run_signature(loaded.signatures["pixels"], {"images": photo[None]})["image"][0]
    row = serving.predict(fn, {"instances": [{"b64": b64}]})  # one input: bare values
    named = serving.predict(fn, {"instances": [{"image_bytes": {"b64": b64}}]})
    columnar = serving.predict(fn, {"inputs": {"image_bytes": [{"b64": b64}]}})
    for answer in (row["predictions"][0], named["predictions"][0], columnar["outputs"]["image_bytes"][0]):
        np.testing.assert_array_equal(images.to_uint8(images.load_image_bytes(base64.b64decode(answer["b64"]))), pixels)
    for bad in ({}, {"instances": []}, {"instances": [{"image_bytes": {"b64": "%%"}}]}, {"inputs": {"x": [1]}}):
        with pytest.raises(serving.RestError):
            serving.predict(fn, bad)


def test_litert_check_runs_without_tensorflow(perstyle_export, tmp_path, rng):
    out, _, _ = perstyle_export
    photo = (rng.uniform(size=(1, 48, 64, 3)) * 255).astype(np.uint8)
    np.savez(tmp_path / "in.npz", images=photo)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "nst_tf.deploy.litert_run",
            str(out / "slim-64x48.tflite"),
            str(tmp_path / "in.npz"),
            str(tmp_path / "out.npz"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert info["tensorflow_loaded"] is False
    with np.load(tmp_path / "out.npz") as data:
        assert next(iter(data.values())).shape == photo.shape


def test_any_style_int8_file_is_full_integer_and_close(tmp_path, style_path, capfd):
    out = tmp_path / "exp"
    cfg = ExportConfig(
        model="arbitrary",
        style=(str(style_path),),
        output=str(out),
        name="wave",
        formats=("tflite",),
        quantize=("none", "int8"),
        shapes=("64x64",),
        check_size=64,
    )
    results = {r.quantize: r for r in ex.export(cfg, report=lambda line: None)}
    # the converter's C++ chatter (written straight to file descriptor 2) stays out of the output
    assert "fully_quantize" not in capfd.readouterr().err
    assert results["none"].kept and results["int8"].kept
    assert results["int8"].psnr_db >= checks.TOLERANCES["int8"][1]
    assert results["int8"].bytes < 0.5 * results["none"].bytes
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(out / "wave-int8-64x64.tflite"))
    conv_weights = [d for d in it.get_tensor_details() if d["dtype"] == np.int8 and len(d["shape"]) == 4]
    assert conv_weights, "the int8 file holds no int8 convolution weights"
    # fixed-shape files carry no MIRROR_PAD (XNNPACK has no kernel for it: each split the graph)
    for name in ("wave-64x64.tflite", "wave-int8-64x64.tflite"):
        it = Interpreter(model_path=str(out / name))
        assert "MIRROR_PAD" not in {op["op_name"] for op in it._get_ops_details()}
        # internal tensor names are dropped, the input and output keep theirs
        named = [d["name"] for d in it.get_tensor_details() if d["name"]]
        assert [d["name"] for d in it.get_input_details()] == ["images"]
        assert len(named) == len(it.get_input_details()) + len(it.get_output_details())


def test_int8_ranges_come_from_a_percentile_not_the_extremes():
    """``lite.percentile_ranges``: a tiny calibrated model whose calibration samples hold one huge
    outlier; its activation range is narrowed to the bulk of the values, not stretched to it."""
    pytest.importorskip("ai_edge_litert")
    import tensorflow as tf
    from tensorflow.lite.tools import flatbuffer_utils

    from nst_tf.deploy import lite

    rng = np.random.default_rng(0)
    samples = [[rng.uniform(0, 1, (1, 16, 16, 3)).astype(np.float32)] for _ in range(4)]
    samples[0][0][0, 0, 0] = 50.0  # one outlying pixel
    fn = tf.function(lambda x: tf.nn.relu(x * 2.0 + 0.5), input_signature=[tf.TensorSpec([1, 16, 16, 3])])
    converter = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], None)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: iter(samples)
    converter._experimental_calibrate_only = True
    calibrated = converter.convert()

    def widest(flatbuffer):
        graph = flatbuffer_utils.read_model_from_bytearray(bytearray(flatbuffer)).subgraphs[0]
        inputs = {int(i) for i in graph.inputs}
        ranges = [
            t.quantization.max[0]
            for i, t in enumerate(graph.tensors)
            if i not in inputs
            and t.quantization is not None
            and t.quantization.max is not None
            and len(t.quantization.max) == 1
        ]
        return max(ranges)

    assert widest(calibrated) > 90  # min/max: the outlier, 2 * 50 + 0.5
    narrowed = widest(lite.percentile_ranges(calibrated, samples, percentile=99.9))
    assert 2.0 <= narrowed < 3.0  # the bulk: 2 * [0, 1] + 0.5


def test_bad_input_is_refused_in_one_line(perstyle_workdir, perstyle_export, tmp_path):
    workdir, _ = perstyle_workdir
    out, _, _ = perstyle_export
    for kwargs, words in (
        (dict(formats=("tfjs.js",)), "unknown format"),
        (dict(quantize=("int4",)), "unknown quantize"),
        (dict(shapes=("512",)), "WIDTHxHEIGHT"),
        (dict(model=None), "--model is required"),
        (dict(name="a/b"), "name"),
    ):
        with pytest.raises(UserError, match=words):
            ExportConfig(**{"model": str(workdir), "output": str(tmp_path / "o"), **kwargs})
    assert parse_shape("1024x768") == (1024, 768)
    with pytest.raises(UserError, match="already exists"):
        ex.export(ExportConfig(model=str(workdir), output=str(out)))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match="no checkpoint"):
        ex.export(ExportConfig(model=str(empty), output=str(tmp_path / "o")))
    with pytest.raises(UserError, match="already an exported model"):
        ex.export(ExportConfig(model=str(out / "slim-64x48.tflite"), output=str(tmp_path / "o")))


def test_a_failed_export_leaves_nothing(perstyle_workdir, tmp_path, monkeypatch):
    workdir, _ = perstyle_workdir
    from nst_tf.deploy import lite

    def broken(*args, **kwargs):
        raise RuntimeError("converter crashed")

    monkeypatch.setattr(lite, "convert", broken)
    with pytest.raises(RuntimeError):
        ex.export(ExportConfig(model=str(workdir), output=str(tmp_path / "o"), formats=("saved_model", "tflite")))
    assert list(tmp_path.iterdir()) == []  # no output, no staging folder


def test_cli_exit_codes(perstyle_workdir, tmp_path):
    workdir, _ = perstyle_workdir
    cmd = [
        sys.executable,
        "-m",
        "nst_tf.cli.export",
        f"--model={workdir}",
        f"--output={tmp_path / 'o'}",
        "--formats=tflite",
        "--check_size=48",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    name = workdir.name  # the default model name
    assert "kept" in done.stdout and (tmp_path / "o" / f"{name}.tflite").is_file()
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 2
    assert again.stderr.strip().splitlines()[-1].startswith("nst-export: error:") and "Traceback" not in again.stderr
