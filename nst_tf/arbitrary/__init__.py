"""The arbitrary-style network (Ghiasi et al. 2017): any painting, any photo, no training.

``networks`` holds the Keras layers, ``weights`` the import of Magenta's published weights,
``stylizer`` the Python API (:class:`ArbitraryStylizer`), ``export`` the SavedModel / TFLite
exports. Names are imported lazily, so ``import nst_tf.arbitrary`` does not load TensorFlow.
"""

import importlib

_EXPORTS = {
    "ArbitraryStylizer": "nst_tf.arbitrary.stylizer",
    "mix_vectors": "nst_tf.arbitrary.stylizer",
    "save_vector": "nst_tf.arbitrary.stylizer",
    "load_vector": "nst_tf.arbitrary.stylizer",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'nst_tf.arbitrary' has no attribute {name!r}")
