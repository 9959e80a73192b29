"""Atomic writes of single files (corpus documents, caches, state files, downloads' neighbours).

A file is written under a temporary name beside it and renamed into place,
so a reader sees the old content or the new, never part of it, and a crash
leaves no half-written file under the real name.  The temporary file is
made with mode 0666 minus the umask (``tempfile.mkstemp`` would make it
0600, and the renamed file with it), so outputs are as readable as any
other file the user writes.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_file_atomic(path: str | Path, data: str | bytes, *, durable: bool = True) -> None:
    """``path`` holds ``data`` (text is written as UTF-8, newlines as given) whole, or is left as it was.

    ``durable`` flushes the file to disk before the rename, so the new
    content survives a power cut once this returns.
    """
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"no free temporary name beside {path}")
    try:
        try:
            view = memoryview(raw)
            while view:
                view = view[os.write(fd, view):]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
