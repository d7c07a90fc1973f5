"""nst-train-fast and nst-apply in subprocesses: train, export, apply, GIFs, kill and resume."""

import shutil
import signal

import numpy as np
from clitools import one_line_error, run_cli, start_cli
from PIL import Image

from nst_tf import images

TRAIN = "nst_tf.cli.train_fast"
APPLY = "nst_tf.cli.apply_fast"
TINY_TRAIN = ["--image_size=32", "--batch_size=2", "--backbone=vgg16", "--weights=hed", "--precision=float32"]


def test_train_export_apply(tmp_path, photo_dir, style_path):
    work = tmp_path / "run"
    r = run_cli(
        f"--style={style_path}",
        f"--data_dir={photo_dir}",
        f"--workdir={work}",
        "--steps=3",
        "--checkpoint_every=2",
        *TINY_TRAIN,
        module=TRAIN,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "step 3/3" in r.stdout and "skipped 2 file(s)" in r.stderr
    assert (work / "saved_model" / "saved_model.pb").exists()
    assert (work / "model.tflite").exists() and (work / "model_fp16.tflite").exists()
    assert sorted(p.name for p in (work / "checkpoints").glob("ckpt-*.index")) == ["ckpt-2.index", "ckpt-3.index"]

    # A folder in: one output per input, same sizes; the three model forms agree.
    only_ckpt = tmp_path / "only_ckpt"
    shutil.copytree(work / "checkpoints", only_ckpt / "checkpoints")
    inputs = sorted((photo_dir / "sub").iterdir())
    outs = {}
    for label, model in (("saved", work), ("lite", work / "model.tflite"), ("ckpt", only_ckpt)):
        out = tmp_path / f"out_{label}"
        r = run_cli(
            f"--model={model}", f"--input={photo_dir / 'sub'}", f"--output={out}", "--batch_size=3", module=APPLY
        )
        assert r.returncode == 0, r.stderr[-3000:]
        outs[label] = sorted(out.glob("*_styled.jpg"))
        assert (out / "manifest.json").is_file()
        assert [p.name for p in outs[label]] == [f"{p.stem}_styled.jpg" for p in inputs]
    for src, a, b, c in zip(inputs, outs["saved"], outs["lite"], outs["ckpt"]):
        a, b, c = images.load_image(a), images.load_image(b), images.load_image(c)
        assert a.shape == images.load_image(src).shape
        assert np.abs(a - b).mean() < 0.02 and np.abs(a - c).mean() < 0.02

    # An animated GIF stays animated, frame count and size kept.
    frames = [Image.fromarray(np.full((20, 28, 3), v, np.uint8)) for v in (30, 120, 220)]
    gif = tmp_path / "clip.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=80, loop=0)
    r = run_cli(
        f"--model={work}", f"--input={gif}", f"--output={tmp_path / 'clip_out.gif'}", "--blend=0.3", module=APPLY
    )
    assert r.returncode == 0, r.stderr[-3000:]
    with Image.open(tmp_path / "clip_out.gif") as im:
        assert im.n_frames == 3 and im.size == (28, 20)

    r = run_cli(f"--model={tmp_path}", f"--input={gif}", module=APPLY)
    assert "neither a SavedModel" in one_line_error(r, prog="nst-apply")

    # Two networks by mask: one output, the input's size; a mask count that does not match is refused.
    left = tmp_path / "left.png"
    mask = np.zeros((20, 28, 3), np.float32)
    mask[:, :14] = 1.0
    images.save_image(mask, left)
    src = inputs[0]
    r = run_cli(
        f"--model={work},{work / 'model.tflite'}",
        f"--input={src}",
        f"--style_masks={left},{left}",
        f"--output={tmp_path / 'masked.jpg'}",
        module=APPLY,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert images.load_image(tmp_path / "masked.jpg").shape == images.load_image(src).shape
    r = run_cli(f"--model={work},{work}", f"--input={src}", f"--output={tmp_path / 'x.jpg'}", module=APPLY)
    assert "0 --style_masks for 2 --model" in one_line_error(r, prog="nst-apply")


def test_sigkill_then_resume(tmp_path, photo_dir, style_path):
    work = tmp_path / "run"
    args = [
        f"--style={style_path}",
        f"--data_dir={photo_dir}",
        f"--workdir={work}",
        "--checkpoint_every=1",
        "--noexport",
        *TINY_TRAIN,
    ]
    proc = start_cli(*args, "--steps=100000", module=TRAIN)
    seen = 0
    for line in proc.stdout:
        if line.startswith("step "):
            seen = int(line.split()[1].split("/")[0])
            if seen >= 3:
                break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert seen >= 3
    saved = sorted(int(p.stem.split("-")[1]) for p in (work / "checkpoints").glob("ckpt-*.index"))
    assert saved and saved[-1] >= 2
    r = run_cli(*args, f"--steps={saved[-1] + 2}", module=TRAIN)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "resuming from" in r.stderr and f"(step {saved[-1]})" in r.stderr
    assert f"steps {saved[-1] + 1}..{saved[-1] + 2}" in r.stdout


def test_train_bad_flags(tmp_path, style_path):
    r = run_cli(
        f"--style={style_path}",
        f"--data_dir={tmp_path}",
        f"--workdir={tmp_path / 'w'}",
        "--steps=1",
        *TINY_TRAIN,
        module=TRAIN,
    )
    assert "no readable images" in one_line_error(r, prog="nst-train-fast")
    r = run_cli(
        f"--style={style_path}",
        f"--data_dir={tmp_path}",
        f"--workdir={tmp_path / 'w'}",
        "--image_size=30",
        module=TRAIN,
    )
    assert "multiple of 4" in one_line_error(r, prog="nst-train-fast")
