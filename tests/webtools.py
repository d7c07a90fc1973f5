"""Helpers for the web app's tests: small images and a stand-in for the networks."""

import io
import threading

import numpy as np
from PIL import Image

from nst_tf.web.engines import JobCancelled


def jpeg(size=(96, 64), seed=0) -> bytes:
    arr = np.random.default_rng(seed).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG")
    return buf.getvalue()


class BlockingEngines:
    """Jobs that run until released or cancelled: the queue's behaviour without the networks."""

    def __init__(self):
        self.release = threading.Event()
        self.started = threading.Event()

    def describe(self):
        return {"instant": "test", "paint": "test"}

    def _run(self, job):
        self.started.set()
        job.set_progress(1, job.steps, 5.0)
        job.set_preview(np.zeros((8, 8, 3), np.float32), 1)
        while not self.release.wait(0.01):
            if job.cancel_requested():
                raise JobCancelled()
        return np.full((40, 60, 3), 0.5, np.float32)

    run_instant = run_paint = run_print = _run

    def run_video(self, job, dst):
        out = self._run(job)
        dst.write_bytes(b"")  # the real engine writes the clip here
        return out
