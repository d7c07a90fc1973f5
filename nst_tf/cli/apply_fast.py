"""nst-apply: stylise images, folders, globs and animated GIFs with a trained fast network.

    nst-apply --model=runs/starry --input=photos/ --output=stylised/
    nst-apply --model=runs/starry/model.tflite --input=clip.gif --output=clip_starry.gif
"""

from __future__ import annotations

import time
from pathlib import Path

from absl import flags

from nst_tf.cli import common, config_flags
from nst_tf.config import ApplyConfig
from nst_tf.errors import UserError

PROG = "nst-apply"

flags.DEFINE_list("model", None, "Training workdir, its saved_model/ folder, or a .tflite file; several (with "
                                 "--style_masks) put each style where its mask is white.")
flags.DEFINE_list("input", None, "Images, folders or globs; animated GIFs keep their animation.")
flags.DEFINE_string("output", None, "Output file (one input) or folder (default: outputs/<name>_styled.<ext>).")
flags.DEFINE_bool("overwrite", False, "Replace existing outputs (otherwise they are refused).")
config_from_flags = config_flags.define(ApplyConfig)  # every ApplyConfig field is a flag

FLAGS = flags.FLAGS


def _targets(inputs, output):
    out = Path(output) if output else None
    if len(inputs) == 1 and out is not None and out.suffix:
        return [(inputs[0], out)]
    folder = out or Path("outputs")
    if folder.suffix:
        raise UserError(f"{len(inputs)} inputs need a folder for --output, not the file name {folder}")
    return [(p, folder / f"{Path(p).stem}_styled{Path(p).suffix.lower() if Path(p).suffix.lower() in ('.gif', '.png', '.webp') else '.jpg'}")
            for p in inputs]


def main(argv) -> int:
    from nst_tf import images
    from nst_tf.fast import apply

    if not FLAGS.model:
        raise UserError("--model is required: a training workdir, a SavedModel folder or a .tflite file")
    config = config_from_flags()
    inputs = images.expand_paths(common.split_list(FLAGS.input))
    if not inputs:
        raise UserError("--input is required: image files, folders or globs")
    jobs = _targets(inputs, FLAGS.output)
    for src, dst in jobs:
        images.check_output_path(dst, FLAGS.overwrite)
        images.load_image(src)
    models = common.split_list(FLAGS.model)
    style_masks = None
    if len(models) > 1 or config.style_masks:
        from nst_tf.masks import load_mask

        if not config.style_masks or len(config.style_masks) != len(models):
            given = len(config.style_masks or ())
            raise UserError(f"{given} --style_masks for {len(models)} --model; give one mask per model")
        style_masks = [load_mask(m) for m in config.style_masks]
    stylizers = [apply.load_stylizer(m) for m in models]
    for src, dst in jobs:
        frames, durations = apply.read_frames(src)
        t0 = time.perf_counter()
        outs = [apply.stylize_arrays(s, frames, config.batch_size) for s in stylizers]
        if style_masks is None:
            out = outs[0]
        else:
            out = [apply.composite([o[i] for o in outs], style_masks, f, config.feather) for i, f in enumerate(frames)]
        ms = (time.perf_counter() - t0) * 1000 / len(frames)
        out = [apply.postprocess(o, f, config.preserve_colors, config.blend) for o, f in zip(out, frames)]
        if durations is not None and dst.suffix.lower() in (".gif", ".webp"):
            apply.save_animation(out, durations, dst, FLAGS.overwrite)
        else:
            images.save_image(out[0], dst, overwrite=FLAGS.overwrite)
        print(f"wrote {dst} ({len(frames)} frame{'s' if len(frames) > 1 else ''}, {ms:.0f} ms per frame)",
              flush=True)
    return common.EXIT_OK


def run():
    common.run_app(PROG, main)


if __name__ == "__main__":
    run()
