"""Many Gatys runs at once: every (content, style) pair, or each content with one blended style.

    from nst_tf import StylizeConfig, batch
    outcome = batch.run_batch(["a.jpg", "b.jpg"], ["starry.jpg", "wave.jpg"], StylizeConfig(size=256),
                              "results/")

One result goes to a file; several go to a folder with ``manifest.json`` (settings, and per
output its inputs, final losses, steps, time) and ``sheet.jpg`` (rows: contents; columns:
styles). A rerun skips outputs that exist (``overwrite=False``), so an interrupted batch
resumes where it stopped. In a batch, an input that cannot be used (broken, unreadable, too
large) is refused alone: its reason is logged and recorded under ``refused`` in the manifest,
and every other job still runs. The CLI ``nst-stylize``, the Python API and the notebooks share this.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

from nst_tf import files, images, sheet
from nst_tf.config import StylizeConfig
from nst_tf.errors import UserError

log = logging.getLogger("nst_tf")

SHEET_CELL = 192  #: contact-sheet cell side [px]


@dataclasses.dataclass
class Job:
    content: Path
    styles: list
    output: Path
    name: str


@dataclasses.dataclass
class BatchOutcome:
    written: list  #: outputs written in this call
    skipped: list  #: outputs that existed and were kept
    interrupted: bool  #: Ctrl-C (or SIGTERM in the CLI) stopped a run; its latest image was written
    folder: Optional[Path]  #: the output folder of a batch (None for a single output)
    refused: dict = dataclasses.field(default_factory=dict)  #: input path or output name -> reason


def check_inputs(paths, load: Callable = None) -> tuple:
    """Decode each input once; returns (usable paths, {path: reason} for the others).

    ``load`` is the loader whose :class:`UserError` means "refuse this input"
    (default :func:`nst_tf.images.load_image`)."""
    load = load or images.load_image
    good, refused = [], {}
    for path in dict.fromkeys(paths):
        try:
            load(path)
            good.append(path)
        except UserError as exc:
            refused[str(path)] = str(exc)
            log.warning("refused %s: %s", path, exc)
    return good, refused


def refused_summary(refused: dict, where) -> str:
    """One line for the end of a run that refused some inputs."""
    n = len(refused)
    return f"{n} input{'s' if n > 1 else ''} refused (named above and in {where}); every other one was done"


def _stem(p) -> str:
    return Path(str(p)).stem


def plan_jobs(contents, styles, blend: bool, output=None) -> tuple:
    """The (content, styles) pairs to run and where each goes; returns (jobs, folder or None).

    One pair with no ``output`` or a file name: one file (default ``outputs/<content>_<style>.jpg``).
    Several pairs: files ``<content>__<style>.jpg`` in the folder ``output`` (default ``outputs/``).
    """
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


def snapshot_path(output: Path, step: int, scale: int = 1, scales: int = 1) -> Path:
    """Where an intermediate image goes: ``out.step00050.jpg``, or ``out.scale2.step00050.jpg``."""
    stage = f".scale{scale}" if scales > 1 else ""
    return output.with_name(f"{output.stem}{stage}.step{step:05d}{output.suffix}")


def load_manifest(path: Optional[Path]) -> dict:
    if path is None or not path.exists():
        return {"settings": {}, "outputs": {}}
    try:
        data = json.loads(path.read_text())
        data.setdefault("outputs", {})
        return data
    except (OSError, ValueError):
        raise UserError(f"{path} is not a valid manifest; move it away to start the batch afresh") from None


def write_batch_files(folder: Path, manifest: dict, jobs, contents, styles, blend: bool) -> None:
    """manifest.json and sheet.jpg: rows are contents, columns styles (or the blend)."""
    files.write_json(folder / "manifest.json", manifest)
    refused = manifest.get("refused", {})
    usable = lambda p: None if str(p) in refused else p  # noqa: E731  (a refused input shows as a blank cell)
    columns = [None] if blend else styles
    rows = [[None] + ([None] if blend else [usable(s) for s in styles])]
    for c in contents:
        row = [usable(c)]
        for s in columns:
            out = next((j.output for j in jobs if j.content == c and (blend or j.styles == [s])), None)
            row.append(out if out is not None and out.exists() else None)
        rows.append(row)
    images.save_image(sheet.contact_sheet(rows, cell=SHEET_CELL), folder / "sheet.jpg", overwrite=True)
    log.info("wrote %s and %s", folder / "manifest.json", folder / "sheet.jpg")


def _record(result, job: Job, config: StylizeConfig, blend: bool) -> dict:
    return {
        "content": str(job.content),
        "styles": [str(s) for s in job.styles],
        "style_weights": list(config.blend_weights(len(job.styles))) if blend else None,
        "style_masks": list(config.style_masks) if config.style_masks else None,
        "final_losses": result.history[-1] if result.history else None,
        "steps": result.steps_done,
        "seconds": round(result.seconds, 2),
        "interrupted": result.interrupted,
        "stopped_early": result.stopped_early,
        "recoveries": result.recoveries,
        "extractor": result.extractor,
        "speed": result.speed,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def _job_callbacks(job: Job, config: StylizeConfig, save_every: int, logdir) -> tuple:
    """Snapshot and TensorBoard callbacks of one job, and a function that closes them."""
    from nst_tf.monitor import TensorBoardLogger

    callbacks: list = []
    if save_every:

        def save_snapshot(info):
            if info.step % save_every == 0:
                images.save_image(
                    info.get_image(), snapshot_path(job.output, info.step, info.scale, info.scales), overwrite=True
                )

        callbacks.append(save_snapshot)
    tb = None
    if logdir is not None:
        tb = TensorBoardLogger(logdir, image_every=save_every or max(1, config.steps_at(config.scales) // 10))
        callbacks.append(tb)
    return callbacks, tb


def run_batch(
    contents: Sequence,
    styles: Sequence,
    config: StylizeConfig,
    output=None,
    *,
    overwrite: bool = False,
    save_every: int = 0,
    logdir=None,
    extractor=None,
    callbacks: Sequence[Callable] = (),
    verbose: bool = True,
) -> BatchOutcome:
    """Stylise every content with every style (or, with ``config.style_weights``, with their blend).

    ``contents`` and ``styles`` are image paths (see :func:`nst_tf.images.expand_paths` for
    folders and globs). Existing outputs are refused for a single output and skipped in a
    batch unless ``overwrite``. ``save_every`` writes intermediate images; ``logdir`` gets
    TensorBoard logs and ``loss_curve.png`` (one subfolder per output in a batch).
    """
    from nst_tf.gatys import build_extractor, stylize
    from nst_tf.monitor import save_loss_curve

    if save_every < 0:
        raise UserError(f"save_every must be 0 (off) or positive, got {save_every}")
    if logdir is not None:
        files.check_folder_writable(logdir, "choose another --logdir")
    blend = config.combines_styles
    if blend:
        config.blend_weights(len(styles))  # one weight per style image, checked before any work
    jobs, folder = plan_jobs(contents, styles, blend, output)
    batch = folder is not None
    todo, skipped = [], []
    for job in jobs:
        if batch and job.output.exists() and not overwrite:
            log.info("skipping %s (exists; --overwrite redoes it)", job.output)
            skipped.append(job.output)
            continue
        images.check_output_path(job.output, overwrite)
        todo.append(job)
    # Unreadable inputs are found now, not after building the network or halfway through a batch:
    # a single run refuses; a batch drops the jobs that need them and does the rest.
    needed = [j.content for j in todo] + [s for j in todo for s in j.styles]
    if not batch:
        for path in dict.fromkeys(needed):
            images.load_image(path)
        refused = {}
    else:
        _, refused = check_inputs(needed)
        if (
            refused
            and not skipped
            and all(str(j.content) in refused or any(str(s) in refused for s in j.styles) for j in todo)
        ):
            first = next(iter(refused.values()))
            raise UserError(f"none of the inputs could be used ({len(refused)} refused; the first: {first})")
        todo = [j for j in todo if str(j.content) not in refused and not any(str(s) in refused for s in j.styles)]

    manifest = load_manifest(folder / "manifest.json" if batch else None)
    manifest["settings"] = dataclasses.asdict(config)
    manifest["refused"] = dict(refused)
    if todo and extractor is None:
        extractor = build_extractor(config)
    outcome = BatchOutcome([], skipped, False, folder, refused)
    for i, job in enumerate(todo, start=1):
        if batch:
            log.info("[%d/%d] %s x %s -> %s", i, len(todo), job.content, ", ".join(map(str, job.styles)), job.output)
        job_logdir = None if logdir is None else (Path(logdir) / job.name if batch else Path(logdir))
        job_callbacks, tb = _job_callbacks(job, config, save_every, job_logdir)
        try:
            result = stylize(
                job.content,
                job.styles if blend else job.styles[0],
                config,
                extractor=extractor,
                callbacks=job_callbacks + list(callbacks),
                verbose=verbose,
            )
        except UserError as exc:
            if not batch:
                raise
            if tb is not None:
                tb.close()
            log.warning("refused %s: %s", job.output.name, exc)  # e.g. too large for memory: the others may fit
            outcome.refused[job.output.name] = str(exc)
            manifest["refused"][job.output.name] = str(exc)
            write_batch_files(folder, manifest, jobs, contents, styles, blend)
            continue
        images.save_image(result.image, job.output, overwrite=True)  # checked before starting
        outcome.written.append(job.output)
        if tb is not None:
            tb.close()
            save_loss_curve(result.history, job_logdir / "loss_curve.png", title=job.name)
        h, w = result.image.shape[:2]
        state = "interrupted, kept the latest image" if result.interrupted else "done"
        log.info(
            "wrote %s (%dx%d px, %d steps, %.1f s, %s)", job.output, w, h, result.steps_done, result.seconds, state
        )
        manifest["outputs"][job.output.name] = _record(result, job, config, blend)
        if batch:
            write_batch_files(folder, manifest, jobs, contents, styles, blend)
        if result.interrupted:
            outcome.interrupted = True
            break
    if batch and not todo:
        write_batch_files(folder, manifest, jobs, contents, styles, blend)
    return outcome
