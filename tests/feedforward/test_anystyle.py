"""The any-style network: the Keras port against Magenta's ONNX graphs, the API, exports, nst-apply."""

import numpy as np
import pytest
import tensorflow as tf
from clitools import one_line_error, run_cli

from nst_tf import images
from nst_tf.errors import UserError


@pytest.fixture(scope="session")
def net():
    from nst_tf.feedforward import ArbitraryStylizer

    return ArbitraryStylizer("float32")


@pytest.fixture(scope="session")
def photo(content_path):
    return images.resize_to(images.load_image(content_path), (72, 96))


@pytest.fixture(scope="session")
def painting(style_path):
    return images.resize_to(images.load_image(style_path), (80, 100))


def _float_graph(path, tmp_path):
    """A copy of an int8 ONNX graph with the activation quantisation removed (weights stay
    dequantised from int8), with free height and width, as a file for onnxruntime."""
    import onnx

    model = onnx.load(str(path))
    g = model.graph
    inits = {t.name for t in g.initializer}
    rename, keep = {}, []
    for n in g.node:
        if n.op_type in ("QuantizeLinear", "DequantizeLinear") and n.input[0] not in inits:
            rename[n.output[0]] = n.input[0]
        else:
            keep.append(n)

    def resolve(name):
        while name in rename:
            name = rename[name]
        return name

    for n in keep:
        for i, name in enumerate(n.input):
            n.input[i] = resolve(name)
    produced = {o for n in keep for o in n.output}
    for o in g.output:
        if o.name not in produced:
            keep.append(onnx.helper.make_node("Identity", [resolve(o.name)], [o.name]))
        o.type.tensor_type.elem_type = onnx.TensorProto.FLOAT
    del g.node[:]
    g.node.extend(keep)
    for inp in g.input:
        dims = inp.type.tensor_type.shape.dim
        if len(dims) == 4 and dims[3].dim_value == 3:
            dims[1].dim_param, dims[2].dim_param = "h", "w"
    out = tmp_path / f"float_{path.name}"
    onnx.save(model, str(out))
    return str(out)


