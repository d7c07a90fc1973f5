"""Motion between consecutive frames for the temporal blend, made to hold on noisy and compressed
footage.

On clean frames, DIS flow with the forward-backward test (:func:`~nst_tf.video.flow.reliable`)
and a fixed photometric tolerance is enough. On real footage it is not: in flat regions (a sky, a
wall) sensor noise drives the flow, the two directions disagree and those pixels were not blended,
though that is where the network turns noise into swimming texture. :class:`Motion` therefore

* estimates the clip's own noise level (:func:`noise_level`, Immerkaer 1996 on the flattest blocks
  of each frame, and the residual between frames along the motion, smoothed over frames) and
  makes every tolerance relative to it;
* computes the flow on lightly pre-filtered frames;
* fits one global motion (a similarity, or a homography where it explains clearly more; RANSAC)
  to the flow where it is consistent and textured, which is what a camera's pan, zoom or shake
  is; the global motion is used wherever it explains the photo within the noise (flat regions
  included), the local flow where it does not but passes the forward-backward test (an object
  moving on its own), and also where most of the textured, consistent flow around a pixel moves
  differently from the camera (the flat inside of a moving object, which the still background's
  motion would match within the noise, moves with it);
* returns a soft mask: 1 where the warped previous photo matches the current one within the noise,
  falling to 0 at twice that, so a cut or a lighting change is still not blended.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from nst_tf.video.flow import Flow, _as_float, _cv2, inside, reliable, warp

#: Immerkaer's noise estimate is taken over the flattest fraction of 16 px blocks (texture is not noise)
FLAT_FRACTION = 0.25
#: photometric tolerance: TOL_FLOOR plus TOL_NOISE times the noise sigma (RGB in [0, 1])
TOL_FLOOR = 0.02
TOL_NOISE = 3.0
#: Gaussian pre-filter of the frames for flow and photometric test [px]
PREFILTER = 1.0
#: where most textured, consistent flow within a window of OWN_WINDOW times the frame's shorter
#: side (at least 25 px) moves this far [px] from the global motion, the local flow is an
#: object's own motion and is used (flat inside included)
OWN_MOTION = 1.0
OWN_WINDOW = 0.13
#: the similarity is kept while its RANSAC inliers are at least this fraction of the homography's
HOMOGRAPHY_GAIN = 0.9
#: spacing of the flow samples the global motion is fitted to [px]
SAMPLE_STEP = 8
#: a camera motion needs this share of the textured samples (at least 16) to agree with it
NEED = 0.3


def noise_level(frame: np.ndarray) -> float:
    """The frame's noise sigma (RGB in [0, 1]): Immerkaer's (1996) estimate, the mean absolute
    response to a kernel that cancels smooth content, times sqrt(pi/2)/6, over the flattest quarter
    of 16 px blocks of each channel."""
    cv2 = _cv2()
    f = _as_float(frame)
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    r = np.abs(cv2.filter2D(f, -1, kernel, borderType=cv2.BORDER_REFLECT))[1:-1, 1:-1]
    h, w = (r.shape[0] // 16) * 16, (r.shape[1] // 16) * 16
    if h == 0 or w == 0:
        return float(np.sqrt(np.pi / 2) * r.mean() / 6)
    blocks = r[:h, :w].reshape(h // 16, 16, w // 16, 16, -1).mean((1, 3, 4)).ravel()
    flat = np.sort(blocks)[: max(1, int(len(blocks) * FLAT_FRACTION))]
    return float(np.sqrt(np.pi / 2) * flat.mean() / 6)


def _global_flow(local: np.ndarray, weight: np.ndarray, prior: Optional[np.ndarray] = None) -> tuple:
    """``(dense flow, 3 x 3 matrix)`` of one camera motion fitted (RANSAC) to ``local`` where
    ``weight`` is set, or ``(None, None)`` if too few samples agree with any.

    The motion is a similarity (shift, turn, zoom) unless a homography explains clearly more of
    the samples: fitted to the textured part of a frame, the homography's extra freedom
    extrapolates badly into the flat parts (a sky above a textured ground: 0.2 px off on a 3 px
    pan), which is exactly where its motion is used.

    ``prior``: the previous frame's camera motion. While it still explains as many samples as a
    fresh fit needs (:data:`NEED`), the camera is refitted to those instead: a camera moves
    smoothly, and an object crossing a still shot with little texture around it (a sky) can
    otherwise hold more samples than the background and be taken for the camera."""
    cv2 = _cv2()
    h, w = local.shape[:2]
    ys, xs = np.mgrid[SAMPLE_STEP // 2 : h : SAMPLE_STEP, SAMPLE_STEP // 2 : w : SAMPLE_STEP]
    keep = weight[ys, xs] > 0
    if keep.sum() < 16:
        return None, None
    src = np.stack([xs[keep], ys[keep]], -1).astype(np.float32)
    dst = src + local[ys[keep], xs[keep]]
    need = max(16, NEED * len(src))
    hom, best = _fit(src, dst)
    if prior is not None:
        follows = np.linalg.norm(cv2.perspectiveTransform(src[:, None], prior)[:, 0] - dst, axis=-1) < 1.0
        if follows.sum() >= need:
            hom, best = _fit(src[follows], dst[follows])
    if hom is None or best < need:
        return None, None
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    grid = np.stack([gx, gy], -1).reshape(-1, 1, 2)
    return cv2.perspectiveTransform(grid, hom).reshape(h, w, 2) - np.stack([gx, gy], -1), hom


def _fit(src: np.ndarray, dst: np.ndarray) -> tuple:
    """(3 x 3 matrix, inliers) of the similarity or, where it explains clearly more, the
    homography that RANSAC fits to the point pairs; (None, 0) if neither fits."""
    cv2 = _cv2()
    sim, sim_in = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=1.0)
    sim_n = 0 if sim is None else int(sim_in.sum())
    hom, hom_n = None, 0
    if sim_n < HOMOGRAPHY_GAIN * len(src) and len(src) >= 4:  # else no homography has clearly more inliers
        hom, hom_in = cv2.findHomography(src, dst, cv2.RANSAC, 1.0)
        hom_n = 0 if hom is None else int(hom_in.sum())
    if sim_n >= HOMOGRAPHY_GAIN * hom_n:
        return (None, 0) if sim is None else (np.vstack([sim, [0.0, 0.0, 1.0]]), sim_n)
    return hom, hom_n


def _temporal_noise(photo, prev_photo, flow, mask) -> Optional[float]:
    """The noise sigma that explains the difference between ``photo`` and ``prev_photo`` moved
    along ``flow`` where ``mask`` trusts it: the median of the per-pixel mean absolute difference
    over the channels, divided by 2/sqrt(pi) (its expected value for Gaussian noise of sigma 1 in
    both frames). Unlike :func:`noise_level` it also sees what changes from frame to frame in flat
    areas after compression (blocking that moves, smeared noise). None if too little is trusted."""
    trusted = mask > 0.5
    if trusted.mean() < 0.2:
        return None
    diff = np.mean(np.abs(warp(_as_float(prev_photo), flow) - _as_float(photo)), -1)
    return float(np.median(diff[trusted])) / (2 / np.sqrt(np.pi))


class Motion:
    """``motion(photo, prev_photo) -> (flow, mask)``: the flow that brings ``prev_photo`` (and an
    output made from it) onto ``photo``'s pixels, and a soft H x W mask of where to trust it."""

    def __init__(self, flow: Optional[Flow] = None):
        self.flow = flow or Flow()
        self.sigma: Optional[float] = None  #: the clip's noise level, smoothed over frames
        self.used_global: list = []  #: per frame: the fraction of pixels following the global motion
        #: the noise between frames along the motion (compression flicker included), last measured
        self.temporal_sigma: Optional[float] = None
        self.camera: Optional[np.ndarray] = None  #: the last camera motion (3 x 3), the next frame's prior

    def _prefilter(self, frame: np.ndarray) -> np.ndarray:
        return _cv2().GaussianBlur(_as_float(frame), (0, 0), PREFILTER)

    def __call__(self, photo: np.ndarray, prev_photo: np.ndarray):
        cv2 = _cv2()
        sigma = max(noise_level(photo), self.temporal_sigma or 0.0)
        self.sigma = sigma if self.sigma is None else 0.8 * self.sigma + 0.2 * sigma
        cur, prev = self._prefilter(photo), self._prefilter(prev_photo)
        local = self.flow(cur, prev)
        consistent = reliable(local, self.flow(prev, cur))
        tol = TOL_FLOOR + TOL_NOISE * self.sigma

        def residual(flow):
            r = np.mean(np.abs(warp(prev, flow) - cur), -1)
            return cv2.blur(r, (5, 5))

        r_local = residual(local)
        flow, r, trust = local, r_local, consistent
        textured = cv2.Laplacian(cv2.cvtColor(cur, cv2.COLOR_RGB2GRAY), cv2.CV_32F, ksize=3)
        trusted_texture = (consistent * (np.abs(textured) > tol)).astype(np.float32)
        glob, self.camera = _global_flow(local, trusted_texture, self.camera)
        if glob is not None:
            r_glob = residual(glob)
            # the global motion wherever it explains the photo within the noise, except on what
            # moves on its own: where most of the nearby textured, consistent flow (which noise does
            # not drive) moves differently from the camera; its flat inside follows the local flow too
            differs = np.linalg.norm(local - glob, axis=-1) > OWN_MOTION
            side = max(25, int(round(OWN_WINDOW * min(photo.shape[:2]))))
            window = (side, side)
            support = cv2.blur(trusted_texture, window)
            own = (cv2.blur(trusted_texture * differs, window) > 0.5 * support) & (support > 0.05)
            use = (r_glob <= np.maximum(r_local, tol)) & ~own
            flow = np.where(use[..., None], glob, local)
            r = np.where(use, r_glob, r_local)
            trust = np.where(use, 1.0, consistent)
            self.used_global.append(float(use.mean()))
        else:
            self.used_global.append(0.0)
        photometric = np.clip((2 * tol - r) / tol, 0.0, 1.0)
        mask = (trust * photometric * inside(flow)).astype(np.float32)
        self.temporal_sigma = _temporal_noise(photo, prev_photo, flow, mask)
        return flow, mask
