"""nst-stylize in a subprocess, as a user runs it."""

import json
import signal

import numpy as np
import pytest
from clitools import TINY, interrupt_cli, one_line_error, run_cli

from nst_tf import images


def test_end_to_end_writes_output(tmp_path, content_path, style_path):
    out = tmp_path / "deep" / "out.png"
    r = run_cli(
        f"--content={content_path}", f"--style={style_path}", f"--output={out}", "--steps=4", "--save_every=2", *TINY
    )
    assert r.returncode == 0, r.stderr
    assert "step 4/4" in r.stdout and "steps/s" in r.stdout and f"wrote {out}" in r.stdout
    img = images.load_image(out)
    assert img.shape == (21, 32, 3) and np.isfinite(img).all()
    assert (tmp_path / "deep" / "out.step00002.png").exists()
    assert (tmp_path / "deep" / "out.step00004.png").exists()

    # Existing output: refused without --overwrite, before any work.
    again = run_cli(f"--content={content_path}", f"--style={style_path}", f"--output={out}", "--steps=1", *TINY)
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        f"nst-stylize: error: {out} already exists; pass --overwrite to replace it or choose another name"
    ]


@pytest.mark.parametrize(
    "args, pattern",
    [
        (["--optimizer=rmsprop"], "optimizer"),
        (["--steps=-3"], "steps must be zero or more"),
        (["--steps=5,2"], "2 step counts for 1 scales; give one count, or one per scale"),
        (["--steps=many"], "steps must be a whole number or one per scale"),
        (["--tile=big"], "tile must be auto, off or a size of at least 32 px"),
        (["--style_layers=conv9_9"], "unknown layer 'conv9_9'"),
        (["--nonsense=1"], "nonsense"),
        (["--style_layer_weights=1,2"], "2 style layer weights for 5 style layers"),
        (["--content=missing.jpg"], "image file not found: missing.jpg"),
        (["--content="], "--content is required"),
        (["--weights=hed", "--backbone=vgg19"], "--backbone=vgg16"),
    ],
)
def test_bad_flags_exit_2_with_one_line(tmp_path, content_path, style_path, args, pattern):
    base = [f"--content={content_path}", f"--style={style_path}", f"--output={tmp_path / 'o.jpg'}", "--steps=1", *TINY]
    r = run_cli(*base, *args)
    assert pattern in one_line_error(r)
    assert not (tmp_path / "o.jpg").exists()


def test_sigterm_keeps_latest_image(tmp_path, content_path, style_path):
    out = tmp_path / "t.jpg"
    code, stdout, stderr = interrupt_cli(
        f"--content={content_path}",
        f"--style={style_path}",
        f"--output={out}",
        "--steps=100000",
        *TINY,
        sig=signal.SIGTERM,
    )
    assert code == 143, stderr
    assert "interrupted" in stdout + stderr
    img = images.load_image(out)
    assert np.isfinite(img).all() and img.shape == (21, 32, 3)


def test_batch_2x2_writes_images_sheet_manifest_and_resumes(tmp_path, content_path, style_path):
    contents = tmp_path / "contents"
    contents.mkdir()
    for name in ("a.jpg", "b.jpg"):
        (contents / name).write_bytes(content_path.read_bytes())
    style2 = tmp_path / "s2.png"
    images.save_image(images.load_image(style_path)[::-1], style2)
    out = tmp_path / "results"
    args = [f"--content={contents}", f"--style={style_path},{style2}", f"--output={out}", "--steps=2", *TINY]
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    made = sorted(p.name for p in out.glob("*__*.jpg"))
    assert made == ["a__s2.jpg", "a__starry_night.jpg", "b__s2.jpg", "b__starry_night.jpg"]
    assert (out / "sheet.jpg").exists()
    sheet = images.load_image(out / "sheet.jpg")
    assert sheet.shape == (3 * 192 + 4 * 4, 3 * 192 + 4 * 4, 3)  # header row/column + 2 x 2
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["outputs"]) == set(made)
    assert manifest["settings"]["steps"] == 2
    entry = manifest["outputs"]["a__s2.jpg"]
    assert entry["steps"] == 2 and set(entry["final_losses"]) == {"content", "style", "tv", "total"}

    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*__*.jpg")}
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("skipping") == 4
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*__*.jpg")} == before


def test_blended_styles_give_one_output(tmp_path, content_path, style_path):
    out = tmp_path / "blend.jpg"
    r = run_cli(
        f"--content={content_path}",
        f"--style={style_path},{content_path}",
        "--style_weights=0.7,0.3",
        f"--output={out}",
        "--steps=2",
        *TINY,
    )
    assert r.returncode == 0, r.stderr
    assert out.exists() and len(list(tmp_path.iterdir())) == 1


def test_logdir_gets_tensorboard_events_and_loss_curve(tmp_path, content_path, style_path):
    logdir = tmp_path / "logs"
    r = run_cli(
        f"--content={content_path}",
        f"--style={style_path}",
        f"--output={tmp_path / 'o.jpg'}",
        f"--logdir={logdir}",
        "--steps=3",
        "--preserve_colors=luminance",
        "--blend=0.2",
        *TINY,
    )
    assert r.returncode == 0, r.stderr
    assert list(logdir.glob("events.out.tfevents.*"))
    curve = images.load_image(logdir / "loss_curve.png")
    assert curve.shape[0] > 100 and curve.std() > 0.01  # a drawn plot, not a blank image


@pytest.mark.parametrize(
    "module, cls",
    [
        ("nst_tf.cli.stylize", "StylizeConfig"),
        ("nst_tf.cli.train_fast", "FastTrainConfig"),
        ("nst_tf.cli.apply_fast", "ApplyConfig"),
    ],
)
def test_every_config_field_is_a_flag_with_its_default(module, cls):
    import dataclasses

    from nst_tf import config

    r = run_cli("--helpfull", module=module)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]  # absl exits 1 after help
    for f in dataclasses.fields(getattr(config, cls)):
        if isinstance(f.default, bool):
            assert f"--[no]{f.name}:" in r.stdout, f.name
            continue
        assert f"--{f.name}:" in r.stdout, f.name
        if f.default is not None:
            shown = ",".join(f.default) if isinstance(f.default, tuple) else str(f.default)
            block = r.stdout.split(f"--{f.name}:")[1].split("\n  --")[0]
            assert f"(default: '{shown}')" in " ".join(block.split()), (f.name, block)
