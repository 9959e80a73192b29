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



def map_file(path: str | Path):
    """The bytes of ``path`` as they are now, without reading them into memory: a read-only memory map
    (``b""`` for an empty file).

    For the large parts of a loaded model that are read again only when it is saved (omikuji's trees)
    or when first needed (arrays only explanations read).  The map keeps the file's content as it was
    when mapped even if the folder is later deleted or replaced by a new model (Fahras replaces files
    and folders by renaming, never rewrites them in place; a file truncated in place by another program
    would make reading the map fail).  The pages count towards the process's memory only once read.
    """
    import mmap

    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            return b""
        return mmap.mmap(handle.fileno(), size, access=mmap.ACCESS_READ)
