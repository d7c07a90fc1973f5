"""Scoring stylised images (or clips) against their content and style: the table, the report file
(CSV or JSON) and the captioned sheet. ``nst-evaluate`` is :func:`evaluate` plus these writers.

    from nst_tf import evaluation
    scores = evaluation.evaluate("photo.jpg", "painting.jpg", ["a.jpg", "b.jpg"])
    print(scores.table())
    evaluation.write_report(scores, "scores.csv")
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from nst_tf import files, images, video
from nst_tf.errors import UserError

IMAGE_COLUMNS = ("output", "mse", "psnr", "ssim", "ms_ssim", "content_distance", "style_distance")
VIDEO_COLUMNS = ("output", "frames", "warping_error", "input_warping_error", "ssim", "content_distance",
                 "style_distance")  # fmt: skip
REPORT_SUFFIXES = (".csv", ".json")


def fmt(v) -> str:
    """A score as printed: 4 significant digits, ``inf`` and ``n/a`` spelled out."""
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return "inf" if math.isinf(v) else f"{v:.4g}"
    return str(v)


@dataclass
class Scores:
    content: str
    style: str
    feature_network: str  #: e.g. "vgg16 (hed)"
    rows: list  #: one dict per output, keyed by ``columns``
    columns: Sequence[str]
    note: str  #: what the figures mean, printed under the table

    def table(self) -> str:
        widths = [max(len(c), *(len(fmt(r.get(c))) for r in self.rows)) for c in self.columns]
        lines = ["  ".join(c.ljust(w) for c, w in zip(self.columns, widths))]
        lines += ["  ".join(fmt(r.get(c)).ljust(w) for c, w in zip(self.columns, widths)) for r in self.rows]
        return "\n".join(lines + [self.note])


def check_outputs(content, report: Optional[str], sheet_path: Optional[str], overwrite: bool) -> None:
    """Refuse a report or sheet path that is wrong or would replace a file, before any scoring."""
    if report is not None:
        if Path(report).suffix.lower() not in REPORT_SUFFIXES:
            raise UserError(f"--report must end in .csv or .json, got {report}")
        if Path(report).exists() and not overwrite:
            raise UserError(f"{report} already exists; pass --overwrite to replace it")
    if sheet_path:
        if video.is_video(content):
            raise UserError("--sheet is for images; for videos use --report")
        images.check_output_path(sheet_path, overwrite)


def evaluate(content, style, outputs: Sequence, backbone: str = "vgg16", weights: str = "hed") -> Scores:
    """Pixel metrics and feature distances of each output; with a video ``content`` every output
    must be a video and the warping errors are measured too (every 5th frame scored)."""
    from nst_tf import metrics

    is_clip = video.is_video(content)
    images.load_image(style)
    for p in [content, *outputs]:
        if is_clip:
            if not video.is_video(p):
                raise UserError(
                    f"{p} is not a video; with a video --content every --outputs must be a video ({video.KINDS})"
                )
            video.open_video(p).close()
        else:
            images.load_image(p)
    feats = metrics.FeatureMetrics(backbone=backbone, weights=weights)
    score = metrics.evaluate_video if is_clip else metrics.evaluate
    rows = [{"output": str(o), **score(o, content, style, feats)} for o in outputs]
    if is_clip:
        note = ("(warping error: Lai et al. 2018, lower = steadier; input_warping_error is the input clip's own; "
                "scores of every 5th frame)")  # fmt: skip
    else:
        note = (f"(pixel metrics against the content; distances on {backbone} {weights}; "
                "lower style_distance = closer to the style)")  # fmt: skip
    columns = VIDEO_COLUMNS if is_clip else IMAGE_COLUMNS
    return Scores(str(content), str(style), f"{backbone} ({weights})", rows, columns, note)


def _json_safe(row: dict) -> dict:
    return {k: ("inf" if isinstance(v, float) and math.isinf(v) else v) for k, v in row.items()}


def write_report(scores: Scores, path) -> Path:
    """The scores as CSV (the table's columns) or JSON (everything), by the file's extension; atomic."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        return files.write_json(path, {"content": scores.content, "style": scores.style,
                                       "feature_network": scores.feature_network,
                                       "results": [_json_safe(r) for r in scores.rows]})  # fmt: skip
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(scores.columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(scores.rows)
    return files.atomic_write(path, lambda fh: fh.write(buf.getvalue().encode("utf-8")))


def write_sheet(scores: Scores, path, overwrite: bool = False) -> Path:
    """Content, style and each output side by side, the scores under each output."""
    from nst_tf import sheet

    cells = [scores.content, scores.style] + [r["output"] for r in scores.rows]
    captions = ["content", "style"] + [
        f"{Path(r['output']).name[:28]}\nSSIM {fmt(r['ssim'])}  PSNR {fmt(r['psnr'])}\n"
        f"content {fmt(r['content_distance'])}\nstyle {fmt(r['style_distance'])}"
        for r in scores.rows
    ]
    grid = sheet.contact_sheet([cells], cell=224, captions=[captions])
    return images.save_image(grid, path, overwrite=overwrite)
