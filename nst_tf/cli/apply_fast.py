"""nst-apply: stylise images, folders, globs and animated GIFs with a feed-forward network.

    nst-apply --model=arbitrary --style=painting.jpg --input=photo.jpg --output=photo_styled.jpg
    nst-apply --model=runs/starry --input=photos/ --output=stylised/
    nst-apply --model=runs/starry/model.tflite --input=clip.gif --output=clip_starry.gif
    nst-apply --model=arbitrary --style=painting.jpg --input=shot/%04d.png --output=shot.mp4 --fps=24
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
from absl import flags

from nst_tf import batch, files, images, video
from nst_tf.cli import common, config_flags
from nst_tf.config import XLA_MIN_IMAGES, ApplyConfig
from nst_tf.fast import workdir_arch
from nst_tf.errors import UserError

PROG = "nst-apply"
ARBITRARY = "arbitrary"

flags.DEFINE_list("model", None, "arbitrary (the any-style network with the published weights, with --style), a "
                                 "training workdir (of --arch=arbitrary too: then with --style), its saved_model/ folder, or a "
                                 ".tflite file; several (with "
                                 "--style_masks) put each style where its mask is white.")
flags.DEFINE_list("style", None, "With --model=arbitrary: painting images (or .npy style vectors); several are mixed "
                                 "by --style_weights, or placed by --style_masks.")
flags.DEFINE_string("save_style_vector", None, "With --model=arbitrary: also write the (mixed) style vector to this "
                                               ".npy file, to reuse with --style=FILE.npy.")
flags.DEFINE_list("input", None, "Images, folders or globs; animated GIFs keep their animation; videos (.mp4, .mov, "
                                 ".webm, .mkv) and folders of frames named by a pattern (shot/%04d.png) are "
                                 "streamed frame by frame, blended along the motion.")
flags.DEFINE_float("fps", None, "Frame rate of a folder-of-frames --input (default 25); a video keeps its own.")
flags.DEFINE_string("output", None, "Output file (one input) or folder (default: outputs/<name>_styled.<ext>).")
flags.DEFINE_bool("overwrite", False, "Replace existing outputs (otherwise refused, or skipped in a batch).")
config_from_flags = config_flags.define(ApplyConfig)  # every ApplyConfig field is a flag

FLAGS = flags.FLAGS


def _targets(inputs, output):
    """[(input, output path)] and the output folder (None for one input written to a file)."""
    out = Path(output) if output else None
    if len(inputs) == 1 and out is not None and out.suffix:
        return [(inputs[0], out)], None
    folder = out or Path("outputs")
    if folder.suffix:
        guess = video.guess_pattern(Path(inputs[0]).parent) if video.is_video(folder) else None
        hint = f" (to make one clip of a folder of frames, name them by a pattern: --input={guess})" if guess else ""
        raise UserError(f"{len(inputs)} inputs need a folder for --output, not the file name {folder}{hint}")
    return [(p, _styled_name(p, folder)) for p in inputs], folder


def _styled_name(src, folder: Path) -> Path:
    """A batch output: videos and frame folders as video.styled_name, GIF/PNG/WebP keep their
    format, other images become JPEG."""
    if video.is_video(src):
        return video.styled_name(src, folder)
    ext = Path(src).suffix.lower()
    return folder / f"{Path(src).stem}_styled{ext if ext in ('.gif', '.png', '.webp') else '.jpg'}"


def _check_output(dst, src, overwrite: bool) -> None:
    if video.is_video(dst) or video.is_video(src):
        if not video.is_video(dst) or not video.is_video(src):
            raise UserError(f"{src} -> {dst}: a video becomes a video ({video.KINDS}) and an "
                            "image an image (animations: .gif or .webp)")
        if video.output_exists(dst) and not overwrite:
            raise UserError(f"{dst} already exists; pass --overwrite to replace it or choose another name")
        files.check_folder_writable(Path(dst).parent, "choose another output path")
    else:
        images.check_output_path(dst, overwrite)


def _probe(path) -> None:
    """Refuse an input that cannot be read (a video is opened, an image decoded)."""
    if video.is_video(path):
        video.open_video(path, FLAGS.fps).close()
    else:
        images.load_image(path)


def _usable_jobs(jobs, folder, overwrite: bool) -> tuple:
    """The jobs to run and the refused inputs: one input is refused with an error; in a batch,
    existing outputs are skipped and each unusable input is refused alone."""
    if folder is None:
        src, dst = jobs[0]
        _check_output(dst, src, overwrite)
        _probe(src)
        return jobs, {}
    todo = []
    for src, dst in jobs:
        if video.output_exists(dst) and not overwrite:
            print(f"skipping {dst} (exists; --overwrite redoes it)", flush=True)
            continue
        _check_output(dst, src, overwrite)
        todo.append((src, dst))
    good, refused = batch.check_inputs([src for src, _ in todo], load=_probe)
    if refused and not good and len(todo) == len(jobs):
        raise UserError(f"none of the inputs could be used ({len(refused)} refused; the first: "
                        f"{next(iter(refused.values()))})")
    good = set(map(str, good))
    return [(src, dst) for src, dst in todo if str(src) in good], refused


def _arbitrary_stylizers(config, styles: list, per_region: bool, n_inputs: int, weights_source: str) -> list:
    """One stylizer per style (for masks), or one with the mixed style vector; styles encoded once."""
    from nst_tf.arbitrary.stylizer import ArbitraryStylizer, mix_vectors, save_vector

    if not styles:
        raise UserError("an any-style --model (arbitrary, or a workdir of nst-train-fast --arch=arbitrary) needs "
                        "--style: one or more painting images (or .npy style vectors)")
    if config.style_weights and len(config.style_weights) != len(styles):
        raise UserError(f"{len(config.style_weights)} --style_weights for {len(styles)} --style; give one per style")
    for style in styles:  # refuse a bad style file before building the networks
        if Path(style).suffix.lower() != ".npy":
            images.load_image(style)
    xla = config.jit_compile == "on" or (config.jit_compile == "auto" and n_inputs >= XLA_MIN_IMAGES)
    net = ArbitraryStylizer(config.precision, weights_source=weights_source, jit_compile=xla)
    print(net.describe(), flush=True)
    vectors = [net.style_vector(s) for s in styles]
    if per_region:
        return [net.stylizer(v, config.strength) for v in vectors]
    vector = mix_vectors(vectors, config.style_weights)
    if FLAGS.save_style_vector:
        print(f"wrote {save_vector(vector, FLAGS.save_style_vector)} (style vector)", flush=True)
    return [net.stylizer(vector, config.strength)]


def _check_trained_only(config) -> None:
    """Refuse the any-style options with a trained per-style network (its style is built in)."""
    given = [name for name, on in (("--style", FLAGS.style), ("--style_weights", config.style_weights),
                                   ("--strength", config.strength != 1.0),
                                   ("--save_style_vector", FLAGS.save_style_vector),
                                   ("--jit_compile", config.jit_compile != "auto")) if on]
    if given:
        raise UserError(f"{', '.join(given)} need --model=arbitrary; a trained network's style is built in "
                        "(use --blend to weaken it)")


def main(argv) -> int:
    if not FLAGS.model:
        raise UserError("--model is required: arbitrary (with --style), a training workdir, a SavedModel folder or "
                        "a .tflite file")
    config = config_from_flags()
    inputs = images.expand_paths(common.split_list(FLAGS.input))
    if not inputs:
        raise UserError("--input is required: image files, folders or globs")
    video.check_fps(FLAGS.fps, inputs)
    jobs, folder = _targets(inputs, FLAGS.output)
    jobs, refused = _usable_jobs(jobs, folder, FLAGS.overwrite)
    if not jobs and not refused:  # a rerun of a finished batch: no network to build
        print("nothing to do: every output exists (--overwrite redoes them)", flush=True)
        return common.EXIT_OK
    models = common.split_list(FLAGS.model)
    trained_any_style = len(models) == 1 and workdir_arch(models[0]) == ARBITRARY  # nst-train-fast --arch=arbitrary
    arbitrary = models == [ARBITRARY] or trained_any_style
    if ARBITRARY in models and not arbitrary:
        raise UserError("--model=arbitrary cannot be combined with other models; give several --style instead")
    styles = common.split_list(FLAGS.style)
    regions = styles if arbitrary else models
    style_masks = None
    if config.style_masks or (len(models) > 1 and not arbitrary):
        from nst_tf.masks import load_mask

        what = "--style" if arbitrary else "--model"
        if not config.style_masks or len(config.style_masks) != len(regions):
            given = len(config.style_masks or ())
            raise UserError(f"{given} --style_masks for {len(regions)} {what}; give one mask per {what[2:]}")
        style_masks = [load_mask(m) for m in config.style_masks]
    if not arbitrary:
        _check_trained_only(config)
    from nst_tf.fast import apply  # imports TensorFlow: after the checks, so mistakes are answered at once

    if arbitrary:
        stylizers = _arbitrary_stylizers(config, styles, per_region=style_masks is not None,
                                         n_inputs=len(jobs),
                                         weights_source=models[0] if trained_any_style else "published")
    else:
        stylizers = [apply.load_stylizer(m) for m in models]
    manifest = batch.load_manifest(folder / "manifest.json" if folder else None)
    manifest["settings"] = {"model": models, "style": styles, **dataclasses.asdict(config)}
    manifest["refused"] = refused
    for src, dst in jobs:
        try:
            ms, n_frames = _apply_one(apply, stylizers, style_masks, config, src, dst)
        except UserError as exc:
            if folder is None:
                raise
            print(f"{PROG}: warning: refused {src}: {exc}", file=sys.stderr, flush=True)
            refused[str(src)] = str(exc)
        else:
            print(f"wrote {dst} ({n_frames} frame{'s' if n_frames > 1 else ''}, {ms:.0f} ms per frame)", flush=True)
            key = str(dst.relative_to(folder)) if folder else dst.name  # frames: shot_styled/%04d.png
            manifest["outputs"][key] = {"input": str(src), "frames": n_frames, "ms_per_frame": round(ms, 1)}
        if folder is not None:
            files.write_json(folder / "manifest.json", manifest)
    if refused:
        return common.fail(PROG, batch.refused_summary(refused, folder / "manifest.json"),
                           code=common.EXIT_SOME_REFUSED)
    return common.EXIT_OK


def _stylize_frames(apply, stylizers, style_masks, config, frames) -> list:
    """Float frames in, stylised (masked, post-processed) float frames out, in batches."""
    outs = [apply.stylize_arrays(s, frames, config.batch_size) for s in stylizers]
    if style_masks is None:
        out = outs[0]
    else:
        out = [apply.composite([o[i] for o in outs], style_masks, f, config.feather) for i, f in enumerate(frames)]
    return [apply.postprocess(o, f, config.preserve_colors, config.blend) for o, f in zip(out, frames)]


def _apply_video(apply, stylizers, style_masks, config, src, dst) -> tuple:
    """Stream a video through the network(s), frames blended along the motion; returns (ms per frame, frames)."""
    from nst_tf.temporal import TemporalBlender

    blender = TemporalBlender(config.temporal_weight)
    t0, shown = time.perf_counter(), time.perf_counter()
    with video.open_video(src, FLAGS.fps) as clip, video.open_writer(dst, like=clip) as out:
        total, chunk = clip.frame_count, []

        def flush():
            frames = [f.astype(np.float32) / 255.0 for f in chunk]
            frames = [images.resize(f, config.size) for f in frames] if config.size else frames
            for photo, styled in zip(frames, _stylize_frames(apply, stylizers, style_masks, config, frames)):
                out.write(images.to_uint8(blender(photo, styled)))
            chunk.clear()

        for frame in clip.frames():
            chunk.append(frame)
            if len(chunk) >= config.batch_size:
                flush()
                if time.perf_counter() - shown > 2.0:
                    shown, done = time.perf_counter(), out.frames_written
                    fps = done / (shown - t0)
                    eta = f", about {max(0.0, (total - done) / fps):.0f} s left" if total > done else ""
                    print(f"  frame {done}{f'/{total}' if total else ''}, {fps:.1f} frames/s{eta}", flush=True)
        flush()
        n = out.frames_written
    if n == 0:
        raise UserError(f"{src} holds no video frames")
    return (time.perf_counter() - t0) * 1000 / n, n


def _apply_one(apply, stylizers, style_masks, config, src, dst) -> tuple:
    """Stylise one file (every frame of an animation or video); returns (ms per frame, frames)."""
    if video.is_video(src):
        return _apply_video(apply, stylizers, style_masks, config, src, dst)
    frames, durations = apply.read_frames(src)
    if config.size:
        frames = [images.resize(f, config.size) for f in frames]
    t0 = time.perf_counter()
    out = _stylize_frames(apply, stylizers, style_masks, config, frames)
    if len(out) > 1 and config.temporal_weight:
        from nst_tf.temporal import TemporalBlender

        blender = TemporalBlender(config.temporal_weight)
        out = [blender(f, o) for f, o in zip(frames, out)]
    ms = (time.perf_counter() - t0) * 1000 / len(frames)
    if durations is not None and dst.suffix.lower() in (".gif", ".webp"):
        apply.save_animation(out, durations, dst, FLAGS.overwrite)
    else:
        images.save_image(out[0], dst, overwrite=FLAGS.overwrite)
    return ms, len(frames)


def run():
    common.run_app(PROG, main)


if __name__ == "__main__":
    run()
