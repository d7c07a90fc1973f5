"""nst-evaluate: score stylised images against their content and style.

    nst-evaluate --content=photo.jpg --style=painting.jpg --outputs=results/ \\
        --report=scores.csv --sheet=scores.jpg

Prints a table; writes CSV or JSON (by the --report extension) and a side-by-side sheet with
the figures under each output. See ``nst_tf.metrics`` for what each figure means.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from absl import flags

from nst_tf import sheet
from nst_tf.cli import common
from nst_tf.errors import UserError

PROG = "nst-evaluate"

flags.DEFINE_string("content", None, "The content photo the outputs were made from.")
flags.DEFINE_string("style", None, "The style image the outputs were made from.")
flags.DEFINE_list("outputs", None, "Stylised images: files, folders or globs, comma-separated.")
flags.DEFINE_string("report", None, "Write the scores here: .csv or .json.")
flags.DEFINE_string("sheet", None, "Write a side-by-side sheet image here (.jpg/.png).")
flags.DEFINE_bool("overwrite", False, "Replace existing report/sheet files.")
flags.DEFINE_string("backbone", "vgg16", "Network for the feature distances (fixed, independent of stylising).")
flags.DEFINE_string("weights", "hed", "Its weights: hed (offline, default), imagenet, auto or an .h5 path.")

FLAGS = flags.FLAGS
COLUMNS = ("output", "mse", "psnr", "ssim", "ms_ssim", "content_distance", "style_distance")


def _fmt(v) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return "inf" if math.isinf(v) else f"{v:.4g}"
    return str(v)


def _json_safe(row: dict) -> dict:
    return {k: ("inf" if isinstance(v, float) and math.isinf(v) else v) for k, v in row.items()}


def main(argv) -> int:
    from nst_tf import files, images, metrics

    for name in ("content", "style"):
        if not getattr(FLAGS, name):
            raise UserError(f"--{name} is required")
    outputs = images.expand_paths(common.split_list(FLAGS.outputs))
    if not outputs:
        raise UserError("--outputs is required: stylised image files, folders or globs")
    report = Path(FLAGS.report) if FLAGS.report else None
    if report is not None:
        if report.suffix.lower() not in (".csv", ".json"):
            raise UserError(f"--report must end in .csv or .json, got {report}")
        if report.exists() and not FLAGS.overwrite:
            raise UserError(f"{report} already exists; pass --overwrite to replace it")
    if FLAGS.sheet:
        images.check_output_path(FLAGS.sheet, FLAGS.overwrite)
    from nst_tf import video

    if video.is_video(FLAGS.content):
        return _evaluate_videos(outputs, report)
    for p in [FLAGS.content, FLAGS.style, *outputs]:
        images.load_image(p)

    feats = metrics.FeatureMetrics(backbone=FLAGS.backbone, weights=FLAGS.weights)
    rows = []
    for out in outputs:
        row = {"output": str(out), **metrics.evaluate(out, FLAGS.content, FLAGS.style, feats)}
        rows.append(row)
    widths = [max(len(c), *(len(_fmt(r[c])) for r in rows)) for c in COLUMNS]
    print("  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths)))
    for r in rows:
        print("  ".join(_fmt(r[c]).ljust(w) for c, w in zip(COLUMNS, widths)))
    print(
        f"(pixel metrics against the content; distances on {FLAGS.backbone} {FLAGS.weights}; "
        "lower style_distance = closer to the style)"
    )

    if report is not None:
        if report.suffix.lower() == ".json":
            files.write_json(
                report,
                {
                    "content": FLAGS.content,
                    "style": FLAGS.style,
                    "feature_network": f"{FLAGS.backbone} ({FLAGS.weights})",
                    "results": [_json_safe(r) for r in rows],
                },
            )
        else:
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
            files.atomic_write(report, lambda fh: fh.write(buf.getvalue().encode("utf-8")))
        print(f"wrote {report}")
    if FLAGS.sheet:
        cells = [FLAGS.content, FLAGS.style] + [str(o) for o in outputs]
        captions = ["content", "style"] + [
            f"{Path(r['output']).name[:28]}\nSSIM {_fmt(r['ssim'])}  PSNR {_fmt(r['psnr'])}\n"
            f"content {_fmt(r['content_distance'])}\nstyle {_fmt(r['style_distance'])}"
            for r in rows
        ]
        grid = sheet.contact_sheet([cells], cell=224, captions=[captions])
        images.save_image(grid, FLAGS.sheet, overwrite=FLAGS.overwrite)
        print(f"wrote {FLAGS.sheet}")
    return common.EXIT_OK


VIDEO_COLUMNS = [
    "output",
    "frames",
    "warping_error",
    "input_warping_error",
    "ssim",
    "content_distance",
    "style_distance",
]


def _evaluate_videos(outputs, report) -> int:
    """Clips made from the video --content: warping error of each output and of the input, and
    the per-frame scores of every 5th frame."""
    from nst_tf import files, images, metrics, video

    if FLAGS.sheet:
        raise UserError("--sheet is for images; for videos use --report")
    images.load_image(FLAGS.style)
    for p in [FLAGS.content, *outputs]:
        if not video.is_video(p):
            raise UserError(
                f"{p} is not a video; with a video --content every --outputs must be a video ({video.KINDS})"
            )
        video.open_video(p).close()
    feats = metrics.FeatureMetrics(backbone=FLAGS.backbone, weights=FLAGS.weights)
    rows = [{"output": str(o), **metrics.evaluate_video(o, FLAGS.content, FLAGS.style, feats)} for o in outputs]
    widths = [max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in VIDEO_COLUMNS]
    print("  ".join(c.ljust(w) for c, w in zip(VIDEO_COLUMNS, widths)))
    for r in rows:
        print("  ".join(_fmt(r.get(c)).ljust(w) for c, w in zip(VIDEO_COLUMNS, widths)))
    print(
        "(warping error: Lai et al. 2018, lower = steadier; input_warping_error is the input clip's own; "
        "scores of every 5th frame)"
    )
    if report is not None:
        if report.suffix.lower() == ".json":
            files.write_json(report, {"content": FLAGS.content, "style": FLAGS.style, "results": rows})
        else:
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=VIDEO_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
            files.atomic_write(report, lambda fh: fh.write(buf.getvalue().encode("utf-8")))
        print(f"wrote {report}")
    return common.EXIT_OK


def run():
    common.run_app(PROG, main)


if __name__ == "__main__":
    run()
