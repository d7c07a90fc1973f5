"""Applying feed-forward networks to files: images, animations, videos and frame folders, with
style masks and the temporal blend; batches with a manifest. ``nst-apply`` is this module's
:func:`apply_files` behind flags.

    from nst_tf.config import ApplyConfig
    from nst_tf.feedforward import apply
    report = apply.apply_files(ApplyConfig(), ["arbitrary"], ["photos/"], "styled/", styles=["wave.jpg"])
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from nst_tf import batch, colour, files, images, video
from nst_tf.config import ApplyConfig
from nst_tf.errors import UserError
from nst_tf.feedforward import animation, stylizers
from nst_tf.feedforward.outputs import check_bits, plan_outputs, usable_jobs

log = logging.getLogger("nst_tf")
Report = Callable[[str], None]


@dataclass
class Applier:
    """Stylizers (one, or one per mask region), the masks and the config: frames in, results out."""

    stylizers: list
    config: ApplyConfig
    masks: Optional[list] = None
    #: nst-apply recolours the result (a trained network's style is fixed; the any-style network's
    #: vector would have to be encoded again for every photo)
    histogram_on_result: bool = True

    def frames(self, frames: Sequence[np.ndarray]) -> list:
        """Float frames in, stylised (masked, post-processed) float frames out, in batches."""
        c = self.config
        outs = [s.stylize(frames, c.batch_size) for s in self.stylizers]
        if self.masks is None:
            out = outs[0]
        else:
            from nst_tf.masks import composite

            out = [composite([o[i] for o in outs], self.masks, f, c.feather) for i, f in enumerate(frames)]
        return [
            colour.postprocess(o, f, c.preserve_colors, c.blend, histogram_on_result=self.histogram_on_result)
            for o, f in zip(out, frames)
        ]

    def clip_frames(self) -> Callable[[list], list]:
        """:meth:`frames` for the frames of one clip, in order: kept on the networks' stride grid
        (:mod:`nst_tf.video.grid`) unless masks are placed or ``align_grid`` is off."""
        from nst_tf.video.grid import GridAligner, stylize_aligned

        if not self.config.align_grid or self.masks is not None:
            return self.frames
        aligner = GridAligner(max(s.tiled.multiple if s.tiled else 8 for s in self.stylizers))
        return lambda frames: stylize_aligned(list(frames), aligner, self.frames)

    def blender(self):
        """The temporal blend of a video or animation (a new one per clip)."""
        from nst_tf.video.temporal import TemporalBlender

        c = self.config
        return TemporalBlender(c.temporal_blend, denoise=c.temporal_denoise, hold=c.temporal_hold)

    def video(self, src, dst, fps: Optional[float], report: Report) -> tuple:
        """Stream a video through the network(s), frames blended along the motion; (ms per frame, frames)."""
        from nst_tf.video.stream import stylize_clip

        c = self.config
        t0, shown = time.perf_counter(), [time.perf_counter()]

        def progress(done: int, total: int) -> None:
            if time.perf_counter() - shown[0] > 2.0:
                shown[0] = time.perf_counter()
                rate = done / (shown[0] - t0)
                eta = f", about {max(0.0, (total - done) / rate):.0f} s left" if total > done else ""
                report(f"  frame {done}{f'/{total}' if total else ''}, {rate:.1f} frames/s{eta}")

        with video.open_video(src, fps) as clip, video.open_writer(dst, like=clip) as out:
            n = stylize_clip(
                clip,
                out,
                self.clip_frames(),
                self.blender(),
                c.batch_size,
                c.size,
                progress,
                name=str(src),
            )
        return (time.perf_counter() - t0) * 1000 / n, n

    def file(
        self, src, dst, *, fps: Optional[float] = None, overwrite: bool = False, report: Report = log.info
    ) -> tuple:
        """Stylise one file (every frame of an animation or video); returns (ms per frame, frames)."""
        if video.is_video(src):
            return self.video(src, dst, fps, report)
        if animation.frame_count(src) == 1:
            return self.still(src, dst, overwrite, report), 1
        c = self.config
        frames, durations = animation.read_frames(src)
        if c.size:
            frames = [images.resize(f, c.size) for f in frames]
        t0 = time.perf_counter()
        from nst_tf.video.stream import paint_in_order

        out = paint_in_order(frames, self.clip_frames(), self.blender())
        ms = (time.perf_counter() - t0) * 1000 / len(frames)
        if Path(dst).suffix.lower() in (".gif", ".webp"):
            animation.save_animation(out, durations, dst, overwrite)
        else:
            images.save_image(out[0], dst, overwrite=overwrite)
        return ms, len(frames)

    def still(self, src, dst, overwrite: bool = False, report: Report = log.info) -> float:
        """One still image at print size: painted at ``work_size``, brought to its own size with its
        detail (:mod:`~nst_tf.feedforward.print_size`), written with its colour profile, DPI and
        EXIF in ``bits`` per channel; returns the milliseconds of the painting."""
        from nst_tf import print_files
        from nst_tf.feedforward import print_size

        c = self.config
        photo, meta = print_files.read_photo(src)
        if c.size:
            photo = print_size.resize_uint8(photo, c.size)
        t0 = time.perf_counter()
        out = print_size.paint_print(photo, lambda f: self.frames([f])[0], c.work_size, bits=c.bits, report=report)
        ms = (time.perf_counter() - t0) * 1000
        print_files.write_print(out, dst, meta, bits=c.bits, overwrite=overwrite)
        return ms


def open_applier(
    config: ApplyConfig,
    models: Sequence[str],
    styles: Sequence = (),
    *,
    n_inputs: int = 1,
    save_style_vector=None,
    report: Report = log.info,
) -> Applier:
    """Check the models, styles and masks, then open the networks (this is where TensorFlow loads)."""
    models = [str(m) for m in models]
    any_style = stylizers.check_models(models)
    regions = styles if any_style else models
    masks = None
    if config.style_masks or (len(models) > 1 and not any_style):
        from nst_tf.masks import load_style_masks

        what = "--style" if any_style else "--model"
        if not config.style_masks or len(config.style_masks) != len(regions):
            given = len(config.style_masks or ())
            raise UserError(f"{given} --style_masks for {len(regions)} {what}; give one mask per {what[2:]}")
        masks = list(load_style_masks(config.style_masks))
    speed = {"precision": config.precision, "jit_compile": config.jit_compile, "n_images": n_inputs}
    if any_style:
        opened = stylizers.open_stylizers(
            models,
            styles,
            per_region=masks is not None,
            style_weights=config.style_weights,
            strength=config.strength,
            **speed,
        )
        report(opened[0].description)
        if save_style_vector and masks is None:
            from nst_tf.feedforward.anystyle_stylizer import save_vector

            report(f"wrote {save_vector(opened[0].vector, save_style_vector)} (style vector)")
    else:
        _check_trained_only(config, styles, save_style_vector)
        opened = stylizers.open_stylizers(models, **speed)
        for each in opened:
            report(each.description)
    return Applier(opened, config, masks)


def _check_trained_only(config: ApplyConfig, styles, save_style_vector) -> None:
    """Refuse the any-style options with a trained per-style network (its style is built in)."""
    given = [
        name
        for name, on in (
            ("--style", styles),
            ("--style_weights", config.style_weights),
            ("--strength", config.strength != 1.0),
            ("--save_style_vector", save_style_vector),
        )
        if on
    ]
    if given:
        raise UserError(
            f"{', '.join(given)} need --model=arbitrary; a trained network's style is built in "
            "(use --blend to weaken it)"
        )


def _images_in(src, fps) -> int:
    """How many images an input holds (a clip's frame count, as its container tells), for auto XLA."""
    if not video.is_video(src):
        return 1
    with video.open_video(src, fps) as clip:
        return max(1, clip.frame_count)


@dataclass
class ApplyReport:
    written: dict = field(default_factory=dict)  #: output -> {"input", "frames", "ms_per_frame"}
    refused: dict = field(default_factory=dict)  #: input -> reason
    manifest: Optional[Path] = None  #: a batch's manifest.json


def apply_files(
    config: ApplyConfig,
    models: Sequence[str],
    inputs: Sequence,
    output=None,
    *,
    styles: Sequence = (),
    fps: Optional[float] = None,
    overwrite: bool = False,
    save_style_vector=None,
    report: Report = log.info,
) -> ApplyReport:
    """Stylise files, folders and globs (``inputs``) into ``output`` (a file for one input, else a
    folder with a ``manifest.json``); existing outputs are skipped in a batch (refused alone)
    unless ``overwrite``. Unusable inputs of a batch are refused one by one, not the whole run."""
    stylizers.check_models(models)
    paths = images.expand_paths(inputs)
    if not paths:
        raise UserError("--input is required: image files, folders or globs")
    video.check_fps(fps, paths)
    jobs, folder = plan_outputs(paths, output, config.bits)
    check_bits(jobs, config.bits)
    jobs, refused = usable_jobs(jobs, folder, overwrite, fps, report)
    result = ApplyReport(refused=refused, manifest=folder / "manifest.json" if folder else None)
    if not jobs and not refused:  # a rerun of a finished batch: no network to build
        report("nothing to do: every output exists (--overwrite redoes them)")
        return result
    if save_style_vector and not overwrite and Path(save_style_vector).exists():
        raise UserError(
            f"{save_style_vector} already exists; pass --overwrite to replace it or choose another "
            "name for --save_style_vector"
        )
    applier = open_applier(
        config,
        models,
        styles,
        n_inputs=sum(_images_in(src, fps) for src, _ in jobs),
        save_style_vector=save_style_vector,
        report=report,
    )
    manifest = batch.load_manifest(result.manifest)
    manifest["settings"] = {
        "model": [str(m) for m in models],
        "style": [str(s) for s in styles],
        **dataclasses.asdict(config),
    }
    manifest["refused"] = refused
    for src, dst in jobs:
        try:
            ms, n_frames = applier.file(src, dst, fps=fps, overwrite=overwrite, report=report)
        except UserError as exc:
            if folder is None:
                raise
            log.warning("refused %s: %s", src, exc)  # stderr: "nst-apply: warning: refused ..."
            refused[str(src)] = str(exc)
        else:
            report(f"wrote {dst} ({n_frames} frame{'s' if n_frames > 1 else ''}, {ms:.0f} ms per frame)")
            key = str(dst.relative_to(folder)) if folder else dst.name  # frames: shot_styled/%04d.png
            entry = {"input": str(src), "frames": n_frames, "ms_per_frame": round(ms, 1)}
            manifest["outputs"][key] = result.written[str(dst)] = entry
        if folder is not None:
            files.write_json(result.manifest, manifest)
    return result
