"""The one document type every corpus reader yields."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fahras.errors import InputError


@dataclass(frozen=True)
class Document:
    """A document: its id, full text and the subjects indexers gave it.

    ``subjects`` holds what the source says, as given: thesaurus URIs or
    labels.  Matching them against a vocabulary is the subject space's job.
    ``metadata`` carries what readers or extractors learn (document symbol,
    language, source file).
    """

    id: str
    text: str
    subjects: tuple[str, ...] = ()
    metadata: dict = field(default_factory=dict, compare=False)


def decode_utf8(raw: bytes, path: str | Path, first_line: int = 1) -> str:
    """Decode bytes as UTF-8 (a leading BOM dropped) or fail naming the line of the first bad byte.

    ``first_line`` is the line number of the first byte, for callers that
    decode a file line by line.  The message says what the bytes look like
    instead where that is clear: UTF-16 (a byte-order mark, or NUL bytes
    between letters), binary data (NUL bytes), Windows-1252 or Latin-1.
    """
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") and first_line == 1:
        raise InputError("the file is UTF-16 text (it starts with a UTF-16 byte-order mark); "
                         "save it as UTF-8", path, 1)
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = first_line + raw.count(b"\n", 0, nul)
        kind = "UTF-16 text without a byte-order mark" if _looks_utf16(raw) else "binary data"
        raise InputError(f"NUL byte at offset {nul}: this looks like {kind}, not UTF-8 text", path, line)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = first_line + raw.count(b"\n", 0, exc.start)
        hint = ""
        if _looks_single_byte(raw):
            hint = " (it looks like Windows-1252 or Latin-1 text)"
        raise InputError(f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}){hint}; "
                         "save the file as UTF-8", path, line) from None
    return text[1:] if text.startswith("\ufeff") else text


def _looks_utf16(raw: bytes) -> bool:
    """Whether NUL bytes fill every other byte of the first 200 (ASCII text in UTF-16)."""
    head = raw[:200]
    return len(head) >= 4 and (head[1::2].count(0) >= 0.8 * len(head[1::2])
                               or head[0::2].count(0) >= 0.8 * len(head[0::2]))


def _looks_single_byte(raw: bytes) -> bool:
    """Whether the bytes read as mostly-ASCII text in Windows-1252 (no control characters)."""
    sample = raw[:65536]
    try:
        text = sample.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return not any(ord(ch) < 32 and ch not in "\t\n\r\f" for ch in text)
