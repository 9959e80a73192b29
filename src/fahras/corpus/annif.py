"""Annif's corpus formats, so existing Annif corpora work unchanged.

- document directory: ``name.txt`` with ``name.tsv`` (``<uri>\\tlabel`` per
  line) or ``name.key`` (one label per line);
- short-text TSV: ``text<TAB><uri> <uri> ...`` per line (optionally gzipped);
- JSONL: ``{"id", "text", "subjects": [{"uri": ...} | {"label": ...}]}`` per line.
"""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path
from typing import Iterator

from fahras.corpus.document import Document, decode_utf8
from fahras.corpus.report import ReadReport, SeenIds, max_document_bytes, size_error
from fahras.errors import InputError


def _read_text(path: Path, limit: int) -> str:
    try:
        with path.open("rb") as handle:
            raw = handle.read(limit + 1)
            if len(raw) > limit:
                handle.seek(0, 2)
                raise size_error(handle.tell(), limit, path)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path) from None
    return decode_utf8(raw, path)


def _subject_file(txt: Path) -> Path | None:
    for suffix in (".tsv", ".key"):
        candidate = txt.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    return None


def looks_like_annif_dir(folder: Path) -> bool:
    return any(_subject_file(p) for p in folder.glob("*.txt"))


def _parse_subject_file(path: Path, limit: int) -> tuple[str, ...]:
    subjects = []
    for line_no, line in enumerate(_read_text(path, limit).splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        if path.suffix == ".tsv":
            uri = line.split("\t", 1)[0].strip()
            if uri.startswith("<"):
                if not uri.endswith(">"):
                    raise InputError(f"unterminated URI {uri!r}", path, line_no)
                uri = uri[1:-1]
            subjects.append(uri)
        else:
            subjects.append(line)
    return tuple(subjects)


def iter_annif_dir(folder: Path, require_subjects: bool = True, report: ReadReport | None = None,
                   max_bytes: int | None = None) -> Iterator[Document]:
    report = report or ReadReport(strict=True)
    limit = max_document_bytes(max_bytes)
    for txt in sorted(folder.glob("*.txt")):
        if txt.name.startswith("."):
            continue
        try:
            subject_file = _subject_file(txt)
            if subject_file is None and require_subjects:
                raise InputError("no subject file (.tsv or .key) beside this document", txt)
            text = _read_text(txt, limit)
            if not text.strip():
                raise InputError("empty text", txt, 1)
            subjects = _parse_subject_file(subject_file, limit) if subject_file else ()
        except InputError as error:
            report.skip(error)
            continue
        yield Document(id=txt.stem, text=text, subjects=subjects, metadata={"path": str(txt)})


def _lines(path: Path, report: ReadReport, limit: int) -> Iterator[tuple[int, str]]:
    """The file's lines, decoded, numbered from 1; a bad line is skipped (see ``report``).

    Lines are read at most ``limit`` bytes at a time: a longer line is skipped
    without being held in memory.  A file that cannot be read on (a truncated
    or corrupt gzip stream) ends with one skip naming the line reached.
    """
    try:
        handle = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path) from None
    number = 0
    try:
        with handle:
            while True:
                raw = handle.readline(limit + 1)
                if not raw:
                    return
                number += 1
                if len(raw) > limit and not raw.endswith(b"\n"):
                    size = len(raw)
                    while raw and not raw.endswith(b"\n"):
                        raw = handle.readline(1 << 20)
                        size += len(raw)
                    report.skip(size_error(size, limit, path, number))
                    continue
                try:
                    text = decode_utf8(raw, path, number)
                except InputError as error:
                    report.skip(error)
                    continue
                yield number, text.rstrip("\r\n")
    except (OSError, EOFError, zlib.error) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        report.skip(InputError(f"cannot read on ({reason}); the rest of the file is left out", path, number + 1))


def iter_annif_tsv(path: Path, report: ReadReport | None = None, max_bytes: int | None = None) -> Iterator[Document]:
    report = report or ReadReport(strict=True)
    for number, line in _lines(path, report, max_document_bytes(max_bytes)):
        if not line.strip():
            continue
        try:
            yield _tsv_document(path, number, line)
        except InputError as error:
            report.skip(error)


def _tsv_document(path: Path, number: int, line: str) -> Document:
    text, tab, subjects = line.rpartition("\t")
    if not tab:
        raise InputError("expected text<TAB><uri> <uri>... (no tab found)", path, number)
    if not text.strip():
        raise InputError("empty text", path, number)
    uris = []
    for token in subjects.split():
        if not (token.startswith("<") and token.endswith(">")) or len(token) < 3:
            raise InputError(f"subject {token[:80]!r} is not a <uri>", path, number)
        uris.append(token[1:-1])
    return Document(id=f"{path.stem}:{number}", text=text, subjects=tuple(uris),
                    metadata={"path": str(path), "line": number})


def iter_jsonl(path: Path, report: ReadReport | None = None, max_bytes: int | None = None) -> Iterator[Document]:
    report = report or ReadReport(strict=True)
    seen = SeenIds()
    for number, line in _lines(path, report, max_document_bytes(max_bytes)):
        if not line.strip():
            continue
        try:
            doc = _jsonl_document(path, number, line)
            seen.check(doc, f"line {number}", path, number)
        except InputError as error:
            report.skip(error)
            continue
        yield doc


def _jsonl_document(path: Path, number: int, line: str) -> Document:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg} (column {exc.colno})", path, number) from None
    except RecursionError:
        raise InputError("invalid JSON: nested too deeply", path, number) from None
    if not isinstance(record, dict):
        raise InputError("expected a JSON object", path, number)
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InputError('field "text" is missing or empty', path, number)
    subjects = []
    raw_subjects = record.get("subjects", [])
    if not isinstance(raw_subjects, list):
        raise InputError('field "subjects" must be a list', path, number)
    for item in raw_subjects:
        value = (item.get("uri") or item.get("label")) if isinstance(item, dict) else None
        if not isinstance(value, str) or not value.strip():
            raise InputError('each subject needs a "uri" or a "label"', path, number)
        subjects.append(value.strip())
    raw_id = record.get("id")
    if raw_id is not None and not isinstance(raw_id, (str, int)):
        raise InputError('field "id" must be a string or a number', path, number)
    doc_id = str(raw_id).strip() if raw_id is not None and str(raw_id).strip() else f"{path.stem}:{number}"
    return Document(id=doc_id, text=text, subjects=tuple(subjects),
                    metadata={"path": str(path), "line": number})
