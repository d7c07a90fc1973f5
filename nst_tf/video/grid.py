"""Frames kept on the same phase of a network's stride grid, so a panning shot does not flicker.

The feed-forward networks downsample by 4 (8 for ``compact``): their output is not the same
picture shifted when the input shifts by a number of pixels that is not a multiple of that
stride. Measured on a still photo panned 1, 2, 3 px per frame (clean frames, the any-style
network, Zen 4): the difference between consecutive outputs aligned by the motion was 0.065 to
0.078, and 0.012 for a pan of 4 or 8 px per frame. Most of a pan's flicker is this grid, not the
noise of the frames.

:class:`GridAligner` measures each frame's global translation against the previous one (phase
correlation on a small grey copy), accumulates it, and pads every frame at the top and left by
the accumulated motion modulo the stride (and at the bottom and right by the rest), so a point of
the scene meets the network's grid at the same phase in every frame; the output is cropped back.
A frame whose motion is not a clear translation (a cut, a zoom, people moving; a weak
correlation peak) starts the count again.
"""

from __future__ import annotations

import numpy as np

#: correlation peaks below this are no clear global translation: the alignment starts again
MIN_RESPONSE = 0.1
#: the grey copy the motion is measured on [px, longer side]
PROBE_SIDE = 256


class GridAligner:
    """Pads frames so the scene stays on the network's stride grid (see the module docstring)."""

    def __init__(self, multiple: int):
        self.multiple = int(multiple)
        self.prev = None
        self.shift = np.zeros(2)  #: the scene's accumulated motion (dx, dy) in frame pixels
        self.window = None

    def _motion(self, frame: np.ndarray):
        from nst_tf.video.temporal import _cv2, _grey

        cv2 = _cv2()  # a clear message if the video extra is missing
        scale = max(1, int(max(frame.shape[:2]) // PROBE_SIDE))
        h, w = frame.shape[:2]
        grey = cv2.resize(_grey(frame), (w // scale, h // scale), interpolation=cv2.INTER_AREA).astype(np.float32)
        if self.prev is None or self.prev.shape != grey.shape:
            self.prev, self.window = grey, cv2.createHanningWindow(grey.shape[::-1], cv2.CV_32F)
            return None
        (dx, dy), response = cv2.phaseCorrelate(self.prev, grey, self.window)
        self.prev = grey
        return None if response < MIN_RESPONSE else np.array([dx, dy]) * scale

    def offsets(self, frame: np.ndarray) -> tuple:
        """(top, left) padding of this frame (call once per frame, in order)."""
        motion = self._motion(frame)
        self.shift = np.zeros(2) if motion is None else self.shift + motion
        left, top = (int(round(-v)) % self.multiple for v in self.shift)
        return top, left

    def pad(self, frame: np.ndarray) -> tuple:
        """(padded frame, (top, left)): every frame grows by ``multiple - 1`` px in each direction."""
        top, left = self.offsets(frame)
        m = self.multiple - 1
        spec = [(top, m - top), (left, m - left)] + [(0, 0)] * (frame.ndim - 2)
        return np.pad(frame, spec, mode="reflect"), (top, left)

    def crop(self, image: np.ndarray, where: tuple, shape: tuple) -> np.ndarray:
        top, left = where
        return image[top : top + shape[0], left : left + shape[1]]


def stylize_aligned(frames: list, aligner: "GridAligner", run) -> list:
    """``run(padded frames) -> outputs`` on frames padded by ``aligner`` (in order), cropped back."""
    padded = [aligner.pad(f) for f in frames]
    outputs = run([p for p, _ in padded])
    return [aligner.crop(o, where, f.shape) for o, (_, where), f in zip(outputs, padded, frames)]
