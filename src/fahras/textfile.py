"""Document files' bytes as text: strict UTF-8 decoding and the UN export header line.

A low module (it imports only :mod:`fahras.errors`): the corpus readers and
text extraction both read document files, neither through the other.
"""

from __future__ import annotations

from pathlib import Path

from fahras.errors import InputError

#: What the first line of a UN export file starts with.
HEADER = "%%%"


def decode_utf8(raw: bytes, path: str | Path, first_line: int = 1) -> str:
    """Decode bytes as UTF-8 (a leading BOM dropped) or fail naming the line of the first bad byte.

    ``first_line`` is the line number of the first byte, for callers that
    decode a file line by line.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = first_line + raw.count(b"\n", 0, exc.start)
        raise InputError(f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                         "save the file as UTF-8", path, line) from None
    return text[1:] if text.startswith("\ufeff") else text


def parse_subject_header(line: str) -> tuple[str, ...]:
    """The descriptors of a ``%%%DESC|DESC|`` header line (the ``%%%`` prefix is expected)."""
    return tuple(s.strip() for s in line.rstrip("\r")[len(HEADER):].split("|") if s.strip())
