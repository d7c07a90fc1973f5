"""Fast style transfer: the transformer, training and exact resume, exports that match."""

import numpy as np
import pytest
import tensorflow as tf

from nst_tf.config import FastTrainConfig
from nst_tf.errors import UserError
from nst_tf.feedforward import data
from nst_tf.feedforward import johnson_export as export
from nst_tf.feedforward import registry as train
from nst_tf.feedforward.johnson import ARCHS, PER_STYLE_ARCHS, arch_of, build_transformer, stylize_images
from nst_tf.feedforward.layers import (
    InstanceNormalization,
    NarrowOutputConv,
    ReflectionPad,
    UpsampleConv,
    mirror_pad,
    reflect_pad_to_multiple,
)
from nst_tf.feedforward.train import Trainer


@pytest.fixture(scope="module")
def tiny_config():
    return FastTrainConfig(
        image_size=32,
        batch_size=2,
        steps=4,
        checkpoint_every=2,
        backbone="vgg16",
        weights="hed",
        precision="float32",
        style_scale=2.0,
    )


def test_transformer_any_size_and_range():
    model = build_transformer()
    assert 1.6e6 < model.count_params() < 1.8e6  # Johnson et al.: about 1.68M
    for h, w in ((32, 32), (30, 45), (17, 9)):
        out = stylize_images(model, tf.random.uniform((2, h, w, 3)))
        assert out.shape == (2, h, w, 3) and out.dtype == tf.float32
        assert float(tf.reduce_min(out)) >= 0.0 and float(tf.reduce_max(out)) <= 1.0


@pytest.mark.parametrize("pad", [1, 2, 4])
def test_mirror_pad_is_tf_mirror_pad(pad):
    # the slice-and-concatenate padding (which LiteRT's XNNPACK runs) equals TF's MirrorPad
    x = tf.random.uniform((2, 6, 9, 3), seed=pad)
    for symmetric, mode in ((False, "REFLECT"), (True, "SYMMETRIC")):
        want = tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode=mode)
        np.testing.assert_array_equal(mirror_pad(x, pad, symmetric).numpy(), want.numpy())
        np.testing.assert_array_equal(mirror_pad(x, pad, symmetric, training=True).numpy(), want.numpy())
    # gradients flow back to the mirrored pixels as through MirrorPad
    weights = tf.random.uniform((2, 6 + 2 * pad, 9 + 2 * pad, 3), seed=7)
    for symmetric, mode in ((False, "REFLECT"), (True, "SYMMETRIC")):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            ours = tf.reduce_sum(mirror_pad(x, pad, symmetric) ** 2 * weights)
            theirs = tf.reduce_sum(tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode=mode) ** 2 * weights)
        np.testing.assert_allclose(tape.gradient(ours, x).numpy(), tape.gradient(theirs, x).numpy(), rtol=1e-5)
    # a batch already at a multiple of 4 is left alone; others are reflect-padded
    aligned = tf.zeros((1, 8, 4, 3))
    assert reflect_pad_to_multiple(aligned, 4) is aligned
    assert tuple(reflect_pad_to_multiple(x, 4).shape) == (2, 8, 12, 3)


def test_instance_norm_is_keras_group_norm_and_restores_its_checkpoints(tmp_path):
    # workdirs trained with GroupNormalization(groups=-1) restore into InstanceNormalization
    import keras

    def model(norm):
        inputs = keras.Input((None, None, 6))
        return keras.Model(inputs, norm(name="n")(keras.layers.Conv2D(6, 3, name="c")(inputs)))

    old = model(lambda name: keras.layers.GroupNormalization(groups=-1, epsilon=1e-3, name=name))
    old.get_layer("n").gamma.assign(np.linspace(0.5, 2.0, 6).astype(np.float32))
    old.get_layer("n").beta.assign(np.linspace(-1.0, 1.0, 6).astype(np.float32))
    path = tf.train.Checkpoint(model=old).save(str(tmp_path / "ckpt"))
    new = model(lambda name: InstanceNormalization(epsilon=1e-3, name=name))
    tf.train.Checkpoint(model=new).restore(path).assert_existing_objects_matched()
    x = tf.random.uniform((2, 9, 11, 6), seed=3) * 5.0
    np.testing.assert_allclose(new(x).numpy(), old(x).numpy(), atol=2e-5)
    y = new(x).numpy()  # each channel of each picture: mean beta, standard deviation gamma
    np.testing.assert_allclose(y.mean(axis=(1, 2)), np.tile(np.linspace(-1, 1, 6), (2, 1)), atol=1e-4)
    np.testing.assert_allclose(y.std(axis=(1, 2)), np.tile(np.linspace(0.5, 2, 6), (2, 1)), rtol=2e-3)


