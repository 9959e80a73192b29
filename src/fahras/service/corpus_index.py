"""A project's corpus folder, listed once and looked up by key until the folder changes.

The queue and ``documents/{key}`` endpoints used to list the whole folder
(and, for a symbol, read the head of every text file) on every request.
:class:`CorpusIndex` keeps the listing and a map from document id (file
stem) and file name to file; it lists the folder again only when the
folder's modification time changes (a file added, removed or renamed).  A
symbol is read from a file's head once and kept while the file's size and
modification time stay the same, so a lookup by symbol reads only files that
are new or changed since the last one.  A modification time less than
:data:`SETTLE_NS` old is not trusted (file systems keep times in clock ticks:
a second change in the same tick would not show), so what changed in the
last two seconds is read again.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

#: how old a modification time must be before the listing or symbol it stamps is kept
SETTLE_NS = 2_000_000_000


def _settled(mtime_ns: int) -> bool:
    return time.time_ns() - mtime_ns >= SETTLE_NS


class CorpusIndex:
    """The document files of one folder, by id, name and symbol (thread-safe)."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._files: list[Path] = []
        self._by_key: dict[str, Path] = {}
        self._symbols: dict[Path, tuple[tuple[int, int], str | None]] = {}

    def _current(self) -> tuple[list[Path], dict[str, Path]]:
        from fahras.batch import documents_in

        folder = self.folder
        try:
            info = folder.stat() if folder is not None else None
        except OSError:
            info = None
        if info is None or not folder.is_dir():
            return [], {}
        stamp = (info.st_ino, info.st_mtime_ns)
        with self._lock:
            if stamp == self._stamp:
                return self._files, self._by_key
        try:
            files = documents_in(folder)
        except OSError:
            return [], {}
        by_key: dict[str, Path] = {}
        for path in files:  # by name order: the first file of a stem wins, as before
            by_key.setdefault(path.stem, path)
            by_key.setdefault(path.name, path)
        with self._lock:
            self._stamp = stamp if _settled(info.st_mtime_ns) else None
            self._files, self._by_key = files, by_key
            kept = set(files)
            self._symbols = {p: v for p, v in self._symbols.items() if p in kept}
        return files, by_key

    def files(self) -> list[Path]:
        """The folder's document files, by name (empty when there is no folder)."""
        return list(self._current()[0])

    def find(self, key: str) -> Path | None:
        """The file whose id (stem) or name is ``key``."""
        return self._current()[1].get(key)

    def find_symbol(self, key: str) -> Path | None:
        """The first plain-text file (by name) whose symbol is ``key``."""
        for path in self._current()[0]:
            if path.suffix.lower() in ("", ".txt") and self._symbol(path) == key:
                return path
        return None

    def _symbol(self, path: Path) -> str | None:
        try:
            info = path.stat()
        except OSError:
            return None
        stamp = (info.st_size, info.st_mtime_ns)
        with self._lock:
            known = self._symbols.get(path)
        if known is not None and known[0] == stamp:
            return known[1]
        symbol = _symbol_of(path)
        if _settled(info.st_mtime_ns):
            with self._lock:
                self._symbols[path] = (stamp, symbol)
        return symbol


def _symbol_of(path: Path) -> str | None:
    from fahras.text.furniture import find_symbol

    try:
        with open(path, "rb") as file:
            head = file.read(20000)
    except OSError:
        return None
    return find_symbol(head.decode("utf-8", "replace"))
