"""Zooms and turns painted in a fixed geometry, so the strokes stay on the scene.

A feed-forward network's texture depends on where the scene meets its stride grid
(:mod:`nst_tf.video.grid`). A pan keeps that phase by padding whole pixels. A zoom or a turn moves
every point of the scene to a new phase, a different one at every place, so the network paints
fresh strokes wherever the scene moved; the temporal blend, which follows the scene, then averages
strokes of many phases, and the picture loses the part of its texture that depends on the phase.
Measured on the middle frame of the zoom clips (Zen 4, any-style network): the mean of its 16
phase-shifted paintings is 17% (chelsea) and 33% (astronaut) further from the style than one
painting.

:class:`ZoomAnchor` paints such frames on a canvas where the scene keeps the geometry of an anchor:
each frame is resampled (Lanczos) onto the canvas by a similarity (zoom, turn, shift; the shift
kept only modulo the stride, so the frame stays centred), painted there and resampled back. The
motion is tracked from a reference frame (corners followed by pyramidal Lucas-Kanade on a small
grey copy, a similarity fitted by RANSAC), not summed frame to frame. Strokes painted on the
canvas grow and shrink with the scene, so the anchor is renewed when a frame's zoom against the
canvas leaves ``[LIFT, LIFT + 2 * RANGE]`` (log scale) or its turn passes :data:`RANGE`, and the
new one is set ahead along the motion (:data:`LEAD`): over a window the strokes stay within 7% of
their own size. The photo is only ever enlarged onto the canvas, by at least :data:`LIFT`. Sampling
a photo at fractions of a pixel, or down, smooths the fine detail the network turns into strokes:
on frames of the zoom clips (chelsea, astronaut, coffee_sky), a canvas zoom of -3.5% put the result
7.5-10.7% further from the style, 0 (a 0.3 px shift) 4.7-6.6%, +7% -1.5 to +3.2%; over the whole
blended clips, lifting the span from [0, 7%] to [3.5%, 10.5%] moved their mean style change from
+8.4 / +7.0 / +2.6% to +7.6 / +3.6 / -0.1% (astronaut / coffee_sky / chelsea).
A shot without zoom or turn (under :data:`ONSET` px at the corners) is left to the whole-pixel
grid; a frame the reference cannot be tracked into (a cut) starts again.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from nst_tf.video.flow import _cv2

#: half the span of zoom (log scale) or turn (radians) of the frames painted on one anchor
RANGE = 0.035
#: the canvas's zoom span starts this far (log scale) above the frame's own scale
LIFT = 0.035
#: a zoom or turn moving the frame's corners this far [px] from the reference leaves the plain grid
ONSET = 1.5
#: a new anchor puts the frame this fraction of RANGE ahead of the span's middle (the rest is
#: room for a shake back, which would otherwise renew the anchor again at once)
LEAD = 0.75
#: corners tracked (clear ones first: corners in a noisy flat sky do not follow the scene), and the
#: fewest, and the least fraction of those followed, that must agree with one similarity
CORNERS = 300
CORNER_QUALITY = 0.05
MIN_AGREE = 20
AGREE_FRACTION = 0.3
#: the agreeing corners must spread over at least this fraction of the frame's width and height
#: (standard deviation): a few corners on a moving object say nothing about the camera
SPREAD = 0.1


def similarity(a: float, b: float, centre: tuple, to: tuple) -> np.ndarray:
    """3x3: zoom by exp(``a``) and turn by ``b`` radians about ``centre``, which goes to ``to``."""
    c, s = np.exp(a) * np.cos(b), np.exp(a) * np.sin(b)
    m = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    m[:2, 2] = np.asarray(to) - m[:2, :2] @ np.asarray(centre)
    return m


def zoom_turn(m: np.ndarray) -> tuple:
    """(log scale, angle) of a similarity's linear part."""
    return float(np.log(np.sqrt(abs(np.linalg.det(m[:2, :2]))))), float(np.arctan2(m[1, 0], m[0, 0]))


def _out_of_view(to_ref: np.ndarray, w: int, h: int) -> bool:
    """The frame has moved more than a quarter of its width or height from the reference frame:
    time for a new reference (the corners are leaving the view)."""
    return abs(to_ref[0, 2]) > w / 4 or abs(to_ref[1, 2]) > h / 4


