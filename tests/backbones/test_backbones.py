"""Feature extractors and weights resolution (hed mapping, local files, the Keras cache)."""

import logging

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf

from nst_tf import backbones
from nst_tf.backbones import weights as backbone_weights
from nst_tf.errors import UserError, WeightsError


@pytest.mark.parametrize("name", ["relu4_2", "conv4_2", "block4_conv2", "RELU4_2 "])
def test_layer_aliases(name):
    assert backbones.resolve_layer(name, "vgg19") == "block4_conv2"


def test_unknown_layer_lists_valid_names():
    with pytest.raises(UserError, match=r"unknown layer 'conv3_4' for vgg16; valid names: block1_conv1"):
        backbones.resolve_layer("conv3_4", "vgg16")
    assert backbones.resolve_layer("conv3_4", "vgg19") == "block3_conv4"


def test_hed_mapping_layer_by_layer(hed_extractor):
    base = backbones.load_vgg(backbones.resolve_weights("hed", "vgg16"))
    convs = [l for l in base.layers if isinstance(l, keras.layers.Conv2D)]
    assert len(convs) == 13
    with h5py.File(backbones.hed_weights_path(), "r") as f:
        for layer in convs:
            block, i = int(layer.name[5]), int(layer.name[-1])
            group = f"block{block}/layers/conv2d" + (f"_{i - 1}" if i > 1 else "") + "/vars"
            kernel, bias = layer.get_weights()
            np.testing.assert_array_equal(kernel, f[group]["0"][()])
            np.testing.assert_array_equal(bias, f[group]["1"][()])
    # The extractor's layers are the same objects' weights.
    np.testing.assert_array_equal(
        hed_extractor.model.get_layer("block4_conv2").get_weights()[0],
        base.get_layer("block4_conv2").get_weights()[0],
    )


def test_hed_needs_vgg16():
    with pytest.raises(UserError, match="--backbone=vgg16"):
        backbones.resolve_weights("hed", "vgg19")


def test_extractor_outputs_and_mixed_policy_scoped():
    before = keras.config.dtype_policy().name
    ex = backbones.build_extractor(["relu1_1", "conv3_1"], backbone="vgg16", weights="hed", policy="mixed_float16")
    assert keras.config.dtype_policy().name == before
    out = ex(tf.random.uniform((1, 32, 32, 3)))
    assert set(out) == {"block1_conv1", "block3_conv1"}
    assert out["block1_conv1"].dtype == tf.float16
    assert out["block3_conv1"].shape == (1, 8, 8, 256)
    # The truncated model stops at the deepest requested layer.
    assert "block4_conv1" not in [l.name for l in ex.model.layers]


def test_avg_pooling_replaces_max():
    ex = backbones.build_extractor(["conv2_1"], backbone="vgg16", weights="hed", pooling="avg")
    kinds = {type(l).__name__ for l in ex.model.layers}
    assert "AveragePooling2D" in kinds and "MaxPooling2D" not in kinds


def _random_vgg16():
    keras.utils.set_random_seed(3)
    return keras.applications.VGG16(include_top=False, weights=None, input_shape=(None, None, 3))


def test_weights_file_roundtrip(tmp_path):
    model = _random_vgg16()
    path = tmp_path / "mine.weights.h5"
    model.save_weights(path)
    ex = backbones.build_extractor(["conv5_1"], backbone="vgg16", weights=str(path))
    for name in ("block1_conv1", "block5_conv1"):
        for a, b in zip(ex.model.get_layer(name).get_weights(), model.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)


@pytest.mark.filterwarnings("ignore:Skipping nested container")
def test_weights_file_of_wrong_architecture(tmp_path):
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="dense_a")])
    path = tmp_path / "other.weights.h5"
    other.save_weights(path)
    with pytest.raises(WeightsError, match="does not fit a vgg16.*expected layers block1_conv1"):
        backbones.build_extractor(["conv1_1"], backbone="vgg16", weights=str(path))


def test_missing_weights_file():
    with pytest.raises(UserError, match="weights file not found"):
        backbones.resolve_weights("nowhere/vgg.h5", "vgg19")


def _save_legacy_h5(model, path):
    """Write weights in the legacy Keras .h5 layout that the published ImageNet files use: root
    attribute ``layer_names``; per layer a group with ``weight_names`` and one dataset each."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [layer.name.encode() for layer in model.layers]
        f.attrs["backend"], f.attrs["keras_version"] = b"tensorflow", b"2.2.4"
        for layer in model.layers:
            group = f.create_group(layer.name)
            names = [f"{layer.name}/{w.name}:0" for w in layer.weights]
            group.attrs["weight_names"] = [n.encode() for n in names]
            for name, value in zip(names, layer.get_weights()):
                group.create_dataset(name, data=value)


def test_imagenet_read_from_keras_cache(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def no_download(backbone):
        raise AssertionError("must not download when the file is cached")

    monkeypatch.setattr(backbone_weights, "download_imagenet", no_download)
    model = _random_vgg16()
    cached = tmp_path / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    _save_legacy_h5(model, cached)
    assert backbones.imagenet_cache_path("vgg16") == cached
    with caplog.at_level(logging.WARNING, logger="nst_tf"):
        ex = backbones.build_extractor(["conv4_2"], backbone="vgg16", weights="imagenet")
    assert "does not match the published md5" in caplog.text  # our file is not the published one
    assert ex.weights == "imagenet"
    np.testing.assert_array_equal(
        ex.model.get_layer("block4_conv2").get_weights()[0], model.get_layer("block4_conv2").get_weights()[0]
    )


def test_imagenet_unavailable_message_and_auto_fallback(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    calls = []

    def offline(backbone):
        calls.append(backbone)
        raise WeightsError("could not download ImageNet vgg19 weights (URL fetch failure); put it into the cache")

    monkeypatch.setattr(backbone_weights, "download_imagenet", offline)
    with pytest.raises(WeightsError, match="could not download"):
        backbones.resolve_weights("imagenet", "vgg19")
    with caplog.at_level(logging.WARNING, logger="nst_tf"):
        choice = backbones.resolve_weights("auto", "vgg19")
    assert (choice.backbone, choice.kind) == ("vgg16", "hed")
    assert "offline HED VGG16" in caplog.text and "put it into the cache" in caplog.text
    assert calls == ["vgg19", "vgg19"]


def test_download_failure_is_a_weights_error(tmp_path, monkeypatch):
    # The real download path, pointed at an address that cannot answer.
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    name, _, md5 = backbone_weights.IMAGENET_FILES["vgg16"]
    monkeypatch.setitem(backbone_weights.IMAGENET_FILES, "vgg16", (name, "http://127.0.0.1:9/none.h5", md5))
    with pytest.raises(WeightsError, match="could not download ImageNet vgg16 weights.*--weights=hed"):
        backbones.resolve_weights("imagenet", "vgg16")
    assert not (tmp_path / "models" / name).exists()
