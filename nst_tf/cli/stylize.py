"""nst-stylize: Gatys style transfer from the command line.

    nst-stylize --content=photo.jpg --style=painting.jpg --output=out.jpg
    nst-stylize --flagfile=flags/demo.flags
    nst-stylize --content=photos/ --style='paintings/*.jpg' --output=results/   # every pair
    nst-stylize --content=me.jpg --style=a.jpg,b.jpg --style_weights=0.7,0.3   # one blended style

Every optimisation flag maps onto a field of ``nst_tf.StylizeConfig`` (same name, same default).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from absl import flags

from nst_tf import config as cfg
from nst_tf.cli import common
from nst_tf.config import StylizeConfig
from nst_tf.errors import UserError

PROG = "nst-stylize"
_D = StylizeConfig()

flags.DEFINE_list("content", None, "Content photo(s): files, folders or globs, comma-separated.")
flags.DEFINE_list("style", None, "Style painting(s): files, folders or globs, comma-separated.")
flags.DEFINE_list("style_weights", None,
                  "Blend the style images into one style with these weights (one per style image). "
                  "Without it, each style image gives its own output.")
flags.DEFINE_string("output", None,
                    "Output image (.jpg/.png/.webp), or a folder when there are several outputs. "
                    "Default: outputs/<content>_<style>.jpg, or outputs/ for several.")
flags.DEFINE_bool("overwrite", False, "Replace existing outputs (otherwise refused, or skipped in a batch).")
flags.DEFINE_integer("size", _D.size, "Longer side of the result in pixels.")
flags.DEFINE_float("style_scale", _D.style_scale, "Style image's longer side relative to --size.")
flags.DEFINE_string("steps", str(_D.steps),
                    "Optimisation steps per scale (L-BFGS: iterations), or one count per scale, e.g. 200,60,20.")
flags.DEFINE_enum("optimizer", _D.optimizer, list(cfg.OPTIMIZERS), "Optimizer.")
flags.DEFINE_float("learning_rate", _D.learning_rate, "Initial learning rate (image values in 0..1).")
flags.DEFINE_integer("decay_steps", _D.decay_steps, "ExponentialDecay: steps per decay_rate factor.")
flags.DEFINE_float("decay_rate", _D.decay_rate, "ExponentialDecay factor (1 = constant rate).")
flags.DEFINE_float("adam_beta_1", _D.adam_beta_1, "Adam beta_1.")
flags.DEFINE_float("adam_epsilon", _D.adam_epsilon, "Adam epsilon.")
flags.DEFINE_float("content_weight", _D.content_weight, "Weight of the content loss.")
flags.DEFINE_float("style_weight", _D.style_weight, "Weight of the style loss.")
flags.DEFINE_float("tv_weight", _D.tv_weight, "Weight of the total-variation loss.")
flags.DEFINE_list("content_layers", list(_D.content_layers), "Content layers (e.g. relu4_2 or block4_conv2).")
flags.DEFINE_list("style_layers", list(_D.style_layers), "Style layers.")
flags.DEFINE_list("style_layer_weights", None, "One weight per style layer (default: equal).")
flags.DEFINE_enum("loss", _D.loss, list(cfg.LOSSES),
                  "Loss formulation: normalized (default), or that of the TF tutorial / classic Keras example.")
flags.DEFINE_enum("backbone", _D.backbone, list(cfg.BACKBONES), "Feature network.")
flags.DEFINE_string("weights", _D.weights, "auto, imagenet, hed (offline VGG16) or a path to an .h5 file.")
flags.DEFINE_enum("pooling", _D.pooling, list(cfg.POOLING), "Pooling in the feature network.")
flags.DEFINE_enum("precision", _D.precision, list(cfg.PRECISIONS),
                  "Compute precision; auto: mixed_float16 on recent GPUs, mixed_bfloat16 on TPU, float32 on CPU.")
flags.DEFINE_bool("jit_compile", _D.jit_compile, "XLA-compile the step (--nojit_compile to turn off).")
flags.DEFINE_string("init", _D.init, "Starting image: content, noise, style or a path to an image.")
flags.DEFINE_integer("seed", _D.seed, "Random seed.")
flags.DEFINE_integer("scales", _D.scales, "Coarse-to-fine stages (each runs --steps).")
flags.DEFINE_float("scale_factor", _D.scale_factor, "Size ratio between consecutive stages.")
flags.DEFINE_string("tile", _D.tile,
                    "Process large images in exact tiles: auto (only when the whole image does not fit in "
                    "memory), off, or a tile size in pixels.")
flags.DEFINE_enum("preserve_colors", _D.preserve_colors, list(cfg.PRESERVE_COLORS),
                  "Keep the content's colours: luminance-only transfer, or recolour the style first.")
flags.DEFINE_float("blend", _D.blend, "Fraction of the content mixed back into the result (0..1).")
flags.DEFINE_float("tol", _D.tol, "Early stop when the relative loss change stays below this (0: off).")
flags.DEFINE_integer("patience", _D.patience, "... for this many consecutive steps.")
flags.DEFINE_float("divergence_factor", _D.divergence_factor,
                   "A loss above this multiple of the best so far counts as diverged (best image restored, rate halved).")
flags.DEFINE_integer("max_recoveries", _D.max_recoveries, "Stop after this many divergences, keeping the best image.")
flags.DEFINE_integer("save_every", 0, "Also write the image every N steps as <output>.stepN.<ext> (0: off).")
flags.DEFINE_string("logdir", None, "Write TensorBoard scalars and images, and loss_curve.png, here.")

FLAGS = flags.FLAGS

# StylizeConfig fields set from the flag of the same name.
_CONFIG_FLAGS = [f.name for f in dataclasses.fields(StylizeConfig)]


def _floats(name):
    values = common.split_list(getattr(FLAGS, name))
    try:
        return tuple(float(v) for v in values) or None
    except ValueError:
        raise UserError(f"--{name} must be a comma-separated list of numbers, got {','.join(values)}") from None


def config_from_flags() -> StylizeConfig:
    values = {}
    for name in _CONFIG_FLAGS:
        if name in ("style_layer_weights", "style_weights"):
            values[name] = _floats(name)
        elif name in ("content_layers", "style_layers"):
            values[name] = tuple(common.split_list(getattr(FLAGS, name)))
        else:
            values[name] = getattr(FLAGS, name)
    return StylizeConfig(**values)


@dataclasses.dataclass
class Job:
    content: Path
    styles: list
    output: Path
    name: str


def _stem(p) -> str:
    return Path(str(p)).stem


def plan_jobs(contents, styles, blend: bool, output) -> tuple:
    """The (content, styles) pairs to run and where each goes; returns (jobs, folder or None)."""
    pairs = [(c, list(styles)) for c in contents] if blend else [(c, [s]) for c in contents for s in styles]
    label = lambda ss: "+".join(_stem(s) for s in ss)  # noqa: E731
    out = Path(output) if output else None
    if len(pairs) == 1 and (out is None or out.suffix):
        c, ss = pairs[0]
        path = out or Path("outputs") / f"{_stem(c)}_{label(ss)}.jpg"
        return [Job(c, ss, path, path.stem)], None
    folder = out or Path("outputs")
    if folder.suffix:
        raise UserError(f"{len(pairs)} outputs need a folder for --output, not the file name {folder}")
    jobs = [Job(c, ss, folder / f"{_stem(c)}__{label(ss)}.jpg", f"{_stem(c)}__{label(ss)}") for c, ss in pairs]
    return jobs, folder


def _step_path(output: Path, step: int, scale: int = 1, scales: int = 1) -> Path:
    stage = f".scale{scale}" if scales > 1 else ""
    return output.with_name(f"{output.stem}{stage}.step{step:05d}{output.suffix}")


def _inputs(name: str) -> list:
    from nst_tf import images

    items = common.split_list(getattr(FLAGS, name))
    if not items:
        raise UserError(f"--{name} is required; pass an image file, a folder or a glob")
    return images.expand_paths(items)


def main(argv) -> int:
    from nst_tf import images
    from nst_tf.gatys import build_extractor, stylize
    from nst_tf.monitor import TensorBoardLogger, save_loss_curve

    contents, styles = _inputs("content"), _inputs("style")
    if FLAGS.save_every < 0:
        raise UserError(f"--save_every must be 0 (off) or positive, got {FLAGS.save_every}")
    config = config_from_flags()
    blend = config.style_weights is not None
    if blend and len(config.style_weights) != len(styles):
        raise UserError(f"{len(config.style_weights)} --style_weights for {len(styles)} style images; "
                        "give one weight per style image")
    jobs, folder = plan_jobs(contents, styles, blend, FLAGS.output)
    batch = folder is not None

    todo = []
    for job in jobs:
        if batch and job.output.exists() and not FLAGS.overwrite:
            print(f"skipping {job.output} (exists; --overwrite redoes it)", flush=True)
            continue
        images.check_output_path(job.output, FLAGS.overwrite)
        todo.append(job)
    # Fail on unreadable inputs now, not after building the network or halfway through a batch.
    for path in dict.fromkeys([j.content for j in todo] + [s for j in todo for s in j.styles]):
        images.load_image(path)

    manifest_path = folder / "manifest.json" if batch else None
    manifest = _load_manifest(manifest_path)
    manifest["settings"] = dataclasses.asdict(config)
    extractor = build_extractor(config) if todo else None
    interrupted = False
    for i, job in enumerate(todo, start=1):
        if batch:
            print(f"[{i}/{len(todo)}] {job.content} x {', '.join(map(str, job.styles))} -> {job.output}", flush=True)
        callbacks = []
        if FLAGS.save_every:
            def save_snapshot(info, job=job):
                if info.step % FLAGS.save_every == 0:
                    images.save_image(info.get_image(), _step_path(job.output, info.step, info.scale, info.scales),
                                      overwrite=True)
            callbacks.append(save_snapshot)
        logdir = None
        if FLAGS.logdir:
            logdir = Path(FLAGS.logdir) / job.name if batch else Path(FLAGS.logdir)
            tb = TensorBoardLogger(logdir, image_every=FLAGS.save_every or max(1, config.steps_at(config.scales) // 10))
            callbacks.append(tb)
        result = stylize(job.content, job.styles if blend else job.styles[0], config,
                         extractor=extractor, callbacks=callbacks)
        images.save_image(result.image, job.output, overwrite=True)  # checked before starting
        if FLAGS.logdir:
            tb.close()
            save_loss_curve(result.history, logdir / "loss_curve.png", title=job.name)
        h, w = result.image.shape[:2]
        state = "interrupted, kept the latest image" if result.interrupted else "done"
        print(f"wrote {job.output} ({w}x{h} px, {result.steps_done} steps, {result.seconds:.1f} s, {state})",
              flush=True)
        manifest["outputs"][job.output.name] = {
            "content": str(job.content),
            "styles": [str(s) for s in job.styles],
            "style_weights": list(config.style_weights) if blend else None,
            "final_losses": result.history[-1] if result.history else None,
            "steps": result.steps_done,
            "seconds": round(result.seconds, 2),
            "interrupted": result.interrupted,
            "stopped_early": result.stopped_early,
            "recoveries": result.recoveries,
            "extractor": result.extractor,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        if batch:
            _write_batch_files(folder, manifest, jobs, contents, styles, blend)
        if result.interrupted:
            interrupted = True
            break
    if batch and not todo:
        _write_batch_files(folder, manifest, jobs, contents, styles, blend)
    if interrupted:
        return common.EXIT_SIGTERM if common.terminated() else common.EXIT_SIGINT
    return common.EXIT_OK


def _load_manifest(path) -> dict:
    if path is None or not path.exists():
        return {"settings": {}, "outputs": {}}
    try:
        data = json.loads(path.read_text())
        data.setdefault("outputs", {})
        return data
    except (OSError, ValueError):
        raise UserError(f"{path} is not a valid manifest; move it away to start the batch afresh") from None


def _write_batch_files(folder: Path, manifest: dict, jobs, contents, styles, blend: bool) -> None:
    """manifest.json and sheet.jpg: rows are contents, columns styles (or the blend)."""
    from nst_tf import files, images

    files.write_json(folder / "manifest.json", manifest)
    by_output = {j.output: j for j in jobs}
    columns = [None] if blend else styles
    header = [None] + ([None] if blend else list(styles))
    rows = [header]
    for c in contents:
        row = [c]
        for s in columns:
            out = next((o for o, j in by_output.items() if j.content == c and (blend or j.styles == [s])), None)
            row.append(out if out is not None and out.exists() else None)
        rows.append(row)
    images.save_image(images.contact_sheet(rows, cell=192), folder / "sheet.jpg", overwrite=True)
    print(f"wrote {folder / 'manifest.json'} and {folder / 'sheet.jpg'}", flush=True)


def run():
    common.run_app(PROG, main)


if __name__ == "__main__":
    run()
