"""Plain text out of the files users give: .txt, UN export, .pdf, .docx, .html/.htm.

:func:`extract` reads a file, :func:`extract_bytes` takes its bytes and name.
Both return an :class:`ExtractedText`: the text with UN page furniture
removed (see :mod:`fahras.text.furniture`), the document symbol found in it,
its language (see :mod:`fahras.text.langid`) and where it came from.

A ``.txt`` file whose first line starts with ``%%%`` is in the UN library
export format: line 1 (the subject header) and the blank line 2 are not part
of the text; the header's subjects are kept in ``subjects``.

Whatever goes wrong (an unreadable, corrupt or encrypted file, a PDF without a
text layer, bytes that are not UTF-8, an unsupported extension) raises
:class:`fahras.errors.InputError` naming the file, and the line when there is
one; never a traceback from a parser.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from fahras.errors import InputError
from fahras.text.furniture import strip_furniture
from fahras.textfile import HEADER as EXPORT_HEADER, decode_utf8, max_document_bytes, parse_subject_header, size_error
from fahras.text.langid import detect_language

SUFFIXES = (".txt", ".pdf", ".docx", ".html", ".htm")


@dataclass(frozen=True)
class ExtractedText:
    """The text of one document and what was learnt while extracting it."""

    text: str
    symbol: str | None
    lang: str | None
    source: str
    subjects: tuple[str, ...] = ()


def extract(path: str | Path, strip: bool = True, detect: bool = True,
            max_bytes: int | None = None) -> ExtractedText:
    """Extract the text of the file at ``path`` (``strip=False`` keeps page furniture).

    ``detect=False`` skips language detection (``lang`` is then None), for
    callers that detect the language themselves.  Files over ``max_bytes``
    (default: :func:`fahras.corpus.report.max_document_bytes`, 50 MB) are
    refused without being read whole.
    """
    path = Path(path)
    limit = max_document_bytes(max_bytes)
    try:
        with open(path, "rb") as file:  # (no stat first: it cost as much as the read)
            data = file.read(limit + 1)
            if len(data) > limit:
                file.seek(0, 2)
                raise size_error(file.tell(), limit, path)
    except OSError as exc:
        if path.is_dir():
            raise InputError("is a folder, not a document", path) from None
        raise InputError(f"cannot read: {exc.strerror or exc}", path) from None
    return extract_bytes(data, str(path), strip=strip, detect=detect, max_bytes=limit)


def extract_bytes(data: bytes, filename: str, strip: bool = True, detect: bool = True,
                  max_bytes: int | None = None) -> ExtractedText:
    """Extract the text of a document given as bytes; ``filename`` picks the format and names errors.

    Documents over ``max_bytes`` (see :func:`extract`) are refused; so are
    DOCX files that would unpack to more than that (a "zip bomb") and PDFs
    whose text runs over it.
    """
    limit = max_document_bytes(max_bytes)
    if len(data) > limit:
        raise size_error(len(data), limit, filename)
    kind = _kind(data, filename)
    subjects: tuple[str, ...] = ()
    if kind == ".txt":
        text, subjects = _from_text(data, filename)
    elif kind == ".pdf":
        text = _from_pdf(data, filename, limit)
    elif kind == ".docx":
        text = _from_docx(data, filename, limit)
    else:
        text = _from_html(data, filename)
    symbol = None
    if strip:
        text, symbol = strip_furniture(text)
    if not text.strip():
        raise InputError("no text in the document", filename)
    return ExtractedText(text=text, symbol=symbol, lang=detect_language(text) if detect else None,
                         source=filename, subjects=subjects)


def _kind(data: bytes, filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    if suffix in SUFFIXES:
        return ".html" if suffix == ".htm" else suffix
    if suffix:
        raise InputError(f"unsupported file type {suffix!r}; Fahras reads {', '.join(SUFFIXES)}",
                         filename)
    head = data[:512].lstrip()
    if head.startswith(b"%PDF"):
        return ".pdf"
    if head.startswith(b"PK\x03\x04"):
        return ".docx"
    if head[:15].lower().startswith((b"<!doctype html", b"<html")):
        return ".html"
    return ".txt"


def _from_text(data: bytes, filename: str) -> tuple[str, tuple[str, ...]]:
    text = decode_utf8(data, filename)
    if not text.startswith(EXPORT_HEADER):
        return text, ()
    header, _, rest = text.partition("\n")
    subjects = parse_subject_header(header)
    second, newline, body = rest.partition("\n")
    if not second.strip():
        rest = body if newline else ""
    return rest, subjects


def _from_pdf(data: bytes, filename: str, limit: int) -> str:
    # pypdf logs every repair it makes to a damaged file; a user cannot act on that.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    import pypdf

    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputError("the PDF is encrypted; save an unencrypted copy", filename)
        pages, size = [], 0
        for page in reader.pages:
            pages.append(page.extract_text() or "")
            size += len(pages[-1])
            if size > limit:
                raise InputError(f"the PDF's text runs over the limit of {limit:,} characters "
                                 "(set FAHRAS_MAX_DOCUMENT_BYTES to change it)", filename)
    except InputError:
        raise
    except Exception as exc:  # pypdf raises many kinds of errors on damaged files
        raise InputError(f"cannot read PDF: {_reason(exc)}", filename) from None
    text = "\n".join(pages)
    if not text.strip():
        raise InputError("the PDF has no text layer (a scanned image?); run OCR on it first", filename)
    return text


def _from_docx(data: bytes, filename: str, limit: int) -> str:
    import docx
    from docx.table import Table

    _check_unpacked_size(data, filename, limit)
    try:
        document = docx.Document(io.BytesIO(data))
        parts = []
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                parts.extend(_table_rows(block))
            else:
                parts.append(block.text)
    except Exception as exc:  # zipfile, lxml and python-docx errors alike
        raise InputError(f"cannot read DOCX: {_reason(exc)}", filename) from None
    return "\n".join(parts)


def _check_unpacked_size(data: bytes, filename: str, limit: int) -> None:
    """Refuse a DOCX whose parts would unpack to more than ``limit`` bytes (python-docx reads them all).

    The sizes are those the zip's directory declares; reading stops at them,
    so a file that lies about them fails its CRC check instead.
    """
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise InputError(f"cannot read DOCX: {_reason(exc)}", filename) from None
    if unpacked > limit:
        raise InputError(f"the DOCX would unpack to {unpacked / 2**20:.1f} MB, over the limit of "
                         f"{limit / 2**20:.1f} MB (a zip bomb?); set FAHRAS_MAX_DOCUMENT_BYTES to change it",
                         filename)


def _table_rows(table) -> list[str]:
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) not in seen:  # a merged cell is listed once per grid column
                seen.add(id(cell._tc))
                cells.append(cell.text)
        rows.append("\t".join(cells))
    return rows


_BLOCKS = ("address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption",
           "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
           "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul", "caption")
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANKS = re.compile(r"\n{3,}")


def _from_html(data: bytes, filename: str) -> str:
    from bs4 import BeautifulSoup

    try:
        text = _html_text(BeautifulSoup(data, "html.parser"))
    except Exception as exc:
        raise InputError(f"cannot read HTML: {_reason(exc)}", filename) from None
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


_SKIPPED = frozenset(("script", "style", "noscript", "template", "head"))
_BLOCK_SET = frozenset(_BLOCKS)


def _html_text(soup) -> str:
    """The text of a parsed page: block elements on lines of their own, ``<br>`` a line break.

    Walks the tree with its own stack, without changing it: inserting line
    breaks into the tree (``insert_before``) looked for the end of each
    element's subtree, time growing with the square of the nesting depth
    (5,000 nested ``<div>`` took 20 s), and recursion would stop at Python's limit.
    """
    from bs4.element import CData, NavigableString, Tag

    parts: list[str] = []
    stack: list = [soup]
    while stack:
        node = stack.pop()
        if isinstance(node, str) and not isinstance(node, NavigableString):
            parts.append(node)  # a line break pushed after a block's children
        elif isinstance(node, Tag):
            if node.name in _SKIPPED:
                continue
            if node.name == "br":
                parts.append("\n")
            elif node.name in _BLOCK_SET:
                parts.append("\n")
                stack.append("\n")
            stack.extend(reversed(node.contents))
        elif type(node) is NavigableString or type(node) is CData:
            parts.append(str(node))
    return "".join(parts)


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
