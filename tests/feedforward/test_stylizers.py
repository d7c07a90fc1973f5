"""open_stylizer, the workdir layout, the architecture registry and apply_files, in-process."""

import json

import numpy as np
import pytest

from nst_tf.config import FAST_ARCHS, ApplyConfig
from nst_tf.errors import UserError
from nst_tf.feedforward import registry, workdir
from nst_tf.feedforward.stylizers import Stylizer, open_stylizer, open_stylizers


@pytest.fixture(scope="module")
def slim_workdir(tmp_path_factory):
    """A per-style workdir as nst-train-fast leaves it: arch.txt and one checkpoint (random weights)."""
    import tensorflow as tf

    from nst_tf.feedforward.johnson import build_transformer

    folder = tmp_path_factory.mktemp("run")
    model = build_transformer("johnson_slim")
    tf.train.CheckpointManager(tf.train.Checkpoint(model=model), str(workdir.checkpoints(folder)), 1).save()
    workdir.write_arch(folder, "johnson_slim")
    return folder, model


def test_workdir_layout(tmp_path, slim_workdir):
    folder, _ = slim_workdir
    assert workdir.arch(tmp_path) is None  # an empty folder holds nothing
    assert workdir.arch(folder) == "johnson_slim"
    (tmp_path / "checkpoints").mkdir()
    assert workdir.arch(tmp_path) == "johnson"  # a workdir from before arch.txt
    assert workdir.is_any_style("arbitrary") and not workdir.is_any_style(folder)
    workdir.write_arch(tmp_path, "arbitrary")
    assert workdir.is_any_style(tmp_path)
    assert workdir.latest_checkpoint(folder) and workdir.latest_checkpoint(tmp_path / "nothing") is None
    assert not workdir.has_anystyle_weights(tmp_path / "nothing")
    (tmp_path / "w" / "weights").mkdir(parents=True)
    (tmp_path / "w" / "weights" / "predict.weights.h5").write_bytes(b"")
    assert workdir.has_anystyle_weights(tmp_path / "w")
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(UserError, match="is a file; pass a folder"):
        workdir.check(file)


def test_registry_names_every_architecture():
    assert set(registry.ARCHS) == set(FAST_ARCHS)
    with pytest.raises(UserError, match="unknown network architecture 'resnet'; expected one of johnson"):
        registry.get("resnet")


def test_open_stylizer_restores_a_workdir_checkpoint(slim_workdir):
    from nst_tf.feedforward.johnson import stylize_images

    folder, model = slim_workdir
    net = open_stylizer(folder, precision="float32")  # auto may pick bfloat16: not bit-comparable
    assert "johnson_slim" in net.description and "float32 (chosen)" in net.description
    batch = (np.random.default_rng(0).uniform(size=(2, 20, 28, 3)) * 255).astype(np.uint8)
    expected = np.round(np.clip(stylize_images(model, batch / 255.0).numpy(), 0, 1) * 255)
    assert np.abs(net(batch).astype(np.int32) - expected).max() <= 1
    # float frames of two sizes: batched by size, returned in order, each its own image's result
    frames = [batch[0] / 255.0, batch[1, :16, :24] / 255.0, batch[1] / 255.0]
    out = net.stylize(frames, batch_size=2)
    assert [o.shape for o in out] == [f.shape for f in frames]
    np.testing.assert_allclose(out[2], expected[1] / 255.0, atol=1.5 / 255)


def test_run_batches_groups_sizes_and_keeps_order():
    calls = []

    def invert(batch):
        calls.append(batch.shape)
        return 255 - batch

    shapes = [(4, 6, 3), (5, 5, 3), (4, 6, 3), (4, 6, 3), (5, 5, 3)]
    items = [np.full(s, i * 10, np.uint8) for i, s in enumerate(shapes)]
    out = Stylizer(invert, "inverts").run_batches(items, batch_size=2)
    assert all((o == 255 - i * 10).all() and o.shape == s for i, (o, s) in enumerate(zip(out, shapes)))
    assert sorted(calls) == sorted([(2, 4, 6, 3), (1, 4, 6, 3), (2, 5, 5, 3)])


@pytest.mark.parametrize(
    "models, styles, needle",
    [
        (["no/such/run"], (), "neither a SavedModel, a .tflite file nor a training workdir"),
        (["arbitrary", "no/such/run"], (), "--model=arbitrary cannot be combined with other models"),
        (["arbitrary"], (), "needs --style: one or more painting images"),
    ],
)
def test_open_stylizers_refuses_in_one_line(models, styles, needle):
    with pytest.raises(UserError, match=needle) as info:
        open_stylizers(models, styles)
    assert "\n" not in str(info.value)


def test_any_style_refuses_bad_styles_before_building(tmp_path):
    bad = tmp_path / "painting.jpg"
    bad.write_text("not a picture")
    with pytest.raises(UserError, match="not an image"):
        open_stylizer("arbitrary", [str(bad)])
    with pytest.raises(UserError, match="2 --style_weights for 1 --style"):
        open_stylizer("arbitrary", [str(bad)], style_weights=[1.0, 2.0])


def test_apply_files_batch_manifest_and_rerun(tmp_path, slim_workdir, content_path, caplog):
    from nst_tf.feedforward.apply import apply_files

    folder, _ = slim_workdir
    lines = []
    report = apply_files(
        ApplyConfig(size=32), [str(folder)], [str(content_path)] * 1, tmp_path / "out", report=lines.append
    )
    (written,) = report.written
    assert written.endswith("chelsea_styled.jpg") and (tmp_path / "out" / "chelsea_styled.jpg").is_file()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["outputs"]["chelsea_styled.jpg"]["frames"] == 1 and manifest["settings"]["size"] == 32
    assert any(line.startswith("wrote ") for line in lines)
    lines.clear()
    again = apply_files(ApplyConfig(size=32), [str(folder)], [str(content_path)], tmp_path / "out", report=lines.append)
    assert not again.written and "nothing to do: every output exists (--overwrite redoes them)" in lines


def test_apply_files_refuses_any_style_options_with_a_trained_network(tmp_path, slim_workdir, content_path):
    from nst_tf.feedforward.apply import apply_files

    folder, _ = slim_workdir
    with pytest.raises(UserError, match="--style need --model=arbitrary"):
        apply_files(ApplyConfig(), [str(folder)], [str(content_path)], tmp_path / "o.jpg", styles=["x.jpg"])


def test_save_style_vector_never_replaces_a_file(tmp_path, content_path, style_path):
    from nst_tf.feedforward.apply import apply_files

    keep = tmp_path / "keep.jpg"
    keep.write_bytes(b"a user's photo")
    with pytest.raises(UserError, match="keep.jpg already exists; pass --overwrite"):
        apply_files(
            ApplyConfig(),
            ["arbitrary"],
            [str(content_path)],
            tmp_path / "o.jpg",
            styles=[str(style_path)],
            save_style_vector=keep,
        )
    assert keep.read_bytes() == b"a user's photo"


def test_all_black_masks_are_refused_as_in_nst_stylize(tmp_path, slim_workdir, content_path):
    from nst_tf import images
    from nst_tf.feedforward.apply import apply_files

    folder, _ = slim_workdir
    black = tmp_path / "black.png"
    images.save_image(np.zeros((8, 8, 3), np.float32), black)
    with pytest.raises(UserError, match="every style mask is black"):
        apply_files(ApplyConfig(style_masks=(str(black), str(black))), [folder, folder], [content_path],
                    tmp_path / "o.jpg")  # fmt: skip
    assert not (tmp_path / "o.jpg").exists()
