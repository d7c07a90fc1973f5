"""Every flagfile in flags/ parses and runs, at a tiny size, with the network it names.

The VGG19 presets get a VGG19 with random weights saved to a file (ImageNet weights cannot
be downloaded here); the run goes through the same file-weights path a user's own file takes.
"""

from pathlib import Path

import pytest
from clitools import ROOT, run_cli
from PIL import Image

PRESETS = sorted(p.name for p in (Path(ROOT) / "flags").glob("*.flags"))
# Sizes that keep every preset's deepest layer and coarsest stage valid, with one step a stage.
TINY = {"hires.flags": ["--size=128", "--steps=1"]}


@pytest.fixture(scope="session")
def vgg19_weights(tmp_path_factory):
    import keras

    keras.utils.set_random_seed(19)
    model = keras.applications.VGG19(include_top=False, weights=None, input_shape=(None, None, 3))
    path = tmp_path_factory.mktemp("vgg19") / "vgg19_random.weights.h5"
    model.save_weights(path)
    return path


def test_every_preset_is_tested():
    assert set(PRESETS) == {
        "demo.flags",
        "distill.flags",
        "fast_coco.flags",
        "gatys.flags",
        "hires.flags",
        "keras_example.flags",
        "lbfgs.flags",
        "tf_tutorial.flags",
    }


@pytest.mark.parametrize(
    "preset",
    [
        # gatys.flags (13 s) runs in the slow suite, keeping the default run within 8 minutes
        pytest.param(p, marks=pytest.mark.slow) if p == "gatys.flags" else p
        for p in PRESETS
        if p not in ("fast_coco.flags", "distill.flags")
    ],
)
def test_stylize_preset_runs(preset, vgg19_weights, content_path, style_path, tmp_path):
    text = (Path(ROOT) / "flags" / preset).read_text()
    weights = [] if "--weights=hed" in text else [f"--weights={vgg19_weights}"]
    out = tmp_path / "out.png"
    r = run_cli(
        f"--flagfile=flags/{preset}",
        f"--content={content_path}",
        f"--style={style_path}",
        f"--output={out}",
        "--overwrite",
        *TINY.get(preset, ["--size=48", "--steps=2"]),
        *weights,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    backbone = "vgg16" if "--backbone=vgg16" in text else "vgg19"
    assert f"{backbone} (" in r.stdout and "speed: " in r.stdout
    w, h = Image.open(out).size
    assert max(w, h) == int(TINY.get(preset, ["--size=48"])[0].split("=")[1])


def _train_preset(preset, style, workdir, steps, *extra):
    """nst-train-fast with a preset shrunk to ``steps`` steps of 32 px, the offline loss network, no export."""
    r = run_cli(
        f"--flagfile=flags/{preset}",
        f"--style={style}",
        f"--workdir={workdir}",
        f"--steps={steps}",
        f"--checkpoint_every={steps}",
        "--image_size=32",
        "--batch_size=2",
        "--weights=hed",
        "--noexport",
        *extra,
        module="nst_tf.cli.train_fast",
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"step {steps}/{steps}" in r.stdout
    return r


def test_fast_coco_preset_runs(photo_dir, style_path, tmp_path):
    _train_preset("fast_coco.flags", style_path, tmp_path / "run", 1, f"--data_dir={photo_dir}")
    assert list((tmp_path / "run" / "checkpoints").glob("ckpt-1*"))


@pytest.mark.slow  # a whole nst-train-fast process; CI runs it with pytest -m slow
def test_distill_preset_runs(style_path, tmp_path):
    """The laptop recipe, shrunk: distillation then the refining steps, on the bundled photos."""
    r = _train_preset("distill.flags", style_path, tmp_path / "run", 3, "--refine_steps=1", "--decay_steps=3")
    assert "photos bundled with nst_tf" in r.stdout
    assert "any-style network's pictures (L1) + perceptual loss" in r.stderr + r.stdout
    assert (tmp_path / "run" / "arch.txt").read_text() == "compact"
