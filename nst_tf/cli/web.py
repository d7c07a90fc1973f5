"""nst-web: the local web app. Open the address it prints, drop a photo, pick a painting.

    nst-web                          # http://127.0.0.1:8765
    nst-web --open_browser --port=8080
    nst-web --backbone=vgg16 --weights=hed   # the offline feature network for paint jobs

Ctrl-C or SIGTERM stops it: the running job is cancelled and the results folder removed.
"""

from __future__ import annotations

from absl import flags

from nst_tf.cli import common, config_flags
from nst_tf.config import WebConfig
from nst_tf.errors import UserError

PROG = "nst-web"

config_from_flags = config_flags.define(WebConfig)  # every WebConfig field is a flag

FLAGS = flags.FLAGS


def _check_weights(config: WebConfig) -> None:
    """Weights files are checked now, not when the first job fails."""
    if config.weights not in ("auto", "imagenet"):
        from nst_tf import backbones

        backbones.resolve_weights(config.weights, config.backbone)
    if config.instant_weights != "published":
        from nst_tf.feedforward import workdir

        if not workdir.has_anystyle_weights(config.instant_weights):
            raise UserError(
                f"--instant_weights={config.instant_weights}: not a folder with predict.weights.h5 and "
                "transfer.weights.h5, nor a workdir of nst-train-fast --arch=arbitrary; pass published "
                "or such a folder"
            )


def _import_web():
    import importlib

    try:
        for module in ("uvicorn", "starlette", "multipart"):
            importlib.import_module(module)
    except ImportError as exc:
        raise UserError(
            f"nst-web needs the web extra ({exc.name} is missing); install it with: "
            "pip install 'nst_tf[web]'  (from a checkout: pip install -e '.[web]')"
        ) from None


def main(argv) -> int:
    cfg = config_from_flags()
    _check_weights(cfg)
    _import_web()
    from nst_tf.web.server import serve

    if serve(cfg, PROG):  # stopped while TensorFlow still builds the models in a background thread
        common.exit_now(common.EXIT_OK)
    return common.EXIT_OK


def run() -> None:
    common.run_app(PROG, main, eager_tensorflow=True)


if __name__ == "__main__":
    run()
