"""Temporal consistency: the blend, the denoising of the photos along the motion, and the warping
error (flow, warps and the forward-backward test: :mod:`nst_tf.video.flow`; the noise-aware motion
and mask: :mod:`nst_tf.video.motion`).

:class:`TemporalBlender` makes a stylised stream flicker less: each new stylised frame is mixed
with the previous *output* warped onto it, ``out = s + w * M * (warp(prev_out) - s)``. Every
output is a convex mix of fresh stylised frames along the motion, so colours cannot drift or
darken over a long clip, and where the motion is not trusted the fresh frame is used as it is.
With ``hold``, where the photo is still but the network painted it anew (:func:`repainted_still`),
``w`` rises towards 1 (:data:`STEADY`), except while the camera zooms (:func:`zooming`): those
strokes come from noise, and averaging them would also wash the style out.
"""

from __future__ import annotations

from collections import deque
from typing import Optional

import numpy as np

from nst_tf.errors import UserError
from nst_tf.video.flow import Flow, _as_float, _cv2, reliable, warp
from nst_tf.video.motion import Motion

__all__ = ["Flow", "TemporalBlender", "WarpingError", "denoise_step", "reliable", "warp", "warping_error"]

#: the noise level (sigma, RGB in [0, 1]) at which ``TemporalBlender.prepare`` denoises fully
NOISE_REFERENCE = 2.0 / 255
#: a warped photo pixel further than this (RGB in [0, 1], per channel mean) from the current one is not blended
PHOTO_TOLERANCE = 0.08
#: ``hold``: the fine detail of the previous photo is kept where the local mean (HOLD_WINDOW px) moved
#: less than a third of max(HOLD_FLOOR, HOLD_NOISE x the noise sigma), and not beyond two thirds
HOLD_WINDOW = 9
HOLD_FLOOR = 1.5 / 255
HOLD_NOISE = 1.5
#: where the photo is still (as for ``hold``) but the network's fresh painting changed, over
#: HOLD_WINDOW px, by more than REPAINT_LOW (fully at REPAINT_HIGH; RGB in [0, 1]), the blend
#: keeps STEADY of what it would otherwise renew: the network is repainting the noise
REPAINT_LOW, REPAINT_HIGH = 0.03, 0.08
STEADY = 0.9
#: ... except while the camera zooms by more than this fraction a frame: kept strokes would be
#: resampled to a new scale every frame, and the zoom anchor (nst_tf.video.anchor) lays them anew
ZOOM_STILL = 0.002


def denoise_step(
    photo, prev_clean, flow, mask, strength: float, sigma: Optional[float] = None, hold: bool = False
) -> np.ndarray:
    """``photo`` mixed with the previous denoised photo warped along ``flow`` where ``mask`` trusts
    it, by ``strength`` times the noise level ``sigma`` relative to :data:`NOISE_REFERENCE` (full
    strength if None): a recursive average along the motion, so noise is averaged away and a clean
    clip is left as it is.

    ``hold`` also keeps the previous photo's fine detail (all but its local mean) wherever the local
    mean has not moved beyond the noise (:data:`HOLD_WINDOW` and the tolerances above): a flat sky
    or wall stops changing from frame to frame, which the network otherwise repaints from the
    noise left after averaging, while brightness changes pass as they do without it (the local mean
    is never held). With ``hold`` the blend also keeps more of its previous output where the photo
    is still but the network repainted it (:func:`repainted_still`). nst-apply's default
    (``--temporal_hold``); Lai's warping error, whose flow reads motion in a noisy textureless sky
    that is not there, scores it worse on a few flat-sky clips (benchmarks/RESULTS.md)."""
    cv2 = _cv2()
    noise = 1.0 if sigma is None else min(1.0, sigma / NOISE_REFERENCE)
    change = warp(prev_clean, flow, sharp=True) - photo
    mix = strength * noise * mask
    out = photo + mix[..., None] * change
    if hold:
        local = cv2.blur(change, (HOLD_WINDOW, HOLD_WINDOW))
        still = _still(local, sigma if sigma is not None else NOISE_REFERENCE) * mask
        out += ((1 - mix) * still)[..., None] * (change - local)
    return out


