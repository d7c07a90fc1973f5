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

from nst_tf.cli import common
from nst_tf.config import BACKBONES, PRECISIONS, check_choice
from nst_tf.errors import UserError

PROG = "nst-web"
log = logging.getLogger("nst_tf")

flags.DEFINE_string("host", "127.0.0.1", "Address to listen on. The default serves this computer only; 0.0.0.0 "
                                         "opens it to the network (there is no login).")
flags.DEFINE_integer("port", 8765, "Port to listen on (0: any free port).")
flags.DEFINE_float("max_upload_mb", 20.0, "Largest request (photo plus painting) accepted [MB].")
flags.DEFINE_integer("queue_size", 8, "Jobs that may wait at once; more are refused with HTTP 429.")
flags.DEFINE_integer("keep_results", 50, "Finished jobs kept (with their images); the oldest go first.")
flags.DEFINE_bool("open_browser", False, "Open the page in the default web browser once the server is up.")
flags.DEFINE_string("backbone", "vgg19", f"Feature network for paint jobs: {', '.join(BACKBONES)}.")
flags.DEFINE_string("weights", "auto", "Its weights: auto, imagenet, hed (offline VGG16) or an .h5 path.")
flags.DEFINE_string("precision", "auto", f"Compute precision of both networks: {', '.join(PRECISIONS)}.")
flags.DEFINE_string("instant_weights", "published", "Any-style network weights: published (Magenta's) or a folder "
                                                    "with predict.weights.h5 and transfer.weights.h5.")

FLAGS = flags.FLAGS


def _check_flags() -> None:
    check_choice("backbone", FLAGS.backbone, BACKBONES)
    check_choice("precision", FLAGS.precision, PRECISIONS)
    if not 0 <= FLAGS.port <= 65535:
        raise UserError(f"--port must be 0..65535, got {FLAGS.port}")
    if not FLAGS.max_upload_mb > 0:
        raise UserError(f"--max_upload_mb must be positive, got {FLAGS.max_upload_mb}")
    if FLAGS.queue_size < 1 or FLAGS.keep_results < 1:
        raise UserError("--queue_size and --keep_results must be at least 1")


def _import_web():
    import importlib

    try:
        for module in ("uvicorn", "starlette", "multipart"):
            importlib.import_module(module)
    except ImportError as exc:
        raise UserError(f"nst-web needs the web extra ({exc.name} is missing); install it with: "
                        "pip install 'nst_tf[web]'  (from a checkout: pip install -e '.[web]')") from None


def main(argv) -> int:
    _check_flags()
    _import_web()
    import socket

    import uvicorn

    from nst_tf.config import StylizeConfig
    from nst_tf.web.app import create_app
    from nst_tf.web.engines import Engines
    from nst_tf.web.jobs import JobQueue

    sock = socket.socket(socket.AF_INET6 if ":" in FLAGS.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((FLAGS.host, FLAGS.port))
    except OSError as exc:
        sock.close()
        raise UserError(f"cannot listen on {FLAGS.host}:{FLAGS.port} ({exc.strerror or exc}); choose another "
                        "--port (0 picks a free one) or stop what is using it") from None
    port = sock.getsockname()[1]
    shown_host = "127.0.0.1" if FLAGS.host in ("0.0.0.0", "::") else FLAGS.host
    url = f"http://{shown_host}:{port}/"

    config = StylizeConfig(backbone=FLAGS.backbone, weights=FLAGS.weights, precision=FLAGS.precision)
    engines = Engines(config, arbitrary_precision=FLAGS.precision, arbitrary_weights=FLAGS.instant_weights)
    jobs = JobQueue(engines, max_queued=FLAGS.queue_size, keep=FLAGS.keep_results)
    app = create_app(jobs, max_upload_bytes=int(FLAGS.max_upload_mb * 2**20))
    if FLAGS.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("listening on %s: anyone who can reach this machine can use it (there is no login)", FLAGS.host)
    log.info("%s: results go to %s (removed on exit)", PROG, jobs.folder)
    log.info("%s: preparing the models in the background; the page works already", PROG)
    threading.Thread(target=engines.warm, name="nst-web-warm", daemon=True).start()

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5,
                                           lifespan="on"))
    stopped = []

    def _started():
        log.info("%s: serving on %s  (Ctrl-C stops)", PROG, url)
        if FLAGS.open_browser:
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
