"""What corpus readers skipped: bad documents are warned about, counted, and left out.

A reader meets a bad document (empty text, bytes that are not UTF-8, a broken
subject header, a bad line of a TSV or JSONL file, a document over the size
limit, a duplicate id): with ``strict=False`` (the default) it logs one
warning naming the file and line, counts it in its :class:`ReadReport`, and
goes on with the next document; with ``strict=True`` it raises the
:class:`~fahras.errors.InputError` instead.
"""

from __future__ import annotations

import logging
import os
from typing import Iterator

from fahras.corpus.document import Document
from fahras.errors import InputError, UsageError
from fahras.textfile import MAX_DOCUMENT_BYTES, max_document_bytes, size_error  # noqa: F401  (re-exported)

log = logging.getLogger("fahras.corpus")

#: How many skipped documents' errors a report keeps (the count goes on).
KEPT_ERRORS = 1000




class ReadReport:
    """The bad documents a reader skipped (``strict=False``) or the switch that makes them errors."""

    def __init__(self, strict: bool = False):
        self.strict = strict
        self.skipped = 0
        self.errors: list[InputError] = []  # the first KEPT_ERRORS

    def skip(self, error: InputError) -> None:
        """Raise ``error`` if strict; else warn about it and count it."""
        if self.strict:
            raise error
        self.skipped += 1
        if len(self.errors) < KEPT_ERRORS:
            self.errors.append(error)
        log.warning("skipped %s", error)


class Corpus:
    """An iterator of :class:`Document` that knows what it skipped (``skipped``, ``errors``)."""

    def __init__(self, documents: Iterator[Document], report: ReadReport):
        self._documents = documents
        self.report = report

    def __iter__(self) -> "Corpus":
        return self

    def __next__(self) -> Document:
        return next(self._documents)

    @property
    def skipped(self) -> int:
        return self.report.skipped

    @property
    def errors(self) -> list[InputError]:
        return self.report.errors


class SeenIds:
    """Document ids met so far: a repeated one is a bad document (it would overwrite the first's output)."""

    def __init__(self):
        self._first: dict[str, str] = {}

    def check(self, doc: Document, where: str, path, line: int | None = None) -> None:
        first = self._first.setdefault(doc.id, where)
        if first != where:
            raise InputError(f"duplicate document id {doc.id!r} (first in {first})", path, line)
