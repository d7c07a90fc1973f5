"""nst_tf.vgg: the VGG layout as plain data, checked against Keras' own VGG models."""

import pytest

from nst_tf import vgg
from nst_tf.errors import UserError


@pytest.mark.parametrize("backbone, convs", [("vgg16", 13), ("vgg19", 16)])
def test_layers_match_keras(backbone, convs):
    import keras

    factory = keras.applications.VGG16 if backbone == "vgg16" else keras.applications.VGG19
    model = factory(include_top=False, weights=None, input_shape=(None, None, 3))
    keras_layers = [layer.name for layer in model.layers if "conv" in layer.name or "pool" in layer.name]
    assert vgg.layer_names(backbone) == keras_layers
    assert sum(1 for layer in vgg.vgg_layers(backbone) if layer.kind == "conv") == convs
    for layer in vgg.vgg_layers(backbone):
        assert model.get_layer(layer.name).output.shape[-1] == layer.channels


def test_layer_facts():
    info = vgg.layer_info("block4_conv2", "vgg19")
    assert (info.block, info.kind, info.channels, info.stride, info.fan_in) == (4, "conv", 512, 8, 512)
    assert vgg.layer_block("block3_pool") == 3
    assert vgg.min_input_side(["block1_conv1", "block5_conv1"]) == 16
    align, halo = vgg.geometry(["block1_conv1", "block2_conv1"], "vgg16")
    assert align == 2 and halo % align == 0 and halo >= 5
    with pytest.raises(ValueError, match="is not a VGG layer name"):
        vgg.layer_block("conv4_2")
    with pytest.raises(UserError, match="unknown backbone 'alexnet'"):
        vgg.vgg_layers("alexnet")