class ZoomAnchor:
    """Where to paint each frame of a clip (call :meth:`place` once per frame, in order)."""

    def __init__(self, multiple: int):
        self.multiple = int(multiple)
        self.ref = self.points = None
        self.last = np.eye(3)  #: the last frame -> the reference frame
        self.base = np.eye(3)  #: reference frame -> the first frame of this shot (plain grid)
        self.canvas_map: Optional[np.ndarray] = None  #: reference frame -> canvas, once anchored
        self.onset = False  #: the previous frame had zoomed or turned past ONSET (on the plain grid)

    def _start(self, grey: np.ndarray) -> None:
        cv2 = _cv2()
        self.ref, self.last = grey, np.eye(3)
        self.points = cv2.goodFeaturesToTrack(grey, CORNERS, CORNER_QUALITY, 5)
        if self.points is None or len(self.points) < 2 * MIN_AGREE:  # a frame with little texture
            self.points = cv2.goodFeaturesToTrack(grey, CORNERS, CORNER_QUALITY / 5, 5)

    def _track(self, grey: np.ndarray, k: float) -> Optional[np.ndarray]:
        """3x3 similarity from this frame's pixels onto the reference frame's (full size), or None."""
        cv2 = _cv2()
        if self.points is None or len(self.points) < MIN_AGREE or grey.shape != self.ref.shape:
            return None
        found, status, _ = cv2.calcOpticalFlowPyrLK(self.ref, grey, self.points, None, winSize=(21, 21), maxLevel=3)
        ok = status.ravel() == 1
        if ok.sum() < MIN_AGREE:
            return None
        m, inliers = cv2.estimateAffinePartial2D(
            found[ok], self.points[ok], method=cv2.RANSAC, ransacReprojThreshold=1.5
        )
        if m is None or inliers.sum() < max(MIN_AGREE, AGREE_FRACTION * ok.sum()):
            return None
        agreed = self.points[ok][inliers.ravel() == 1].reshape(-1, 2)
        if np.any(agreed.std(0) < SPREAD * np.array(grey.shape[::-1])):
            return None
        scale = np.diag([k, k, 1.0])  # probe pixels = frame pixels * k
        to_ref = np.linalg.inv(scale) @ np.vstack([m, [0.0, 0.0, 1.0]]) @ scale
        # a frame that jumped from the last by more than a zoom or turn of RANGE or an eighth of
        # the frame is a cut, or a fit gone wrong (measured once on a pan with exposure drift)
        (a, b), (a0, b0) = zoom_turn(to_ref), zoom_turn(self.last)
        jump = np.abs(to_ref[:2, 2] - self.last[:2, 2]).max() * k
        if max(abs(a - a0), abs(b - b0)) > RANGE or jump > max(grey.shape) / 8:
            return None
        self.last = to_ref
        return to_ref

    def canvas_shape(self, shape: tuple) -> tuple:
        """(height, width) of the canvas for frames of ``shape``: room for the frame zoomed by up to
        ``LIFT + 2 * RANGE`` and turned by up to :data:`RANGE`, plus the stride."""
        h, w = shape[:2]
        grow = np.exp(LIFT + 2 * RANGE)
        mx = grow * (w * np.cos(RANGE) + h * np.sin(RANGE)) / 2 - w / 2
        my = grow * (h * np.cos(RANGE) + w * np.sin(RANGE)) / 2 - h / 2
        return h + 2 * int(np.ceil(my + self.multiple)), w + 2 * int(np.ceil(mx + self.multiple))

    def place(self, shape: tuple, grey: np.ndarray) -> Optional[np.ndarray]:
        """3x3 map from this frame's pixels to the canvas, or None to use the plain grid.
        ``grey``: the frame's small grey copy (``k`` = its width over the frame's)."""
        h, w = shape[:2]
        k = grey.shape[1] / w
        to_ref = self._track(grey, k) if self.ref is not None else None
        if to_ref is None:  # first frame or a cut: a new shot on the plain grid
            self._start(grey)
            self.base, self.canvas_map, self.onset = np.eye(3), None, False
            return None
        centre = ((w - 1) / 2, (h - 1) / 2)
        ch, cw = self.canvas_shape(shape)
        middle = ((cw - 1) / 2, (ch - 1) / 2)
        if self.canvas_map is None:
            drift = self.base @ to_ref  # this frame -> the shot's first frame
            a, b = zoom_turn(drift)
            past = max(abs(a), abs(b)) * np.hypot(w, h) / 2 >= ONSET
            engage, self.onset = past and self.onset, past  # past ONSET in two frames in a row
            if not engage:
                if len(self.points) < 2 * MIN_AGREE or _out_of_view(to_ref, w, h):
                    self._start(grey)  # keep the reference in view; the drift is kept in base
                    self.base = drift
                return None
        else:
            place = self.canvas_map @ to_ref
            a, b = zoom_turn(place)
            if max(abs(a - LIFT - RANGE), abs(b)) <= RANGE + 1e-6:
                # keep the frame centred by whole strides, which leaves the phase as it is
                off = np.asarray(middle) - (place @ [*centre, 1.0])[:2]
                shift = np.eye(3)
                shift[:2, 2] = self.multiple * np.round(off / self.multiple)
                self.canvas_map = shift @ self.canvas_map  # a new array: earlier frames keep theirs
                place = self.canvas_map @ to_ref
                if _out_of_view(to_ref, w, h):
                    self._start(grey)  # renew the reference, keeping where it is painted
                    self.canvas_map = place
                return place
        # a new anchor ahead along the motion (zoom LIFT to LIFT + 2 * RANGE, turn -RANGE to RANGE): this frame
        # zoomed and turned LEAD * RANGE from the span's middle, against the way it was going
        if self.canvas_map is not None:
            a -= LIFT + RANGE  # from the span's middle
        lead = LEAD * RANGE / max(abs(a), abs(b))
        self._start(grey)
        self.base = np.eye(3)
        self.canvas_map = similarity(LIFT + RANGE - a * lead, -b * lead, centre, middle)
        return self.canvas_map.copy()
