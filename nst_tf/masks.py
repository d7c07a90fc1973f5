"""Spatial control (Gatys, Ecker, Bethge, Hertzmann & Shechtman, "Controlling Perceptual Factors in
Neural Style Transfer", CVPR 2017): masks that say where each style goes and which regions stay
close to the photo.

A mask is a grey image read as weights in [0, 1] (white = 1), of any size: it is resized to the
image it belongs to. For the losses it is brought down to every layer's resolution the way the
network's own pooling brings down the features (2x2, stride 2, max or average as configured), so
a feature position is weighted by the mask over the pixels it pools.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

from nst_tf import images, vgg
from nst_tf.errors import UserError


def load_mask(source) -> np.ndarray:
    """A mask image (path, PIL image or array) as H x W float32 weights in [0, 1] (luminance)."""
    rgb = images.load_image(source)
    return (rgb @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.float32)


def load_style_masks(sources) -> tuple:
    """One mask per style (or per network), refused when every one is black: nothing would be styled."""
    masks = tuple(load_mask(p) for p in sources)
    if masks and not any(float(m.max()) > 0 for m in masks):
        raise UserError("every style mask is black (all zero); white marks where a style goes")
    return masks


def resize_mask(mask: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """``mask`` (H x W) resized to ``shape[:2]`` (antialiased), clipped to [0, 1]."""
    out = images.resize_to(np.repeat(mask[..., None], 3, axis=-1), tuple(shape[:2]))[..., 0]
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def layer_masks(mask: np.ndarray, layers: Sequence[str], backbone: str, pooling: str = "max") -> dict:
    """``{layer: 1 x h x w x 1}``: ``mask`` (H x W, the image's size) at each layer's resolution."""
    m = tf.constant(mask[None, ..., None], tf.float32)
    pool = tf.nn.max_pool2d if pooling == "max" else tf.nn.avg_pool2d
    wanted, out = set(layers), {}
    for layer in vgg.vgg_layers(backbone):
        if layer.kind == "pool":
            m = pool(m, 2, 2, "VALID")
        if layer.name in wanted:
            out[layer.name] = m
        if len(out) == len(wanted):
            break
    return out


@dataclass(frozen=True)
class Masks:
    """The masks of one run at full resolution (``None`` where not given)."""

    style: Optional[tuple] = None  #: one H x W mask per style image, aligned with the content
    style_image: Optional[tuple] = None  #: one mask per style image, aligned with that style image
    content: Optional[np.ndarray] = None  #: per-pixel content weight, aligned with the content

    @classmethod
    def load(cls, config, n_styles: int) -> Optional["Masks"]:
        """The masks ``config`` names, checked against the number of style images; None if none."""
        if not (config.style_masks or config.style_image_masks or config.content_mask):
            return None
        for name in ("style_masks", "style_image_masks"):
            given = getattr(config, name)
            if given and len(given) != n_styles:
                raise UserError(
                    f"{len(given)} {name.replace('_', ' ')} for {n_styles} style images; give one mask per style image"
                )
        style = load_style_masks(config.style_masks) if config.style_masks else None
        return cls(
            style=style,
            style_image=tuple(load_mask(p) for p in config.style_image_masks) if config.style_image_masks else None,
            content=load_mask(config.content_mask) if config.content_mask else None,
        )


def composite(outputs: list, masks: list, original: np.ndarray, feather: float = 0.02) -> np.ndarray:
    """Several stylised versions of one image, each kept where its mask is white.

    ``outputs``: float H x W x 3 images in [0, 1]; ``masks``: one H' x W' weight map in [0, 1]
    per output (any size: resized); ``feather``: the mask edges are blurred by this fraction of
    the longer side (a Gaussian of that sigma). Where the masks add up to less than 1 the
    original shows through; where they overlap they are averaged.
    """
    from PIL import Image, ImageFilter

    h, w = original.shape[:2]
    sigma = feather * max(h, w)
    weights = []
    for m in masks:
        m = resize_mask(m, (h, w))
        if sigma > 0:
            blurred = Image.fromarray(np.round(m * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(sigma))
            m = np.asarray(blurred, np.float32) / 255.0
        weights.append(m[..., None])
    total = np.sum(weights, axis=0)
    mixed = np.sum([wk * o for wk, o in zip(weights, outputs)], axis=0) + np.maximum(0.0, 1.0 - total) * original
    return np.clip(mixed / np.maximum(1.0, total), 0.0, 1.0).astype(np.float32)
