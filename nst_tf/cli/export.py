"""nst-export: write a style network for the TF runtimes, and run each file there to check it.

    nst-export --model=runs/starry --output=export/ --formats=saved_model,tflite,onnx
    nst-export --model=arbitrary --style=examples/style/starry_night.jpg --output=export/ \\
        --formats=tflite --quantize=none,float16,dynamic,int8 --shapes=512x512
    nst-export --model=arbitrary --output=export/   # two inputs: photo and painting

Prints one line per file (size, runtime, difference from the Keras model, latency) and writes
export.json beside them. A file outside its tolerance is removed (exit 3); nothing half-written
is ever left under --output.
"""

from __future__ import annotations

from absl import flags

from nst_tf.cli import common, config_flags
from nst_tf.config.export import ExportConfig

PROG = "nst-export"

config_from_flags = config_flags.define(ExportConfig)  # every ExportConfig field is a flag

FLAGS = flags.FLAGS


def main(argv) -> int:
    cfg = config_from_flags()
    from nst_tf.deploy.export import export

    results = export(cfg, report=common.say)
    removed = [r.file for r in results if not r.kept]
    common.say(f"wrote {cfg.output} ({sum(r.kept for r in results)} checked files, export.json)")
    if removed:
        common.say(f"{len(removed)} files did not match the Keras model and were removed: {', '.join(removed)}")
        return common.EXIT_SOME_REFUSED
    return common.EXIT_OK


def run():
    common.run_app(PROG, main)


if __name__ == "__main__":
    run()
