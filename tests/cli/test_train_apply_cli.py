"""nst-train-fast in subprocesses (train, export, kill and resume), then applying what it wrote."""

import shutil
import signal

import numpy as np
import pytest
from clitools import one_line_error, run_cli, start_cli
from PIL import Image

from nst_tf import images
from nst_tf.config import ApplyConfig
from nst_tf.errors import UserError
from nst_tf.feedforward.apply import apply_files

TRAIN = "nst_tf.cli.train_fast"
TINY_TRAIN = ["--image_size=32", "--batch_size=2", "--backbone=vgg16", "--weights=hed", "--precision=float32"]


@pytest.mark.slow  # 32 s: the suite's longest test; trains, exports and applies in three processes
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

    # A folder in: one output per input, same sizes; the three model forms agree (applied in-process:
    # nst-apply's command itself is smoke-tested in tests/feedforward/test_anystyle.py).
    only_ckpt = tmp_path / "only_ckpt"
    shutil.copytree(work / "checkpoints", only_ckpt / "checkpoints")
    inputs = sorted((photo_dir / "sub").iterdir())
    outs = {}
    for label, model in (("saved", work), ("lite", work / "model.tflite"), ("ckpt", only_ckpt)):
        out = tmp_path / f"out_{label}"
        apply_files(ApplyConfig(batch_size=3), [model], [photo_dir / "sub"], out)
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
    apply_files(ApplyConfig(blend=0.3), [work], [gif], tmp_path / "clip_out.gif")
    with Image.open(tmp_path / "clip_out.gif") as im:
        assert im.n_frames == 3 and im.size == (28, 20)

    with pytest.raises(UserError, match="neither a SavedModel"):
        apply_files(ApplyConfig(), [tmp_path], [gif])

    # Two networks by mask: one output, the input's size; a mask count that does not match is refused.
    left = tmp_path / "left.png"
    mask = np.zeros((20, 28, 3), np.float32)
    mask[:, :14] = 1.0
    images.save_image(mask, left)
    src = inputs[0]
    apply_files(ApplyConfig(style_masks=(str(left), str(left))), [work, work / "model.tflite"], [src],
                tmp_path / "masked.jpg")  # fmt: skip
    assert images.load_image(tmp_path / "masked.jpg").shape == images.load_image(src).shape
    with pytest.raises(UserError, match="0 --style_masks for 2 --model"):
        apply_files(ApplyConfig(), [work, work], [src], tmp_path / "x.jpg")


@pytest.mark.slow  # end to end across processes; CI runs it with pytest -m slow
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