def test_fast_layers_are_exact_rewrites():
    # UpsampleConv == nearest x2, reflect pad 1, 3x3 conv; NarrowOutputConv == the plain conv.
    import keras

    x = tf.random.uniform((2, 7, 10, 5), seed=1)
    fast = UpsampleConv(4)
    got = fast(x)
    plain = keras.layers.Conv2D(4, 3, use_bias=False)
    plain.build((None, None, None, 5))
    plain.kernel.assign(fast.kernel)
    want = plain(ReflectionPad(1)(keras.layers.UpSampling2D(2)(x)))
    assert got.shape == (2, 14, 20, 4)
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-5)
    # with a bias (the int8 exporter's equalised copy adds one), and rebuilt from its config
    biased = UpsampleConv.from_config({**fast.get_config(), "use_bias": True})
    biased.build(x.shape)
    bias = np.array([0.5, -1.0, 2.0, 3.0], np.float32)
    biased.set_weights([fast.kernel.numpy(), bias])
    np.testing.assert_allclose(biased(x).numpy(), want.numpy() + bias, atol=1e-5)
    narrow = NarrowOutputConv(3, 9)
    y = tf.random.uniform((1, 20, 24, 6), seed=2)
    narrow.build(y.shape)
    narrow.bias.assign([0.25, -0.5, 1.0])
    got = narrow(y)
    plain = keras.layers.Conv2D(3, 9)
    plain.build(y.shape)
    plain.set_weights(narrow.get_weights())
    np.testing.assert_allclose(got.numpy(), plain(y).numpy(), atol=1e-5)


def test_slim_transformer():
    from nst_tf.config import FAST_ARCHS

    assert set(ARCHS) | {"arbitrary"} <= set(FAST_ARCHS)  # the any-style network is registered beside them
    slim = build_transformer("johnson_slim")
    assert arch_of(slim) == "johnson_slim" and arch_of(build_transformer()) == "johnson"
    assert slim.count_params() < 0.2 * build_transformer().count_params()
    for h, w in ((32, 32), (30, 45), (17, 9)):
        out = stylize_images(slim, tf.random.uniform((2, h, w, 3)))
        assert out.shape == (2, h, w, 3)
        assert float(tf.reduce_min(out)) >= 0.0 and float(tf.reduce_max(out)) <= 1.0


def test_slim_trains_resumes_and_applies(photo_dir, tiny_config, style_path, tmp_path):
    from nst_tf.feedforward import open_stylizer

    cfg = tiny_config.replace(arch="johnson_slim", steps=2)
    trainer = train.train(cfg, style_path, photo_dir, tmp_path, verbose=False)
    assert (tmp_path / "arch.txt").read_text() == "johnson_slim"
    with pytest.raises(UserError, match="holds a --arch=johnson_slim network; pass --arch=johnson_slim"):
        Trainer(tiny_config, style_path, tmp_path)
    batch = (np.random.default_rng(0).uniform(size=(1, 20, 28, 3)) * 255).astype(np.uint8)
    expected = np.round(stylize_images(trainer.model, batch / 255.0).numpy() * 255)
    got = open_stylizer(tmp_path, precision="float32")(batch)  # from the latest checkpoint, rebuilt as johnson_slim
    assert np.abs(got.astype(np.int32) - expected).max() <= 1


def test_data_pipeline_skips_junk(photo_dir, caplog):
    paths = data.list_images(photo_dir)
    assert len(paths) == 8
    assert "skipped 2 file(s)" in caplog.text
    batch = next(iter(data.make_dataset(paths, 32, 4, seed=1)))
    assert batch.shape == (4, 32, 32, 3) and batch.dtype == tf.float32
    again = next(iter(data.make_dataset(paths, 32, 4, seed=1)))
    np.testing.assert_array_equal(batch.numpy(), again.numpy())  # reproducible order and crops
    with pytest.raises(UserError, match="no readable images"):
        data.list_images(_empty(photo_dir))


def _empty(base):
    d = base / "empty_dir"
    d.mkdir(exist_ok=True)
    return d


def test_training_lowers_the_loss(photo_dir, tiny_config, style_path, tmp_path):
    seen = []
    cfg = tiny_config.replace(steps=12, learning_rate=1e-2, checkpoint_every=100)
    train.train(cfg, style_path, photo_dir, tmp_path, verbose=False, callbacks=[lambda s, t: seen.append(t["total"])])
    assert len(seen) == 12 and np.all(np.isfinite(seen))
    assert np.mean(seen[-3:]) < np.mean(seen[:3])


