"""Watching a run: progress lines, TensorBoard scalars and images, a loss-curve PNG.

Each watcher is a callback taking a :class:`nst_tf.optimize.StepInfo`; the Gatys optimiser and
the fast-network trainer both report through them.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Optional, Sequence

log = logging.getLogger("nst_tf")


def format_seconds(s: float) -> str:
    if not math.isfinite(s):
        return "--:--"
    s = int(round(s))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


class ProgressPrinter:
    """Prints ``step, steps/s, losses, lr, ETA`` at most every ``every_s`` seconds, and the last step."""

    def __init__(self, every_s: float = 5.0, stream=None):
        self.every_s = every_s
        self.stream = stream
        self._last = -math.inf
        self._t1 = None  # time after the first (tracing) step of the current scale or resumed run
        self._first = None
        self._prev = None

    def on_stage(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def __call__(self, info) -> None:
        now = time.perf_counter()
        first = self._prev is None or info.step <= self._prev  # a new scale, or a run resumed mid-way
        self._prev = info.step
        if first:
            self._t1, self._first = now, info.step
        last = info.step == info.steps
        if not last and not first and now - self._last < self.every_s:
            return
        self._last = now
        done = info.step - self._first
        rate = done / (now - self._t1) if done > 0 and now > self._t1 else float("nan")
        eta = (info.steps - info.step) / rate if math.isfinite(rate) and rate > 0 else float("nan")
        l = info.losses
        scale = f"scale {info.scale}/{info.scales} {info.size}px | " if info.scales > 1 else ""
        width = len(str(info.steps))
        lr = f"lr {info.learning_rate:.3g} | " if info.learning_rate > 0 else ""  # L-BFGS has none
        print(
            f"{scale}step {info.step:>{width}}/{info.steps} | {rate:5.2f} steps/s | "
            f"{_terms(l)} | "
            f"{lr}ETA {format_seconds(eta)}",
            file=self.stream,
            flush=True,
        )


def _terms(losses: dict) -> str:
    """``content 1  style 2  tv 0.5  total 3.5``: the named terms (those of a trainer with a teacher
    too), then the total."""
    named = [f"{k} {v:.4g}" for k, v in losses.items() if k != "total"]
    return "  ".join(named + [f"total {losses['total']:.4g}"])


class TensorBoardLogger:
    """Writes loss scalars every step and the image every ``image_every`` steps to ``logdir``.

    The TensorBoard step counts calls (all scales of a run in order), or with
    ``step_from_info`` is the reported step itself (training resumed mid-way continues its curve).
    """

    def __init__(self, logdir, image_every: int = 50, step_from_info: bool = False):
        import importlib.util

        import tensorflow as tf

        from nst_tf.errors import UserError

        if importlib.util.find_spec("tensorboard") is None:
            raise UserError(
                "--logdir needs TensorBoard; install it with: pip install tensorboard "
                "(or pip install 'nst_tf[monitor]')"
            )

        self._tf = tf
        self.writer = tf.summary.create_file_writer(str(logdir))
        self.image_every = max(1, int(image_every))
        self._global = 0
        self.step_from_info = step_from_info

    def __call__(self, info) -> None:
        tf = self._tf
        self._global = info.step if self.step_from_info else self._global + 1
        with self.writer.as_default(step=self._global):
            for name, value in info.losses.items():
                tf.summary.scalar(f"loss/{name}", value)
            tf.summary.scalar("learning_rate", info.learning_rate)
            if info.step % self.image_every == 0 or info.step == info.steps:
                tf.summary.image("image", info.get_image()[None], max_outputs=1)
        if info.step == info.steps:
            self.writer.flush()

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()


def save_loss_curve(history: Sequence[dict], path, title: str = "") -> Optional[Path]:
    """Plot the loss terms per step to a PNG (log scale). Returns None if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib is not installed, so no loss curve was drawn (pip install matplotlib)")
        return None
    from nst_tf import images  # atomic write via a temp file in the same folder

    path = Path(path)
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    steps = range(1, len(history) + 1)
    for key in ("total", "content", "style", "tv"):
        values = [h.get(key, float("nan")) for h in history]
        if any(v > 0 for v in values if math.isfinite(v)):
            ax.plot(steps, values, label=key, linewidth=1.5 if key == "total" else 1.0)
    ax.set_yscale("log")
    totals = [h["total"] for h in history if math.isfinite(h.get("total", math.nan)) and h["total"] > 0]
    if totals:  # a term that starts at ~0 (content from the content image) must not squash the plot
        ax.set_ylim(bottom=1e-3 * min(totals))
    ax.set_xlabel("step")
    ax.set_ylabel("weighted loss")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.canvas.draw()
    rgba = __import__("numpy").asarray(fig.canvas.buffer_rgba())
    plt.close(fig)
    return images.save_image(rgba[..., :3], path, overwrite=True)
