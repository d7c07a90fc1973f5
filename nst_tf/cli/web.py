"""nst-web: the local web app. Open the address it prints, drop a photo, pick a painting.

    nst-web                          # http://127.0.0.1:8765
    nst-web --open_browser --port=8080
    nst-web --backbone=vgg16 --weights=hed   # the offline feature network for paint jobs

Ctrl-C or SIGTERM stops it: the running job is cancelled and the results folder removed.
"""

from __future__ import annotations

import logging
import signal
import threading

from absl import flags

from nst_tf.cli import common, config_flags
from nst_tf.config import WebConfig
from nst_tf.errors import UserError

PROG = "nst-web"
log = logging.getLogger("nst_tf")

config_from_flags = config_flags.define(WebConfig)  # every WebConfig field is a flag

FLAGS = flags.FLAGS


def _check_weights(config: WebConfig) -> None:
    """Weights files are checked now, not when the first job fails."""
    if config.weights not in ("auto", "imagenet"):
        from nst_tf import backbones

        backbones.resolve_weights(config.weights, config.backbone)
    if config.instant_weights != "published":
        from pathlib import Path

        folder = Path(config.instant_weights)
        if not any((d / name).exists() for d in (folder, folder / "weights")
                   for name in ("predict.weights.h5", "checkpoints")):
            raise UserError(f"--instant_weights={config.instant_weights}: not a folder with predict.weights.h5 and "
                            "transfer.weights.h5, nor a workdir of nst-train-fast --arch=arbitrary; pass published "
                            "or such a folder")


def _import_web():
    import importlib

    try:
        for module in ("uvicorn", "starlette", "multipart"):
            importlib.import_module(module)
    except ImportError as exc:
        raise UserError(f"nst-web needs the web extra ({exc.name} is missing); install it with: "
                        "pip install 'nst_tf[web]'  (from a checkout: pip install -e '.[web]')") from None


def main(argv) -> int:
    cfg = config_from_flags()
    _check_weights(cfg)
    _import_web()
    from nst_tf.config import StylizeConfig
    from nst_tf.web.app import create_app
    from nst_tf.web.engines import Engines
    from nst_tf.web.jobs import JobQueue
    from nst_tf.web.server import listen, make_server

    sock = listen(cfg.host, cfg.port)
    port = sock.getsockname()[1]
    shown_host = "127.0.0.1" if cfg.host in ("0.0.0.0", "::") else cfg.host
    url = f"http://{shown_host}:{port}/"

    config = StylizeConfig(backbone=cfg.backbone, weights=cfg.weights, precision=cfg.precision)
    engines = Engines(config, arbitrary_precision=cfg.precision, arbitrary_weights=cfg.instant_weights)
    jobs = JobQueue(engines, max_queued=cfg.queue_size, keep=cfg.keep_results)
    app = create_app(jobs, max_upload_bytes=int(cfg.max_upload_mb * 2**20))
    if cfg.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("listening on %s: anyone who can reach this machine can use it (there is no login)", cfg.host)
    log.info("%s: results go to %s (removed on exit)", PROG, jobs.folder)
    log.info("%s: preparing the models in the background; the page works already", PROG)
    threading.Thread(target=engines.warm, name="nst-web-warm", daemon=True).start()

    server = make_server(app)
    stopped = []

    def _started():
        log.info("%s: serving on %s  (Ctrl-C stops)", PROG, url)
        if cfg.open_browser:
            import webbrowser

            webbrowser.open(url)

    # uvicorn handles SIGINT/SIGTERM itself (graceful stop); after it returns it re-raises the signal
    # it caught: these handlers record it instead of turning it into KeyboardInterrupt.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: stopped.append(signum))
    _watch_startup(server, _started)
    try:
        server.run(sockets=[sock])
    finally:
        jobs.close()  # idempotent: the app's shutdown closed it already unless start-up failed
        sock.close()
    log.info("%s: stopped", PROG)
    return common.EXIT_OK


def _watch_startup(server, callback) -> None:
    def watch():
        import time

        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            callback()

    threading.Thread(target=watch, name="nst-web-started", daemon=True).start()


def run() -> None:
    common.run_app(PROG, main)


if __name__ == "__main__":
    run()
