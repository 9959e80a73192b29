"""Corpus readers: every format streams :class:`Document` objects.

``read_corpus(path)`` picks the reader by what the path holds; pass ``fmt`` to
choose explicitly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

from fahras.corpus.document import Document
from fahras.errors import InputError

#: Formats told from a file's name: format -> name endings.
_BY_NAME = {"jsonl": (".jsonl", ".jsonl.gz", ".ndjson"), "annif-tsv": (".tsv", ".tsv.gz")}


def detect_format(path: Path) -> str:
    if path.is_dir():
        from fahras.corpus.annif import looks_like_annif_dir
        return "annif-dir" if looks_like_annif_dir(path) else "un-export"
    name = path.name.lower()
    for fmt, endings in _BY_NAME.items():
        if name.endswith(endings):
            return fmt
    from fahras.corpus.unexport import looks_like_export
    if looks_like_export(path):
        return "un-export"
    raise InputError("cannot tell the corpus format: expected a folder, a .tsv, a .jsonl "
                     "or a file starting with %%% (use --format)", path)


def _export(path: Path) -> Iterator[Document]:
    from fahras.corpus.unexport import iter_export_dir, read_export_file

    return iter_export_dir(path) if path.is_dir() else iter([read_export_file(path)])


def _annif_dir(path: Path) -> Iterator[Document]:
    from fahras.corpus.annif import iter_annif_dir

    return iter_annif_dir(path)


def _annif_tsv(path: Path) -> Iterator[Document]:
    from fahras.corpus.annif import iter_annif_tsv

    return iter_annif_tsv(path)


def _jsonl(path: Path) -> Iterator[Document]:
    from fahras.corpus.annif import iter_jsonl

    return iter_jsonl(path)


#: Format name -> reader (a path in, documents out).  A new format is one more entry.
READERS: dict[str, Callable[[Path], Iterator[Document]]] = {
    "un-export": _export,
    "annif-dir": _annif_dir,
    "annif-tsv": _annif_tsv,
    "jsonl": _jsonl,
}
FORMATS = tuple(READERS)


def read_corpus(path: str | Path, fmt: str = "auto") -> Iterator[Document]:
    """Stream the documents of a corpus, one at a time, in a stable order."""
    path = Path(path)
    if not path.exists():
        raise InputError("corpus not found", path)
    fmt = detect_format(path) if fmt == "auto" else fmt
    reader = READERS.get(fmt)
    if reader is None:
        raise InputError(f"unknown corpus format {fmt!r}; choose one of {', '.join(FORMATS)}", path)
    return reader(path)


__all__ = ["FORMATS", "READERS", "Document", "detect_format", "read_corpus"]
