"""What real users feed the CLI: broken files, odd formats, bad flags, signals.

Each case runs nst-stylize in a subprocess and checks the exit code, the one-line message
and the files left behind.
"""

import signal

import numpy as np
import pytest
from clitools import TINY, interrupt_cli, one_line_error, run_cli
from PIL import Image

from nst_tf import images

ONE_STEP = TINY + ["--steps=1"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, content_path):
    d = tmp_path_factory.mktemp("corpus")
    bad = d / "bad"
    bad.mkdir()
    (bad / "empty.jpg").write_bytes(b"")
    data = content_path.read_bytes()
    (bad / "truncated.jpg").write_bytes(data[: len(data) // 4])
    (bad / "text.jpg").write_text("this is not a picture\n")
    (bad / "drawing.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>')
    (bad / "folder.jpg").mkdir()
    Image.new("1", (20000, 20000)).save(bad / "bomb.png")  # 400 Mpx: over Pillow's bomb limit
    good = d / "good"
    good.mkdir()
    rgb = (images.load_image(content_path) * 255).astype(np.uint8)
    Image.fromarray(rgb).convert("L").save(good / "gray.png")
    Image.fromarray(rgb).convert("P").save(good / "palette.png")
    rgba = Image.fromarray(rgb).convert("RGBA")
    rgba.putalpha(128)
    rgba.save(good / "rgba.png")
    Image.fromarray((np.asarray(Image.fromarray(rgb).convert("L"), np.uint16) * 257)).save(good / "deep16.png")
    Image.fromarray(rgb).convert("CMYK").save(good / "cmyk.jpg")
    img = Image.fromarray(rgb)  # 451 x 300, shown rotated by 90 degrees: portrait
    exif = img.getexif()
    exif[0x0112] = 6
    img.save(good / "rotated.jpg", exif=exif)
    frames = [Image.fromarray(rgb), Image.fromarray(255 - rgb)]
    frames[0].save(good / "animated.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    Image.fromarray(rgb[:10, :12]).save(good / "tiny.png")
    return d


@pytest.mark.parametrize(
    "name, pattern",
    [
        ("missing.jpg", "image file not found"),
        ("empty.jpg", "empty file (0 bytes)"),
        ("truncated.jpg", "truncated or corrupt"),
        ("text.jpg", "is not an image nst_tf can read"),
        ("drawing.svg", "is not an image nst_tf can read"),
        ("folder.jpg", "holds no images"),
        ("bomb.png", "too large to decode safely"),
    ],
)
def test_bad_content_files(corpus, style_path, tmp_path, name, pattern):
    r = run_cli(
        f"--content={corpus / 'bad' / name}", f"--style={style_path}", f"--output={tmp_path / 'o.jpg'}", *ONE_STEP
    )
    assert pattern in one_line_error(r)
    assert list(tmp_path.iterdir()) == []


def test_url_says_how_to_download(content_path, tmp_path):
    r = run_cli(
        f"--content={content_path}",
        "--style=https://example.org/painting.jpg",
        f"--output={tmp_path / 'o.jpg'}",
        *ONE_STEP,
    )
    assert "download it first" in one_line_error(r)


def test_odd_but_valid_images_all_work(corpus, style_path, tmp_path):
    out = tmp_path / "out"
    r = run_cli(f"--content={corpus / 'good'}", f"--style={style_path}", f"--output={out}", *ONE_STEP)
    assert r.returncode == 0, r.stderr[-3000:]
    made = {p.name.split("__")[0]: p for p in out.glob("*__*.jpg")}
    assert set(made) == {"gray", "palette", "rgba", "deep16", "cmyk", "rotated", "animated", "tiny"}
    assert images.load_image(made["rotated"]).shape[:2] == (32, 21)  # EXIF orientation applied: portrait
    assert images.load_image(made["animated"]).shape[:2] == (21, 32)
    for p in made.values():
        assert np.isfinite(images.load_image(p)).all()


def test_tiny_image_upscaled_with_warning(corpus, style_path, tmp_path):
    r = run_cli(
        f"--content={corpus / 'good' / 'tiny.png'}",
        f"--style={style_path}",
        f"--output={tmp_path / 'o.jpg'}",
        *[a if a != "--size=32" else "--size=64" for a in ONE_STEP],
    )
    assert r.returncode == 0, r.stderr
    assert "only 12x10 px; upscaling it to 64 px" in r.stderr
    assert images.load_image(tmp_path / "o.jpg").shape == (53, 64, 3)


def test_too_large_for_memory_names_largest_size(content_path, style_path, tmp_path):
    r = run_cli(
        f"--content={content_path}",
        f"--style={style_path}",
        f"--output={tmp_path / 'o.jpg'}",
        "--size=40000",
        *ONE_STEP[1:],
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("nst-stylize: warning: the content image is only 451x300 px")
    assert lines[1].startswith("nst-stylize: error: a 40000x26608 px run needs about")
    assert "the largest --size that fits is about" in lines[1] and len(lines) == 2


@pytest.mark.parametrize(
    "args, pattern",
    [
        (["--precision=float8"], "precision"),
        (["--style_weight=-1"], "style_weight must be zero or more"),
        (["--scales=9"], "smaller than 16 px"),
        (["--blend=2"], "blend must be between 0 and 1"),
        (["--preserve_colors=sepia"], "preserve_colors"),
        (["--init=nowhere.png"], "image file not found: nowhere.png"),
        (["--style_weights=1,2,3"], "3 style weights for 1 style images"),
    ],
)
def test_bad_flag_values(content_path, style_path, tmp_path, args, pattern):
    r = run_cli(
        f"--content={content_path}", f"--style={style_path}", f"--output={tmp_path / 'o.jpg'}", *ONE_STEP, *args
    )
    assert pattern in one_line_error(r)


def test_weights_of_wrong_architecture(content_path, style_path, tmp_path):
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="head")])
    model.save_weights(tmp_path / "other.weights.h5")
    r = run_cli(
        f"--content={content_path}",
        f"--style={style_path}",
        f"--output={tmp_path / 'o.jpg'}",
        "--size=32",
        "--steps=1",
        f"--weights={tmp_path / 'other.weights.h5'}",
        "--backbone=vgg16",
    )
    assert "does not fit a vgg16" in one_line_error(r)


def test_output_paths(content_path, style_path, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    r = run_cli(f"--content={content_path}", f"--style={style_path}", f"--output={blocker / 'o.jpg'}", *ONE_STEP)
    assert "is a file" in one_line_error(r)
    r = run_cli(f"--content={content_path}", f"--style={style_path}", f"--output={tmp_path / 'o.xyz'}", *ONE_STEP)
    assert "end the name with one of" in one_line_error(r)


def test_sigint_writes_latest_image_and_exits_130(content_path, style_path, tmp_path):
    out = tmp_path / "i.png"
    code, stdout, stderr = interrupt_cli(
        f"--content={content_path}",
        f"--style={style_path}",
        f"--output={out}",
        *TINY,
        "--steps=100000",
        sig=signal.SIGINT,
    )
    assert code == 130, stderr
    assert "Traceback" not in stderr
    assert np.isfinite(images.load_image(out)).all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["i.png"]  # no temp files left
