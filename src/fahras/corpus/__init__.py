"""Corpus readers: every format streams :class:`Document` objects.

``read_corpus(path)`` picks the reader by what the path holds; pass ``fmt`` to
choose explicitly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

from fahras.corpus.document import Document
from fahras.corpus.report import MAX_DOCUMENT_BYTES, Corpus, ReadReport
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


def _export(path: Path, report: ReadReport, limit: int | None) -> Iterator[Document]:
    from fahras.corpus.unexport import iter_export_dir, read_export_file

    return iter_export_dir(path, report, limit) if path.is_dir() else _single(read_export_file, path, report, limit)


def _annif_dir(path: Path, report: ReadReport, limit: int | None) -> Iterator[Document]:
    from fahras.corpus.annif import iter_annif_dir

    return iter_annif_dir(path, report=report, max_bytes=limit)


def _annif_tsv(path: Path, report: ReadReport, limit: int | None) -> Iterator[Document]:
    from fahras.corpus.annif import iter_annif_tsv

    return iter_annif_tsv(path, report, limit)


def _jsonl(path: Path, report: ReadReport, limit: int | None) -> Iterator[Document]:
    from fahras.corpus.annif import iter_jsonl

    return iter_jsonl(path, report, limit)


def _single(read, path: Path, report: ReadReport, limit: int | None) -> Iterator[Document]:
    try:
        doc = read(path, limit)
    except InputError as error:
        report.skip(error)
        return
    yield doc


#: Format name -> reader (a path, the read report and the size limit in; documents out).
#: A new format is one more entry.
READERS: dict[str, Callable[[Path, ReadReport, int | None], Iterator[Document]]] = {
    "un-export": _export,
    "annif-dir": _annif_dir,
    "annif-tsv": _annif_tsv,
    "jsonl": _jsonl,
}
FORMATS = tuple(READERS)


def read_corpus(path: str | Path, fmt: str = "auto", strict: bool = False,
                max_document_bytes: int | None = None) -> Corpus:
    """Stream the documents of a corpus, one at a time, in a stable order.

    A bad document (see :mod:`fahras.corpus.report`) is skipped with a
    warning naming it and counted in the result's ``skipped``; with
    ``strict=True`` it raises :class:`InputError` instead.  Documents over
    ``max_document_bytes`` (default :data:`MAX_DOCUMENT_BYTES`) are bad.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("corpus not found", path)
    fmt = detect_format(path) if fmt == "auto" else fmt
    reader = READERS.get(fmt)
    if reader is None:
        raise InputError(f"unknown corpus format {fmt!r}; choose one of {', '.join(FORMATS)}", path)
    report = ReadReport(strict)
    return Corpus(reader(path, report, max_document_bytes), report)


__all__ = ["FORMATS", "MAX_DOCUMENT_BYTES", "READERS", "Corpus", "Document", "ReadReport", "detect_format",
           "read_corpus"]
