"""Print-size results with the brush strokes of a preview: the network paints the photo at a
working size, and the painting is brought to the photo's own size with the photo's detail.

A feed-forward network paints strokes of a fixed size in pixels: on a 24-megapixel photo they
are so fine that the picture seen whole hardly looks painted. So (:func:`paint_print`):

1. The photo is shrunk to ``work_size`` (longer side) and painted there: the strokes, colours and
   composition of that preview.
2. :func:`detail_upsample` enlarges the painting (bicubic) and adds the detail the small photo
   lost (the full photo's luminance less its enlarged small copy), scaled per pixel and channel by
   how much the painting follows the photo there: the slope of a local linear fit of the painting
   on the small photo's luminance (the guided filter of He, Sun & Tang, 2013). Where the painting
   keeps the photo's edges they come back sharp; where it paints over them (a flat sky of strokes)
   the strokes stay as painted.

The work is done in strips of rows, so memory is the photo and the result plus a few strips:
``benchmarks/print_size.py`` measures time, memory and how close the print shrunk back to the
working size is to the preview.
"""

from __future__ import annotations

import time
from typing import Callable, Optional

import numpy as np
from PIL import Image

from nst_tf.images import fit_size

WORK_SIZE = 1024  #: the default working size [px, longer side]
RADIUS = 2  #: of the local fit, in working-size pixels (a 5 x 5 window)
EPSILON = 1e-3  #: regularises the fit: detail below this variance counts as flat
MAX_GAIN = 2.0  #: the slope is clipped to +-this
STRIP_ROWS = 512  #: output rows per strip
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def resize_uint8(photo: np.ndarray, size: int) -> np.ndarray:
    """A uint8 photo resized (Lanczos) so its longer side is ``size`` px."""
    h, w = fit_size(photo.shape, size)
    if (h, w) == photo.shape[:2]:
        return photo
    return np.asarray(Image.fromarray(photo).resize((w, h), Image.LANCZOS, reducing_gap=3.0))


def shrink(photo: np.ndarray, size: int) -> np.ndarray:
    """A uint8 photo shrunk to ``size`` px on its longer side, as float in [0, 1]."""
    return resize_uint8(photo, size).astype(np.float32) / 255.0


def _box(a: np.ndarray, r: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window (fewer pixels at the borders), per channel."""
    out = a.astype(np.float64)
    for axis in (0, 1):
        n = out.shape[axis]
        c = np.cumsum(out, axis=axis)
        c = np.concatenate([np.zeros_like(np.take(c, [0], axis=axis)), c], axis=axis)
        hi = np.minimum(np.arange(n) + r + 1, n)
        lo = np.maximum(np.arange(n) - r, 0)
        shape = [1] * out.ndim
        shape[axis] = n
        out = (np.take(c, hi, axis=axis) - np.take(c, lo, axis=axis)) / (hi - lo).reshape(shape)
    return out.astype(np.float32)


def gain(photo_small: np.ndarray, painted: np.ndarray, radius: int = RADIUS, eps: float = EPSILON) -> np.ndarray:
    """Per pixel and channel, how much the painting follows the photo's luminance: the slope of
    the local linear fit, averaged over the window and clipped (H x W x 3)."""
    y = (photo_small @ LUMA)[..., None]
    mean_y, mean_p = _box(y, radius), _box(painted, radius)
    cov = _box(y * painted, radius) - mean_y * mean_p
    var = _box(y * y, radius) - mean_y**2
    return np.clip(_box(cov / (var + eps), radius), -MAX_GAIN, MAX_GAIN)


def _enlarge_rows(channels: list, size: tuple, top: int, bottom: int) -> np.ndarray:
    """Rows ``top:bottom`` of each float H' x W' channel enlarged (bicubic) to ``size`` (H, W), stacked."""
    (h, w), (sh, sw) = size, channels[0].shape
    box = (0.0, top * sh / h, float(sw), bottom * sh / h)
    return np.stack(
        [np.asarray(Image.fromarray(c, "F").resize((w, bottom - top), Image.BICUBIC, box=box)) for c in channels],
        axis=-1,
    )


def detail_upsample(
    photo: np.ndarray,
    photo_small: np.ndarray,
    painted: np.ndarray,
    *,
    bits: int = 8,
    radius: int = RADIUS,
    eps: float = EPSILON,
    progress: Optional[Callable[[int, int], None]] = None,
) -> np.ndarray:
    """The painting (float h x w x 3 of ``photo_small``) at the size of ``photo`` (uint8 H x W x 3),
    with the photo's detail (see the module docstring); uint8 or uint16 for ``bits`` 8 or 16."""
    from nst_tf.print_files import quantise

    h, w = photo.shape[:2]
    g = gain(photo_small, painted, radius, eps)
    low = [np.ascontiguousarray(painted[..., c], np.float32) for c in range(3)]
    low += [np.ascontiguousarray(g[..., c]) for c in range(3)]
    low.append(np.ascontiguousarray(photo_small @ LUMA))
    out = np.empty((h, w, 3), np.uint8 if bits == 8 else np.uint16)
    for top in range(0, h, STRIP_ROWS):
        bottom = min(h, top + STRIP_ROWS)
        big = _enlarge_rows(low, (h, w), top, bottom)
        luma = photo[top:bottom].astype(np.float32) @ (LUMA / 255.0)
        detail = luma - big[..., 6]
        out[top:bottom] = quantise(big[..., :3] + big[..., 3:6] * detail[..., None], bits)
        if progress:
            progress(bottom, h)
    return out


def paint_print(
    photo: np.ndarray,
    paint: Callable[[np.ndarray], np.ndarray],
    work_size: int = WORK_SIZE,
    *,
    bits: int = 8,
    report: Optional[Callable[[str], None]] = None,
) -> np.ndarray:
    """``photo`` (uint8 H x W x 3) painted by ``paint`` (float image -> float image) at
    ``work_size`` and brought back to its size with its detail; a photo no larger than
    ``work_size`` is painted as it is. Returns uint8 or uint16 (``bits``)."""
    from nst_tf.print_files import quantise

    h, w = photo.shape[:2]
    if not work_size or max(h, w) <= work_size:
        return quantise(paint(photo.astype(np.float32) / 255.0), bits)
    small = shrink(photo, work_size)
    if report:
        report(f"painting at {small.shape[1]}x{small.shape[0]} px, then {w}x{h} px with the photo's detail")
    painted = paint(small)
    started = shown = time.perf_counter()

    def progress(done: int, total: int) -> None:
        nonlocal shown
        now = time.perf_counter()
        if report and now - shown > 5.0 and done < total:
            shown = now
            report(f"  enlarging: row {done}/{total}, about {(now - started) / done * (total - done):.0f} s left")

    return detail_upsample(photo, small, painted, bits=bits, progress=progress)
