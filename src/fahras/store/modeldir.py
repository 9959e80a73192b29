"""Atomic writes of model directories and JSON files.

A model is written into a temporary sibling directory, flushed to disk, and
only then swapped into place, so a reader sees either the old model or the
new one, never half of one.  On Linux the swap is one ``renameat2(RENAME_EXCHANGE)``:
the model folder exists at every instant (elsewhere, two renames).  Temporary
folders are named ``.NAME.tmp-PID-HEX`` / ``.NAME.old-PID-HEX``; a save first
removes the ones whose process is gone (a run killed with SIGKILL).

Every model folder carries ``checksums.json`` (SHA-256 and size of each other
file); :func:`verify_checksums` checks it when the model is read.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import time
from pathlib import Path
from typing import Iterator

from fahras.errors import ModelError
from fahras.workers import pid_alive

log = logging.getLogger(__name__)

CHECKSUMS_FILE = "checksums.json"
CHECKSUMS_FORMAT = "fahras-checksums"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_LEGACY_STALE_SECONDS = 3600  # leftovers of older Fahras versions (no pid in the name)


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
        folder = target.parent / f".{target.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            folder.mkdir(mode=0o777)
            return folder
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {target}")


def remove_stale_siblings(target: Path) -> list[Path]:
    """Remove ``.NAME.tmp-*`` / ``.NAME.old-*`` folders beside ``target`` whose owning process is gone.

    The owner's pid is in the name; a folder of a live process is never
    touched.  Names without a pid (older Fahras) go once they are an hour old.
    """
    removed = []
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.(?:tmp|old)-(?:(\d+)-)?[0-9a-f]{{8}}$")
    try:
        siblings = list(target.parent.iterdir())
    except OSError:
        return removed
    for sibling in siblings:
        match = pattern.match(sibling.name)
        if not match or not sibling.is_dir() or sibling.is_symlink():
            continue
        if match.group(1) is not None:
            pid = int(match.group(1))
            if pid == os.getpid() or pid_alive(pid):
                continue
        else:
            try:
                if time.time() - sibling.stat().st_mtime < _LEGACY_STALE_SECONDS:
                    continue
            except OSError:
                continue
        shutil.rmtree(sibling, ignore_errors=True)
        if not sibling.exists():
            removed.append(sibling)
            log.info("removed %s, left by an interrupted save", sibling)
    return removed


_renameat2 = None


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    global _renameat2
    if _renameat2 is None:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            func = libc.renameat2
            func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
            func.restype = ctypes.c_int
            _renameat2 = func
        except (OSError, AttributeError):
            _renameat2 = False
    if _renameat2 is False:
        return False
    if _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # old kernel or a file system without exchange: the two renames
    raise OSError(err, os.strerror(err), str(b))


def check_model_target(target: str | Path) -> None:
    """Raise ModelError if ``target`` could not take a model: a file, a non-empty non-model folder.

    Cheap, meant to run before a long training (the save checks again).
    """
    target = Path(target)
    if target.is_symlink() and not target.exists():
        raise ModelError(f"{target} is a dangling link; refusing to write a model there")
    if target.exists():
        if not target.is_dir():
            raise ModelError(f"{target} is a file, not a model folder; refusing to replace it")
        if not (target / "manifest.json").is_file() and any(target.iterdir()):
            raise ModelError(f"{target} exists and is not a Fahras model; refusing to replace it")


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _model_files(folder: Path) -> list[str]:
    names = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            rel = os.path.relpath(os.path.join(root, name), folder).replace(os.sep, "/")
            if rel != CHECKSUMS_FILE:
                names.append(rel)
    return names


#: Files at least this large are remembered once verified (smaller ones are hashed every time: it costs nothing).
VERIFIED_MIN_BYTES = 1 << 18
_VERIFIED_MAX_ENTRIES = 4096


class _VerifiedFiles:
    """Model files already verified on this machine, by path and the identity of what is there now.

    Hashing a large model's files took 0.9 s of every cold load at 671,000
    yso titles (604 MB).  A file whose SHA-256 matched is remembered with its
    device, inode, size, modification and change times (nanoseconds); while
    all of these are the same, the file has not been written, replaced or
    renamed over since, and it is not hashed again.  Any write changes the
    change time (which no program can set back), any replacement the inode, so
    a damaged or swapped file is still found.  The record is a JSON file in
    the user's cache folder (``$FAHRAS_CACHE_DIR``, else ``$XDG_CACHE_HOME/fahras``,
    else ``~/.cache/fahras``), written atomically; if it cannot be read or
    written, every file is hashed as before.
    """

    def __init__(self, path: Path | None, entries: dict):
        self.path, self.entries, self.changed = path, entries, False

    @classmethod
    def open(cls) -> "_VerifiedFiles":
        path = _cache_folder()
        if path is None:
            return cls(None, {})
        path = path / "verified-model-files.json"
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(entries, dict):
                entries = {}
        except (OSError, ValueError):
            entries = {}
        return cls(path, entries)

    @staticmethod
    def _identity(path: Path) -> list | None:
        try:
            st = path.stat()
        except OSError:
            return None
        if st.st_size < VERIFIED_MIN_BYTES:
            return None
        return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]

    def get(self, path: Path, sha256) -> bool:
        """Whether ``path`` was verified with ``sha256`` and has not changed since."""
        if self.path is None or not isinstance(sha256, str):
            return False
        entry = self.entries.get(str(path.resolve()))
        identity = self._identity(path)
        return identity is not None and entry == [*identity, sha256]

    def add(self, path: Path, sha256) -> None:
        identity = self._identity(path)
        if self.path is None or identity is None or not isinstance(sha256, str):
            return
        key = str(path.resolve())
        self.entries.pop(key, None)
        self.entries[key] = [*identity, sha256]
        while len(self.entries) > _VERIFIED_MAX_ENTRIES:
            self.entries.pop(next(iter(self.entries)))
        self.changed = True

    def save(self) -> None:
        if not self.changed or self.path is None:
            return
        from fahras.store.files import write_file_atomic

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_file_atomic(self.path, json.dumps(self.entries), durable=False)
        except OSError as exc:
            log.debug("could not record verified model files in %s: %s", self.path, exc)
        self.changed = False


def _cache_folder() -> Path | None:
    base = os.environ.get("FAHRAS_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "fahras"
    home = os.path.expanduser("~")
    return None if home in ("", "~") else Path(home) / ".cache" / "fahras"


def write_checksums(folder: Path) -> None:
    """Write ``checksums.json``: SHA-256 and size of every other file in ``folder`` (relative paths)."""
    files = {rel: {"sha256": _file_digest(folder / rel), "size": (folder / rel).stat().st_size}
             for rel in _model_files(folder)}
    write_json(folder / CHECKSUMS_FILE, {"format": CHECKSUMS_FORMAT, "algorithm": "sha256", "files": files})


def verify_checksums(folder: str | Path) -> bool:
    """Check ``folder`` against its ``checksums.json``; raise one ModelError naming the first bad file.

    Returns False (with a warning in the log) for a model written before
    checksums existed, True when every file matches.
    """
    folder = Path(folder)
    path = folder / CHECKSUMS_FILE
    if not path.exists():
        log.warning("%s has no %s (written by an older Fahras): its files are unverified; "
                    "retrain or re-save it to add one", folder, CHECKSUMS_FILE)
        return False
    data = read_json(path)
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict) or data.get("format") != CHECKSUMS_FORMAT:
        raise ModelError(f"{path}: not a checksum manifest; the model is damaged")
    present = set(_model_files(folder))
    known = _VerifiedFiles.open()
    for rel in sorted(files):
        entry = files[rel]
        where = folder / rel
        if rel not in present:
            raise ModelError(f"{where}: missing from the model (listed in {CHECKSUMS_FILE}); the model is damaged")
        if not isinstance(entry, dict):
            raise ModelError(f"{path}: bad entry for {rel}; the model is damaged")
        size = where.stat().st_size
        if size != entry.get("size"):
            raise ModelError(f"{where}: size {size} bytes, expected {entry.get('size')} "
                             f"(truncated or modified); the model is damaged")
        if known.get(where, entry.get("sha256")):
            continue  # verified before, and not changed since (see _VerifiedFiles)
        if _file_digest(where) != entry.get("sha256"):
            raise ModelError(f"{where}: checksum mismatch (modified or swapped); the model is damaged")
        known.add(where, entry.get("sha256"))
    known.save()
    extra = sorted(present - set(files))
    if extra:
        raise ModelError(f"{folder / extra[0]}: not part of the model (absent from {CHECKSUMS_FILE}); "
                         f"the model folder was modified")
    return True


@contextlib.contextmanager
def atomic_directory(target: str | Path, checksums: bool = True) -> Iterator[Path]:
    """Yield a fresh temporary folder; on success it replaces ``target``.

    With ``checksums``, ``checksums.json`` is written over the folder's files
    just before the swap.
    """
    target = Path(target).absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_siblings(target)
    check_model_target(target)
    tmp = _fresh_sibling(target, "tmp")
    try:
        yield tmp
        if checksums:
            write_checksums(tmp)
        _fsync_tree(tmp)
        if target.exists():
            check_model_target(target)
            if _exchange(tmp, target):
                # tmp now holds the old model (or the link that was the target).
                if tmp.is_symlink():
                    tmp.unlink()
                else:
                    shutil.rmtree(tmp, ignore_errors=True)
            else:
                old = _fresh_sibling(target, "old")
                os.rename(target, old / "model")
                os.rename(tmp, target)
                shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, target)
        _fsync_dir(target.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path.parent}: not a Fahras model (missing {path.name})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: unreadable ({exc})") from None
