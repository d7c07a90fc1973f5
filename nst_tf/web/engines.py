"""The networks a server uses, built once and shared by every job, and the two ways to run a job.

- **instant**: the any-style network (Ghiasi et al. 2017, Magenta's published weights): one
  forward pass, about a second at 1024 px on a CPU.
- **print size**: the photo at its own size with the strokes of a 1024 px instant result
  (:mod:`nst_tf.feedforward.print_size`), in its own lane so it does not hold instant jobs up.
- **video**: a short clip, each frame an instant result, kept steady along the motion
  (:mod:`nst_tf.web.clips`).
- **paint**: the Gatys optimisation (:func:`nst_tf.gatys.stylize`) with the server's feature
  network; progress, previews and cancellation go through its step callbacks.

Each method has its own worker thread (:mod:`nst_tf.web.jobs`), so each model is used by one
thread at a time; the locks here only guard building.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Optional

import numpy as np

from nst_tf import colour, images
from nst_tf.config import StylizeConfig
from nst_tf.web import gallery

log = logging.getLogger("nst_tf")


class JobCancelled(Exception):
    """Raised inside a running job (from a step callback) when its cancel was asked for."""


class Engines:
    """Lazily built, then reused: the any-style stylizer and the optimisation's feature network.

    ``config`` is the base :class:`StylizeConfig` for paint jobs (backbone, weights, precision);
    each job replaces its size, steps, style weight, colour mode and blend.
    """

    #: print jobs paint at this size first (the strokes of an instant result at that size)
    print_work_size = 1024

    def __init__(self, config: StylizeConfig, arbitrary_precision: str = "auto", arbitrary_weights: str = "published"):
        self.config = config.replace(scales=1, init="content")
        self.arbitrary_precision = arbitrary_precision
        self.arbitrary_weights = arbitrary_weights
        self._stylizer = None
        self._extractor = None
        self._speed_checked = False
        self._vectors: dict = {}
        self._stride: Optional[int] = None  #: the any-style network's total stride (video frames stay on its grid)
        self._lock = threading.Lock()
        #: seconds per optimisation step per megapixel, measured on the last paint job (for the page's estimate)
        self.paint_rate: Optional[float] = None

    # ----------------------------------------------------------------- building

    def stylizer(self):
        with self._lock:
            if self._stylizer is None:
                from nst_tf.feedforward import open_stylizer

                t0 = time.perf_counter()
                model = "arbitrary" if self.arbitrary_weights == "published" else self.arbitrary_weights
                self._stylizer = open_stylizer(model, styles=None, precision=self.arbitrary_precision).network
                log.info("instant: %s (ready in %.1f s)", self._stylizer.describe(), time.perf_counter() - t0)
            return self._stylizer

    def extractor(self):
        with self._lock:
            if self._extractor is None:
                from nst_tf import calibrate, gatys

                t0 = time.perf_counter()
                self._extractor = gatys.build_extractor(self.config)
                # XLA on/off is measured once per machine and cached; do it now, not in a user's job.
                speed = calibrate.choose_speed(self.config, self._extractor)
                if self.paint_rate is None:  # for the page's estimate before any paint job: two 256 px steps
                    side = 256
                    seconds = calibrate.step_seconds(
                        self.config, self._extractor, speed.jit_compile, side=side, steps=2
                    )
                    self.paint_rate = seconds / (side * side / 1e6)
                log.info(
                    "paint: %s; %s (ready in %.1f s)",
                    self._extractor.describe(),
                    speed.describe(),
                    time.perf_counter() - t0,
                )
            return self._extractor

    def warm(self) -> None:
        """Build both models (the server calls this in a background thread at start-up)."""
        try:
            self.stylizer()
            self.extractor()
        except Exception as exc:  # noqa: BLE001  (the first job reports the same error to its user)
            log.warning("could not prepare the models: %s", exc)

    def describe(self) -> dict:
        return {
            "instant": self._stylizer.describe() if self._stylizer else "not built yet",
            "paint": self._extractor.describe() if self._extractor else "not built yet",
            "paint_seconds_per_step_per_megapixel": self.paint_rate,
        }

    # ----------------------------------------------------------------- running

    def _style_vector(
        self, style: np.ndarray, style_name: Optional[str], content: np.ndarray, preserve_colors: str
    ) -> np.ndarray:
        stylizer = self.stylizer()
        if preserve_colors == "histogram":
            return stylizer.style_vector(colour.match_color(style, content))
        if style_name is None:
            return stylizer.style_vector(style)
        if style_name not in self._vectors:
            self._vectors[style_name] = stylizer.style_vector(style)
        return self._vectors[style_name]

    def run_instant(self, job) -> np.ndarray:
        p = job.params
        job.set_stage("preparing the painting network" if self._stylizer is None else "stylising")
        stylizer = self.stylizer()
        job.set_stage("stylising")
        vector = self._style_vector(job.style, job.style_name, job.content, p.preserve_colors)
        out = stylizer.transfer(job.content, vector, p.strength)
        return colour.postprocess(out, job.content, p.preserve_colors)  # histogram: the style was recoloured

    def run_print(self, job) -> np.ndarray:
        """The photo at its own size with the strokes of an instant result at ``print_work_size``
        (:func:`nst_tf.feedforward.print_size.paint_print`)."""
        from nst_tf.feedforward import print_size

        p = job.params
        job.set_stage("preparing the painting network" if self._stylizer is None else "painting the preview")
        stylizer = self.stylizer()
        vector = self._style_vector(job.style, job.style_name, job.content, p.preserve_colors)

        def paint(image: np.ndarray) -> np.ndarray:
            job.set_stage(f"painting at {max(image.shape[:2])} px")
            out = stylizer.transfer(image, vector, p.strength)
            return colour.postprocess(out, image, p.preserve_colors)

        def report(line: str) -> None:
            if job.cancel_requested():
                raise JobCancelled()
            job.set_stage(line.strip().replace("painting at", "painting the preview at"))

        photo = images.to_uint8(job.content)
        out = print_size.paint_print(photo, paint, self.print_work_size, report=report)
        job.set_stage("saving")
        return out

    def run_video(self, job, dst) -> np.ndarray:
        """A short clip painted frame by frame into ``dst`` (MP4); returns its last frame."""
        from nst_tf.feedforward import tiled
        from nst_tf.web import clips

        p = job.params
        job.set_stage("preparing the painting network" if self._stylizer is None else "painting the frames")
        stylizer = self.stylizer()
        vector = self._style_vector(job.style, job.style_name, job.content, p.preserve_colors)
        if self._stride is None:
            self._stride = tiled.receptive_field(stylizer.transfer_model)[1]

        started, shown = time.perf_counter(), [0.0]

        def report(done: int, total: int, frame: np.ndarray) -> None:
            if job.cancel_requested():
                raise JobCancelled()
            now = time.perf_counter()
            eta = (total - done) * (now - started) / done if total > done else None
            job.set_stage(f"frame {done}" + (f" of {total}" if total else ""))
            job.set_progress(done, max(total, done), eta)
            if now - shown[0] >= 1.0:  # the page shows the frames as they are painted
                shown[0] = now
                job.set_preview(frame, done)

        def postprocess(out: np.ndarray, frame: np.ndarray) -> np.ndarray:
            return colour.postprocess(out, frame, p.preserve_colors)

        return clips.paint_clip(job, dst, stylizer, vector, self._stride, postprocess, report)

    def run_paint(self, job) -> np.ndarray:
        from nst_tf import gatys

        p = job.params
        job.set_stage("loading the feature network" if self._extractor is None else "starting")
        extractor = self.extractor()
        config = self.config.replace(
            size=p.size,
            steps=p.steps,
            style_weight=p.style_weight,
            preserve_colors=p.preserve_colors,
            blend=round(1.0 - p.strength, 6),
        )
        job.set_stage("preparing the first step")
        progress = PaintProgress(job)
        result = gatys.stylize(job.content, job.style, config, extractor=extractor, callbacks=[progress], verbose=False)
        if progress.seconds_per_step:
            self.paint_rate = progress.seconds_per_step / (result.image.shape[0] * result.image.shape[1] / 1e6)
        return result.image


class PaintProgress:
    """A step callback: cancels between steps, reports step, progress and ETA, and refreshes the
    preview at most every ``preview_every_s`` seconds (and at the last step)."""

    def __init__(self, job, preview_every_s: float = 1.0, clock: Callable[[], float] = time.perf_counter):
        self.job = job
        self.preview_every_s = preview_every_s
        self.clock = clock
        self._first = None  # (time, step) at the first step: tracing excluded from the rate
        self._last_preview = -float("inf")
        self.seconds_per_step: Optional[float] = None

    def __call__(self, info) -> None:
        if self.job.cancel_requested():
            raise JobCancelled()
        now = self.clock()
        if self._first is None:
            self._first = (now, info.step)
            self.job.set_stage("painting")
        t0, s0 = self._first
        eta = None
        if info.step > s0 and now > t0:
            self.seconds_per_step = (now - t0) / (info.step - s0)
            eta = (info.steps - info.step) * self.seconds_per_step
        self.job.set_progress(info.step, info.steps, eta)
        if now - self._last_preview >= self.preview_every_s or info.step == info.steps:
            self._last_preview = now
            self.job.set_preview(info.get_image(), info.step)


def load_gallery_style(name: str) -> np.ndarray:
    """The bundled painting called ``name`` (a key of :data:`gallery.STYLES`)."""
    return images.load_image(gallery.STYLES[name].path)
