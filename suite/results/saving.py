"""Writing results so that nothing saved before can be lost.

pytest-benchmark's own saving truncates or overwrites in place and numbers files by
looking at what exists, so two runs at once can pick the same number. Here every file
is written to a temporary name in the same folder, flushed to disk, and only then
given its final name: :func:`write_atomic` renames over a file the caller owns;
:func:`save_run` links under a new number and never replaces anything.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from suite.results.history import RUN_FILE

#: What a saved run's name may contain (it becomes part of a file name).
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_temporary(folder: Path, data: bytes) -> Path:
    fd, name = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # what open() would have given, not mkstemp's 0600
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
    return Path(name)


def unwritable(folder: Path) -> str | None:
    """Why files cannot be saved in ``folder`` (created if missing), or ``None`` if they can.

    Asked before any work, so that a run or a report is not computed only to be lost.
    """
    if folder.exists() and not folder.is_dir():
        return f"{folder} is not a folder"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _write_temporary(folder, b"").unlink()
    except OSError as exc:
        return f"cannot write in {folder}: {exc.strerror or exc}"
    return None


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step: a reader (or a crash) sees the old file
    or the new one, never part of either."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _write_temporary(path.parent, data)
    try:
        temporary.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    _fsync_folder(path.parent)


def next_number(folder: Path) -> int:
    numbers = [int(m.group(1)) for p in folder.glob("*.json") if (m := RUN_FILE.match(p.name))]
    return max(numbers, default=0) + 1


def save_run(folder: Path, name: str, document: dict[str, Any]) -> Path:
    """Save ``document`` as ``folder/NNNN_<name>.json`` under the next free number.

    The number is claimed with a hard link, which fails if the name exists: two runs
    saving at once get different numbers, and no file is ever overwritten.
    """
    if not NAME.match(name):
        raise ValueError(f"a saved run's name must match {NAME.pattern}, got {name!r}")
    folder.mkdir(parents=True, exist_ok=True)
    data = json.dumps(document, indent=4, ensure_ascii=True, default=str).encode()
    temporary = _write_temporary(folder, data)
    try:
        number = next_number(folder)
        while True:
            final = folder / f"{number:04d}_{name}.json"
            try:
                os.link(temporary, final)
            except FileExistsError:
                number += 1
                continue
            break
    finally:
        temporary.unlink()
    _fsync_folder(folder)
    return final
