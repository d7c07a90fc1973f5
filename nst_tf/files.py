"""Atomic file writes: a temp file in the target folder, fsync, then rename.

A reader never sees a half-written file, and a failed write (disk full, Ctrl-C) leaves
neither a partial file nor the temp file behind.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

from nst_tf.errors import UserError


def check_folder_writable(folder, fix: str) -> None:
    """Refuse, before any work, a folder that cannot be created or written: its nearest existing
    ancestor must be a writable directory. ``fix`` ends the message (what the user should do)."""
    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"cannot create the folder {folder}: {existing} is a file; {fix}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"cannot write to the folder {existing}; {fix}")


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def temp_name(path: Path, suffix: str = ".tmp") -> Path:
    """A hidden, unused-looking name beside ``path`` for a file being written (chosen before the
    file exists, so whoever removes it on an interruption knows it whenever the interruption lands)."""
    return path.parent / f".{path.name}.{secrets.token_hex(4)}{suffix}"


def atomic_write(path, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(fh)`` on a temp file next to ``path``, then move it into place. The temp file is
    named before it is created, inside the ``try``: a stop signal landing anywhere (even as the file
    is being created) leaves nothing behind."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = str(temp_name(p))
    try:
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())  # created 0600 while being written; give the usual permissions
        os.replace(tmp, p)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError) and exc.filename in (tmp, None):
            raise _naming(exc, p) from None
        raise
    return p


def _naming(exc: OSError, path: Path) -> OSError:
    """The same error about ``path``, the file the caller asked for, not the hidden temporary one
    (a full disk or a read-only folder is reported as "cannot write outputs/a.jpg")."""
    return type(exc)(exc.errno, exc.strerror or str(exc), str(path))


def write_json(path, data) -> Path:
    """Write ``data`` as indented JSON, atomically."""
    text = json.dumps(data, indent=2, sort_keys=False, default=str) + "\n"
    return atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def atomic_write_dir(directory, write: Callable[[str], None]) -> Path:
    """Write a folder (a SavedModel) through ``write(path)`` beside ``directory`` and swap it in,
    so an interrupted write leaves an earlier folder of that name intact."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    except OSError as exc:
        raise _naming(exc, directory) from None
    try:
        write(str(tmp / "new"))
        if directory.exists():
            shutil.rmtree(directory)
        (tmp / "new").rename(directory)
    except OSError as exc:
        if exc.filename is None or str(tmp) in str(exc.filename):
            raise _naming(exc, directory) from None
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return directory


def cache_dir() -> Path:
    """Where nst_tf keeps what it measured or converted once: ``$NST_TF_CACHE``, else
    ``$XDG_CACHE_HOME/nst_tf``, else ``~/.cache/nst_tf``."""
    if os.environ.get("NST_TF_CACHE"):
        return Path(os.environ["NST_TF_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nst_tf"


def data_dir() -> Path:
    """Where nst_tf keeps what a user made and may want again: ``$XDG_DATA_HOME/nst_tf``, else
    ``~/.local/share/nst_tf``."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "nst_tf"
