"""Corpus readers: every format streams :class:`Document` objects.

``read_corpus(path)`` picks the reader by what the path holds; pass ``fmt`` to
choose explicitly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from fahras.corpus.document import Document
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


def read_corpus(path: str | Path, fmt: str = "auto") -> Iterator[Document]:
    """Stream the documents of a corpus, one at a time, in a stable order."""
    path = Path(path)
    if not path.exists():
        raise InputError("corpus not found", path)
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "un-export":
        from fahras.corpus.unexport import iter_export_dir, read_export_file
        if path.is_dir():
            return iter_export_dir(path)
        return iter([read_export_file(path)])
    if fmt == "annif-dir":
        from fahras.corpus.annif import iter_annif_dir
        return iter_annif_dir(path)
    if fmt == "annif-tsv":
        from fahras.corpus.annif import iter_annif_tsv
        return iter_annif_tsv(path)
    if fmt == "jsonl":
        from fahras.corpus.annif import iter_jsonl
        return iter_jsonl(path)
    raise InputError(f"unknown corpus format {fmt!r}; choose one of {', '.join(FORMATS)}", path)


__all__ = ["FORMATS", "Document", "detect_format", "read_corpus"]
