"""The results folder of nst-web (``--results_dir``): each finished job's PNG (MP4 for a video) with a JSON record
beside it, so results survive a restart. Names are the server's job ids, never anything from a
request."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Optional

from nst_tf.errors import UserError
from nst_tf.files import check_folder_writable, data_dir, write_json


def suffix(method: str) -> str:
    """A result's file type: an MP4 clip for video jobs, else a PNG picture."""
    return ".mp4" if method == "video" else ".png"


def default_folder() -> Path:
    """``web-results`` in nst_tf's data folder (``$XDG_DATA_HOME/nst_tf``, else ``~/.local/share/nst_tf``)."""
    return data_dir() / "web-results"


def prepare(folder: Path) -> None:
    """Create ``folder`` if needed; refuse one that cannot be written, in one line."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(
            f"cannot create the results folder {folder}: {exc.strerror}; choose another --results_dir"
        ) from None
    check_folder_writable(folder, "choose another --results_dir")


def keep_record(job) -> Path:
    """Write the JSON record of a finished job beside its picture."""
    record = {
        "id": job.id,
        "params": dataclasses.asdict(job.params),
        "style_name": job.style_name,
        "steps": job.steps,
        "created": job.created,
        "started": job.started,
        "finished": job.finished,
        "result_size": list(job.result_size),
    }
    return write_json(job.result_path.with_suffix(".json"), record)


def revive(job_class, record: dict, picture: Path):
    """A finished ``job_class`` (:class:`nst_tf.web.jobs.Job`) read back from its record."""
    import threading

    from nst_tf.web.params import JobParams

    job = job_class.__new__(job_class)
    job.__dict__.update(
        id=record["id"], state="done", stage="done", step=record["steps"], steps=record["steps"], progress=1.0,
        eta_s=0.0, error=None, created=record["created"], started=record["started"], finished=record["finished"],
        preview=None, preview_step=record["steps"], result_path=picture, result_size=tuple(record["result_size"]),
        style_name=record.get("style_name"), content=None, style=None, clip=None, _cancel=threading.Event(),
        params=JobParams(**record["params"]),
    )  # fmt: skip
    return job


def earlier(folder: Path) -> list:
    """``[(record, picture)]`` of the finished jobs in ``folder``, oldest first; a record without its
    picture, or one that does not read, is skipped (and left alone)."""
    prepare(folder)
    found = []
    for record_path in folder.glob("*.json"):
        try:
            record = json.loads(record_path.read_text())
            picture = record_path.with_suffix(suffix(record["params"]["method"]))
            ok = record["id"] == record_path.stem and picture.is_file() and float(record["finished"]) > 0
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if ok:
            found.append((record, picture))
    return sorted(found, key=lambda item: item[0]["finished"])


def size_of(path: Optional[Path]) -> int:
    try:
        return path.stat().st_size if path else 0
    except OSError:
        return 0


def remove(path: Optional[Path]) -> None:
    """A result's picture and its record."""
    if path:
        path.unlink(missing_ok=True)
        path.with_suffix(".json").unlink(missing_ok=True)
