"""Faithful re-implementations (our own code) of two public style-transfer loops, used only as baselines.

* ``tutorial``: the TensorFlow tutorial "Neural style transfer" (tensorflow.org/tutorials/generative/
  style_transfer): a multi-output VGG, input x 255 through caffe preprocessing, Gram matrices averaged
  over positions, loss = 1e-2 x mean style MSE + 1e4 x mean content MSE (content block5_conv2, style
  block1..5_conv1) + 30 x tf.image.total_variation, Adam(0.02, beta_1=0.99, epsilon=0.1), clip to [0, 1],
  one ``tf.function`` step per iteration.
* ``keras_example``: the classic Keras example "Neural style transfer" (keras.io/examples/generative/
  neural_style_transfer): base, style and combination images go through the network as one batch of 3
  every step; summed content loss (2.5e-8), style loss sum((S-C)^2)/(4 C^2 (HW)^2) (1e-6 / 5 per layer),
  TV sum((a+b)^1.25) (1e-6); SGD with ExponentialDecay(100, 100, 0.96) on the preprocessed image.

Both run on any backbone nst_tf can load (the same one as the run they are compared with).
"""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf

from nst_tf import backbones

STYLE = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]


def _vgg_outputs(backbone, weights, names):
    vgg = backbones.load_vgg(backbones.resolve_weights(weights, backbone))
    vgg.trainable = False
    return keras.Model(vgg.input, [vgg.get_layer(n).output for n in names])


def _caffe(x255):
    return x255[..., ::-1] - tf.constant(backbones.CAFFE_BGR_MEAN)


def tutorial(content, style, steps, backbone="vgg16", weights="hed", callback=None, tv_weight=30.0):
    """Returns the final image (H x W x 3 in [0, 1]) and seconds per step (after the first).

    ``tv_weight`` is the tutorial's 30 unless changed (0.3 suits the HED backbone's smaller features).
    """
    content_layers = ["block5_conv2"]
    model = _vgg_outputs(backbone, weights, STYLE + content_layers)

    def gram(t):
        r = tf.einsum("bijc,bijd->bcd", t, t)
        shape = tf.shape(t)
        return r / tf.cast(shape[1] * shape[2], tf.float32)

    def extract(img):
        outs = model(_caffe(img * 255.0))
        return [gram(o) for o in outs[:5]], outs[5:]

    style_t, _ = extract(tf.constant(style[None]))
    _, content_t = extract(tf.constant(content[None]))
    image = tf.Variable(content[None])
    opt = keras.optimizers.Adam(learning_rate=0.02, beta_1=0.99, epsilon=1e-1)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            s, c = extract(image)
            loss = 1e-2 * tf.add_n([tf.reduce_mean((a - b) ** 2) for a, b in zip(s, style_t)]) / 5
            loss += 1e4 * tf.add_n([tf.reduce_mean((a - b) ** 2) for a, b in zip(c, content_t)]) / 1
            loss += tv_weight * tf.image.total_variation(image)
        grad = tape.gradient(loss, image)
        opt.apply_gradients([(grad, image)])
        image.assign(tf.clip_by_value(image, 0.0, 1.0))
        return loss

    return _run(step, image, steps, lambda v: v[0].numpy(), callback)


def keras_example(content, style, steps, backbone="vgg16", weights="hed", callback=None):
    model = _vgg_outputs(backbone, weights, STYLE + ["block5_conv2"])
    h, w = content.shape[:2]
    style = tf.image.resize(style, (h, w)).numpy()
    base = _caffe(tf.constant(content[None]) * 255.0)
    style_ref = _caffe(tf.constant(style[None]) * 255.0)
    combo = tf.Variable(base)
    opt = keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(100.0, 100, 0.96))

    def gram(x):
        f = tf.reshape(tf.transpose(x, (2, 0, 1)), (tf.shape(x)[2], -1))
        return tf.matmul(f, f, transpose_b=True)

    def loss_fn(c):
        outs = model(tf.concat([base, style_ref, c], axis=0))
        f = outs[5]
        loss = 2.5e-8 * tf.reduce_sum(tf.square(f[2] - f[0]))
        for o in outs[:5]:
            s, x = gram(o[1]), gram(o[2])
            ch = tf.cast(tf.shape(o)[3], tf.float32)
            size = tf.cast(h * w, tf.float32)
            loss += (1e-6 / 5) * tf.reduce_sum(tf.square(s - x)) / (4.0 * ch**2 * size**2)
        a = tf.square(c[:, : h - 1, : w - 1, :] - c[:, 1:, : w - 1, :])
        b = tf.square(c[:, : h - 1, : w - 1, :] - c[:, : h - 1, 1:, :])
        return loss + 1e-6 * tf.reduce_sum(tf.pow(a + b, 1.25))

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = loss_fn(combo)
        opt.apply_gradients([(tape.gradient(loss, combo), combo)])
        return loss

    def to_image(v):
        x = v[0].numpy()[..., ::-1] + np.array(backbones.CAFFE_BGR_MEAN[::-1], np.float32)
        return np.clip(x / 255.0, 0, 1).astype(np.float32)

    return _run(step, combo, steps, to_image, callback)


def _run(step, var, steps, to_image, callback):
    times = []
    for i in range(1, steps + 1):
        t = time.perf_counter()
        float(tf.reduce_sum(step()))
        times.append(time.perf_counter() - t)
        if callback:
            callback(i, lambda: to_image(var))
    per_step = float(np.median(times[1:])) if len(times) > 1 else float("nan")
    return to_image(var), per_step, times