def repainted_still(photo, prev_photo, fresh, prev_fresh, flow, sigma: float) -> np.ndarray:
    """H x W in [0, 1]: where the photo has not changed beyond its noise since the previous frame
    (local means over :data:`HOLD_WINDOW` px, moved along ``flow``) while the network's fresh
    painting has (:data:`REPAINT_LOW` to :data:`REPAINT_HIGH`). There the new strokes come from
    nothing but the noise: flat, dark areas (a night sky) are repainted from sub-grey-level noise,
    and an object crossing the frame changes the whole picture's normalisation statistics."""
    cv2 = _cv2()
    window = (HOLD_WINDOW, HOLD_WINDOW)
    still = _still(cv2.blur(warp(prev_photo, flow) - photo, window), sigma)
    repaint = cv2.blur(np.abs(warp(prev_fresh, flow) - fresh).mean(-1), window)
    return still * np.clip((repaint - REPAINT_LOW) / (REPAINT_HIGH - REPAINT_LOW), 0.0, 1.0)


def _still(local_change: np.ndarray, sigma: float) -> np.ndarray:
    """H x W in [0, 1] from the change of the local means (H x W x 3): 1 where it stays within a
    third of the hold's tolerance (max(HOLD_FLOOR, HOLD_NOISE x sigma)), 0 beyond two thirds."""
    tol = max(HOLD_FLOOR, HOLD_NOISE * sigma)
    return np.clip((2 * tol / 3 - np.abs(local_change).mean(-1)) / (tol / 3), 0.0, 1.0)


def zooming(flow: np.ndarray) -> bool:
    """Whether ``flow`` scales the picture by more than :data:`ZOOM_STILL` (the median across the
    rows of the horizontal flow's change from the left edge to the right, and the same down)."""
    h, w = flow.shape[:2]
    across = abs(float(np.median(flow[:, -1, 0] - flow[:, 0, 0]))) / max(1, w - 1)
    down = abs(float(np.median(flow[-1, :, 1] - flow[0, :, 1]))) / max(1, h - 1)
    return max(across, down) > ZOOM_STILL


