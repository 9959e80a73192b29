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
    decode a file line by line.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = first_line + raw.count(b"\n", 0, exc.start)
        raise InputError(f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                         "save the file as UTF-8", path, line) from None
    return text[1:] if text.startswith("\ufeff") else text
