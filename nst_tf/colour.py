"""Colour: luminance-only transfer (Gatys et al. 2016, "Preserving Color in Neural Artistic Style
Transfer"), histogram (mean and covariance) matching, blending with the original, and the one
post-processing path every method's result goes through."""

from __future__ import annotations

import numpy as np

from nst_tf.errors import UserError
from nst_tf.images import resize_to

# RGB <-> YIQ (NTSC), as used by Gatys et al., "Preserving Color in Neural Artistic Style
# Transfer" (2016) for luminance-only transfer.
_RGB2YIQ = np.array(
    [[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]],
    np.float32,
)
_YIQ2RGB = np.linalg.inv(_RGB2YIQ).astype(np.float32)


def rgb_to_yiq(image: np.ndarray) -> np.ndarray:
    return image @ _RGB2YIQ.T


def yiq_to_rgb(image: np.ndarray) -> np.ndarray:
    return image @ _YIQ2RGB.T


def transfer_luminance(result: np.ndarray, content: np.ndarray) -> np.ndarray:
    """The luminance (Y) of ``result`` with the colour (I, Q) of ``content``: style without its colours."""
    if result.shape != content.shape:
        content = resize_to(content, result.shape[:2])
    yiq = rgb_to_yiq(content)
    yiq[..., 0] = rgb_to_yiq(result)[..., 0]
    return np.clip(yiq_to_rgb(yiq), 0.0, 1.0).astype(np.float32)


def _sqrtm(cov: np.ndarray, inverse: bool = False) -> np.ndarray:
    vals, vecs = np.linalg.eigh(cov)
    vals = np.maximum(vals, 1e-8)
    power = -0.5 if inverse else 0.5
    return (vecs * vals**power) @ vecs.T


def match_color(source: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Recolour ``source`` so its RGB mean and covariance equal ``reference``'s.

    The linear colour transfer Gatys et al. (2016) use to keep the content's colours:
    applied to the style image before optimising (``preserve_colors="histogram"``).
    """
    src = source.reshape(-1, 3).astype(np.float64)
    ref = reference.reshape(-1, 3).astype(np.float64)
    mu_s, mu_r = src.mean(0), ref.mean(0)
    a = _sqrtm(np.cov(ref, rowvar=False)) @ _sqrtm(np.cov(src, rowvar=False), inverse=True)
    out = (src - mu_s) @ a.T + mu_r
    return np.clip(out, 0.0, 1.0).reshape(source.shape).astype(np.float32)


def blend(result: np.ndarray, original: np.ndarray, amount: float) -> np.ndarray:
    """Mix ``amount`` (0..1) of ``original`` back into ``result``; 0 keeps the result unchanged."""
    if not 0.0 <= amount <= 1.0:
        raise UserError(f"blend must be between 0 and 1, got {amount}")
    if amount == 0.0:
        return result
    if original.shape != result.shape:
        original = resize_to(original, result.shape[:2])
    return ((1.0 - amount) * result + amount * original).astype(np.float32)


def postprocess(
    result: np.ndarray,
    original: np.ndarray,
    preserve_colors: str = "none",
    blend_amount: float = 0.0,
    *,
    histogram_on_result: bool = False,
) -> np.ndarray:
    """Clip to [0, 1], keep the original's colours (``luminance``; ``histogram`` only with
    ``histogram_on_result``: a network whose style is built in, where the style image cannot be
    recoloured beforehand), then mix ``blend_amount`` of the original back in."""
    out = np.clip(result, 0.0, 1.0).astype(np.float32)
    if preserve_colors == "luminance":
        out = transfer_luminance(out, original)
    elif preserve_colors == "histogram" and histogram_on_result:
        out = match_color(out, original)
    return blend(out, original, blend_amount) if blend_amount else out