class TemporalBlender:
    """Blend each stylised frame with the previous output warped along the photo's motion.

    ``noise_aware`` (the default) takes the motion and its soft mask from
    :class:`nst_tf.video.motion.Motion` (tolerances relative to the clip's noise, a global camera
    motion where it explains the photo); off, the plain DIS flow with the forward-backward test and
    the fixed :data:`PHOTO_TOLERANCE`, as before (kept for comparison)."""

    def __init__(
        self,
        weight: float = 0.5,
        flow: Optional[Flow] = None,
        noise_aware: bool = True,
        denoise: float = 0.0,
        hold: bool = False,
    ):
        if not 0.0 <= weight < 1.0:
            raise UserError(f"temporal_blend must be at least 0 and below 1, got {weight}")
        if not 0.0 <= denoise < 1.0:
            raise UserError(f"temporal_denoise must be at least 0 and below 1, got {denoise}")
        self.weight, self.denoise, self.hold, self.flow = weight, denoise, hold, flow or Flow()
        self.motion = None
        if noise_aware:
            self.motion = Motion(self.flow)
        self.prev_photo = self.prev_out = self.prev_fresh = None
        self.prev_raw = self.prev_clean = None  # what :meth:`prepare` saw and gave last
        self._pending: deque = deque()  # motions measured by prepare, for the calls that follow
        self.trusted = []  #: mean of the blend mask, per frame after the first

    def mask(self, photo: np.ndarray, prev_photo: np.ndarray) -> tuple:
        """(flow bringing ``prev_photo`` onto ``photo``, H x W mask in [0, 1] of where to blend)."""
        if self.motion is not None:
            return self.motion(photo, prev_photo)
        to_prev = self.flow(photo, prev_photo)
        mask = reliable(to_prev, self.flow(prev_photo, photo))
        warped_photo = warp(_as_float(prev_photo), to_prev)
        mask *= np.mean(np.abs(warped_photo - _as_float(photo)), -1) < PHOTO_TOLERANCE
        return to_prev, mask

    def prepare(self, photo: np.ndarray) -> np.ndarray:
        """The photo to paint for this frame (call once per frame, in order, before the frames'
        :meth:`__call__`): with ``denoise``, the previous prepared photo warped along the motion is
        mixed in where the motion is trusted, by ``denoise`` times the clip's noise level relative to
        :data:`NOISE_REFERENCE` (a clean clip is painted as it is). Sensor noise the network would
        turn into flickering texture is averaged away before painting; the style is untouched.
        ``hold``: see :func:`denoise_step`."""
        p = _as_float(photo)
        if self.denoise == 0.0 and not self.hold:
            return p
        motion, clean = None, p
        if self.prev_raw is not None and self.prev_raw.shape == p.shape:
            motion = self.mask(p, self.prev_raw)
            sigma = None if self.motion is None else self.motion.sigma
            clean = denoise_step(p, self.prev_clean, *motion, self.denoise, sigma, self.hold)
        self._pending.append(motion)
        self.prev_raw, self.prev_clean = p, clean
        return clean

    def __call__(self, photo: np.ndarray, stylised: np.ndarray) -> np.ndarray:
        """The output for this frame (float [0, 1]); ``photo`` is the input frame it came from."""
        s = _as_float(stylised)
        motion = self._pending.popleft() if self._pending else None  # measured by prepare
        if self.weight == 0.0 or self.prev_out is None or self.prev_out.shape != s.shape:
            out = s
        else:
            to_prev, mask = motion or self.mask(photo, self.prev_photo)
            self.trusted.append(float(mask.mean()))
            weight = self.weight
            if self.hold and self.motion is not None and self.prev_fresh is not None and not zooming(to_prev):
                p, prev = _as_float(photo), _as_float(self.prev_photo)
                held = repainted_still(p, prev, s, self.prev_fresh, to_prev, self.motion.sigma)
                weight = self.weight + (1 - self.weight) * STEADY * held
            out = s + (weight * mask)[..., None] * (warp(self.prev_out, to_prev, sharp=self.motion is not None) - s)
        self.prev_photo, self.prev_out, self.prev_fresh = photo, out, s
        return np.clip(out, 0.0, 1.0)


class WarpingError:
    """Lai et al. 2018's warping error, accumulated frame by frame (a clip is never held whole): for
    each pair (t, t+1), the sum over pixels of ``M * ||O_t - warp(O_{t+1})||^2`` divided by the sum
    of ``M`` (``M`` the non-occluded pixels, flow and occlusion from the *input* frames, RGB in
    [0, 1]), averaged over the pairs."""

    def __init__(self, flow: Optional[Flow] = None):
        self.flow = flow or Flow()
        self.errors: list = []
        self.prev_in = self.prev_out = None

    def add(self, output: np.ndarray, photo: np.ndarray) -> None:
        o = _as_float(output)
        if self.prev_in is not None:
            fwd = self.flow(self.prev_in, photo)
            mask = reliable(fwd, self.flow(photo, self.prev_in))
            diff = np.sum((self.prev_out - warp(o, fwd)) ** 2, -1)
            self.errors.append(float(np.sum(mask * diff) / max(float(np.sum(mask)), 1.0)))
        self.prev_in, self.prev_out = photo, o

    @property
    def value(self) -> float:
        if not self.errors:
            raise UserError("the warping error needs at least two frames")
        return float(np.mean(self.errors))


def warping_error(outputs, inputs, flow: Optional[Flow] = None) -> float:
    """:class:`WarpingError` of a clip given as two iterables of frames (outputs, inputs)."""
    acc = WarpingError(flow)
    for o, i in zip(outputs, inputs):
        acc.add(o, i)
    return acc.value
