"""The UN library export format: one UTF-8 file per document.

Line 1 is ``%%%DESCRIPTOR|DESCRIPTOR|`` (UNBIS English preferred labels or
other headings, each followed by ``|``), line 2 is empty, then the full text.
The file name without its extension is the document id.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

from fahras.corpus.document import Document
from fahras.corpus.report import ReadReport, SeenIds, log, max_document_bytes, size_error
from fahras.textfile import HEADER, decode_utf8, parse_subject_header
from fahras.errors import InputError
from fahras.store.names import NameSet, portable_name



def looks_like_export(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(3) == HEADER.encode()
    except OSError:
        return False


def parse_export(raw: bytes, path: str | Path, doc_id: str | None = None) -> Document:
    """Parse one export-format document; errors name the file and line."""
    text = decode_utf8(raw, path)
    first, sep, rest = text.partition("\n")
    first = first.rstrip("\r")
    if not first.startswith(HEADER):
        raise InputError('missing "%%%" subject header on line 1 (expected %%%DESCRIPTOR|DESCRIPTOR|)', path, 1)
    second, _, body = rest.partition("\n")
    if second.strip():
        raise InputError("line 2 must be empty (a blank line separates the subject header from the text)",
                         path, 2)
    if not body.strip():
        raise InputError("empty text: nothing after the subject header", path, 3)
    subjects = parse_subject_header(first)
    name = doc_id if doc_id is not None else Path(path).stem
    return Document(id=name, text=body, subjects=subjects, metadata={"path": str(path)})


def read_export_file(path: str | Path, max_bytes: int | None = None) -> Document:
    """One export-format file; files over ``max_bytes`` (see :func:`max_document_bytes`) are refused."""
    path = Path(path)
    limit = max_document_bytes(max_bytes)
    try:
        with path.open("rb") as handle:
            raw = handle.read(limit + 1)
            if len(raw) > limit:
                handle.seek(0, 2)
                raise size_error(handle.tell(), limit, path)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path) from None
    return parse_export(raw, path)


def iter_export_dir(folder: Path, report: ReadReport | None = None,
                    max_bytes: int | None = None) -> Iterator[Document]:
    """Every regular, non-hidden file of the folder (sorted by name) as a document.

    A bad file is skipped with a warning (or raised, with a strict ``report``).
    """
    report = report or ReadReport(strict=True)
    seen = SeenIds()
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise InputError(f"cannot list the folder: {exc.strerror or exc}", folder) from None
    for path in entries:
        if path.name.startswith("."):
            continue
        if not path.is_file():
            if path.is_dir():
                log.warning("%s: a folder inside the corpus folder; not read", path)
            continue
        try:
            doc = read_export_file(path, max_bytes)
            seen.check(doc, path.name, path)
        except InputError as error:
            report.skip(error)
            continue
        yield doc


def write_export(doc: Document, folder: str | Path) -> Path:
    """Write a document in the export format (used to build corpora and tests).

    The file is named after the id (:func:`fahras.store.names.portable_name`:
    an id from data never leaves the folder); an id whose name another file of
    the folder has but for case gets ``-2``... (a case-insensitive file system
    would otherwise hold one file for both); the same id again replaces its file.
    """
    folder = Path(folder)
    name = portable_name(doc.id, ".txt")
    present = os.listdir(folder)
    if name not in present and NameSet.key(name) in {NameSet.key(n) for n in present}:
        name = NameSet(present).claim(doc.id, ".txt")
    path = folder / name
    header = HEADER + "".join(f"{s}|" for s in doc.subjects)
    path.write_text(f"{header}\n\n{doc.text}", encoding="utf-8")
    return path
