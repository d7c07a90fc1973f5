"""Deployment formats (issue #33): size, latency and agreement of each file nst-export writes.

    python benchmarks/export_formats.py              # about 3 minutes on 2 cores

Exports the any-style network with Magenta's published weights and a baked style (starry_night)
at fixed shapes 256x256 and 512x512 (what a phone app would ship), as float32, float16,
dynamic-range and int8 TFLite files and ONNX, all through ``nst-export`` (so every file has
already been checked against Keras). Then, on held-out photos that nothing was calibrated on
(``benchmarks/holdout``: grace_hopper, rocket): each file's output against the Keras model (max
difference, PSNR), style and content distance (HED VGG16 features) of the int8 and dynamic
pictures against the float32 picture's, file size and best-of-5 latency, LiteRT with XNNPACK on
2 threads (onnxruntime: 2 intra-op threads). The int8 files are calibrated on the bundled photos.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import ROOT, environment, write_json  # noqa: E402

STYLE = os.path.join(ROOT, "nst_tf", "web", "gallery", "starry_night.jpg")
HOLDOUT = [os.path.join(ROOT, "benchmarks", "holdout", n) for n in ("grace_hopper.jpg", "rocket.jpg")]
SHAPES = ((256, 256), (512, 512))
QUANTS = ("none", "float16", "dynamic", "int8")


def photo_at(path: str, shape: tuple) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB").resize(shape, Image.LANCZOS))


def per_style_rows() -> list:
    """Size and LiteRT latency of the per-style ``johnson`` network (1.7M weights) at 512 px, float32
    and int8. Its weights are freshly initialised (no trained per-style workdir ships), so only the
    file size and the latency are reported, not picture quality."""
    import tensorflow as tf

    from nst_tf.config.export import ExportConfig
    from nst_tf.deploy import lite
    from nst_tf.deploy.export import export
    from nst_tf.feedforward import workdir as wd
    from nst_tf.feedforward.johnson import build_transformer

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        run.mkdir()
        wd.write_arch(run, "johnson")
        ckpt = tf.train.Checkpoint(model=build_transformer("johnson"))
        tf.train.CheckpointManager(ckpt, str(wd.checkpoints(run)), max_to_keep=1).save()
        out = Path(tmp) / "export"
        export(
            ExportConfig(
                model=str(run),
                output=str(out),
                name="johnson",
                formats=("tflite",),
                quantize=("none", "int8"),
                shapes=("512x512",),
            ),
            report=lambda line: None,
        )
        photo = photo_at(HOLDOUT[0], (512, 512))
        for q in ("none", "int8"):
            path = out / f"johnson{'' if q == 'none' else '-' + q}-512x512.tflite"
            _, seconds = lite.check(path, lite.file_inputs([photo[None]], q), ["images"], repeats=5)
            rows.append({"file": path.name, "quantize": q, "bytes": path.stat().st_size, "seconds": round(seconds, 4)})
    for r in rows:
        r["size_vs_float32"] = round(r["bytes"] / rows[0]["bytes"], 3)
        r["latency_vs_float32"] = round(r["seconds"] / rows[0]["seconds"], 3)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", default=os.path.join(ROOT, "benchmarks", "export_formats.json"))
    args = ap.parse_args()

    from nst_tf import metrics
    from nst_tf.config.export import ExportConfig
    from nst_tf.deploy import lite, onnx_file
    from nst_tf.deploy.checks import compare
    from nst_tf.deploy.export import export

    feats = metrics.FeatureMetrics()
    rows = []
    rng = np.random.default_rng(0)
    sensitivity = {}  # shape -> PSNR of the float32 picture of each held-out photo nudged by +-1 grey level
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "export")
        cfg = ExportConfig(
            model="arbitrary",
            style=(STYLE,),
            output=out,
            name="starry",
            formats=("tflite", "onnx"),
            quantize=QUANTS,
            shapes=tuple(f"{w}x{h}" for w, h in SHAPES),
        )
        export(cfg)
        for shape in SHAPES:
            label = f"{shape[0]}x{shape[1]}"
            pictures = {}
            for q in QUANTS:
                name = f"starry{'' if q == 'none' else '-' + q}-{label}.tflite"
                path = os.path.join(out, name)
                per_photo = []
                for photo_path in HOLDOUT:
                    photo = photo_at(photo_path, shape)
                    outputs, seconds = lite.check(
                        __import__("pathlib").Path(path), lite.file_inputs([photo[None]], q), ["images"], repeats=5
                    )
                    got = next(iter(outputs.values()))[0]
                    got = got if got.dtype == np.uint8 else np.round(np.clip(got, 0, 1) * 255).astype(np.uint8)
                    per_photo.append((photo, got, seconds))
                pictures[q] = per_photo
                rows.append(
                    {
                        "file": name,
                        "shape": label,
                        "quantize": q,
                        "runtime": "LiteRT 2 threads, XNNPACK",
                        "bytes": os.path.getsize(path),
                        "seconds": round(float(np.median([s for _, _, s in per_photo])), 4),
                    }
                )
            # how far the float32 file's own picture moves when each photo pixel moves by at most
            # one grey level (a different rounding or JPEG pass): the scale for the int8 PSNR
            float_path = Path(out) / f"starry-{label}.tflite"
            for photo, ref, _ in pictures["none"]:
                nudged = np.clip(photo.astype(np.int16) + rng.integers(-1, 2, photo.shape), 0, 255).astype(np.uint8)
                outputs, _ = lite.check(float_path, [nudged[None]], ["images"], repeats=1)
                sensitivity.setdefault(label, []).append(round(compare(next(iter(outputs.values()))[0], ref)[1], 2))
            onnx_path = Path(out) / "starry.onnx"
            photo = photo_at(HOLDOUT[0], shape)
            _, seconds = onnx_file.check(onnx_path, [photo[None]], repeats=5)
            rows.append(
                {
                    "file": "starry.onnx",
                    "shape": label,
                    "quantize": "none",
                    "runtime": "onnxruntime 2 threads",
                    "bytes": onnx_path.stat().st_size,
                    "seconds": round(seconds, 4),
                }
            )
            for row in rows:
                if row["shape"] != label or row["file"].endswith(".onnx"):
                    continue
                q = row["quantize"]
                diffs = [compare(got, ref) for (_, got, _), (_, ref, _) in zip(pictures[q], pictures["none"])]
                row["max_diff_vs_float32"] = max(d for d, _ in diffs)
                row["psnr_vs_float32_db"] = round(min(p for _, p in diffs), 2)
                row["psnr_vs_float32_db_per_photo"] = {Path(h).stem: round(p, 2) for h, (_, p) in zip(HOLDOUT, diffs)}
                dist = []
                for (photo, got, _), (_, ref, _) in zip(pictures[q], pictures["none"]):
                    s, s0 = feats.style_distance(got / 255.0, STYLE), feats.style_distance(ref / 255.0, STYLE)
                    c, c0 = (
                        feats.content_distance(got / 255.0, photo / 255.0),
                        feats.content_distance(ref / 255.0, photo / 255.0),
                    )
                    dist.append((s / s0 - 1, c / c0 - 1))
                row["style_distance_change"] = round(max(abs(a) for a, _ in dist), 4)
                row["content_distance_change"] = round(max(abs(b) for _, b in dist), 4)
                if q == "int8":
                    pairs = [
                        np.concatenate([ref, got], 1) for (_, ref, _), (_, got, _) in zip(pictures["none"], pictures[q])
                    ]
                    Image.fromarray(np.concatenate(pairs, 0)).save(
                        os.path.join(ROOT, "benchmarks", f"export_int8_{label}.png")
                    )
    float_rows = {r["shape"]: r for r in rows if r["quantize"] == "none" and r["file"].endswith(".tflite")}
    for r in rows:
        base = float_rows[r["shape"]]
        r["size_vs_float32"] = round(r["bytes"] / base["bytes"], 3)
        r["latency_vs_float32"] = round(r["seconds"] / base["seconds"], 3)
    print(f"{'file':<34}{'MB':>7}{'ms':>8}{'x f32':>7}{'PSNR':>7}{'style':>8}{'content':>9}")
    for r in rows:
        print(
            f"{r['file']:<34}{r['bytes'] / 1e6:7.2f}{r['seconds'] * 1000:8.1f}{r['latency_vs_float32']:7.2f}"
            f"{r.get('psnr_vs_float32_db', float('nan')):7.1f}{r.get('style_distance_change', float('nan')):8.3f}"
            f"{r.get('content_distance_change', float('nan')):9.3f}"
        )
    per_style = per_style_rows()
    for r in per_style:
        print(f"{r['file']:<34}{r['bytes'] / 1e6:7.2f}{r['seconds'] * 1000:8.1f}{r['latency_vs_float32']:7.2f}")
    for label, psnrs in sensitivity.items():
        print(f"float32 {label}, photos nudged by +-1 grey level: PSNR {psnrs} dB against the unnudged pictures")
    write_json(
        args.json,
        {
            "environment": environment(),
            "rows": rows,
            "float32_psnr_photo_nudged_1_grey_level": sensitivity,
            "per_style_johnson_untrained": per_style,
        },
    )


if __name__ == "__main__":
    main()
