"""Document files' bytes as text: strict UTF-8 decoding and the UN export header line.

A low module (it imports only :mod:`fahras.errors`): the corpus readers and
text extraction both read document files, neither through the other.
"""

from __future__ import annotations

import os
from pathlib import Path

from fahras.errors import InputError, UsageError

#: What the first line of a UN export file starts with.
HEADER = "%%%"


#: Documents larger than this many bytes are refused (skipped with a warning by
#: corpus readers, an error for :func:`fahras.text.extract`): analysing one
#: takes about 15 times its size in memory.  ``FAHRAS_MAX_DOCUMENT_BYTES``
#: overrides it; readers and :func:`~fahras.text.extract` take a parameter too.
MAX_DOCUMENT_BYTES = 50 * 2**20

def max_document_bytes(value: int | None = None) -> int:
    """``value``, else ``FAHRAS_MAX_DOCUMENT_BYTES`` from the environment, else :data:`MAX_DOCUMENT_BYTES`."""
    if value is None:
        raw = os.environ.get("FAHRAS_MAX_DOCUMENT_BYTES", "").strip()
        if not raw:
            return MAX_DOCUMENT_BYTES
        try:
            value = int(raw)
        except ValueError:
            raise UsageError(f"FAHRAS_MAX_DOCUMENT_BYTES={raw!r} is not a number of bytes") from None
    if value < 1:
        raise UsageError(f"the maximum document size must be at least 1 byte, not {value}")
    return value


def size_error(size: int, limit: int, path, line: int | None = None) -> InputError:
    return InputError(f"document of {_mb(size)} is larger than the limit of {_mb(limit)} "
                      "(set FAHRAS_MAX_DOCUMENT_BYTES to change it)", path, line)


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n:,} bytes"


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


def parse_subject_header(line: str) -> tuple[str, ...]:
    """The descriptors of a ``%%%DESC|DESC|`` header line (the ``%%%`` prefix is expected)."""
    return tuple(s.strip() for s in line.rstrip("\r")[len(HEADER):].split("|") if s.strip())
