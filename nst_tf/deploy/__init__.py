"""Deployment: ``nst-export`` writes a network for the TF runtimes and checks each file by running it.

* :mod:`~nst_tf.deploy.servable`: what a ``--model`` value exports as (float32 Keras networks,
  their inputs, the reference the files are checked against) and its parts for the file formats;
* :mod:`~nst_tf.deploy.serving`: the SavedModel for TF Serving (``NAME/VERSION/``, encoded-image
  and pixel signatures, fixed-shape signatures for TPU / XLA) and the REST ``:predict`` shape;
* :mod:`~nst_tf.deploy.lite`: LiteRT (TFLite) files, float32 / float16 / dynamic-range / int8;
* :mod:`~nst_tf.deploy.litert_run`: runs a LiteRT file without TensorFlow (numpy and
  ``ai-edge-litert`` only), as a phone would;
* :mod:`~nst_tf.deploy.onnx_file`: ONNX through tf2onnx, checked with onnxruntime;
* :mod:`~nst_tf.deploy.export`: the command: stage, write, verify, keep what matches, report.

Importing this package does not load TensorFlow.
"""
