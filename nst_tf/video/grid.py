"""Frames kept on the same phase of a network's stride grid, so a panning shot does not flicker.

The feed-forward networks downsample by 4 (8 for ``compact``): their output is not the same
picture shifted when the input shifts by a number of pixels that is not a multiple of that
stride. Measured on a still photo panned 1, 2, 3 px per frame (clean frames, the any-style
network, Zen 4): the difference between consecutive outputs aligned by the motion was 0.065 to
0.078, and 0.012 for a pan of 4 or 8 px per frame. Most of a pan's flicker is this grid, not the
noise of the frames.

:class:`GridAligner` measures each frame's global translation against a reference frame (phase
correlation on a small grey copy; the reference is renewed when the overlap runs low) and pads
every frame at the top and left by the accumulated motion modulo the stride (and at the bottom
and right by the rest), so a point of
the scene meets the network's grid at the same phase in every frame; the output is cropped back.
A frame whose motion is not a clear translation (a cut, people moving; a weak correlation peak)
starts the count again. A zoom or a turn is painted on the canvas of a :class:`~nst_tf.video.anchor.ZoomAnchor`
instead (``follow_zoom``), where the scene keeps one geometry.
"""

from __future__ import annotations

from itertools import groupby

import numpy as np

from nst_tf.video.anchor import ZoomAnchor
from nst_tf.video.flow import _cv2, _grey

#: correlation peaks below this are no clear global translation: the alignment starts again
MIN_RESPONSE = 0.1
#: below this overlap with the reference frame (fraction of a side), the current frame becomes the reference
MIN_OVERLAP = 0.75
#: the grey copy the motion is measured on [px, longer side]
PROBE_SIDE = 256


class GridAligner:
    """Pads frames so the scene stays on the network's stride grid (see the module docstring).

    The motion is measured against a reference frame (the first one, renewed when the overlap runs
    low), not frame to frame: summing per-frame estimates adds up their sub-pixel errors, and on a
    static shot with noise or a moving object that random walk crossed rounding boundaries and moved
    the padding (measured: 2x the flicker of plain frames on such a shot)."""

    def __init__(self, multiple: int, follow_zoom: bool = True):
        self.multiple = int(multiple)
        self.anchor = ZoomAnchor(self.multiple) if follow_zoom else None
        self.prev = self.ref = self.window = self.grey = None
        self.ref_shift = np.zeros(2)  #: the scene's motion up to the reference frame
        self.shift = np.zeros(2)  #: the scene's accumulated motion (dx, dy) in frame pixels

    def _probe(self, frame: np.ndarray):
        cv2 = _cv2()  # a clear message if the video extra is missing
        self.scale = max(1, int(max(frame.shape[:2]) // PROBE_SIDE))
        h, w = frame.shape[:2]
        self.grey = cv2.resize(_grey(frame), (w // self.scale, h // self.scale), interpolation=cv2.INTER_AREA)
        return self.grey.astype(np.float32)

    def _shift(self, frame: np.ndarray) -> np.ndarray:
        """The scene's accumulated motion at this frame (zeros where the count starts again)."""
        cv2, grey = _cv2(), self._probe(frame)
        if self.prev is None or self.prev.shape != grey.shape:
            self.prev = self.ref = grey
            self.window = cv2.createHanningWindow(grey.shape[::-1], cv2.CV_32F)
            self.ref_shift = np.zeros(2)
            return np.zeros(2)
        (dx, dy), response = cv2.phaseCorrelate(self.ref, grey, self.window)
        overlap = min(1 - abs(dx) / grey.shape[1], 1 - abs(dy) / grey.shape[0])
        if response >= MIN_RESPONSE and overlap >= MIN_OVERLAP:
            shift = self.ref_shift + np.array([dx, dy]) * self.scale
        else:  # too far from the reference: frame to frame, and this frame becomes the reference
            (dx, dy), response = cv2.phaseCorrelate(self.prev, grey, self.window)
            shift = self.shift + np.array([dx, dy]) * self.scale if response >= MIN_RESPONSE else np.zeros(2)
            self.ref, self.ref_shift = grey, shift
        self.prev = grey
        return shift

    def offsets(self, frame: np.ndarray) -> tuple:
        """(top, left) padding of this frame (call once per frame, in order)."""
        self.shift = self._shift(frame)
        left, top = (int(round(-v)) % self.multiple for v in self.shift)
        return top, left

    def pad(self, frame: np.ndarray) -> tuple:
        """(padded frame, where): on the plain grid every frame grows by ``multiple - 1`` px in each
        direction (``where`` = (top, left)); in a zoom or turn it is the anchor's canvas (``where``
        = the 3x3 map from frame to canvas)."""
        top, left = self.offsets(frame)
        place = self.anchor.place(frame.shape, self.grey) if self.anchor is not None else None
        if place is not None:
            cv2 = _cv2()
            ch, cw = self.anchor.canvas_shape(frame.shape)
            canvas = cv2.warpAffine(frame, place[:2], (cw, ch), flags=cv2.INTER_LANCZOS4, borderMode=cv2.BORDER_REFLECT)
            return _in_range(canvas), place
        m = self.multiple - 1
        spec = [(top, m - top), (left, m - left)] + [(0, 0)] * (frame.ndim - 2)
        return np.pad(frame, spec, mode="reflect"), (top, left)

    def crop(self, image: np.ndarray, where, shape: tuple) -> np.ndarray:
        if isinstance(where, np.ndarray):  # painted on the anchor's canvas: sampled back
            cv2 = _cv2()
            flags = cv2.INTER_LANCZOS4 | cv2.WARP_INVERSE_MAP
            back = cv2.warpAffine(image, where[:2], (shape[1], shape[0]), flags=flags, borderMode=cv2.BORDER_REPLICATE)
            return _in_range(back)
        top, left = where
        return image[top : top + shape[0], left : left + shape[1]]


def _in_range(x: np.ndarray) -> np.ndarray:
    """Lanczos overshoot clipped to [0, 1] (uint8 saturates by itself)."""
    return x if x.dtype == np.uint8 else np.clip(x, 0.0, 1.0)


def stylize_aligned(frames: list, aligner: "GridAligner", run) -> list:
    """``run(padded frames) -> outputs`` on frames padded by ``aligner`` (in order), cropped back;
    ``run`` is called once per run of frames of the same padded size."""
    padded = [aligner.pad(f) for f in frames]
    outputs: list = []
    for _, group in groupby(padded, key=lambda p: p[0].shape):
        outputs += run([p for p, _ in group])
    return [aligner.crop(o, where, f.shape) for o, (_, where), f in zip(outputs, padded, frames)]
