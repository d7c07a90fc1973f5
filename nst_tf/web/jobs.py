"""Jobs of the web app: their state, the bounded queue and its workers (parameters: :mod:`nst_tf.web.params`).

Each method has one worker thread (so at most one optimisation runs at a time, and an instant
job never waits behind a long paint job). At most ``max_queued`` jobs wait; a further submit
raises :class:`QueueFull`. Results are PNG files (MP4 for videos) named by job id (which the
server makes; nothing from a request is used in a path), each with a small JSON record beside it.
In a results folder (``nst-web --results_dir``) they survive restarts: finished jobs found there
are served again.
Without one, a private temporary folder is used and removed by :meth:`JobQueue.close`. At most
``keep`` finished jobs and ``max_bytes`` of files are kept; the oldest go first.
"""

from __future__ import annotations

import logging
import queue
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Optional

import numpy as np

from nst_tf import images
from nst_tf.errors import UserError
from nst_tf.web import results
from nst_tf.web.engines import Engines, JobCancelled
from nst_tf.web.params import METHODS, JobParams

log = logging.getLogger("nst_tf")

STATES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")
PREVIEW_SIDE = 512  #: longer side of the intermediate images [px]


class QueueFull(Exception):
    pass


class Job:
    """One request's work and everything a client can ask about it.

    The worker thread writes the fields; request handlers read them (single assignments of
    immutable values, so a reader sees an old or a new value, never a torn one).
    """

    def __init__(self, params: JobParams, content: np.ndarray, style: np.ndarray, style_name: Optional[str], clip=None):
        self.id = uuid.uuid4().hex
        self.params = params
        self.clip: Optional[Path] = (
            clip  #: a video job's uploaded clip (a temporary file; ``content``: its first frame)
        )
        self.content = images.resize(content, params.size) if max(content.shape[:2]) != params.size else content
        self.style = images.resize(style, min(max(style.shape[:2]), 1024))
        self.style_name = style_name
        self.state, self.stage = "queued", "waiting in the queue"
        self.step = 0
        self.steps = params.steps if params.method == "optimize" else 1
        self.progress = 0.0
        self.eta_s: Optional[float] = None
        self.error: Optional[str] = None
        self.created = time.time()
        self.started: Optional[float] = None
        self.finished: Optional[float] = None
        self.preview: Optional[bytes] = None
        self.preview_step = 0
        self.result_path: Optional[Path] = None
        self.result_size: Optional[tuple] = None
        self._cancel = threading.Event()

    # written by the worker
    def set_stage(self, text: str) -> None:
        self.stage = text

    def set_progress(self, step: int, steps: int, eta_s: Optional[float]) -> None:
        self.step, self.steps = step, steps
        self.progress = min(1.0, step / steps) if steps else 1.0
        self.eta_s = eta_s

    def set_preview(self, image: np.ndarray, step: int) -> None:
        self.preview = images.encode_image(image, "JPEG", max_side=PREVIEW_SIDE, quality=85)
        self.preview_step = step

    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def finish(self, state: str, error: Optional[str] = None) -> None:
        self.error, self.finished = error, time.time()
        if state == "done":
            self.progress, self.eta_s, self.step = 1.0, 0.0, self.steps
        self.stage = {"done": "done", "failed": "failed", "cancelled": "cancelled"}[state]
        self.content = self.style = None  # the inputs are not needed any more
        if self.clip is not None:  # a video's upload
            self.clip.unlink(missing_ok=True)
        self.state = state

    def status(self, position: Optional[int] = None) -> dict:
        eta = None if self.eta_s is None else round(float(self.eta_s), 1)
        out = {
            "id": self.id,
            "state": self.state,
            "method": self.params.method,
            "stage": self.stage,
            "progress": round(self.progress, 4),
            "step": self.step,
            "steps": self.steps,
            "eta_s": eta,
            "error": self.error,
            "size": self.params.size,
            "preview_step": self.preview_step,
            "has_preview": self.preview is not None,
            "elapsed_s": round((self.finished or time.time()) - self.started, 1) if self.started else None,
        }
        if position is not None:
            out["queue_position"] = position
        if self.result_size:
            out["width"], out["height"] = self.result_size[1], self.result_size[0]
        return out


