"""Annif's corpus formats, so existing Annif corpora work unchanged.

- document directory: ``name.txt`` with ``name.tsv`` (``<uri>\\tlabel`` per
  line) or ``name.key`` (one label per line);
- short-text TSV: ``text<TAB><uri> <uri> ...`` per line (optionally gzipped);
- JSONL: ``{"id", "text", "subjects": [{"uri": ...} | {"label": ...}]}`` per line.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Iterator

from fahras.corpus.document import Document, decode_utf8
from fahras.errors import InputError


def _read_text(path: Path) -> str:
    try:
        return decode_utf8(path.read_bytes(), path)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path) from None


def _subject_file(txt: Path) -> Path | None:
    for suffix in (".tsv", ".key"):
        candidate = txt.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    return None


def looks_like_annif_dir(folder: Path) -> bool:
    return any(_subject_file(p) for p in folder.glob("*.txt"))


def _parse_subject_file(path: Path) -> tuple[str, ...]:
    subjects = []
    for line_no, line in enumerate(_read_text(path).splitlines(), 1):
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


def iter_annif_dir(folder: Path, require_subjects: bool = True) -> Iterator[Document]:
    for txt in sorted(folder.glob("*.txt")):
        if txt.name.startswith("."):
            continue
        subject_file = _subject_file(txt)
        if subject_file is None and require_subjects:
            raise InputError("no subject file (.tsv or .key) beside this document", txt)
        text = _read_text(txt)
        if not text.strip():
            raise InputError("empty text", txt, 1)
        subjects = _parse_subject_file(subject_file) if subject_file else ()
        yield Document(id=txt.stem, text=text, subjects=subjects, metadata={"path": str(txt)})


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            for number, raw in enumerate(handle, 1):
                yield number, decode_utf8(raw, path, number).rstrip("\r\n")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path) from None


def iter_annif_tsv(path: Path) -> Iterator[Document]:
    for number, line in _lines(path):
        if not line.strip():
            continue
        text, tab, subjects = line.rpartition("\t")
        if not tab:
            raise InputError("expected text<TAB><uri> <uri>... (no tab found)", path, number)
        if not text.strip():
            raise InputError("empty text", path, number)
        uris = []
        for token in subjects.split():
            if not (token.startswith("<") and token.endswith(">")):
                raise InputError(f"subject {token!r} is not a <uri>", path, number)
            uris.append(token[1:-1])
        yield Document(id=f"{path.stem}:{number}", text=text, subjects=tuple(uris),
                       metadata={"path": str(path), "line": number})


def iter_jsonl(path: Path) -> Iterator[Document]:
    for number, line in _lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON: {exc.msg} (column {exc.colno})", path, number) from None
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
            value = item.get("uri") or item.get("label") if isinstance(item, dict) else None
            if not isinstance(value, str) or not value.strip():
                raise InputError('each subject needs a "uri" or a "label"', path, number)
            subjects.append(value.strip())
        doc_id = str(record.get("id") or f"{path.stem}:{number}")
        yield Document(id=doc_id, text=text, subjects=tuple(subjects),
                       metadata={"path": str(path), "line": number})
