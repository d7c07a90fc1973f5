"""nst_tf.evaluation: the scores of several outputs, the CSV/JSON report and the sheet, in-process."""

import csv
import json

import numpy as np
import pytest

from nst_tf import evaluation, images
from nst_tf.errors import UserError


def test_scores_report_and_sheet(tmp_path, content_path, style_path):
    outs = tmp_path / "outs"
    outs.mkdir()
    c = images.resize(images.load_image(content_path), 64)
    images.save_image(c, outs / "same.png")
    images.save_image(np.clip(c + 0.2, 0, 1), outs / "brighter.png")
    scores = evaluation.evaluate(outs / "same.png", style_path, images.expand_paths([outs]))
    assert "ssim" in scores.table() and "same.png" in scores.table() and "inf" in scores.table()
    evaluation.write_report(scores, tmp_path / "r.csv")
    evaluation.write_report(scores, tmp_path / "r.json")
    rows = list(csv.DictReader(open(tmp_path / "r.csv")))
    assert [row["output"].split("/")[-1] for row in rows] == ["brighter.png", "same.png"]
    assert float(rows[1]["ssim"]) == pytest.approx(1.0, abs=1e-5) and float(rows[0]["ssim"]) < 1.0
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["results"][1]["psnr"] == "inf" and data["feature_network"] == "vgg16 (hed)"
    grid = images.load_image(evaluation.write_sheet(scores, tmp_path / "sheet.png"))
    assert grid.shape[1] == 4 * 224 + 5 * 4


def test_report_and_sheet_paths_are_checked_first(tmp_path, content_path):
    with pytest.raises(UserError, match="--report must end in .csv or .json"):
        evaluation.check_outputs(content_path, str(tmp_path / "r.txt"), None, False)
    (tmp_path / "r.csv").write_text("kept")
    with pytest.raises(UserError, match="already exists; pass --overwrite"):
        evaluation.check_outputs(content_path, str(tmp_path / "r.csv"), None, False)
    with pytest.raises(UserError, match="--sheet is for images; for videos use --report"):
        evaluation.check_outputs("clip.mp4", None, str(tmp_path / "s.png"), False)


def test_fmt():
    assert [evaluation.fmt(v) for v in (None, float("inf"), 0.123456, 7)] == ["n/a", "inf", "0.1235", "7"]
