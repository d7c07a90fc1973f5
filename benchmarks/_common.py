"""Helpers the benchmark scripts share: child processes for clean peak RSS, environment facts."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONTENT = os.path.join(ROOT, "examples", "content", "chelsea.jpg")
STYLE = os.path.join(ROOT, "examples", "style", "starry_night.jpg")


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far [MiB]: VmHWM from /proc (ru_maxrss of a child
    process can report the parent's high-water mark, recorded by Linux at exec), else ru_maxrss."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def emit(row: dict) -> None:
    """Hand a child's result to the parent (see :func:`run_child`)."""
    print("RESULT " + json.dumps(row), flush=True)


def run_child(cmd: list, label: str) -> dict | None:
    """Run ``cmd`` (a benchmark script in child mode) and return the row it emitted, or None."""
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    lines = [l for l in r.stdout.splitlines() if l.startswith("RESULT ")]
    if r.returncode or not lines:
        print(f"FAILED {label}:\n{r.stderr[-3000:]}", file=sys.stderr)
        return None
    return json.loads(lines[-1][len("RESULT ") :])


def random_weights(backbone: str, folder: str) -> str:
    """A seeded random-weights file for ``backbone`` (the arithmetic does not depend on the values)."""
    import keras

    factory = keras.applications.VGG19 if backbone == "vgg19" else keras.applications.VGG16
    keras.utils.set_random_seed(0)
    model = factory(include_top=False, weights=None, input_shape=(None, None, 3))
    path = os.path.join(folder, f"{backbone}_random.weights.h5")
    model.save_weights(path)
    return path


SPEED_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile")


def environment() -> dict:
    """The machine a figure came from: CPU model and the flags that decide speed, GPUs, versions."""
    import tensorflow as tf

    from nst_tf import precision

    gpus = tf.config.list_physical_devices("GPU")
    return {
        "device": precision.device_description(),
        "cpu_model": precision.cpu_model(),
        "cpu_flags": [f for f in SPEED_FLAGS if f in precision.cpu_flags()],
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "gpu": [tf.config.experimental.get_device_details(g).get("device_name", "GPU") for g in gpus],
        "tensorflow": tf.__version__,
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
    }


def _relative(value):
    """Paths under the repository as repository-relative strings (no machine's paths in results)."""
    if isinstance(value, str):
        return value.replace(ROOT + os.sep, "")
    if isinstance(value, dict):
        return {k: _relative(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_relative(v) for v in value]
    return value


def write_json(path: str, payload: dict) -> None:
    with open(path, "w") as fh:
        json.dump(_relative(payload), fh, indent=2)
    print(f"\nwrote {path}")


def bar_chart(summary: dict, keys, path: str, log_keys=()) -> None:
    """One bar panel per score in ``keys``, one bar per method of ``summary`` ({method: {score: value}})."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart")
        return
    fig, axes = plt.subplots(1, len(keys), figsize=(3.3 * len(keys), 3.1))
    for ax, k in zip(axes, keys):
        ax.bar(range(len(summary)), [s[k] for s in summary.values()], color=[f"C{i}" for i in range(len(summary))])
        ax.set_xticks(range(len(summary)), list(summary), rotation=20, ha="right", fontsize=7)
        ax.set_title(k.replace("_", " ") + (" (log)" if k in log_keys else ""), fontsize=9)
        if k in log_keys:
            ax.set_yscale("log")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


SCORES = ("mse", "ssim", "content_distance", "style_distance")


def scores(result, photo, style, feats) -> dict:
    """MSE and SSIM against the photo, content and style distances (``feats``: a
    ``nst_tf.metrics.FeatureMetrics``) of one stylised ``result``."""
    from nst_tf import metrics

    return {
        "mse": round(metrics.mse(result, photo), 5),
        "ssim": round(metrics.ssim(result, photo), 4),
        "content_distance": round(feats.content_distance(result, photo), 4),
        "style_distance": round(feats.style_distance(result, style), 4),
    }


def summarise(rows: list, time_key: str) -> dict:
    """Per method: the mean of each score and the median of ``time_key`` (a mean would carry the
    one-off compilations that a run of same-size images pays once)."""
    import numpy as np

    out = {}
    for m in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == m]
        out[m] = {k: round(float(np.mean([r[k] for r in mine])), 4) for k in SCORES}
        out[m][time_key] = round(float(np.median([r[time_key] for r in mine])), 3)
    return out
