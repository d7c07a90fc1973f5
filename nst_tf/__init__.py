"""nst_tf: neural style transfer for TensorFlow / Keras 3.

    from nst_tf import stylize, StylizeConfig, save_image
    result = stylize("photo.jpg", "painting.jpg", StylizeConfig(size=512, steps=300))
    save_image(result.image, "out.jpg")

Names are imported lazily, so ``import nst_tf`` does not load TensorFlow until needed.
"""

from nst_tf import lazy

__version__ = "0.1.0"

_EXPORTS = {
    "UserError": "nst_tf.errors",
    "load_image": "nst_tf.images",
    "save_image": "nst_tf.images",
    "StylizeConfig": "nst_tf.config",
    "StylizeResult": "nst_tf.gatys",
    "build_extractor": "nst_tf.gatys",
    "stylize": "nst_tf.gatys",
    "ApplyConfig": "nst_tf.config",
    "FastTrainConfig": "nst_tf.config",
    "open_stylizer": "nst_tf.feedforward.stylizers",
    "ArbitraryStylizer": "nst_tf.feedforward.anystyle_stylizer",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy.exports("nst_tf", _EXPORTS)
