"""Atomic writes of model directories and JSON files.

A model is written into a temporary sibling directory, flushed to disk, and
only then renamed into place, so a reader sees either the old model or the
new one, never half of one.  A crash leaves at most a ``.tmp-*`` folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Iterator

from fahras.errors import ModelError


def _fsync_tree(folder: Path) -> None:
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with open(os.path.join(root, name), "rb") as handle:
                os.fsync(handle.fileno())
        fd = os.open(root, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fresh_sibling(target: Path, kind: str) -> Path:
    """A new empty folder beside ``target`` whose permissions follow the umask.

    (``tempfile.mkdtemp`` makes 0700 folders: a model renamed from one could
    not be read by a colleague or a service account.)
    """
    for _ in range(100):
        folder = target.parent / f".{target.name}.{kind}-{secrets.token_hex(4)}"
        try:
            folder.mkdir(mode=0o777)
            return folder
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {target}")


@contextlib.contextmanager
def atomic_directory(target: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary folder; on success it replaces ``target``."""
    target = Path(target).absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _fresh_sibling(target, "tmp")
    try:
        yield tmp
        _fsync_tree(tmp)
        if target.exists():
            if not (target / "manifest.json").is_file() and any(target.iterdir()):
                raise ModelError(f"{target} exists and is not a Fahras model; refusing to replace it")
            old = _fresh_sibling(target, "old")
            os.rename(target, old / "model")
            os.rename(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path.parent}: not a Fahras model (missing {path.name})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: unreadable ({exc})") from None
