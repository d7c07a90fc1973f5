"""Image I/O: load anything common as float32 RGB in [0, 1], resize, save atomically.

Every array this module returns or accepts is ``H x W x 3`` float32 with values in
``[0, 1]`` unless a docstring says otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from nst_tf.errors import UserError
from nst_tf.files import atomic_write, check_folder_writable

ImageLike = Union[str, os.PathLike, np.ndarray, Image.Image]

# Extensions we write, mapped to Pillow format names.
SAVE_FORMATS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".webp": "WEBP",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".gif": "GIF",
}


def load_image(source: ImageLike) -> np.ndarray:
    """Return ``source`` as an ``H x W x 3`` float32 RGB array in ``[0, 1]``.

    ``source`` may be a file path, a PIL image or an array (uint8 in 0..255 or
    float in 0..1, with 2, 3 or 4 channels). Files get their EXIF orientation
    applied; grayscale, palette, RGBA (composited on white), 16-bit and CMYK
    images are converted to RGB; for animated files the first frame is used.
    """
    if isinstance(source, np.ndarray):
        return _array_to_rgb(source)
    if isinstance(source, Image.Image):
        return _pil_to_rgb(source)
    return _pil_to_rgb(_open(source))


def _open(path: Union[str, os.PathLike]) -> Image.Image:
    text = str(path)
    if "://" in text:
        raise UserError(
            f"{text} is a URL; download it first (for example: curl -L -o image.jpg '{text}') and pass the local file"
        )
    p = Path(text).expanduser()
    if not p.exists():
        raise UserError(f"image file not found: {text}; check the path")
    if p.is_dir():
        raise UserError(f"{text} is a directory; pass an image file")
    if p.stat().st_size == 0:
        raise UserError(f"{text} is an empty file (0 bytes); pass a valid image")
    import warnings

    with warnings.catch_warnings():  # a print-size photo the user chose is no decompression bomb:
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # no raw warning over 89 MP
        return _decode(p, text)


#: load_image_bytes refuses images with more pixels than this (the decoded float copy alone
#: takes 12 bytes per pixel); Pillow's own bomb guard only warns below twice its limit.
MAX_UPLOAD_PIXELS = 40_000_000


def load_image_bytes(data: bytes, what: str = "the image", max_pixels: int = MAX_UPLOAD_PIXELS) -> np.ndarray:
    """Decode an uploaded file's bytes like :func:`load_image`, refusing empty data, non-images and
    images over ``max_pixels`` (checked from the header, before any pixel is decoded)."""
    import io

    if not data:
        raise UserError(f"{what} is empty (0 bytes); choose an image file")
    img = _decode(io.BytesIO(data), what, max_pixels=max_pixels)
    return _pil_to_rgb(img)


def _decode(source, text: str, max_pixels: Optional[int] = None) -> Image.Image:
    """Open and fully decode ``source`` (a path or file object), turning every decoding failure into
    one UserError that names ``text``."""
    try:
        img = Image.open(source)
        if max_pixels is not None and img.width * img.height > max_pixels:
            raise UserError(
                f"{text} is {img.width}x{img.height} px, over the {max_pixels / 1e6:g} megapixel "
                "limit; downscale it first"
            )
        img.seek(0)
        img.load()
    except Image.DecompressionBombError as exc:
        raise UserError(f"{text} is too large to decode safely ({exc}); downscale it first") from None
    except UnidentifiedImageError:
        raise UserError(f"{text} is not an image nst_tf can read; use JPEG, PNG, WebP, BMP, TIFF or GIF") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise UserError(f"{text} could not be decoded ({exc}); the file may be truncated or corrupt") from None
    return img


def _pil_to_rgb(img: Image.Image) -> np.ndarray:
    img = ImageOps.exif_transpose(img)
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float32)
        scale = 65535.0 if mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        arr = np.clip(arr / scale, 0.0, 1.0)
        return np.repeat(arr[..., None], 3, axis=-1)
    if mode == "F":
        arr = np.clip(np.asarray(img, dtype=np.float32), 0.0, 1.0)
        return np.repeat(arr[..., None], 3, axis=-1)
    if mode == "P":
        img = img.convert("RGBA")
    elif mode in ("LA", "PA", "La"):
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "RGBa"):
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img.convert("RGBA"))
    img = img.convert("RGB")
    return np.asarray(img, dtype=np.float32) / 255.0


def _array_to_rgb(arr: np.ndarray) -> np.ndarray:
    a = np.asarray(arr)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[-1] not in (1, 3, 4):
        raise UserError(f"expected an H x W x 3 image array, got shape {a.shape}")
    if a.dtype == np.uint8:
        a = a.astype(np.float32) / 255.0
    elif a.dtype == np.uint16:
        a = a.astype(np.float32) / 65535.0
    else:
        a = a.astype(np.float32)
        if not np.all(np.isfinite(a)):
            raise UserError("the image array contains NaN or infinite values")
        if a.max(initial=0.0) > 1.0 + 1e-3:
            raise UserError("float image arrays must hold values in [0, 1]; divide a 0..255 array by 255")
        a = np.clip(a, 0.0, 1.0)
    if a.shape[-1] == 1:
        a = np.repeat(a, 3, axis=-1)
    elif a.shape[-1] == 4:
        rgb, alpha = a[..., :3], a[..., 3:]
        a = rgb * alpha + (1.0 - alpha)
    return np.ascontiguousarray(a, dtype=np.float32)


def fit_size(shape: tuple, max_side: int) -> tuple[int, int]:
    """Height and width that keep the aspect ratio of ``shape`` with the longer side ``max_side``."""
    h, w = int(shape[0]), int(shape[1])
    if max_side <= 0:
        raise UserError(f"image size must be positive, got {max_side}")
    scale = max_side / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def resize(image: np.ndarray, max_side: int) -> np.ndarray:
    """Resize ``image`` so that its longer side is ``max_side`` pixels (aspect ratio kept)."""
    h, w = fit_size(image.shape, max_side)
    return resize_to(image, (h, w))


def resize_to(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize ``image`` to exactly ``(height, width)`` with antialiased Lanczos filtering."""
    h, w = int(size[0]), int(size[1])
    if image.shape[:2] == (h, w):
        return image.astype(np.float32, copy=False)
    import tensorflow as tf  # imported lazily: loading and saving images need no TF

    out = tf.image.resize(image, (h, w), method="lanczos3", antialias=True)
    return np.clip(out.numpy(), 0.0, 1.0).astype(np.float32)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Convert a float image in ``[0, 1]`` to uint8, refusing NaN/inf values."""
    a = np.asarray(image, dtype=np.float32)
    if not np.all(np.isfinite(a)):
        raise ValueError("refusing to convert an image that contains NaN or infinite values")
    return np.round(np.clip(a, 0.0, 1.0) * 255.0).astype(np.uint8)


def check_output_path(path: Union[str, os.PathLike], overwrite: bool = False) -> Path:
    """Validate an output path before any long work: known extension, no clobbering."""
    p = Path(path).expanduser()
    if p.suffix.lower() not in SAVE_FORMATS:
        known = ", ".join(sorted(SAVE_FORMATS))
        raise UserError(f"cannot tell the image format of {p}; end the name with one of {known}")
    if p.is_dir():
        raise UserError(f"output {p} is a directory; pass a file name such as {p / 'result.jpg'}")
    if p.exists() and not overwrite:
        raise UserError(f"{p} already exists; pass --overwrite to replace it or choose another name")
    check_folder_writable(p.parent, "choose another output path")
    return p


def save_image(
    image: np.ndarray,
    path: Union[str, os.PathLike],
    *,
    overwrite: bool = False,
    quality: int = 95,
) -> Path:
    """Write ``image`` (float in [0, 1] or uint8) atomically: temp file in the same folder, then rename.

    The format follows the extension. An existing file is replaced only with
    ``overwrite=True``. A failed write leaves neither a partial file nor the temp file.
    """
    p = check_output_path(path, overwrite)
    data = image if np.asarray(image).dtype == np.uint8 else to_uint8(image)
    fmt = SAVE_FORMATS[p.suffix.lower()]
    kwargs = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    return atomic_write(p, lambda fh: Image.fromarray(data).save(fh, format=fmt, **kwargs))


def encode_image(image: np.ndarray, fmt: str = "JPEG", max_side: Optional[int] = None, quality: int = 90) -> bytes:
    """``image`` (float in [0, 1] or uint8) as the bytes of a ``fmt`` file (``JPEG``, ``PNG``, ...),
    first downscaled to ``max_side`` px on the longer side if it is larger."""
    import io

    if max_side and max(np.asarray(image).shape[:2]) > max_side:
        image = resize(
            np.asarray(image, np.float32) / (255.0 if np.asarray(image).dtype == np.uint8 else 1.0), max_side
        )
    data = image if np.asarray(image).dtype == np.uint8 else to_uint8(image)
    buf = io.BytesIO()
    Image.fromarray(data).save(buf, format=fmt, **({"quality": quality} if fmt in ("JPEG", "WEBP") else {}))
    return buf.getvalue()


# --------------------------------------------------------------------------- paths

READ_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")


def expand_paths(specs) -> list:
    """Files named by a list of files, folders (their images, sorted) and glob patterns."""
    import glob

    found = []
    for spec in specs:
        spec = str(spec).strip()
        if not spec:
            continue
        p = Path(spec).expanduser()
        if "://" in spec:
            found.append(spec)  # load_image explains how to download it
        elif p.is_dir():
            files = sorted(f for f in p.iterdir() if f.suffix.lower() in READ_EXTENSIONS and f.is_file())
            if not files:
                raise UserError(f"folder {spec} holds no images ({', '.join(READ_EXTENSIONS)})")
            found += files
        elif any(ch in spec for ch in "*?["):
            files = sorted(Path(f) for f in glob.glob(str(p), recursive=True) if Path(f).is_file())
            if not files:
                raise UserError(f"no files match {spec}")
            found += files
        else:
            found.append(p)
    return list(dict.fromkeys(found))
