"""How good is a stylised image? Pixel metrics against the content, feature distances on a fixed network.

Pixel metrics (``output`` vs ``content`` resized to the output): MSE, PSNR, SSIM and
multi-scale SSIM from ``tf.image``. High values mean the photo is well kept.

Feature distances, measured on a fixed network that does not depend on the one used to
stylise (by default the offline HED VGG16, so figures are comparable across machines):

``content_distance``
    mean squared feature difference to the content at ``block4_conv2``;
``style_distance``
    mean over Gatys' style layers of the relative Gram distance
    ``||G(output) - G(style)||_F / ||G(style)||_F`` (0 = the style's statistics exactly).
"""

from __future__ import annotations

import itertools
import math
import os
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

from nst_tf import backbones, images, losses
from nst_tf.config import GATYS_STYLE_LAYERS
from nst_tf.errors import UserError

MS_SSIM_POWERS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # Wang et al. 2003, tf.image's defaults


def _pair(a, b):
    a = images.load_image(a)
    b = images.load_image(b)
    if a.shape != b.shape:
        b = images.resize_to(b, a.shape[:2])
    return tf.constant(a[None]), tf.constant(b[None])


def mse(image, reference) -> float:
    a, b = _pair(image, reference)
    return float(tf.reduce_mean(tf.square(a - b)))


def psnr(image, reference) -> float:
    """Peak signal-to-noise ratio in dB (``inf`` for identical images)."""
    err = mse(image, reference)
    return math.inf if err == 0 else float(10.0 * math.log10(1.0 / err))


def ssim(image, reference) -> float:
    a, b = _pair(image, reference)
    return float(tf.image.ssim(a, b, max_val=1.0)[0])


def ms_ssim(image, reference) -> Optional[float]:
    """Multi-scale SSIM with as many of the 5 standard scales as the image size allows (None below 2)."""
    a, b = _pair(image, reference)
    side = min(a.shape[1], a.shape[2])
    scales = 0
    while scales < len(MS_SSIM_POWERS) and side / 2**scales >= 11:
        scales += 1
    if scales < 2:
        return None
    powers = MS_SSIM_POWERS[:scales]
    powers = [p / sum(powers) for p in powers]
    return float(tf.image.ssim_multiscale(a, b, max_val=1.0, power_factors=powers)[0])


class FeatureMetrics:
    """Content and style distances on one fixed feature network (built once)."""

    def __init__(
        self,
        backbone: str = "vgg16",
        weights: str = "hed",
        content_layer: str = "block4_conv2",
        style_layers: Sequence[str] = GATYS_STYLE_LAYERS,
        max_side: int = 512,
    ):
        self.content_layer = backbones.resolve_layer(content_layer, backbone)
        self.style_layers = backbones.resolve_layers(style_layers, backbone)
        self.extractor = backbones.build_extractor(
            (self.content_layer,) + self.style_layers, backbone=backbone, weights=weights, policy="float32"
        )
        self.max_side = max_side

    def _features(self, image):
        img = images.load_image(image)
        if max(img.shape[:2]) > self.max_side:
            img = images.resize(img, self.max_side)
        return img, self.extractor(tf.constant(img[None]))

    def content_distance(self, image, content) -> float:
        img, f = self._features(image)
        c = images.load_image(content)
        c = images.resize_to(c, img.shape[:2])
        fc = self.extractor(tf.constant(c[None]))
        n = self.content_layer
        return float(tf.reduce_mean(tf.square(f[n] - fc[n])))

    def _style_grams(self, style) -> dict:
        """The style's Gram matrices; a style given by path is computed once (clips score many frames)."""
        key = str(style) if isinstance(style, (str, os.PathLike)) else None
        cache = self.__dict__.setdefault("_grams", {})
        if key is None or key not in cache:
            _, fs = self._features(style)
            grams = {n: losses.gram_matrix(fs[n]) for n in self.style_layers}
            if key is None:
                return grams
            cache[key] = grams
        return cache[key]

    def style_distance(self, image, style) -> float:
        _, f = self._features(image)
        grams = self._style_grams(style)
        dists = []
        for n in self.style_layers:
            g, a = losses.gram_matrix(f[n]), grams[n]
            dists.append(float(tf.norm(g - a) / (tf.norm(a) + 1e-12)))
        return float(np.mean(dists))


def evaluate(output, content, style, features: Optional[FeatureMetrics] = None) -> dict:
    """All metrics of one output: pixel metrics against the content, feature distances."""
    features = features or FeatureMetrics()
    out = images.load_image(output)
    c = images.load_image(content)
    return {
        "mse": mse(out, c),
        "psnr": psnr(out, c),
        "ssim": ssim(out, c),
        "ms_ssim": ms_ssim(out, c),
        "content_distance": features.content_distance(out, c),
        "style_distance": features.style_distance(out, style),
    }


def evaluate_video(output, content, style, features: Optional[FeatureMetrics] = None, sample_every: int = 5) -> dict:
    """A stylised clip against the clip it came from, streamed: the warping error (Lai et al.
    2018) of the output and of the input, and the pixel and feature metrics of every
    ``sample_every``-th frame, averaged."""
    from nst_tf import video
    from nst_tf.video import temporal

    features = features or FeatureMetrics()
    flow = temporal.Flow()
    out_err, in_err = temporal.WarpingError(flow), temporal.WarpingError(flow)
    per_frame, n = [], 0
    with video.open_video(output) as o, video.open_video(content) as c:
        pairs = itertools.zip_longest(o.frames(), c.frames())
        for i, (of, cf) in enumerate(pairs):
            if of is None or cf is None:  # one clip ended first: they are not frame for frame
                longer = n + 1 + sum(1 for _ in pairs)
                raise UserError(
                    f"{output} has {n if of is None else longer} frames but {content} has "
                    f"{longer if of is None else n}; evaluate a clip against the clip it was made from"
                )
            cf = (
                images.to_uint8(images.resize_to(cf.astype(np.float32) / 255.0, of.shape[:2]))
                if cf.shape != of.shape
                else cf
            )
            out_err.add(of, cf)
            in_err.add(cf, cf)
            n += 1
            if i % sample_every == 0:
                out_f, c_f = of.astype(np.float32) / 255.0, cf.astype(np.float32) / 255.0
                per_frame.append(
                    {
                        "mse": mse(out_f, c_f),
                        "ssim": ssim(out_f, c_f),
                        "content_distance": features.content_distance(out_f, c_f),
                        "style_distance": features.style_distance(out_f, style),
                    }
                )
    result = {k: float(np.mean([r[k] for r in per_frame])) for k in per_frame[0]} if per_frame else {}
    return {"frames": n, "warping_error": out_err.value, "input_warping_error": in_err.value, **result}
