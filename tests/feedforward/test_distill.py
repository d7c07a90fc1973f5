"""Distillation: the teacher's pictures, the L1 loss against numpy, and a few steps toward them."""

import numpy as np
import pytest
import tensorflow as tf

from nst_tf import images
from nst_tf.config import FastTrainConfig
from nst_tf.errors import UserError
from nst_tf.feedforward import data, registry
from nst_tf.feedforward.distill import DistillLoss, DistillTrainer


@pytest.fixture(scope="module")
def distill_config():
    return FastTrainConfig(
        arch="compact",
        teacher="arbitrary",
        image_size=48,
        batch_size=2,
        steps=30,
        learning_rate=3e-3,
        checkpoint_every=100,
        backbone="vgg16",
        weights="hed",
        precision="float32",
    )


def test_config_defaults_and_refusals():
    c = FastTrainConfig(teacher="arbitrary", arch="compact")
    assert (c.content_weight, c.style_weight, c.tv_weight) == (0.0, 0.0, 0.0)  # no VGG is built
    plain = FastTrainConfig()
    assert (plain.content_weight, plain.style_weight, plain.tv_weight) == (1.0, 10.0, 10.0)
    assert FastTrainConfig(teacher="arbitrary", style_weight=2.0).style_weight == 2.0
    with pytest.raises(UserError, match="--teacher trains a per-style network; pass --arch=compact"):
        FastTrainConfig(teacher="arbitrary", arch="arbitrary")
    with pytest.raises(UserError, match="unknown teacher 'vgg'"):
        FastTrainConfig(teacher="vgg")
    with pytest.raises(UserError, match="max_scale must be 1 or more"):
        FastTrainConfig(max_scale=0.5)


def test_distill_loss_is_the_mean_absolute_difference(distill_config, style_path):
    style = images.load_image(style_path)
    cfg = distill_config.replace(teacher_weight=2.5, tv_weight=0.5)
    loss = DistillLoss(cfg, images.resize(style, 64), style, "float32")
    assert loss.perceptual is None  # content and style weights are 0: no VGG
    rng = np.random.default_rng(0)
    s, t, p = (rng.uniform(size=(2, 16, 16, 3)).astype(np.float32) for _ in range(3))
    terms = loss(tf.constant(s), tf.constant(p), tf.constant(t))
    assert float(terms["teacher"]) == pytest.approx(2.5 * np.abs(s - t).mean(), rel=1e-5)
    assert float(terms["tv"]) > 0 and float(terms["content"]) == float(terms["style"]) == 0
    assert float(terms["total"]) == pytest.approx(float(terms["teacher"]) + float(terms["tv"]), rel=1e-5)
    with_vgg = DistillLoss(cfg.replace(style_weight=1.0), images.resize(style, 64), style, "float32")
    assert with_vgg.perceptual is not None
    assert float(with_vgg(tf.constant(s), tf.constant(p), tf.constant(t))["style"]) > 0


def test_teacher_paints_like_the_any_style_network(distill_config, style_path, content_path):
    from nst_tf.feedforward import ArbitraryStylizer

    style = images.load_image(style_path)
    loss = DistillLoss(distill_config, images.resize(style, 64), style, "float32")
    photo = images.resize_to(images.load_image(content_path), (48, 64))
    net = ArbitraryStylizer("float32")
    want = net.transfer(photo, net.style_vector(style))
    got = loss.teacher(tf.constant(photo[None])).numpy()[0]
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_a_few_steps_move_the_student_toward_the_teacher(distill_config, photo_dir, style_path, tmp_path):
    seen = []
    trainer = registry.train(
        distill_config, style_path, photo_dir, tmp_path, verbose=False, callbacks=[lambda s, t: seen.append(t)]
    )
    assert isinstance(trainer, DistillTrainer) and (tmp_path / "arch.txt").read_text() == "compact"
    probe = tf.constant(images.resize_to(images.load_image(data.list_images(photo_dir)[0]), (48, 48))[None])
    target = trainer.loss.teacher(probe)
    from nst_tf.feedforward.johnson import build_transformer, stylize_images

    untrained = build_transformer("compact")
    before = float(tf.reduce_mean(tf.abs(stylize_images(untrained, probe) - target)))
    after = float(tf.reduce_mean(tf.abs(stylize_images(trainer.model, probe) - target)))
    assert after < 0.75 * before, (before, after)
    assert np.mean([t["teacher"] for t in seen[-5:]]) < np.mean([t["teacher"] for t in seen[:5]])
    assert all(t["style"] == 0 for t in seen)  # no perceptual terms by default
    # then refine with the perceptual loss: the same workdir resumes with --teacher=none
    more = registry.train(
        distill_config.replace(teacher="none", steps=32), style_path, photo_dir, tmp_path, verbose=False
    )
    assert int(more.step.numpy()) == 32


@pytest.mark.slow  # builds the VGG loss as well; CI runs it with pytest -m slow
def test_refine_steps_add_the_perceptual_terms_at_the_end(distill_config, photo_dir, style_path, tmp_path):
    with pytest.raises(UserError, match="refine_steps adds the perceptual terms"):
        distill_config.replace(refine_steps=2)  # no style weight given
    cfg = distill_config.replace(steps=4, refine_steps=2, style_weight=1.0)
    seen = []
    registry.train(cfg, style_path, photo_dir, tmp_path, verbose=False, callbacks=[lambda s, t: seen.append(t)])
    assert [t["style"] > 0 for t in seen] == [False, False, True, True]
    assert all(t["teacher"] > 0 for t in seen)
