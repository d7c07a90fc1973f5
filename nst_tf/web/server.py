"""Serving the app with uvicorn: the listening socket and the server object (shared by nst-web and
the tests that run a real server)."""

from __future__ import annotations

import logging
import signal
import socket
import threading
from pathlib import Path

import uvicorn

from nst_tf.config import StylizeConfig, WebConfig
from nst_tf.errors import UserError

log = logging.getLogger("nst_tf")


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (0: any free port). TCP_NODELAY is set here because uvicorn
    writes a response's head and body separately: without it every request on a kept-alive
    connection (the page polls one) waits ~40 ms for Nagle and the client's delayed ACK
    (measured: 43 ms per request, 0.6 ms with it)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by accepted connections
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UserError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another "
            "--port (0 picks a free one) or stop what is using it"
        ) from None
    return sock


def make_server(app, log_level: str = "warning") -> uvicorn.Server:
    """A uvicorn server for ``app`` with its lifespan (the app closes its job queue on shutdown) and a
    short grace period for open connections when stopping."""
    return uvicorn.Server(uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=5, lifespan="on"))


def serve(cfg: WebConfig, prog: str = "nst-web") -> bool:
    """Build the engines, queue and app for ``cfg`` and serve until SIGINT/SIGTERM (a graceful stop).

    Returns whether the models are still being prepared in the background: a stop in the first
    seconds finds TensorFlow building them in a daemon thread, and letting the interpreter shut down
    under it aborted the process (exit 134, "terminate called after throwing") or hung. The command
    then ends the process at once instead (:func:`nst_tf.cli.common.exit_now`); nothing is lost: the
    results are written (or the temporary folder removed) and no job is running."""
    from nst_tf.web.app import create_app
    from nst_tf.web.engines import Engines
    from nst_tf.web.jobs import JobQueue
    from nst_tf.web.serving_api import ServingModels

    serving_models = ServingModels(cfg.serving_models) if cfg.serving_models else None  # checked before listening
    sock = listen(cfg.host, cfg.port)
    port = sock.getsockname()[1]
    shown_host = "127.0.0.1" if cfg.host in ("0.0.0.0", "::") else cfg.host
    url = f"http://{shown_host}:{port}/"

    config = StylizeConfig(backbone=cfg.backbone, weights=cfg.weights, precision=cfg.precision)
    engines = Engines(config, arbitrary_precision=cfg.precision, arbitrary_weights=cfg.instant_weights)
    from nst_tf.web import results

    folder = (
        None if cfg.results_dir == "temp" else Path(cfg.results_dir) if cfg.results_dir else results.default_folder()
    )
    jobs = JobQueue(
        engines, max_queued=cfg.queue_size, keep=cfg.keep_results, folder=folder,
        max_bytes=int(cfg.results_max_mb * 2**20),
    )  # fmt: skip
    app = create_app(jobs, max_upload_bytes=int(cfg.max_upload_mb * 2**20), serving_models=serving_models)
    if serving_models is not None:
        names = ", ".join(serving_models.versions)
        log.info("%s: TF Serving's REST API for %s at %sv1/models/NAME:predict", prog, names, url)
    if cfg.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("listening on %s: anyone who can reach this machine can use it (there is no login)", cfg.host)
    kept = "kept across restarts" if jobs.persistent else "removed on exit"
    log.info("%s: results go to %s (%s)", prog, jobs.folder, kept)
    log.info("%s: preparing the models in the background; the page works already", prog)
    warming = threading.Thread(target=engines.warm, name="nst-web-warm", daemon=True)
    warming.start()

    server = make_server(app)
    stopped = []

    def _started():
        log.info("%s: serving on %s  (Ctrl-C stops)", prog, url)
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
    log.info("%s: stopped", prog)
    warming.join(timeout=1.0)
    return warming.is_alive()


def _watch_startup(server, callback) -> None:
    def watch():
        import time

        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            callback()

    threading.Thread(target=watch, name="nst-web-started", daemon=True).start()
