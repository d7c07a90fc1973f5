"""Where Beam's files are and go: globs on any Beam filesystem, output names, reading an image."""

from __future__ import annotations

import os
import posixpath
import re

import numpy as np

from nst_tf import images
from nst_tf.beam.apache import CompressionTypes, FileSystems
from nst_tf.errors import UserError, first_line

#: Output formats kept from the input's extension; anything else is written as PNG.
KEEP_EXTENSIONS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP"}


def glob_base(pattern: str) -> str:
    """The fixed folder a glob starts from: everything up to the last ``/`` before a wildcard."""
    wild = re.search(r"[*?\[]", pattern)
    head = pattern if wild is None else pattern[: wild.start()]
    return head[: head.rfind("/") + 1] if "/" in head else ""


def input_glob(spec: str) -> str:
    """``--input`` as a glob: a local folder means every file below it (``folder/**``)."""
    spec = spec.strip()
    if "://" not in spec and os.path.isdir(spec):
        return spec.rstrip("/") + "/**"
    return spec


def check_matches(pattern: str, limit: int = 1) -> int:
    """Refuse a glob that matches no file (Beam would fail the pipeline with a terse error); returns
    how many files it matches, counting up to ``limit``."""
    try:
        found = FileSystems.match([pattern], limits=[limit])[0].metadata_list
    except Exception:  # noqa: BLE001  (BeamIOError for a missing non-wildcard path, per filesystem)
        found = []
    if not found:
        raise UserError(
            f"no files match --input {pattern}; check the path (quote globs so the shell leaves the * alone)"
        )
    return len(found)


def output_name(path: str, base: str) -> str:
    """The output's name relative to ``--output``: the input's path below ``base``, with an
    extension Beam's writers can keep (others become ``.png``)."""
    rel = path[len(base) :] if base and path.startswith(base) else posixpath.basename(path)
    rel = rel.lstrip("/")
    stem, ext = posixpath.splitext(rel)
    return rel if ext.lower() in KEEP_EXTENSIONS else stem + ".png"


def join(folder: str, name: str) -> str:
    return FileSystems.join(folder.rstrip("/"), *name.split("/"))


def read_image(path: str, max_pixels: int = images.MAX_UPLOAD_PIXELS) -> np.ndarray:
    """Any Beam filesystem's image as float RGB in [0, 1] (header pixel limit checked first)."""
    try:
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as fh:
            data = fh.read()
    except Exception as exc:  # noqa: BLE001  (every filesystem raises its own kinds)
        raise UserError(f"{path} could not be read ({type(exc).__name__}: {first_line(exc)})") from None
    return images.load_image_bytes(data, what=path, max_pixels=max_pixels)


def inside(path: str, folder: str) -> bool:
    """Whether ``path`` lies under ``folder`` (local paths compared absolute; URLs by prefix)."""
    if "://" in path or "://" in folder:
        return path.startswith(folder.rstrip("/") + "/")
    return os.path.abspath(path).startswith(os.path.abspath(folder).rstrip(os.sep) + os.sep)
