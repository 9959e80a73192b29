"""Scratch folders of training that do not outlive a killed process.

Training writes large temporary files (the cross-fitting workers' features
and fitted models, omikuji's training file).  A folder made by
:func:`scratch_folder` is removed when its block ends, however it ends in
Python (``finally``); a process killed outright (SIGKILL, the out-of-memory
killer) cannot remove anything, so its folder's name carries its owner --
process id and that process's start time -- and the next
:func:`scratch_folder` of any process removes the folders of owners that no
longer run (:func:`sweep_stale`).  The start time tells a reused process id
from the owner.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from fahras.workers import pid_alive

log = logging.getLogger(__name__)

_OWNER = re.compile(r"^(?P<pid>\d+)-(?P<start>\d+)-")


def _start_time(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks after boot, Linux), 0 where unknown, None if it does not run."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return int(fields[19])  # the 22nd field of stat; the 3rd after the command name's ')'
    except FileNotFoundError:
        return None
    except (OSError, IndexError, ValueError):
        pass
    return 0 if pid_alive(pid) else None


def owner_tag(pid: int | None = None) -> str:
    """``PID-START``: who owns a scratch folder (this process by default)."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}-{_start_time(pid) or 0}"


def _owner_runs(pid: int, start: int) -> bool:
    now = _start_time(pid)
    return now is not None and (now == start or 0 in (now, start))


def sweep_stale(prefix: str, folder: Path | None = None) -> list[Path]:
    """Remove the ``prefix*`` scratch folders in ``folder`` (the temporary folder) whose owner no longer
    runs; returns what was removed.  Folders without an owner tag are left alone."""
    folder = Path(folder or tempfile.gettempdir())
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(prefix) or not entry.is_dir(follow_symlinks=False):
            continue
        match = _OWNER.match(entry.name[len(prefix):])
        if match is None or _owner_runs(int(match["pid"]), int(match["start"])):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        if not os.path.exists(entry.path):
            removed.append(Path(entry.path))
    if removed:
        log.info("removed %d scratch folder(s) left by killed training processes: %s", len(removed),
                 ", ".join(p.name for p in removed))
    return removed


@contextlib.contextmanager
def scratch_folder(prefix: str, folder: Path | None = None) -> Iterator[Path]:
    """A new private folder named ``prefix`` + this process's :func:`owner_tag`, removed when the block ends;
    stale folders of the same prefix are swept first."""
    sweep_stale(prefix, folder)
    path = Path(tempfile.mkdtemp(prefix=f"{prefix}{owner_tag()}-", dir=folder))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
