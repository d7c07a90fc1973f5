"""Clips that behave like real cameras, made from still photos (no real footage is available here).

Each clip is ``(frames, pairs)``: ``frames`` uint8 RGB, ``pairs[t]`` the known motion from frame
``t`` to ``t + 1`` as an integer ``(dx, dy)`` (the scene moves by ``-dx, -dy``: frame ``t+1`` at
``x`` shows what frame ``t`` showed at ``x + (dx, dy)``) with a boolean mask of the pixels where
that holds, or None where the motion is not a known translation (a zoom, a cut).

Kinds (``KINDS``): pans with sensor noise at two levels, a zoom with noise, a noisy pan after
H.264 or JPEG compression, a pan with exposure drift, a static shot with an object moving through
it, and a cut between two photos.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

KINDS = ("pan_noise2", "pan_noise5", "zoom_noise3", "pan_h264", "pan_jpeg", "exposure_drift", "moving_object", "cut")


def _source(path: str, need_w: int, need_h: int) -> np.ndarray:
    """The photo as float RGB in [0, 1], enlarged (Lanczos) so a ``need_w x need_h`` crop fits."""
    im = Image.open(path).convert("RGB")
    scale = max(need_w / im.width, need_h / im.height, 1.0)
    if scale > 1.0:
        im = im.resize((int(np.ceil(im.width * scale)), int(np.ceil(im.height * scale))), Image.LANCZOS)
    return np.asarray(im, np.float32) / 255.0


def _noisy(frame: np.ndarray, sigma: float, rng) -> np.ndarray:
    return np.clip(frame + rng.normal(0, sigma / 255.0, frame.shape), 0, 1)


def _u8(frame: np.ndarray) -> np.ndarray:
    return np.round(np.clip(frame, 0, 1) * 255).astype(np.uint8)


def _pan(src, w, h, n, step, sigma, rng, gain=None):
    dx, dy = step
    frames = []
    for t in range(n):
        f = src[dy * t : dy * t + h, dx * t : dx * t + w]
        f = f * (gain[t] if gain is not None else 1.0)
        frames.append(_u8(_noisy(f, sigma, rng)))
    full = np.ones((h, w), bool)
    return frames, [((dx, dy), full)] * (n - 1)


def _h264(frames: list, crf: int) -> list:
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        s.options = {"crf": str(crf), "preset": "medium"}
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    buf.seek(0)
    with av.open(buf) as inp:
        return [fr.to_ndarray(format="rgb24") for fr in inp.decode(video=0)]


def _jpeg(frame: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def _zoom(src, w, h, n, sigma, rng):
    import cv2

    cx, cy = src.shape[1] / 2, src.shape[0] / 2
    frames = []
    for t in range(n):
        m = cv2.getRotationMatrix2D((cx, cy), 0, 1.0 + 0.2 * t / max(1, n - 1))
        m[:, 2] += np.array([w / 2 - cx, h / 2 - cy])
        f = cv2.warpAffine(src, m, (w, h), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)
        frames.append(_u8(_noisy(f, sigma, rng)))
    return frames, [None] * (n - 1)


def _moving_object(src, other, w, h, n, sigma, rng):
    """A static shot; a disc cut from ``other`` (radius h/5) crosses it at 5 px/frame."""
    r = h // 5
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    disc = (xx**2 + yy**2) <= r * r
    patch = other[:, :][h // 2 - r : h // 2 + r + 1, w // 2 - r : w // 2 + r + 1]
    background = src[:h, :w]
    frames, boxes = [], []
    for t in range(n):
        x0, y0 = 5 * t - r, h // 2 - r + int(round(10 * np.sin(t / 4)))
        f = background.copy()
        xs, xe = max(0, x0), min(w, x0 + 2 * r + 1)
        if xe > xs:
            sub = disc[:, xs - x0 : xe - x0]
            f[y0 : y0 + 2 * r + 1, xs:xe][sub] = patch[:, xs - x0 : xe - x0][sub]
        frames.append(_u8(_noisy(f, sigma, rng)))
        box = np.zeros((h, w), bool)
        box[max(0, y0 - 2) : y0 + 2 * r + 3, max(0, x0 - 2) : max(0, x0 + 2 * r + 3)] = True
        boxes.append(box)
    return frames, [((0, 0), ~(boxes[t] | boxes[t + 1])) for t in range(n - 1)]


def _first_after_cut(frames: int) -> int:
    """The first frame of the second shot of a ``cut`` clip."""
    return frames // 2


def make(kind: str, photo: str, other: str, size=(256, 192), frames: int = 24, seed: int = 0):
    """One clip of ``kind`` (see ``KINDS``) made from ``photo`` (``other``: the second photo of the
    moving object and the cut)."""
    w, h = size
    n = frames
    rng = np.random.default_rng(seed)
    if kind == "pan_noise2":
        return _pan(_source(photo, w + 3 * n, h), w, h, n, (3, 0), 2.0, rng)
    if kind == "pan_noise5":
        return _pan(_source(photo, w + 2 * n, h + n), w, h, n, (2, 1), 5.0, rng)
    if kind == "zoom_noise3":
        return _zoom(_source(photo, int(w * 1.05), int(h * 1.05)), w, h, n, 3.0, rng)
    if kind in ("pan_h264", "pan_jpeg"):
        clip, pairs = _pan(_source(photo, w + 3 * n, h), w, h, n, (3, 0), 3.5, rng)
        clip = _h264(clip, 23) if kind == "pan_h264" else [_jpeg(f, 70) for f in clip]
        return clip, pairs
    if kind == "exposure_drift":
        gain = 0.8 + 0.4 * np.arange(n) / max(1, n - 1)
        return _pan(_source(photo, w + 2 * n, h), w, h, n, (2, 0), 2.0, rng, gain=gain)
    if kind == "moving_object":
        return _moving_object(_source(photo, w, h), _source(other, w, h), w, h, n, 3.0, rng)
    if kind == "cut":
        half = _first_after_cut(n)
        a, pa = _pan(_source(photo, w + 3 * half, h), w, h, half, (3, 0), 3.0, rng)
        b, pb = _pan(_source(other, w + 3 * (n - half), h), w, h, n - half, (3, 0), 3.0, rng)
        return a + b, pa + [None] + pb
    raise ValueError(f"unknown clip kind {kind!r}; one of {', '.join(KINDS)}")


def cut_pairs(kind: str, frames: int = 24) -> set:
    """The pairs (t, t + 1) of a clip of ``kind`` that straddle a cut: no method should carry
    anything across them, and a warping error there measures the scene change, not flicker."""
    return {_first_after_cut(frames) - 1} if kind == "cut" else set()


def aligned_difference(outputs: list, pairs: list) -> float | None:
    """Mean absolute difference of consecutive outputs (float [0, 1]) aligned by the known motion,
    over the pairs whose motion is known; None if none is."""
    values = []
    for t, pair in enumerate(pairs):
        if pair is None:
            continue
        (dx, dy), mask = pair
        a, b = outputs[t], outputs[t + 1]
        h, w = b.shape[:2]
        # frame t+1 at (x, y) shows frame t at (x + dx, y + dy)
        bt = b[: h - dy, : w - dx]
        at = a[dy:, dx:]
        m = mask[: h - dy, : w - dx]
        values.append(float(np.abs(at - bt).mean(-1)[m].mean()))
    return float(np.mean(values)) if values else None
