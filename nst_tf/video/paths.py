"""What counts as a video (files by extension, frame folders by a printf pattern), frame numbering,
output names, frame-rate checks; no PyAV import."""

from __future__ import annotations

import logging
import re
from fractions import Fraction
from pathlib import Path
from typing import Optional

from nst_tf import images
from nst_tf.errors import UserError

log = logging.getLogger("nst_tf")


VIDEO_EXTENSIONS = (".mp4", ".mov", ".webm", ".mkv")
DEFAULT_SEQUENCE_FPS = Fraction(25)  # FFmpeg's rate for an image sequence with none given
KINDS = f"{', '.join(VIDEO_EXTENSIONS)}, or a folder of frames named like frames/%04d.png"
_NUMBER = re.compile(r"%(0?\d*)d")


def is_sequence(path) -> bool:
    """Whether ``path`` names a folder of frames by a pattern such as ``frames/%04d.png``."""
    return len(_NUMBER.findall(Path(str(path)).name)) == 1


def is_video(path) -> bool:
    """A video file or a frame-sequence pattern."""
    return Path(str(path)).suffix.lower() in VIDEO_EXTENSIONS or is_sequence(path)


def _sequence_regex(pattern: Path) -> re.Pattern:
    before, after = _NUMBER.split(pattern.name, maxsplit=1)[0::2]
    return re.compile(re.escape(before) + r"(\d+)" + re.escape(after) + "$", re.IGNORECASE)


def numbered(pattern: Path, number: int) -> Path:
    """The file of frame ``number`` (``frames/%04d.png``, 7 -> ``frames/0007.png``)."""
    m = _NUMBER.search(pattern.name)
    return pattern.parent / (pattern.name[: m.start()] + (m.group(0) % number) + pattern.name[m.end() :])


def sequence_frames(pattern) -> list:
    """``[(number, path)]`` of the files that ``pattern`` names, in number order."""
    pattern = Path(pattern).expanduser()
    if not pattern.parent.is_dir():
        return []
    regex = _sequence_regex(pattern)
    found = []
    for f in pattern.parent.iterdir():
        m = regex.match(f.name)
        if m and f.is_file():
            found.append((int(m.group(1)), f))
    return sorted(found)


def guess_pattern(folder: Path) -> Optional[str]:
    """A pattern for the numbered images in ``folder`` (for messages), or None: ``%04d`` when every
    number has 4 digits, ``%d`` when the widths differ."""
    named = [re.match(r"(.*?)(\d+)(\.[A-Za-z]+)$", f.name) for f in sorted(folder.iterdir())] if folder.is_dir() else []
    named = [m for m in named if m and m.group(3).lower() in images.READ_EXTENSIONS]
    if not named:
        return None
    prefix, ext = named[0].group(1), named[0].group(3)
    widths = {len(m.group(2)) for m in named if (m.group(1), m.group(3)) == (prefix, ext)}
    number = f"%0{widths.pop()}d" if len(widths) == 1 and min(widths) > 1 else "%d"
    return str(folder / f"{prefix}{number}{ext}")


def styled_name(src, folder) -> Path:
    """Where the stylised ``src`` goes in ``folder``: ``clip_styled.mp4``, or for the frames
    ``shot/%04d.png`` the frames ``shot_styled/%04d.png``."""
    src = Path(str(src))
    if is_sequence(src):
        return Path(folder) / f"{src.parent.resolve().name or 'frames'}_styled" / src.name
    return Path(folder) / f"{src.stem}_styled{src.suffix.lower()}"


def check_fps(fps, sources) -> None:
    """Refuse an ``fps`` that is not positive, or that no frame-pattern source would use."""
    if fps is None:
        return
    if not 0 < fps < 10000:
        raise UserError(f"--fps must be a frame rate above 0 (and below 10000), got {fps}")
    if not any(is_sequence(s) for s in sources):
        raise UserError(
            "--fps is the frame rate of a folder of frames (named by a pattern such as shot/%04d.png); "
            "a video keeps its own rate and images have none"
        )


def output_exists(path) -> bool:
    """Whether writing ``path`` (a file, or a frame pattern) would replace something."""
    return bool(sequence_frames(path)) if is_sequence(path) else Path(path).exists()
