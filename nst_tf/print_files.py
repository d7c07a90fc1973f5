"""Print-size files: a photo read as uint8 with what a print needs from it (colour profile,
resolution, EXIF), and results written with it in 8 or 16 bits per channel.

    photo, meta = read_photo("scan.tif")        # uint8 H x W x 3, upright (EXIF orientation applied)
    write_print(result, "print.tif", meta, bits=16)

uint8 keeps a 100-megapixel photo at 300 MB, where the float copies of :mod:`nst_tf.images`
take 1.2 GB each. 16-bit files are PNG (written with pypng) or TIFF (tifffile): Pillow writes
RGB only in 8 bits.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np
from PIL import Image, ImageOps

from nst_tf import images
from nst_tf.errors import UserError
from nst_tf.files import atomic_write

ORIENTATION = 0x0112  # the EXIF tag; the pixels we write are upright, so it becomes 1
BITS = (8, 16)
SIXTEEN_BIT_FORMATS = (".png", ".tif", ".tiff")


@dataclass(frozen=True)
class PhotoMeta:
    """What a result keeps from its photo: an RGB ICC profile, the resolution (dots per inch)
    and the EXIF block with its orientation reset."""

    icc_profile: Optional[bytes] = None
    dpi: Optional[tuple] = None
    exif: Optional[bytes] = None

    def describe(self) -> str:
        kept = [
            name for name, value in (("ICC profile", self.icc_profile), ("DPI", self.dpi), ("EXIF", self.exif)) if value
        ]
        return ", ".join(kept) if kept else "no metadata"


def _is_rgb_profile(profile: Optional[bytes]) -> bool:
    return bool(profile) and len(profile) >= 20 and profile[16:20] == b"RGB "  # the profile's colour space


def _metadata(img: Image.Image, original: Image.Image) -> PhotoMeta:
    icc = original.info.get("icc_profile")
    dpi = original.info.get("dpi")
    dpi = tuple(float(d) for d in dpi) if dpi and all(float(d) > 0 for d in dpi) else None
    exif = img.getexif()
    if ORIENTATION in exif:
        exif[ORIENTATION] = 1
    return PhotoMeta(icc if _is_rgb_profile(icc) else None, dpi, exif.tobytes() if len(exif) else None)


def read_photo(path: Union[str, os.PathLike]) -> tuple:
    """(uint8 H x W x 3 RGB, :class:`PhotoMeta`) of an image file, its EXIF orientation applied;
    modes other than RGB and grayscale are converted as :func:`nst_tf.images.load_image` does."""
    original = images._open(path)
    img = ImageOps.exif_transpose(original)
    meta = _metadata(img, original)
    if img.mode in ("RGB", "L"):
        return np.asarray(img.convert("RGB")), meta
    return images.to_uint8(images.load_image(img)), meta


def check_bits(bits: int, path) -> int:
    """Refuse a bit depth other than 8 or 16, and 16 bits in a format that cannot hold them."""
    if bits not in BITS:
        raise UserError(f"--bits must be 8 or 16, got {bits}")
    if bits == 16 and path is not None and Path(path).suffix.lower() not in SIXTEEN_BIT_FORMATS:
        raise UserError(
            f"16-bit output needs a .png or .tif file, not {Path(path).name}; change the name or pass --bits=8"
        )
    if bits == 16 and path is not None:
        import importlib.util

        module = "png" if Path(path).suffix.lower() == ".png" else "tifffile"
        if importlib.util.find_spec(module) is None:
            raise UserError(f"16-bit {Path(path).suffix} files need {module}: pip install 'nst_tf[print]'")
    return bits


def quantise(image: np.ndarray, bits: int) -> np.ndarray:
    """Float [0, 1] (or uint8) to uint8 or uint16."""
    a = np.asarray(image)
    if a.dtype == np.uint8:
        return a if bits == 8 else a.astype(np.uint16) * 257
    top = 255.0 if bits == 8 else 65535.0
    return np.round(np.clip(a, 0.0, 1.0) * top).astype(np.uint8 if bits == 8 else np.uint16)


def _write_png16(fh, data: np.ndarray, meta: PhotoMeta) -> None:
    import zlib

    import png  # pypng

    h, w = data.shape[:2]
    per_metre = {}
    if meta.dpi:
        per_metre = {"x_pixels_per_unit": round(meta.dpi[0] / 0.0254), "y_pixels_per_unit": round(meta.dpi[1] / 0.0254)}
    writer = png.Writer(w, h, greyscale=False, bitdepth=16, compression=3, unit_is_meter=bool(per_metre), **per_metre)
    if not meta.icc_profile:
        writer.write_array(fh, data.reshape(-1))
        return
    import io

    buf = io.BytesIO()
    writer.write_array(buf, data.reshape(-1))
    chunks = list(png.Reader(bytes=buf.getvalue()).chunks())
    iccp = (b"iCCP", b"icc\x00\x00" + zlib.compress(meta.icc_profile))  # name, NUL, method 0
    png.write_chunks(fh, [chunks[0], iccp, *chunks[1:]])


def _write_tiff16(fh, data: np.ndarray, meta: PhotoMeta) -> None:
    import io

    import tifffile

    buf = io.BytesIO()  # tifffile wants a named file; the temporary one has only a descriptor
    tifffile.imwrite(
        buf,
        data,
        photometric="rgb",
        compression="zlib",
        iccprofile=meta.icc_profile,
        resolution=(meta.dpi[0], meta.dpi[1]) if meta.dpi else None,
        resolutionunit="INCH" if meta.dpi else None,
    )
    fh.write(buf.getbuffer())


def write_print(
    image: np.ndarray, path, meta: PhotoMeta = PhotoMeta(), *, bits: int = 8, overwrite: bool = False, quality: int = 95
) -> Path:
    """Write ``image`` (float in [0, 1], uint8 or uint16) atomically with ``meta``, in ``bits`` per channel."""
    p = images.check_output_path(path, overwrite)
    check_bits(bits, p)
    data = quantise(image, bits) if np.asarray(image).dtype != (np.uint8 if bits == 8 else np.uint16) else image
    if bits == 16:
        writer = _write_png16 if p.suffix.lower() == ".png" else _write_tiff16
        return atomic_write(p, lambda fh: writer(fh, data, meta))
    fmt = images.SAVE_FORMATS[p.suffix.lower()]
    options: dict = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    if fmt in ("JPEG", "PNG", "TIFF", "WEBP"):
        options.update({k: v for k, v in (("icc_profile", meta.icc_profile), ("exif", meta.exif)) if v})
    if meta.dpi and fmt in ("JPEG", "PNG", "TIFF"):
        options["dpi"] = meta.dpi
    return atomic_write(p, lambda fh: Image.fromarray(data).save(fh, format=fmt, **options))
