"""Corpus readers: every format streams :class:`Document` objects.

``read_corpus(path)`` picks the reader by what the path holds; pass ``fmt`` to
choose explicitly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from fahras.corpus.document import Document
from fahras.corpus.report import MAX_DOCUMENT_BYTES, Corpus, ReadReport
from fahras.errors import InputError

FORMATS = ("un-export", "annif-dir", "annif-tsv", "jsonl")


def detect_format(path: Path) -> str:
    if path.is_dir():
        from fahras.corpus.annif import looks_like_annif_dir
        return "annif-dir" if looks_like_annif_dir(path) else "un-export"
    name = path.name.lower()
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
        return "jsonl"
    if name.endswith((".tsv", ".tsv.gz")):
        return "annif-tsv"
    from fahras.corpus.unexport import looks_like_export
    if looks_like_export(path):
        return "un-export"
    raise InputError("cannot tell the corpus format: expected a folder, a .tsv, a .jsonl "
                     "or a file starting with %%% (use --format)", path)


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
    report = ReadReport(strict)
    limit = max_document_bytes
    if fmt == "un-export":
        from fahras.corpus.unexport import iter_export_dir, read_export_file
        if path.is_dir():
            return Corpus(iter_export_dir(path, report, limit), report)
        return Corpus(_single(read_export_file, path, report, limit), report)
    if fmt == "annif-dir":
        from fahras.corpus.annif import iter_annif_dir
        return Corpus(iter_annif_dir(path, report=report, max_bytes=limit), report)
    if fmt == "annif-tsv":
        from fahras.corpus.annif import iter_annif_tsv
        return Corpus(iter_annif_tsv(path, report, limit), report)
    if fmt == "jsonl":
        from fahras.corpus.annif import iter_jsonl
        return Corpus(iter_jsonl(path, report, limit), report)
    raise InputError(f"unknown corpus format {fmt!r}; choose one of {', '.join(FORMATS)}", path)


def _single(read, path: Path, report: ReadReport, limit: int | None):
    try:
        doc = read(path, limit)
    except InputError as error:
        report.skip(error)
        return
    yield doc


__all__ = ["FORMATS", "MAX_DOCUMENT_BYTES", "Corpus", "Document", "ReadReport", "detect_format", "read_corpus"]
