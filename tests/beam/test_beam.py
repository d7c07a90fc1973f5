"""nst-apply-beam on the DirectRunner: every good image stylised, every broken one recorded, reruns
rewrite nothing, names kept through RunInference, results equal to nst-apply's."""

import json

import numpy as np
import pytest

pytest.importorskip("apache_beam")

from clitools import ROOT, one_line_error, run_cli  # noqa: E402

from nst_tf import beam as nst_beam  # noqa: E402
from nst_tf import images  # noqa: E402

BEAM = "nst_tf.cli.apply_beam"
PAINTING = f"{ROOT}/examples/style/starry_night.jpg"


def test_paths_keep_their_names_below_the_glob():
    assert nst_beam.glob_base("gs://b/photos/**/*.jpg") == "gs://b/photos/"
    assert nst_beam.glob_base("/data/a?/x.png") == "/data/"
    assert nst_beam.glob_base("x*.jpg") == ""
    assert nst_beam.output_name("gs://b/photos/2024/a.JPG", "gs://b/photos/") == "2024/a.JPG"
    assert nst_beam.output_name("/d/sub/scan.tif", "/d/") == "sub/scan.png"  # written as PNG
    assert nst_beam.output_name("/elsewhere/a.jpg", "/d/") == "a.jpg"


def test_handler_groups_sizes_and_keeps_order():
    calls = []

    def model(batch):
        calls.append(batch.shape)
        return 255 - batch

    handler = nst_beam.StylizerHandler("unused", max_batch_size=2)
    shapes = [(4, 6, 3), (5, 5, 3), (4, 6, 3), (4, 6, 3), (5, 5, 3)]
    batch = [np.full(s, i * 10, np.uint8) for i, s in enumerate(shapes)]
    from nst_tf.feedforward.stylizers import Stylizer

    out = handler.run_inference(batch, Stylizer(model, "a test network"))
    assert [o.shape for o in out] == shapes
    assert all((o == 255 - i * 10).all() for i, o in enumerate(out))  # each result is its own image's
    assert sorted(calls) == sorted([(2, 4, 6, 3), (1, 4, 6, 3), (2, 5, 5, 3)])  # same sizes stacked, <= 2


def test_handler_paints_large_images_at_the_work_size(content_path):
    sizes = []

    def model(batch):  # a "painting" that is the photo itself
        sizes.append(batch.shape[1:3])
        return batch

    from nst_tf.feedforward.print_size import resize_uint8
    from nst_tf.feedforward.stylizers import Stylizer

    handler = nst_beam.StylizerHandler("unused", work_size=64)
    photo = images.to_uint8(images.resize_to(images.load_image(content_path), (96, 128)))
    small = np.zeros((30, 40, 3), np.uint8)
    out = handler.run_inference([photo, small], Stylizer(model, "a test network"))
    assert sorted(sizes) == [(30, 40), (48, 64)]  # the large one painted at 64 px
    assert out[0].shape == photo.shape and (out[1] == 0).all()
    enlarged = resize_uint8(resize_uint8(photo, 64), 128).astype(int)  # the small painting, enlarged
    error = np.abs(out[0].astype(int) - photo).mean()
    assert error < 0.6 * np.abs(enlarged - photo).mean()  # the photo's detail came back


