"""Batches with broken files among good ones: every good input is done, each bad one is named.

nst-stylize and nst-apply end with exit code 3 when a batch refused some inputs (0 only when
every input was done), name each refused input on stderr and list it in the manifest.
"""

import json

import numpy as np
import pytest
from clitools import TINY, run_cli

from nst_tf import images

EXIT_SOME_REFUSED = 3


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory, content_path):
    """Three good photos and three inputs that cannot be used."""
    d = tmp_path_factory.mktemp("mixed")
    src = images.load_image(content_path)
    for i, (y, x) in enumerate([(0, 0), (100, 150), (50, 300)]):
        images.save_image(images.resize_to(src[y : y + 120, x : x + 140], (56, 48)), d / f"good{i}.jpg")
    data = (d / "good0.jpg").read_bytes()
    (d / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (d / "empty.png").write_bytes(b"")
    (d / "text.jpg").write_text("not a picture")
    return d


BAD = {"truncated.jpg": "truncated or corrupt", "empty.png": "empty file", "text.jpg": "not an image"}


def _check_refusals(r, manifest_path, prog):
    assert r.returncode == EXIT_SOME_REFUSED, (r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr
    for name, reason in BAD.items():
        line = next(l for l in r.stderr.splitlines() if name in l)
        assert line.startswith(f"{prog}: warning: refused ") and reason in line, line
    assert r.stderr.strip().splitlines()[-1] == (
        f"{prog}: error: 3 inputs refused (named above and in {manifest_path}); every other one was done"
    )
    manifest = json.loads(manifest_path.read_text())
    assert {p.split("/")[-1]: why for p, why in manifest["refused"].items()}.keys() == BAD.keys()
    for path, why in manifest["refused"].items():
        assert BAD[path.split("/")[-1]] in why
    return manifest


def test_nst_stylize_batch_does_every_good_input(mixed_folder, style_path, tmp_path):
    out = tmp_path / "out"
    r = run_cli(f"--content={mixed_folder}", f"--style={style_path}", f"--output={out}", *TINY, "--steps=1")
    manifest = _check_refusals(r, out / "manifest.json", "nst-stylize")
    made = sorted(p.name for p in out.glob("*__*.jpg"))
    assert made == [f"good{i}__{style_path.stem}.jpg" for i in range(3)]
    assert sorted(manifest["outputs"]) == made
    assert (out / "sheet.jpg").is_file()
    again = run_cli(f"--content={mixed_folder}", f"--style={style_path}", f"--output={out}", *TINY, "--steps=1")
    assert again.returncode == EXIT_SOME_REFUSED and again.stdout.count("skipping") == 3


def test_nst_stylize_all_refused_is_a_user_error(mixed_folder, style_path, tmp_path):
    r = run_cli(
        f"--content={mixed_folder / 'truncated.jpg'},{mixed_folder / 'text.jpg'}",
        f"--style={style_path}",
        f"--output={tmp_path / 'out'}",
        *TINY,
        "--steps=1",
    )
    assert r.returncode == 2 and "none of the inputs could be used (2 refused" in r.stderr.splitlines()[-1]
    assert not list((tmp_path / "out").glob("*.jpg")) if (tmp_path / "out").exists() else True


def test_nst_stylize_one_bad_style_drops_only_its_jobs(mixed_folder, style_path, tmp_path):
    out = tmp_path / "out"
    r = run_cli(
        f"--content={mixed_folder / 'good0.jpg'},{mixed_folder / 'good1.jpg'}",
        f"--style={style_path},{mixed_folder / 'text.jpg'}",
        f"--output={out}",
        *TINY,
        "--steps=1",
    )
    assert r.returncode == EXIT_SOME_REFUSED, r.stderr[-2000:]
    assert sorted(p.name for p in out.glob("*__*.jpg")) == [f"good{i}__{style_path.stem}.jpg" for i in range(2)]
    assert list(json.loads((out / "manifest.json").read_text())["refused"]) == [str(mixed_folder / "text.jpg")]


def test_nst_apply_batch_does_every_good_input(mixed_folder, style_path, tmp_path):
    out = tmp_path / "out"
    args = [
        "--model=arbitrary",
        f"--style={style_path}",
        f"--input={mixed_folder}",
        f"--output={out}",
        "--size=48",
        "--precision=float32",
    ]
    r = run_cli(*args, module="nst_tf.cli.apply_fast")
    manifest = _check_refusals(r, out / "manifest.json", "nst-apply")
    made = sorted(p.name for p in out.glob("good*"))
    assert made == [f"good{i}_styled.jpg" for i in range(3)] == sorted(manifest["outputs"])
    for name in made:
        img = images.load_image(out / name)
        assert max(img.shape[:2]) == 48 and np.isfinite(img).all()
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("good*")}
    again = run_cli(*args, module="nst_tf.cli.apply_fast")  # a rerun skips what exists, rewrites nothing
    assert again.returncode == EXIT_SOME_REFUSED and again.stdout.count("skipping") == 3
    assert {p: p.stat().st_mtime_ns for p in out.glob("good*")} == stamps


def test_nst_apply_all_good_exits_0(mixed_folder, style_path, tmp_path):
    r = run_cli(
        "--model=arbitrary",
        f"--style={style_path}",
        f"--input={mixed_folder / 'good*.jpg'}",
        f"--output={tmp_path}",
        "--size=48",
        "--precision=float32",
        module="nst_tf.cli.apply_fast",
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads((tmp_path / "manifest.json").read_text())["refused"] == {}


def test_a_logdir_under_a_file_is_refused_before_any_work(tmp_path, content_path, style_path, small_config):
    from nst_tf.batch import run_batch
    from nst_tf.errors import UserError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UserError, match=r"cannot create the folder .*file is a file; choose another --logdir"):
        run_batch([content_path], [style_path], small_config, tmp_path / "o.jpg", logdir=blocker / "logs")
    assert not (tmp_path / "o.jpg").exists()