def _session(path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def test_port_equals_the_onnx_graph_without_activation_rounding(net, photo, painting, tmp_path):
    from nst_tf.feedforward import anystyle as networks
    from nst_tf.feedforward import anystyle_weights as weights

    folder = weights.onnx_dir()
    predict = _session(_float_graph(folder / "arbitrary_predict.onnx", tmp_path))
    transform = _session(_float_graph(folder / "arbitrary_transform.onnx", tmp_path))
    # tf2onnx froze the "SAME" paddings for even sizes: sides that are multiples of 32 keep them valid
    style = images.resize_to(painting, (96, 128))
    v_onnx = predict.run(None, {"style_image": style[None]})[0].reshape(1, 100)
    v_keras = net.predictor(style[None]).numpy()
    np.testing.assert_allclose(v_keras, v_onnx, atol=2e-5, rtol=1e-5)
    content = photo[:, :88]  # multiples of 4, as the graph needs
    o_onnx = transform.run(
        None, {"content_image": content[None], "mobilenet_conv/Conv/BiasAdd": v_onnx.reshape(1, 1, 1, 100)}
    )[0]
    o_keras = networks.transfer_images(net.transfer_model, content[None], v_onnx).numpy()
    assert np.abs(o_keras - o_onnx).max() < 1e-4


def test_port_is_close_to_the_int8_graph(net, content_path, style_path):
    """The published int8 graphs at their fixed sizes: the float port differs by the activation rounding."""
    from nst_tf.feedforward import anystyle_weights as weights

    folder = weights.onnx_dir()
    style = images.resize_to(images.load_image(style_path), (256, 256))
    content = images.resize_to(images.load_image(content_path), (384, 384))
    v_int8 = _session(str(folder / "arbitrary_predict.onnx")).run(None, {"style_image": style[None]})[0].reshape(100)
    v_keras = net.predictor(style[None]).numpy()[0]
    assert np.corrcoef(v_int8, v_keras)[0, 1] > 0.95
    out_int8 = _session(str(folder / "arbitrary_transform.onnx")).run(
        None, {"content_image": content[None], "mobilenet_conv/Conv/BiasAdd": v_int8.reshape(1, 1, 1, 100)}
    )[0][0]
    out_keras = net.transfer(content, v_int8)
    assert np.abs(out_keras - out_int8).mean() < 0.05


def test_weights_are_cached_and_a_damaged_cache_is_rebuilt(net, photo, painting):
    from nst_tf.feedforward import ArbitraryStylizer
    from nst_tf.feedforward import anystyle_weights as weights

    paths = weights.cache_paths()
    assert all(p.is_file() for p in paths.values())
    v = net.style_vector(painting)
    again = ArbitraryStylizer("float32")  # from the cache
    np.testing.assert_array_equal(again.style_vector(painting), v)
    paths["transfer"].write_bytes(b"not hdf5")
    rebuilt = ArbitraryStylizer("float32")
    np.testing.assert_allclose(rebuilt.transfer(photo, v), net.transfer(photo, v), atol=1e-6)
    assert paths["transfer"].stat().st_size > 1000


def test_any_size_and_batches_match_one_at_a_time(net, photo, painting):
    v = net.style_vector(painting)
    odd = photo[:37, :50]
    assert net.transfer(odd, v).shape == odd.shape
    frames = np.stack([photo, photo[::-1], photo[:, ::-1]])
    ds = tf.data.Dataset.from_tensor_slices(frames).batch(3)
    batched = np.concatenate([net.transfer_batch(b.numpy(), v) for b in ds])
    single = np.stack([net.transfer(f, v) for f in frames])
    assert np.abs(batched - single).max() < 1e-5
    with pytest.raises(UserError, match="at least 8 px"):
        net.transfer(photo[:4, :4], v)


def test_strength_moves_between_the_photo_and_the_painting(net, photo, painting):
    from nst_tf import metrics

    v = net.style_vector(painting)
    weak, strong = net.transfer(photo, v, strength=0.0), net.transfer(photo, v, strength=1.0)
    own = net.transfer(photo, net.style_vector(photo))  # strength 0 is the photo's own vector
    assert np.abs(weak - own).max() < 1e-5
    assert metrics.mse(weak, photo) < metrics.mse(strong, photo)
    style_of = lambda img: np.linalg.norm(net.style_vector(img) - v)
    assert style_of(strong) < style_of(weak)
    with pytest.raises(UserError, match="between 0 and 1"):
        net.transfer(photo, v, strength=1.5)


def test_style_vectors_mix_save_and_load(net, painting, photo, tmp_path):
    from nst_tf.feedforward import load_vector, mix_vectors, save_vector

    a, b = net.style_vector(painting), net.style_vector(photo)
    np.testing.assert_allclose(mix_vectors([a, b], [1, 0]), a)
    np.testing.assert_allclose(mix_vectors([a, b], [2, 2]), (a + b) / 2, rtol=1e-6)
    path = save_vector(a, tmp_path / "v.npy")
    np.testing.assert_array_equal(load_vector(path), a)
    np.testing.assert_array_equal(net.style_vector(path), a)
    with pytest.raises(UserError, match="one weight per style"):
        mix_vectors([a, b], [1])
    (tmp_path / "bad.npy").write_bytes(b"nope")
    with pytest.raises(UserError, match="not a style vector"):
        load_vector(tmp_path / "bad.npy")


def test_precision_choice_is_measured_and_cached(monkeypatch):
    from nst_tf import calibration, precision

    monkeypatch.setattr(precision, "auto_policy", lambda: ("mixed_bfloat16", "avx512_bf16"))
    monkeypatch.setattr(precision, "has_tpu", lambda: False)
    calls = []

    def measure(policy):
        calls.append(policy)
        return {"float32": 0.05, "mixed_bfloat16": 0.08}[policy]

    policy, reason = calibration.decide_policy("auto", "test-net", measure, recalibrate=True)
    assert policy == "float32" and "50 vs 80 ms/call measured now" in reason
    assert calibration.decide_policy("auto", "test-net", measure)[0] == "float32"
    assert calls == ["float32", "mixed_bfloat16"]  # the second answer came from the cache
    assert calibration.decide_policy("mixed_bfloat16", "test-net", measure) == ("mixed_bfloat16", "chosen")


def test_bfloat16_network_stays_close_to_float32(net, photo, painting):
    from nst_tf.feedforward.anystyle import build_pair

    predictor, transfer = build_pair("mixed_bfloat16", like=(net.predictor, net.transfer_model))
    from nst_tf.feedforward import anystyle as networks

    v = net.style_vector(painting)
    out = networks.transfer_images(transfer, photo[None], v[None]).numpy()[0]
    assert out.dtype == np.float32
    assert np.abs(out - net.transfer(photo, v)).mean() < 0.03


@pytest.fixture(scope="module")
def exported(net, tmp_path_factory):
    """The SavedModel export, shared by the export tests (so xdist can run them side by side)."""
    return net.export(tmp_path_factory.mktemp("arbitrary") / "arbitrary", tflite=None)


def test_saved_model_signatures_match_the_keras_model(net, photo, painting, exported):
    from nst_tf.feedforward import anystyle_export as export

    loaded = export.load_saved_model(exported)
    c8, s8 = export.as_uint8_batch(photo), export.as_uint8_batch(painting)
    v = net.style_vector(s8[0] / np.float32(255))
    sv = loaded.signatures["style_vector"](style=tf.constant(s8))["vector"].numpy()[0]
    assert np.abs(sv - v).max() < 1e-4
    for strength in (1.0, 0.6):
        ref = net.stylizer(v, strength)(c8).astype(int)
        served = loaded.signatures["serve"](
            content=tf.constant(c8), style=tf.constant(s8), strength=tf.constant(strength)
        )["image"].numpy()
        moved = loaded.signatures["transfer"](
            content=tf.constant(c8), vector=tf.constant(v[None]), strength=tf.constant(strength)
        )["image"].numpy()
        assert served.dtype == np.uint8 and served.shape == c8.shape
        assert np.abs(served.astype(int) - ref).max() <= 1 and np.abs(moved.astype(int) - ref).max() <= 1


@pytest.mark.slow  # about 15 s: converts the MobileNet predictor; CI runs it with pytest -m slow
def test_tflite_predictor_export_matches_the_keras_model(net, painting, exported, tmp_path):
    from nst_tf.feedforward import anystyle_export as export
    from nst_tf.feedforward.anystyle_stylizer import style_input

    s8 = export.as_uint8_batch(painting)
    f16 = export.export_tflite(exported, tmp_path / "f16", "float16", parts=("predict",))
    resized = export.as_uint8_batch(style_input(s8[0] / np.float32(255), 256))
    lite_v = export.tflite_runner(f16["predict"], "predict_resized")(style=resized)["vector"][0]
    assert np.abs(lite_v - net.style_vector(resized[0] / np.float32(255))).max() < 0.05


@pytest.mark.slow  # 15-25 s: keeps the default suite within 8 minutes; CI runs it with -m slow
def test_tflite_transfer_exports_match_the_keras_model(net, photo, painting, exported, tmp_path):
    from nst_tf.feedforward import anystyle_export as export

    c8, s8 = export.as_uint8_batch(photo), export.as_uint8_batch(painting)
    v = net.style_vector(s8[0] / np.float32(255))
    f16 = export.export_tflite(exported, tmp_path / "f16", "float16", parts=("transfer",))
    lite = export.tflite_runner(f16["transfer"], "apply_vector")(content=c8, vector=v[None])["image"]
    assert np.abs(lite.astype(int) - net.stylizer(v)(c8)).mean() < 1.0
    int8 = export.export_tflite(exported, tmp_path / "int8", "int8", parts=("transfer",))
    lite8 = export.tflite_runner(int8["transfer"], "apply_vector")(content=c8, vector=v[None])["image"]
    assert np.abs(lite8.astype(int) - net.stylizer(v)(c8)).mean() < 3.0
    assert int8["transfer"].stat().st_size < f16["transfer"].stat().st_size


def test_nst_apply_arbitrary(tmp_path, content_path, style_path):
    out = tmp_path / "out.png"
    vec = tmp_path / "style.npy"
    r = run_cli(
        "--model=arbitrary",
        f"--style={style_path}",
        f"--input={content_path}",
        f"--output={out}",
        "--size=64",
        "--strength=0.8",
        "--precision=float32",
        f"--save_style_vector={vec}",
        module="nst_tf.cli.apply_fast",
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "any-style network" in r.stdout and vec.is_file()
    img = images.load_image(out)
    assert max(img.shape[:2]) == 64
    photo = images.resize(images.load_image(content_path), 64)
    assert 0.002 < float(np.mean((img - photo) ** 2))  # stylised, not a copy
    mixed = tmp_path / "mixed.png"
    r = run_cli(
        "--model=arbitrary",
        f"--style={vec},{style_path}",
        "--style_weights=1,3",
        f"--input={content_path}",
        f"--output={mixed}",
        "--size=64",
        "--precision=float32",
        "--preserve_colors=histogram",
        module="nst_tf.cli.apply_fast",
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert images.load_image(mixed).shape == img.shape


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--model=arbitrary"], "needs --style"),
        (["--model=arbitrary", "--style=a.jpg,b.jpg", "--style_weights=1"], "1 --style_weights for 2 --style"),
        (["--model=arbitrary", "--style=STYLE", "--strength=2"], "strength must be between 0 and 1"),
        (["--model=arbitrary", "--style=missing.jpg"], "missing.jpg"),
        (["--model=arbitrary,runs/x", "--style=STYLE"], "cannot be combined"),
        (["--model=arbitrary", "--style=STYLE,STYLE", "--style_masks=MASK"], "1 --style_masks for 2 --style"),
        (["--model=runs/x", "--style=STYLE"], "need --model=arbitrary"),
    ],
)
def test_nst_apply_arbitrary_mistakes(args, needle, tmp_path, content_path, style_path):
    mask = tmp_path / "m.png"
    images.save_image(np.ones((8, 8, 3), np.float32), mask)
    args = [a.replace("STYLE", str(style_path)).replace("MASK", str(mask)) for a in args]
    r = run_cli(*args, f"--input={content_path}", f"--output={tmp_path / 'o.png'}", module="nst_tf.cli.apply_fast")
    assert needle in one_line_error(r, prog="nst-apply")


def test_nst_apply_arbitrary_masks_place_each_style(tmp_path, content_path, style_path):
    """Two styles, left/right masks, no feathering: each half is that style's own result."""
    other = tmp_path / "other_style.png"
    images.save_image(images.resize(images.load_image(content_path), 80)[..., ::-1], other)  # a second "painting"
    left = np.zeros((48, 64, 3), np.float32)
    left[:, :32] = 1.0
    images.save_image(left, tmp_path / "left.png")
    images.save_image(1.0 - left, tmp_path / "right.png")
    from nst_tf.config import ApplyConfig
    from nst_tf.feedforward.apply import apply_files

    base = ApplyConfig(size=64, precision="float32")
    masks = (str(tmp_path / "left.png"), str(tmp_path / "right.png"))
    outs = {}
    for name, styles, config in (
        ("a", [style_path], base),
        ("b", [other], base),
        ("ab", [style_path, other], base.replace(style_masks=masks, feather=0.0)),
    ):
        apply_files(config, ["arbitrary"], [content_path], tmp_path / f"{name}.png", styles=styles)  # in-process
        outs[name] = images.load_image(tmp_path / f"{name}.png")
    ab, a, b = outs["ab"], outs["a"], outs["b"]
    w = ab.shape[1]
    assert np.abs(ab[:, : w // 2 - 2] - a[:, : w // 2 - 2]).max() < 2 / 255
    assert np.abs(ab[:, w // 2 + 2 :] - b[:, w // 2 + 2 :]).max() < 2 / 255
    assert np.abs(a - b).mean() > 0.02  # the two styles differ, so the check means something


# ---------------------------------------------------------------------------------- training


def _train_config(**changes):
    from nst_tf.config import FastTrainConfig

    base = dict(
        arch="arbitrary",
        init_from="published",
        image_size=32,
        batch_size=2,
        steps=2,
        checkpoint_every=1,
        backbone="vgg16",
        weights="hed",
        precision="float32",
    )
    return FastTrainConfig(**{**base, **changes})


@pytest.mark.slow  # end to end across processes; CI runs it with pytest -m slow
def test_fine_tuning_starts_from_published_resumes_exactly_and_exports(net, photo, painting, photo_dir, tmp_path):
    from nst_tf.feedforward import ArbitraryStylizer
    from nst_tf.feedforward import registry as train
    from nst_tf.feedforward.anystyle_train import ArbitraryTrainer

    paintings = tmp_path / "paintings"
    paintings.mkdir()
    for i in range(3):
        images.save_image(np.roll(painting, 20 * i, axis=1), paintings / f"p{i}.png")
    cfg = _train_config()
    assert cfg.learning_rate == 1e-5  # fine-tuning default: 1e-3 wrecks the published weights in a few steps
    straight = train.train(cfg, paintings, photo_dir, tmp_path / "a", verbose=False)
    assert isinstance(straight, ArbitraryTrainer)
    train.train(cfg.replace(steps=1), paintings, photo_dir, tmp_path / "b", verbose=False)
    resumed = train.train(cfg, paintings, photo_dir, tmp_path / "b", verbose=False)  # as if stopped at step 1
    for a, b in zip(straight.model.get_weights(), resumed.model.get_weights()):
        np.testing.assert_array_equal(a, b)  # same optimizer state and the same photos and paintings
    # It started from the published weights and stayed near them ...
    v = net.style_vector(painting)
    ref = net.transfer(photo, v)
    folder = straight.export_weights()
    tuned = ArbitraryStylizer("float32", weights_source=tmp_path / "a")
    out = tuned.transfer(photo, tuned.style_vector(painting))
    assert 0 < np.abs(out - ref).mean() < 0.05
    # ... and the exported weights are the trained ones.
    from nst_tf.feedforward.anystyle import STYLE_SIZE
    from nst_tf.feedforward.anystyle_stylizer import style_input

    direct = straight.transfer([tf.constant(photo[None]), straight.predictor(style_input(painting, STYLE_SIZE)[None])])
    direct = direct.numpy()[0]
    np.testing.assert_allclose(out, direct, atol=1e-4)
    assert {p.name for p in folder.iterdir()} == {"predict.weights.h5", "transfer.weights.h5"}


def test_training_from_scratch_lowers_the_loss(photo_dir, style_path, tmp_path):
    from nst_tf.feedforward import registry as train

    seen = []
    cfg = _train_config(init_from="none", steps=12, checkpoint_every=100)  # default 1e-3 (1e-2 diverges here)
    train.train(cfg, style_path, photo_dir, tmp_path, verbose=False, callbacks=[lambda s, t: seen.append(t["total"])])
    assert len(seen) == 12 and np.all(np.isfinite(seen))
    assert np.mean(seen[-3:]) < np.mean(seen[:3])


@pytest.mark.slow  # 15-25 s: keeps the default suite within 8 minutes; CI runs it with -m slow
def test_nst_train_fast_arbitrary_then_apply(tmp_path, photo_dir, style_path, content_path):
    work = tmp_path / "run"
    r = run_cli(
        f"--style={style_path}",
        f"--data_dir={photo_dir}",
        f"--workdir={work}",
        "--arch=arbitrary",
        "--init_from=published",
        "--steps=2",
        "--image_size=32",
        "--batch_size=2",
        "--backbone=vgg16",
        "--weights=hed",
        "--precision=float32",
        "--noexport",
        module="nst_tf.cli.train_fast",
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert (work / "arch.txt").read_text() == "arbitrary"
    from nst_tf.config import ApplyConfig
    from nst_tf.errors import UserError
    from nst_tf.feedforward.apply import apply_files

    out = tmp_path / "out.png"  # applied in-process: nst-apply's command is smoke-tested above
    apply_files(ApplyConfig(size=48, precision="float32"), [work], [content_path], out, styles=[style_path])
    assert images.load_image(out).shape[:2] == (32, 48)  # from the latest checkpoint (no export)
    with pytest.raises(UserError, match="needs --style"):
        apply_files(ApplyConfig(), [work], [content_path], tmp_path / "x.png")
    r = run_cli(
        f"--style={style_path}",
        f"--data_dir={photo_dir}",
        f"--workdir={tmp_path / 'w'}",
        "--init_from=published",
        module="nst_tf.cli.train_fast",
    )
    assert "init_from=published needs arch=arbitrary" in one_line_error(r, "nst-train-fast")
    (tmp_path / "empty").mkdir()
    r = run_cli(
        f"--style={tmp_path / 'empty'}",
        f"--data_dir={photo_dir}",
        f"--workdir={tmp_path / 'w'}",
        "--arch=arbitrary",
        module="nst_tf.cli.train_fast",
    )
    assert "point --style at a folder of paintings" in one_line_error(r, "nst-train-fast")
