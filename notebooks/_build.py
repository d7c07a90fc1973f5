"""Writes the notebooks from the cell lists below (kept in one place so they stay consistent).

python notebooks/_build.py
"""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

SMOKE = """import os
# NST_TF_SMOKE=1 shrinks sizes and steps so the notebook runs in seconds (CI sets it through
# notebooks/conftest.py); unset it for the full-size pictures.
SMOKE = os.environ.get("NST_TF_SMOKE") == "1"
SIZE, STEPS = (48, 5) if SMOKE else (384, 200)"""

NOTEBOOKS = {
    "01_quickstart.ipynb": [
        (
            "md",
            "# Quick start\n\nStylise a photo with the Python API of `nst_tf` and compare before and after.\n\n"
            "Environment variable: `NST_TF_SMOKE=1` shrinks sizes and steps (used by the tests).",
        ),
        ("code", SMOKE),
        (
            "code",
            "import matplotlib.pyplot as plt\nfrom nst_tf import StylizeConfig, load_image, save_image, stylize\n\n"
            "content = load_image('../examples/content/chelsea.jpg')\nstyle = load_image('../examples/style/starry_night.jpg')\n"
            "content.shape, style.shape",
        ),
        (
            "md",
            "`StylizeConfig` holds every setting. The offline backbone (`vgg16` + `hed`) needs no download; "
            "with internet, `backbone='vgg19', weights='imagenet'` gives the classic results.",
        ),
        (
            "code",
            "config = StylizeConfig(size=SIZE, steps=STEPS, backbone='vgg16', weights='hed')\n"
            "result = stylize(content, style, config)\nresult.image.shape, result.history[-1]",
        ),
        (
            "code",
            "fig, axes = plt.subplots(1, 3, figsize=(12, 4))\n"
            "for ax, img, title in zip(axes, [content, style, result.image], ['content', 'style', 'result']):\n"
            "    ax.imshow(img); ax.set_title(title); ax.axis('off')\nplt.show()",
        ),
        (
            "code",
            "import tempfile, os\nout = os.path.join(tempfile.mkdtemp(), 'cat_starry.jpg')\n"
            "save_image(result.image, out)  # atomic; refuses to overwrite unless overwrite=True\nout",
        ),
    ],
    "02_how_it_works.ipynb": [
        (
            "md",
            "# How it works\n\nThe pieces of Gatys et al. (2016): a VGG feature model, content features, style "
            "Gram matrices, the three losses, the `tf.function` step, mixed precision and the learning-rate schedule.\n\n"
            "Environment variable: `NST_TF_SMOKE=1` shrinks sizes and steps.",
        ),
        ("code", SMOKE),
        (
            "code",
            "import numpy as np, tensorflow as tf, keras, matplotlib.pyplot as plt\n"
            "from nst_tf import backbones, images, losses, precision\n"
            "from nst_tf.config import GATYS_CONTENT_LAYERS, GATYS_STYLE_LAYERS\n"
            "layers = GATYS_CONTENT_LAYERS + GATYS_STYLE_LAYERS\n"
            "extractor = backbones.build_extractor(layers, backbone='vgg16', weights='hed')\n"
            "extractor.model.summary(line_length=90)",
        ),
        (
            "md",
            "## Content features\nThe activations of a deep layer keep *what* is where. Here are a few channels of `block4_conv2`.",
        ),
        (
            "code",
            "content = images.resize(images.load_image('../examples/content/chelsea.jpg'), SIZE)\n"
            "style = images.resize(images.load_image('../examples/style/starry_night.jpg'), SIZE)\n"
            "feats = extractor(tf.constant(content[None]))\n"
            "f = feats['block4_conv2'][0].numpy()\nfig, axes = plt.subplots(1, 4, figsize=(12, 3))\n"
            "for i, ax in enumerate(axes):\n    ax.imshow(f[..., i * 7], cmap='magma'); ax.axis('off')\nplt.show()",
        ),
        (
            "md",
            "## Style: Gram matrices\n`G = F^T F / (H W)`: which channels fire together, wherever they are. "
            "Layout disappears; texture and colour statistics stay.",
        ),
        (
            "code",
            "sf = extractor(tf.constant(style[None]))\n"
            "fig, axes = plt.subplots(1, 3, figsize=(12, 4))\n"
            "for ax, name in zip(axes, ['block1_conv1', 'block2_conv1', 'block3_conv1']):\n"
            "    ax.imshow(losses.gram_matrix(sf[name])[0].numpy(), cmap='viridis'); ax.set_title(name)\nplt.show()",
        ),
        (
            "md",
            "## The three losses\nContent and style are measured relative to their targets (`loss='normalized'`), "
            "so one set of weights works for any size and backbone; total variation keeps neighbouring pixels alike.",
        ),
        (
            "code",
            "image = tf.constant(np.clip(content + 0.1 * np.random.default_rng(0).normal(size=content.shape), 0, 1)[None], tf.float32)\n"
            "f = extractor(image)\n"
            "print('content', float(losses.content_loss(f['block4_conv2'], feats['block4_conv2'])))\n"
            "print('style  ', float(np.mean([losses.style_loss(f[n], losses.gram_matrix(sf[n])) for n in GATYS_STYLE_LAYERS])))\n"
            "print('tv     ', float(losses.total_variation_loss(image)))",
        ),
        (
            "md",
            "## The step, mixed precision and the schedule\nUnder `mixed_float16` the network computes in float16, "
            "the losses in float32, and a `LossScaleOptimizer` scales the loss so small gradients survive float16. "
            "`precision.resolve('auto')` picks float32 on this CPU.",
        ),
        (
            "code",
            "print('auto precision here:', precision.resolve('auto'))\n"
            "with precision.policy_scope('mixed_float16'):\n    layer = keras.layers.Conv2D(4, 3)\n"
            "print('layer policy:', layer.dtype_policy.name, '| global policy after:', keras.config.dtype_policy().name)\n"
            "schedule = keras.optimizers.schedules.ExponentialDecay(0.02, decay_steps=100, decay_rate=0.9)\n"
            "opt = precision.wrap_optimizer(keras.optimizers.Adam(schedule), 'mixed_float16')\n"
            "type(opt).__name__, [round(float(schedule(s)), 4) for s in (0, 100, 200)]",
        ),
        (
            "code",
            "var = tf.Variable(content[None])\nopt = keras.optimizers.Adam(schedule); opt.build([var])\n"
            "targets = {n: losses.gram_matrix(sf[n]) for n in GATYS_STYLE_LAYERS}\n"
            "@tf.function\ndef step():\n    with tf.GradientTape() as tape:\n        f = extractor(var)\n"
            "        c = losses.content_loss(f['block4_conv2'], feats['block4_conv2'])\n"
            "        s = tf.add_n([losses.style_loss(f[n], targets[n]) for n in GATYS_STYLE_LAYERS]) / 5\n"
            "        total = c + 10 * s + 10 * losses.total_variation_loss(var)\n"
            "    opt.apply_gradients([(tape.gradient(total, var), var)])\n    var.assign(tf.clip_by_value(var, 0, 1))\n"
            "    return c, s, total\nhistory = [[float(v) for v in step()] for _ in range(STEPS)]\n"
            "plt.semilogy(np.array(history)); plt.legend(['content', 'style', 'total']); plt.xlabel('step'); plt.show()",
        ),
        ("code", "plt.imshow(var[0].numpy()); plt.axis('off'); plt.title('after %d steps' % STEPS); plt.show()"),
    ],
    "03_controls.ipynb": [
        (
            "md",
            "# Controls\n\nStyle/content weight sweep, total variation, layers, colour preservation, several styles, "
            "multi-scale.\n\nEnvironment variable: `NST_TF_SMOKE=1` shrinks sizes and steps.",
        ),
        ("code", SMOKE + "\nSIZE, STEPS = (48, 3) if SMOKE else (256, 120)"),
        (
            "code",
            "import matplotlib.pyplot as plt\nfrom nst_tf import StylizeConfig, build_extractor, load_image, stylize\n"
            "content = load_image('../examples/content/chelsea.jpg')\nwave = load_image('../examples/style/great_wave.jpg')\n"
            "scream = load_image('../examples/style/the_scream.jpg')\n"
            "base = StylizeConfig(size=SIZE, steps=STEPS, backbone='vgg16', weights='hed')\n"
            "extractor = build_extractor(base)  # built once, reused by every run below\n"
            "def show(results, titles):\n    fig, axes = plt.subplots(1, len(results), figsize=(4 * len(results), 3))\n"
            "    for ax, r, t in zip(axes, results, titles):\n        ax.imshow(r.image); ax.set_title(t); ax.axis('off')\n    plt.show()",
        ),
        ("md", "## Style weight sweep"),
        (
            "code",
            "weights = [1, 10, 100]\nshow([stylize(content, wave, base.replace(style_weight=w), extractor=extractor, verbose=False) for w in weights],\n"
            "     [f'style_weight={w}' for w in weights])",
        ),
        ("md", "## Total variation"),
        (
            "code",
            "tvs = [0, 10, 100]\nshow([stylize(content, wave, base.replace(tv_weight=t), extractor=extractor, verbose=False) for t in tvs],\n"
            "     [f'tv_weight={t}' for t in tvs])",
        ),
        ("md", "## Layers\nShallow style layers copy fine texture; deep ones, larger motifs."),
        (
            "code",
            "sets = [('block1_conv1', 'block2_conv1'), ('block3_conv1', 'block4_conv1', 'block5_conv1')]\n"
            "show([stylize(content, wave, base.replace(style_layers=s), extractor=extractor, verbose=False) for s in sets],\n"
            "     ['shallow', 'deep'])",
        ),
        ("md", "## Colour preservation and several styles"),
        (
            "code",
            "show([stylize(content, wave, base.replace(preserve_colors=p), extractor=extractor, verbose=False) for p in ('none', 'luminance', 'histogram')],\n"
            "     ['none', 'luminance', 'histogram'])",
        ),
        (
            "code",
            "mixes = [(1, 0), (0.5, 0.5), (0, 1)]\n"
            "show([stylize(content, [wave, scream], base.replace(style_weights=m), extractor=extractor, verbose=False) for m in mixes],\n"
            "     [f'wave {a} / scream {b}' for a, b in mixes])",
        ),
        ("md", "## Coarse to fine\nTwo scales: half size first, then full size from the upsampled result."),
        (
            "code",
            "r = stylize(content, wave, base.replace(scales=2, size=max(SIZE, 64)), extractor=extractor, verbose=False)\n"
            "show([r, r], ['two scales', ''])",
        ),
        (
            "md",
            "## Large images: exact tiles\n"
            "When the whole image does not fit in memory, `tile='auto'` (the default) optimises it in tiles with a halo "
            "as wide as the deepest layer's receptive field, and global Gram matrices. The gradient is the whole-image "
            "gradient, so the result is the same, without seams. Here tiles are forced on a small image to show it.",
        ),
        (
            "code",
            "from nst_tf import memory\n"
            "print(memory.plan_memory('auto', base.content_layers, base.style_layers, 'vgg16', 2048, 2048, 'float32',\n"
            "                         available=8 * 2**30).describe())\n"
            "small = base.replace(size=256, steps=STEPS // 3 + 1)\n"
            "whole = stylize(content, wave, small.replace(tile='off'), extractor=extractor, verbose=False)\n"
            "tiled = stylize(content, wave, small.replace(tile=128), extractor=extractor, verbose=False)\n"
            "print('largest pixel difference, tiled vs whole:', float(abs(tiled.image - whole.image).max()))\n"
            "show([whole, tiled], ['whole image', '4 tiles of about 128 px + 80 px halo'])",
        ),
    ],
    "04_fast_style_transfer.ipynb": [
        (
            "md",
            "# Fast style transfer\n\nTrain a feed-forward network for one style, apply it in one pass, "
            "export it, and compare it with the optimisation result using the metrics. The network here is "
            "`compact` (every convolution at 1/4 or 1/8 of the resolution) and it learns from a teacher: the "
            "any-style network's picture of the painting (`teacher='arbitrary'`), which needs no loss network "
            "and far fewer steps than the perceptual loss of Johnson et al.\n\n"
            "Environment variable: `NST_TF_SMOKE=1` shrinks sizes and steps.",
        ),
        ("code", SMOKE + "\nIMAGE, TRAIN_STEPS = (32, 3) if SMOKE else (192, 1000)"),
        (
            "code",
            "import tempfile, pathlib, numpy as np, matplotlib.pyplot as plt\n"
            "from nst_tf import StylizeConfig, load_image, metrics, stylize\nfrom nst_tf.config import FastTrainConfig\n"
            "from nst_tf.feedforward import johnson_export as export\nfrom nst_tf.feedforward import open_stylizer\nfrom nst_tf.feedforward import registry as train\nwork = pathlib.Path(tempfile.mkdtemp())\n"
            "config = FastTrainConfig(arch='compact', teacher='arbitrary', image_size=IMAGE, max_scale=2.0, batch_size=4,\n"
            "                         steps=TRAIN_STEPS, checkpoint_every=500, learning_rate=2e-3, decay_steps=TRAIN_STEPS,\n"
            "                         decay_rate=0.1, backbone='vgg16', weights='hed')\n"
            "trainer = train.train(config, '../examples/style/starry_night.jpg', '../examples/content', work / 'run')",
        ),
        (
            "code",
            "saved = export.export_saved_model(trainer.model, work / 'run' / 'saved_model')\n"
            "lite = export.export_tflite(saved, work / 'run' / 'model.tflite')\nrun = open_stylizer(work / 'run')\n"
            "photo = load_image('../examples/content/coffee.jpg')\nfast = run((photo[None] * 255).astype(np.uint8))[0] / 255.0\nfast.shape",
        ),
        (
            "code",
            "slow = stylize(photo, '../examples/style/starry_night.jpg', StylizeConfig(size=max(photo.shape[:2]), steps=TRAIN_STEPS // 3 + 2,\n"
            "               backbone='vgg16', weights='hed'), verbose=False).image\n"
            "scores = {name: metrics.evaluate(img, photo, '../examples/style/starry_night.jpg') for name, img in [('fast', fast), ('optimised', slow)]}\n"
            "fig, axes = plt.subplots(1, 3, figsize=(12, 4))\n"
            "for ax, img, t in zip(axes, [photo, fast, slow], ['photo', 'fast network', 'optimised']):\n"
            "    ax.imshow(img); ax.set_title(t); ax.axis('off')\nplt.show()\n"
            "{k: {m: round(v, 3) for m, v in s.items() if v is not None} for k, s in scores.items()}",
        ),
    ],
    "05_any_style.ipynb": [
        (
            "md",
            "# Any style, no training\n\nThe any-style network of Ghiasi et al. (2017), with Magenta's published "
            "weights: a style predictor turns a painting into a 100-number *style vector*, and a transformer "
            "paints the photo with it in one pass. Here: several paintings, the strength control, mixing "
            "vectors, and the three methods of nst_tf side by side (optimisation, a per-style network, the "
            "any-style network) on time and scores.\n\n"
            "Environment variable: `NST_TF_SMOKE=1` shrinks sizes and steps.",
        ),
        ("code", SMOKE + "\nTRAIN_IMAGE, TRAIN_STEPS = (32, 3) if SMOKE else (192, 1000)"),
        (
            "code",
            "import time, tempfile, pathlib, numpy as np, matplotlib.pyplot as plt\n"
            "from nst_tf import images\nfrom nst_tf.feedforward import ArbitraryStylizer, mix_vectors\n"
            "net = ArbitraryStylizer()   # reads the published weights once, then from the cache\n"
            "print(net.describe())\n"
            "photo = images.resize(images.load_image('../examples/content/coffee.jpg'), SIZE)\n"
            "paintings = {n: images.load_image(f'../examples/style/{n}.jpg') for n in ['starry_night', 'great_wave', 'the_scream']}\n"
            "vectors = {n: net.style_vector(img) for n, img in paintings.items()}\n"
            "{n: (v.shape, round(float(np.linalg.norm(v)), 2)) for n, v in vectors.items()}",
        ),
        ("md", "## One photo, three paintings\nThe style is encoded once; each picture is then one forward pass."),
        (
            "code",
            "fig, axes = plt.subplots(2, 3, figsize=(12, 6))\n"
            "for col, (name, vec) in enumerate(vectors.items()):\n"
            "    axes[0, col].imshow(paintings[name]); axes[0, col].set_title(name)\n"
            "    axes[1, col].imshow(net.transfer(photo, vec))\n"
            "for ax in axes.flat: ax.axis('off')\nplt.show()",
        ),
        (
            "md",
            "## Strength and mixing\n`strength` interpolates between the photo's own style vector (0) and the painting's "
            "(1); `mix_vectors` blends paintings.",
        ),
        (
            "code",
            "wave = vectors['great_wave']\n"
            "row = [net.transfer(photo, wave, strength=s) for s in (0.0, 0.5, 1.0)]\n"
            "row.append(net.transfer(photo, mix_vectors([wave, vectors['starry_night']], [0.5, 0.5])))\n"
            "fig, axes = plt.subplots(1, 4, figsize=(16, 4))\n"
            "for ax, img, t in zip(axes, row, ['strength 0', 'strength 0.5', 'strength 1', 'wave + starry night']):\n"
            "    ax.imshow(img); ax.set_title(t); ax.axis('off')\nplt.show()",
        ),
        (
            "md",
            "## Three methods\nOptimisation (Gatys et al.) adapts to any painting but takes many steps; a per-style "
            "network is one pass but needs training per painting (here a short distillation from the any-style "
            "network on three photos; `flags/distill.flags` is the full 15-minute recipe); the any-style network is one pass for any painting. "
            "`benchmarks/three_methods.py` runs this comparison on every example style.",
        ),
        (
            "code",
            "from nst_tf import StylizeConfig, metrics, stylize\nfrom nst_tf.config import FastTrainConfig\n"
            "from nst_tf.feedforward import open_stylizer\nfrom nst_tf.feedforward import registry as train\n"
            "style_path = '../examples/style/great_wave.jpg'\nwork = pathlib.Path(tempfile.mkdtemp())\n"
            "trainer = train.train(FastTrainConfig(image_size=TRAIN_IMAGE, batch_size=4, steps=TRAIN_STEPS, arch='compact',\n"
            "                                      teacher='arbitrary', max_scale=2.0, learning_rate=2e-3,\n"
            "                                      checkpoint_every=TRAIN_STEPS, backbone='vgg16', weights='hed'),\n"
            "                      style_path, '../examples/content', work / 'run')\n"
            "per_style = open_stylizer(work / 'run')\n"
            "results, seconds = {}, {}\n"
            "t = time.perf_counter()\n"
            "results['optimisation'] = stylize(photo, style_path, StylizeConfig(size=SIZE, steps=STEPS, backbone='vgg16', weights='hed'), verbose=False).image\n"
            "seconds['optimisation'] = time.perf_counter() - t\n"
            "per_style(images.to_uint8(photo)[None])  # the first call traces\n"
            "t = time.perf_counter(); results['per-style network'] = per_style(images.to_uint8(photo)[None])[0] / 255.0\n"
            "seconds['per-style network'] = time.perf_counter() - t\n"
            "t = time.perf_counter(); results['any-style network'] = net.transfer(photo, wave)\n"
            "seconds['any-style network'] = time.perf_counter() - t\n"
            "fig, axes = plt.subplots(1, 3, figsize=(15, 4))\n"
            "for ax, (name, img) in zip(axes, results.items()):\n"
            "    ax.imshow(img); ax.set_title(f'{name}: {seconds[name]:.2f} s'); ax.axis('off')\nplt.show()\n"
            "{n: {k: round(v, 3) for k, v in metrics.evaluate(img, photo, style_path).items() if v is not None}\n"
            " for n, img in results.items()}",
        ),
        (
            "md",
            "## Export\nA SavedModel with `serve`, `style_vector` and `transfer` signatures (plus TFLite files), "
            "loaded back and checked against the Keras model.",
        ),
        (
            "code",
            "import tensorflow as tf\nfrom nst_tf.feedforward import anystyle_export as export\n"
            "folder = net.export(work / 'any_style', tflite=None)\nloaded = export.load_saved_model(folder)\n"
            "c8, s8 = export.as_uint8_batch(photo), export.as_uint8_batch(paintings['great_wave'])\n"
            "served = loaded.signatures['serve'](content=tf.constant(c8), style=tf.constant(s8), strength=tf.constant(1.0))['image'].numpy()\n"
            "keras_out = net.stylizer(net.style_vector(s8[0] / np.float32(255)))(c8)\n"
            "print('max difference, levels of 255:', int(np.abs(served.astype(int) - keras_out.astype(int)).max()))",
        ),
    ],
}


def build():
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        for i, (kind, src) in enumerate(cells):
            cell = new_markdown_cell(src) if kind == "md" else new_code_cell(src)
            cell["id"] = f"{name[:2]}-{i:02d}"
            nb.cells.append(cell)
        nbformat.write(nb, f"notebooks/{name}")


if __name__ == "__main__":
    build()
