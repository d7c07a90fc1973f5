"""What one optimisation run shares across its scales and steps: the step info callbacks see, the
history, the progress line and the divergence counters."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from nst_tf.config import StylizeConfig

log = logging.getLogger("nst_tf")


@dataclass
class StepInfo:
    """What a callback sees after each step."""

    step: int  #: steps done so far in this scale (1-based)
    steps: int  #: steps planned in this scale
    losses: dict  #: weighted ``content``, ``style``, ``tv`` and ``total`` of the image before this step
    elapsed_s: float  #: seconds since the run started (tracing included)
    learning_rate: float
    get_image: Callable[[], np.ndarray] = field(repr=False)  #: the current image (H x W x 3, [0, 1])
    scale: int = 1  #: current scale (1-based)
    scales: int = 1
    size: int = 0  #: longer side at this scale [px]


class RunState:
    """What one ``stylize`` call shares across its scales: history, callbacks, counters."""

    def __init__(
        self,
        config: StylizeConfig,
        policy: str,
        callbacks: Sequence[Callable[[StepInfo], None]],
        scales: int,
        jit_compile: bool,
    ):
        self.config = config
        self.policy = policy
        self.jit_compile = jit_compile
        self.callbacks = list(callbacks)
        self.scales = scales
        self.history: list = []
        self.start = time.perf_counter()
        self.stopped_early = False
        self.recoveries = 0
        self.get_latest = None  # the newest image a callback could see, kept for Ctrl-C

    def announce(self, text: str) -> None:
        """A stage header (size, steps, network, memory plan): to callbacks with ``on_stage``."""
        log.debug("%s", text)
        for cb in self.callbacks:
            if hasattr(cb, "on_stage"):
                cb.on_stage(text)

    def report(self, step, steps, terms, lr, get_image, scale, size) -> None:
        self.get_latest = get_image
        info = StepInfo(step, steps, terms, time.perf_counter() - self.start, lr, get_image, scale, self.scales, size)
        for cb in self.callbacks:
            cb(info)