class JobQueue:
    """A bounded queue of jobs with one worker thread per method."""

    def __init__(
        self, engines: Engines, max_queued: int = 8, keep: int = 50, folder=None, max_bytes: Optional[int] = None
    ):
        if max_queued < 1 or keep < 1:
            raise UserError("the queue size and the number of results kept must be at least 1")
        self.engines = engines
        self.max_queued = max_queued
        self.keep = keep
        self.max_bytes = max_bytes
        self.persistent = folder is not None
        self._tmp = None if self.persistent else tempfile.TemporaryDirectory(prefix="nst_web_")
        self.folder = Path(folder).expanduser() if self.persistent else Path(self._tmp.name)
        self._jobs: "OrderedDict[str, Job]" = OrderedDict()
        if self.persistent:
            self._restore()
        self._lock = threading.Lock()
        self._closed = False
        self._lanes = {m: queue.Queue() for m in METHODS}
        self._running: dict = {m: None for m in METHODS}
        self._threads = [
            threading.Thread(target=self._work, args=(m,), name=f"nst-web-{m}", daemon=True) for m in METHODS
        ]
        for t in self._threads:
            t.start()

    # ----------------------------------------------------------------- requests

    def submit(self, job: Job) -> Job:
        with self._lock:
            if self._closed:
                raise QueueFull("the server is shutting down")
            waiting = sum(1 for j in self._jobs.values() if j.state == "queued")
            if waiting >= self.max_queued:
                raise QueueFull(f"the queue is full ({waiting} jobs waiting); try again when one has finished")
            self._jobs[job.id] = job
            self._evict()
        self._lanes[job.params.method].put(job)
        log.info("job %s queued: %s at %d px", job.id[:8], job.params.method, job.params.size)
        return job

    def get(self, job_id: str) -> Optional[Job]:
        with self._lock:
            return self._jobs.get(job_id)

    def position(self, job: Job) -> Optional[int]:
        """1 for the next job of its method to start, ... (None once it started)."""
        if job.state != "queued":
            return None
        with self._lock:
            ahead = [
                j
                for j in self._jobs.values()
                if j.state == "queued" and j.params.method == job.params.method and j.created <= job.created
            ]
        return len(ahead)

    def cancel(self, job: Job) -> bool:
        """Ask ``job`` to stop: a queued job is cancelled at once, a running one at its next step.
        False if it had already finished."""
        with self._lock:
            if job.state in FINISHED:
                return False
            job._cancel.set()
            if job.state == "queued":
                job.finish("cancelled")
        return True

    def counts(self) -> dict:
        with self._lock:
            return {s: sum(1 for j in self._jobs.values() if j.state == s) for s in STATES}

    # ----------------------------------------------------------------- work

    def _work(self, method: str) -> None:
        run = getattr(self.engines, {"arbitrary": "run_instant", "optimize": "run_paint"}.get(method, f"run_{method}"))
        lane = self._lanes[method]
        while True:
            job = lane.get()
            if job is None:
                return
            with self._lock:
                if job.state != "queued":  # cancelled while waiting
                    continue
                job.state, job.started = "running", time.time()
                self._running[method] = job
            try:
                self._run(job, run)
            finally:
                self._running[method] = None
                with self._lock:
                    self._evict()  # also when nothing more is submitted: at most ``keep`` results stay

    def _run(self, job: Job, run) -> None:
        label = job.id[:8]
        try:
            path = self.folder / f"{job.id}{results.suffix(job.params.method)}"
            image = run(job, path) if job.clip else run(job)  # a video job writes its clip itself
            if job.cancel_requested():
                raise JobCancelled()
            if not job.clip:
                images.save_image(image, path, overwrite=True)
            job.result_path, job.result_size = path, image.shape[:2]
            job.set_preview(image, job.steps)
            job.finish("done")
            if self.persistent:
                results.keep_record(job)
            log.info("job %s done in %.1f s", label, job.finished - job.started)
        except JobCancelled:
            job.finish("cancelled")
            log.info("job %s cancelled", label)
        except UserError as exc:
            job.finish("failed", str(exc))
            log.info("job %s failed: %s", label, exc)
        except MemoryError:
            job.finish("failed", "out of memory; choose a smaller size")
            log.warning("job %s ran out of memory", label)
        except Exception as exc:  # noqa: BLE001  (a bug or a TF error: the job fails, the server goes on)
            if type(exc).__name__ == "ResourceExhaustedError":
                message = "out of memory; choose a smaller size"
            else:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                message = f"internal error: {type(exc).__name__}: {first}"
            job.finish("failed", message)
            log.exception("job %s failed", label)

    def _restore(self) -> None:
        """Serve again the finished jobs of an earlier run found in the results folder."""
        for record, picture in results.earlier(self.folder):
            job = results.revive(Job, record, picture)
            self._jobs[job.id] = job
        self._evict()
        if self._jobs:
            log.info("%d earlier results in %s", len(self._jobs), self.folder)

    def _evict(self) -> None:
        """Drop the oldest finished jobs (and their files) beyond ``keep`` and ``max_bytes``; called
        with the lock held."""
        finished = [j for j in self._jobs.values() if j.state in FINISHED]
        sizes = {
            j.id: j.result_path.stat().st_size if j.result_path and j.result_path.exists() else 0 for j in finished
        }
        total = sum(sizes.values())
        for i, job in enumerate(finished):
            over_count = len(finished) - i > self.keep
            over_bytes = self.max_bytes is not None and total > self.max_bytes and len(finished) - i > 1
            if not (over_count or over_bytes):
                break
            del self._jobs[job.id]
            total -= sizes[job.id]
            results.remove(job.result_path)

    def close(self, timeout_s: float = 30.0) -> None:
        """Cancel everything, stop the workers and delete the results folder."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            jobs = list(self._jobs.values())
        for job in jobs:
            self.cancel(job)
        for lane in self._lanes.values():
            lane.put(None)
        deadline = time.monotonic() + timeout_s
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        if self._tmp is not None:
            self._tmp.cleanup()
            log.info("results folder removed")