@pytest.mark.slow  # 15-25 s: keeps the default suite within 8 minutes; CI runs it with -m slow
def test_resume_continues_exactly(photo_dir, tiny_config, style_path, tmp_path):
    straight = train.train(tiny_config, style_path, photo_dir, tmp_path / "a", verbose=False)
    first = train.train(tiny_config.replace(steps=2), style_path, photo_dir, tmp_path / "b", verbose=False)
    del first  # as if killed after the step-2 checkpoint
    resumed = Trainer(tiny_config, style_path, tmp_path / "b")
    assert int(resumed.step.numpy()) == 2
    assert int(resumed.optimizer.iterations.numpy()) == 2
    resumed.fit(photo_dir, verbose=False)
    assert int(resumed.step.numpy()) == 4
    for a, b in zip(straight.model.weights, resumed.model.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    for a, b in zip(straight.optimizer.variables, resumed.optimizer.variables):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


def test_mixed_float16_training_step(photo_dir, tiny_config, style_path, tmp_path):
    import keras

    trainer = Trainer(tiny_config.replace(precision="mixed_float16", steps=2), style_path, tmp_path)
    assert isinstance(trainer.optimizer, keras.optimizers.LossScaleOptimizer)
    assert keras.config.dtype_policy().name == "float32"
    terms = trainer.fit(photo_dir, verbose=False)
    assert np.isfinite(terms["total"])


def test_mixed_precision_model_exports_in_float32(tmp_path):
    from nst_tf import precision

    with precision.policy_scope("mixed_bfloat16"):
        model = build_transformer()
    batch = (np.random.default_rng(1).uniform(size=(1, 20, 28, 3)) * 255).astype(np.uint8)
    saved = export.export_saved_model(model, tmp_path / "saved")
    lite = export.export_tflite(saved, tmp_path / "model.tflite")  # no bfloat16 kernels in TFLite
    with precision.policy_scope("float32"):
        reference = build_transformer()
    reference.set_weights(model.get_weights())
    expected = np.round(stylize_images(reference, batch.astype(np.float32) / 255).numpy() * 255).astype(np.int32)
    assert np.abs(export.load_saved_model(saved)(batch).astype(np.int32) - expected).max() <= 1
    assert np.abs(export.load_tflite(lite)(batch).astype(np.int32) - expected).max() <= 2


@pytest.mark.parametrize(
    "arch",
    # the full network's export (9 s) runs with pytest -m slow; its odd sizes and float32 export run always
    [pytest.param(a, marks=pytest.mark.slow) if a == "johnson" else a for a in PER_STYLE_ARCHS],
)
def test_exports_match_keras(tmp_path, arch):
    model = build_transformer(arch)
    batch = (np.random.default_rng(0).uniform(size=(2, 36, 52, 3)) * 255).astype(np.uint8)
    expected = np.round(stylize_images(model, batch.astype(np.float32) / 255).numpy() * 255).astype(np.int32)
    saved = export.export_saved_model(model, tmp_path / "saved")
    got = export.load_saved_model(saved)(batch).astype(np.int32)
    assert got.shape == batch.shape and np.abs(got - expected).max() <= 1
    lite = export.export_tflite(saved, tmp_path / "model.tflite")
    out = export.load_tflite(lite)(batch[:1]).astype(np.int32)
    assert out.shape == (1, 36, 52, 3) and np.abs(out - expected[:1]).max() <= 2
    assert out.std() > 1  # not a constant image (the uninitialised-weights trap)
    half = export.export_tflite(saved, tmp_path / "model_fp16.tflite", float16_weights=True)
    assert half.stat().st_size < 0.7 * lite.stat().st_size
    out16 = export.load_tflite(half)(batch[:1]).astype(np.int32)
    assert np.abs(out16 - expected[:1]).mean() < 2


@pytest.mark.parametrize("h, w", [(37, 53), (17, 9)])
def test_exports_handle_odd_sizes(tmp_path_factory, h, w):
    # Sizes that are not multiples of 4: the network pads by reflection and crops back.
    model = build_transformer()
    folder = tmp_path_factory.mktemp("odd")
    saved = export.export_saved_model(model, folder / "saved")
    lite = export.export_tflite(saved, folder / "model.tflite")
    batch = (np.random.default_rng(h).uniform(size=(1, h, w, 3)) * 255).astype(np.uint8)
    expected = np.round(stylize_images(model, batch.astype(np.float32) / 255).numpy() * 255).astype(np.int32)
    got = export.load_saved_model(saved)(batch).astype(np.int32)
    assert got.shape == (1, h, w, 3) and np.abs(got - expected).max() <= 1
    out = export.load_tflite(lite)(batch).astype(np.int32)
    assert out.shape == (1, h, w, 3) and np.abs(out - expected).max() <= 2


def test_composite_by_masks():
    from nst_tf.masks import composite

    h, w = 20, 40
    original = np.full((h, w, 3), 0.5, np.float32)
    a, b = np.zeros((h, w, 3), np.float32), np.ones((h, w, 3), np.float32)
    left = np.zeros((h, w), np.float32)
    left[:, :10] = 1.0  # the left quarter
    right = np.zeros((h, w), np.float32)
    right[:, 30:] = 1.0  # the right quarter
    out = composite([a, b], [left, right], original, feather=0.0)
    np.testing.assert_allclose(out[:, :10], 0.0, atol=1e-6)  # a where its mask is white
    np.testing.assert_allclose(out[:, 30:], 1.0, atol=1e-6)  # b where its mask is white
    np.testing.assert_allclose(out[:, 10:30], 0.5, atol=1e-6)  # neither: the photo
    small = composite([a, b], [left[::2, ::2], right[::2, ::2]], original, feather=0.0)  # any size: resized
    assert small.shape == out.shape and np.abs(small - out).mean() < 0.02
    soft = composite([a, b], [left, right], original, feather=0.05)
    assert 0.0 < soft[0, 10, 0] < 0.5  # feathered edge between a and the photo
