"""The compact per-style network: shapes, range, exact space-to-depth round trip, checkpoint runner."""

import numpy as np
import pytest
import tensorflow as tf

from nst_tf.feedforward.compact import MULTIPLE, DepthToSpace, SpaceToDepth, build_compact
from nst_tf.feedforward.johnson import PER_STYLE_ARCHS, arch_of, build_transformer, stylize_images


def test_space_to_depth_round_trip_is_exact():
    x = tf.random.uniform((2, 8, 12, 3), seed=3)
    folded = SpaceToDepth(4)(x)
    assert folded.shape == (2, 2, 3, 48)
    np.testing.assert_array_equal(DepthToSpace(4)(folded).numpy(), x.numpy())
    # each output pixel of a block lands in its own channel: a 4x4 block is one position
    np.testing.assert_array_equal(folded[0, 0, 0].numpy().reshape(4, 4, 3), x[0, :4, :4].numpy())


def test_compact_any_size_range_and_name():
    from nst_tf.config import FAST_ARCHS

    assert set(FAST_ARCHS) == set(PER_STYLE_ARCHS) | {"arbitrary"}
    model = build_transformer("compact")
    assert arch_of(model) == "compact" and arch_of(build_compact()) == "compact"
    assert model.count_params() < 0.4e6
    for h, w in ((32, 32), (30, 45), (17, 9)):  # stylize_images pads to a multiple of 8 and crops back
        out = stylize_images(model, tf.random.uniform((2, h, w, 3)))
        assert out.shape == (2, h, w, 3) and out.dtype == tf.float32
        assert float(tf.reduce_min(out)) >= 0.0 and float(tf.reduce_max(out)) <= 1.0
    with pytest.raises(
        (tf.errors.InvalidArgumentError, ValueError)
    ):  # the bare network needs sides that are multiples of MULTIPLE
        model(tf.zeros((1, MULTIPLE + 4, MULTIPLE, 3)))


def test_compact_under_mixed_precision_outputs_float32():
    from nst_tf import precision

    with precision.policy_scope("mixed_bfloat16"):
        model = build_transformer("compact")
    out = stylize_images(model, tf.random.uniform((1, 24, 40, 3)))
    assert out.dtype == tf.float32 and out.shape == (1, 24, 40, 3)


def test_checkpoint_network_matches_the_model_and_reports_its_choice(tmp_path):
    from nst_tf.feedforward.perstyle_stylizer import CheckpointNetwork

    model = build_transformer("compact")
    path = tf.train.Checkpoint(model=model).save(str(tmp_path / "ckpt"))
    batch = np.random.default_rng(0).uniform(size=(2, 20, 28, 3)).astype(np.float32)
    want = stylize_images(model, batch).numpy()
    exact = CheckpointNetwork("compact", path, "float32", "off")
    np.testing.assert_allclose(exact(batch), want, atol=1e-5)
    assert "float32 (chosen), XLA off (chosen)" in exact.describe()
    half = CheckpointNetwork("compact", path, "mixed_bfloat16", "on")
    assert half.model.dtype_policy.name == "mixed_bfloat16" and half.jit
    assert np.abs(half(batch) - want).max() < 0.05  # bfloat16 keeps 8 bits of mantissa
    auto = CheckpointNetwork(
        "compact", path, "auto", "off"
    )  # the policy measured (XLA's measurement: test_calibration)
    assert "auto" in auto.describe() and auto.policy in ("float32", "mixed_bfloat16", "mixed_float16")
