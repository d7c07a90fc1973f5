"""Feed-forward style networks: per-style (Johnson et al. 2016) and any-style (Ghiasi et al. 2017).

Layers (each imports only from the ones above it):

* ``layers`` (shared Keras layers) -> ``johnson``, ``anystyle`` (the architectures) and
  ``anystyle_weights`` (Magenta's published weights);
* ``workdir`` (a training workdir's layout; no TensorFlow), ``data``, ``distribute``,
  ``perceptual`` (the training loss) -> ``train`` (the trainer) -> ``anystyle_train``;
* ``johnson_export``, ``anystyle_export``, ``anystyle_stylizer`` (the any-style Python API);
* ``registry`` (every architecture's trainer, style check and exporter);
* ``stylizers`` (:func:`open_stylizer`: the one way a ``--model`` value becomes something that
  stylises) -> ``animation``, ``outputs``, ``apply`` (files, videos, masks, batches).

Names below are imported lazily, so ``import nst_tf.feedforward`` does not load TensorFlow.
"""

from nst_tf import lazy

_EXPORTS = {
    "ArbitraryStylizer": "nst_tf.feedforward.anystyle_stylizer",
    "mix_vectors": "nst_tf.feedforward.anystyle_stylizer",
    "save_vector": "nst_tf.feedforward.anystyle_stylizer",
    "load_vector": "nst_tf.feedforward.anystyle_stylizer",
    "open_stylizer": "nst_tf.feedforward.stylizers",
    "Stylizer": "nst_tf.feedforward.stylizers",
    "apply_files": "nst_tf.feedforward.apply",
    "make_trainer": "nst_tf.feedforward.registry",
    "export": "nst_tf.feedforward.registry",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy.exports("nst_tf.feedforward", _EXPORTS)