@pytest.fixture(scope="module")
def collection(tmp_path_factory, content_path):
    """Good photos in a folder and a subfolder, and the files a real collection has too."""
    d = tmp_path_factory.mktemp("collection")
    src = images.load_image(content_path)
    (d / "2024" / "march").mkdir(parents=True)
    good = {"a.jpg": (0, 0), "b.png": (80, 100), "2024/c.jpg": (40, 200), "2024/march/d.webp": (120, 250)}
    for name, (y, x) in good.items():
        images.save_image(images.resize_to(src[y : y + 150, x : x + 180], (48, 40)), d / name)
    data = (d / "a.jpg").read_bytes()
    (d / "2024" / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (d / "empty.png").write_bytes(b"")
    (d / "2024" / "march" / "text.jpg").write_text("not a picture")
    images.save_image(np.zeros((300, 300, 3), np.float32), d / "huge.png")  # over --max_megapixels=0.05
    (d / "notes.txt").write_text("ignored: not an image name")
    return d, sorted(good)


BROKEN = {
    "2024/truncated.jpg": "truncated or corrupt",
    "empty.png": "empty",
    "2024/march/text.jpg": "not an image",
    "huge.png": "megapixel limit",
}


def _beam(collection, out, style, *extra):
    folder, _ = collection
    return run_cli(
        f"--input={folder}",
        f"--output={out}",
        "--model=arbitrary",
        f"--style={style}",
        "--size=40",
        "--precision=float32",
        "--max_megapixels=0.05",
        *extra,
        module=BEAM,
    )


@pytest.mark.slow  # end to end across processes; CI runs it with pytest -m slow
def test_direct_runner_does_every_good_file_and_records_each_broken_one(collection, style_path, tmp_path):
    folder, good = collection
    out = tmp_path / "styled"
    r = _beam(collection, out, style_path, "--runner=DirectRunner")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Traceback" not in r.stderr
    made = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and "failures-" not in p.name)
    assert made == good  # names (and subfolders) kept, no temp files left
    for name in good:
        styled = images.load_image(out / name)
        photo = images.resize(images.load_image(folder / name), 40)
        assert styled.shape == photo.shape
        assert float(np.mean((styled - photo) ** 2)) > 0.002  # stylised, not copied
    records = [json.loads(line) for f in out.glob("failures-*.jsonl") for line in f.read_text().splitlines()]
    assert {r_["path"][len(str(folder)) + 1 :]: r_["stage"] for r_ in records} == {k: "decode" for k in BROKEN}
    for rec in records:
        assert BROKEN[rec["path"][len(str(folder)) + 1 :]] in rec["reason"]
    assert "done 4, skipped 0, failed 4, ignored 1" in r.stdout

    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    again = _beam(collection, out, style_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "done 0, skipped 4, failed 4, ignored 1" in again.stdout
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # the rerun rewrote no file
    (out / "a.jpg").unlink()  # as if the first run had crashed before writing it
    third = _beam(collection, out, style_path)
    assert "done 1, skipped 3" in third.stdout and (out / "a.jpg").is_file()


@pytest.mark.slow  # 15-25 s: keeps the default suite within 8 minutes; CI runs it with -m slow
def test_saved_model_results_equal_nst_apply(tmp_path, content_path):
    from nst_tf.feedforward import johnson_export as export
    from nst_tf.feedforward.johnson import build_transformer

    saved = export.export_saved_model(build_transformer("johnson_slim"), tmp_path / "saved")
    inputs = tmp_path / "in"
    inputs.mkdir()
    src = images.load_image(content_path)
    for i in range(3):
        images.save_image(
            images.resize_to(src[i * 50 : i * 50 + 120, :160], (32, 24 + 8 * (i % 2))), inputs / f"p{i}.png"
        )
    r = run_cli(
        f"--input={inputs / '*.png'}",
        f"--output={tmp_path / 'beam'}",
        f"--model={saved}",
        "--batch_size=2",
        module=BEAM,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    r = run_cli(
        f"--input={inputs}", f"--output={tmp_path / 'apply'}", f"--model={saved}", module="nst_tf.cli.apply_fast"
    )
    assert r.returncode == 0, r.stderr[-3000:]
    for i in range(3):
        a = np.asarray(images.load_image(tmp_path / "beam" / f"p{i}.png"))
        b = np.asarray(images.load_image(tmp_path / "apply" / f"p{i}_styled.png"))
        assert a.shape == b.shape and np.abs(a - b).max() < 1e-6


@pytest.mark.parametrize(
    "args, needle",
    [
        ([], "--input (a glob or folder) and --output (a folder) are both required"),
        (["--input=x", "--output=y", "--runer=DirectRunner"], "unknown flag --runer"),
        (["--input=x", "--output=y", "--runner=NoSuchRunner"], "unknown --runner NoSuchRunner; choose one of"),
        (["--input=x", "--output=y", "--model=arbitrary"], "needs --style"),
        (["--input=x", "--output=y", "--style=missing.jpg"], "missing.jpg could not be read"),
        (["--input=x", "--output=y", "--style=a.jpg", "--strength=2"], "strength must be between 0 and 1"),
        ([f"--input={__file__}.missing/*.jpg", "--output=y", f"--style={PAINTING}"], "no files match --input"),
        ([f"--input={__file__}.missing", "--output=y", f"--style={PAINTING}"], "no files match --input"),
        (["--input=x", "--output=y", "--style=a.jpg", "--max_megapixels=0"], "max_megapixels must be positive"),
    ],
)
def test_mistakes_are_one_line(args, needle):
    assert needle in one_line_error(run_cli(*args, module=BEAM), prog="nst-apply-beam")


def test_an_output_inside_the_input_is_not_read_back(tmp_path):
    """Plan skips files under --output, so a rerun with the output inside the input folder does not
    stylise its own results again (styled/styled/... on every run)."""
    from types import SimpleNamespace

    from nst_tf.beam.paths import inside
    from nst_tf.beam.pipeline import Plan

    photos = tmp_path / "photos"
    plan = Plan(f"{photos}/", str(photos / "styled"), overwrite=False)
    assert list(plan.process(SimpleNamespace(path=str(photos / "a.jpg")))) == [
        (str(photos / "a.jpg"), str(photos / "styled" / "a.jpg"))
    ]
    assert list(plan.process(SimpleNamespace(path=str(photos / "styled" / "a.jpg")))) == []
    assert inside("gs://b/in/out/x.jpg", "gs://b/in/out") and not inside("gs://b/in/outer.jpg", "gs://b/in/out")
    assert not inside(str(photos / "styledx" / "a.jpg"), str(photos / "styled"))


def test_an_interrupted_pipeline_stops_cleanly_and_leaves_no_beam_temp_folder(tmp_path, monkeypatch, content_path):
    # SIGTERM/Ctrl-C arrive as KeyboardInterrupt; the direct runner's workers used to turn it into a
    # RuntimeError (a 59-line "internal error") and leave beam-temp-failures-* in the output for good.
    from nst_tf.beam.handler import StylizerHandler
    from nst_tf.feedforward.stylizers import Stylizer

    def interrupted(batch):
        raise KeyboardInterrupt()

    monkeypatch.setattr(StylizerHandler, "load_model", lambda self: Stylizer(interrupted, "stops at once"))
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    for i in range(3):
        images.save_image(images.resize_to(images.load_image(content_path), (24, 32)), inputs / f"p{i}.png")
    out.mkdir()
    (out / "beam-temp-earlier").mkdir()  # not this run's: left alone
    job = nst_beam.BeamJob(str(inputs), str(out), StylizerHandler("unused"), size=None)
    with pytest.raises(KeyboardInterrupt):
        nst_beam.run(job, ["--runner=DirectRunner"])
    assert sorted(p.name for p in out.iterdir() if p.name.startswith("beam-temp")) == ["beam-temp-earlier"]
