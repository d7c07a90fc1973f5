"""nst_tf.files: atomic writes keep the earlier file on failure; JSON; where the cache lives."""

import os
from pathlib import Path

import pytest

from nst_tf import files
from nst_tf.errors import UserError


def test_atomic_write_replaces_whole_or_not_at_all(tmp_path):
    target = tmp_path / "sub" / "out.bin"
    files.atomic_write(target, lambda fh: fh.write(b"one"))
    assert target.read_bytes() == b"one"

    def broken(fh):
        fh.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        files.atomic_write(target, broken)
    assert target.read_bytes() == b"one"  # the earlier file, untouched
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.bin"]  # no temp file left
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~files.current_umask())


def test_write_errors_name_the_file_asked_for_not_the_temporary_one(tmp_path, monkeypatch):
    target = tmp_path / "out.jpg"

    def full_disk(fh):
        raise OSError(28, "No space left on device")  # a write to an open file names no file

    with pytest.raises(OSError) as info:
        files.atomic_write(target, full_disk)
    assert info.value.errno == 28 and info.value.filename == str(target)

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / ".out.jpg.x1.tmp"))

    # the temp file cannot be created (here: its folder vanished): the error names the target
    monkeypatch.setattr(files, "temp_name", lambda p, suffix=".tmp": tmp_path / "gone" / ".out.jpg.x1.tmp")
    with pytest.raises(FileNotFoundError) as info:
        files.atomic_write(target, lambda fh: fh.write(b"x"))
    assert info.value.filename == str(target)
    monkeypatch.setattr(files.tempfile, "mkdtemp", read_only)
    with pytest.raises(PermissionError) as info:
        files.atomic_write_dir(tmp_path / "saved", lambda path: None)
    assert info.value.filename == str(tmp_path / "saved")


def test_write_json_and_folder_checks(tmp_path):
    path = files.write_json(tmp_path / "m.json", {"a": 1, "p": tmp_path})
    assert path.read_text().startswith("{\n") and str(tmp_path) in path.read_text()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UserError, match="choose another"):
        files.check_folder_writable(blocker / "below", "choose another")


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("NST_TF_CACHE", str(tmp_path / "c"))
    assert files.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("NST_TF_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert files.cache_dir() == tmp_path / "x" / "nst_tf"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert files.cache_dir() == Path(os.path.expanduser("~")) / ".cache" / "nst_tf"
