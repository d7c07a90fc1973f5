"""Where each input of ``nst-apply`` goes, and which inputs can be used: output naming, existing
outputs (skipped in a batch, refused alone), unreadable inputs (refused one by one)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Optional

from nst_tf import batch, files, images, video
from nst_tf.errors import UserError

log = logging.getLogger("nst_tf")


def styled_name(src, folder: Path, bits: int = 8) -> Path:
    """A batch output: videos and frame folders as :func:`nst_tf.video.styled_name`, GIF/PNG/WebP
    keep their format, other images become JPEG; 16-bit outputs are TIFF for TIFF inputs, else PNG."""
    if video.is_video(src):
        return video.styled_name(src, folder)
    ext = Path(src).suffix.lower()
    if bits == 16:
        ext = ".tif" if ext in (".tif", ".tiff") else ".png"
    elif ext not in (".gif", ".png", ".webp"):
        ext = ".jpg"
    return folder / f"{Path(src).stem}_styled{ext}"


def check_bits(jobs: list, bits: int) -> None:
    """Refuse 16 bits for a still-image output whose format holds only 8."""
    from nst_tf.print_files import check_bits as check

    for src, dst in jobs:
        if not video.is_video(src):
            check(bits, dst)


def plan_outputs(inputs: list, output=None, bits: int = 8) -> tuple:
    """[(input, output path)] and the output folder (None for one input written to a file)."""
    out = Path(output) if output else None
    if len(inputs) == 1 and out is not None and out.suffix:
        return [(inputs[0], out)], None
    folder = out or Path("outputs")
    if folder.suffix:
        guess = video.guess_pattern(Path(inputs[0]).parent) if video.is_video(folder) else None
        hint = f" (to make one clip of a folder of frames, name them by a pattern: --input={guess})" if guess else ""
        raise UserError(f"{len(inputs)} inputs need a folder for --output, not the file name {folder}{hint}")
    return [(p, styled_name(p, folder, bits)) for p in inputs], folder


def check_output(dst, src, overwrite: bool) -> None:
    """Refuse an output of the wrong kind for its input, an existing one, or one in an unwritable folder."""
    if video.is_video(dst) or video.is_video(src):
        if not video.is_video(dst) or not video.is_video(src):
            raise UserError(
                f"{src} -> {dst}: a video becomes a video ({video.KINDS}) and an "
                "image an image (animations: .gif or .webp)"
            )
        if video.output_exists(dst) and not overwrite:
            raise UserError(f"{dst} already exists; pass --overwrite to replace it or choose another name")
        files.check_folder_writable(Path(dst).parent, "choose another output path")
    else:
        images.check_output_path(dst, overwrite)


def probe(path, fps: Optional[float] = None) -> None:
    """Refuse an input that cannot be read (a video is opened, an image decoded)."""
    if video.is_video(path):
        video.open_video(path, fps).close()
    else:
        images.load_image(path)


def usable_jobs(
    jobs, folder, overwrite: bool, fps: Optional[float] = None, report: Callable[[str], None] = log.info
) -> tuple:
    """The jobs to run and the refused inputs: one input is refused with an error; in a batch,
    existing outputs are skipped and each unusable input is refused alone."""
    if folder is None:
        src, dst = jobs[0]
        check_output(dst, src, overwrite)
        probe(src, fps)
        return jobs, {}
    todo = []
    for src, dst in jobs:
        if video.output_exists(dst) and not overwrite:
            report(f"skipping {dst} (exists; --overwrite redoes it)")
            continue
        check_output(dst, src, overwrite)
        todo.append((src, dst))
    good, refused = batch.check_inputs([src for src, _ in todo], load=lambda p: probe(p, fps))
    if refused and not good and len(todo) == len(jobs):
        raise UserError(
            f"none of the inputs could be used ({len(refused)} refused; the first: {next(iter(refused.values()))})"
        )
    good = set(map(str, good))
    return [(src, dst) for src, dst in todo if str(src) in good], refused
