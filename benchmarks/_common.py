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
    return json.loads(lines[-1][len("RESULT "):])


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
        "device": precision.device_description(), "cpu_model": precision.cpu_model(),
        "cpu_flags": [f for f in SPEED_FLAGS if f in precision.cpu_flags()],
        "machine": platform.machine(), "cpu_count": os.cpu_count(),
        "gpu": [tf.config.experimental.get_device_details(g).get("device_name", "GPU") for g in gpus],
        "tensorflow": tf.__version__, "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
    }


def write_json(path: str, payload: dict) -> None:
    with open(path, "w") as fh:
        json.dump(payload, fh, indent=2)
    print(f"\nwrote {path}")
