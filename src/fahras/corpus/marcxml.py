"""MARC 21 XML records, as the UN Digital Library serves them.

Bibliographic records carry what Fahras needs to build a training corpus:

=====  ==========================================================================
001    the record id
191    ``$a`` the document symbol (``S/RES/2532 (2020)``); a record may have several
245    ``$a`` title, ``$b`` remainder, ``$c`` statement of responsibility
269    the date (``2020-07-01`` or ``20200701``)
041    ``$a`` language codes (``eng``, ``fre``, ...)
650    subjects: ``$a`` the English preferred label in capitals, ``$0`` the
       authority record (``(DHLAUTH)274431``), ``$2`` the source (``unbist``)
651    geographic subjects, the same subfields
856    one per language file: ``$u`` the link (``...-EN.pdf``), ``$y`` the
       language name, ``$s`` the size in bytes
=====  ==========================================================================

Authority records (leader position 6 ``z``, or a 1XX heading and no 245) map
an authority id (001) to a thesaurus concept: ``035 $a`` holds the concept's
URI or its T-code; ``150``/``151 $a`` the English heading, ``4XX $a`` the
non-preferred forms.

Records come with or without a namespace (``{http://www.loc.gov/MARC21/slim}``,
declared as a default or as a prefix on every element) and may be wrapped in
other elements (``<collection>``, an API ``<response>``): every element whose
local name is ``record`` is a record.  Parsing streams (records are cleared
once read, and so are elements outside records).  Documents with a DTD or
entity declarations are refused: MARCXML never needs one, and refusing them
rules out entity-expansion and external entity attacks.  The check reads the
bytes, so the file must be in an ASCII-compatible encoding (UTF-8, Latin-1...):
UTF-16/32 or EBCDIC files are refused with a message (the Digital Library
serves UTF-8).  Elements nested deeper than :data:`MAX_DEPTH` are refused too
(MARCXML needs four levels), which bounds the parser's memory.
"""

from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator
from urllib.parse import unquote, urlparse

from fahras.errors import InputError

MARC_NS = "http://www.loc.gov/MARC21/slim"

#: ``-AR.pdf`` ... the language suffixes of the Digital Library's file names.
FILE_LANG = re.compile(r"-(AR|ZH|EN|FR|RU|ES)\.[A-Za-z0-9]+$", re.IGNORECASE)
_LANG_NAMES = {
    "arabic": "ar", "العربية": "ar", "chinese": "zh", "中文": "zh", "english": "en", "french": "fr",
    "francais": "fr", "français": "fr", "russian": "ru", "русский": "ru", "spanish": "es", "espanol": "es",
    "español": "es",
}
_LANG_CODES = {"ara": "ar", "chi": "zh", "zho": "zh", "eng": "en", "fre": "fr", "fra": "fr", "rus": "ru",
               "spa": "es", "ar": "ar", "zh": "zh", "en": "en", "fr": "fr", "ru": "ru", "es": "es"}
_AUTHORITY_REF = re.compile(r"^\(([^)]*)\)\s*(.+)$")
_TCODE = re.compile(r"^(?:\([^)]*\)\s*)?(T\d{5,})$")
_UNSAFE = re.compile(rb"<!(DOCTYPE|ENTITY)")
_DECLARED_ENCODING = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]{1,40})[\"']")
#: Deepest element nesting accepted (collection / record / datafield / subfield is 4).
MAX_DEPTH = 64


@dataclass(frozen=True)
class Subject:
    """One subject heading of a bibliographic record."""

    label: str
    authority: str | None = None   # authority record id, e.g. "274431" (from $0 "(DHLAUTH)274431")
    uri: str | None = None         # when $0 is itself a URI
    source: str | None = None      # $2, e.g. "unbist"
    tag: str = "650"


@dataclass(frozen=True)
class FileLink:
    """One full-text file of a record (856)."""

    url: str
    lang: str | None               # ar, zh, en, fr, ru, es (from the file name, else $y)
    language_name: str | None = None
    size: int | None = None

    @property
    def name(self) -> str:
        """The file name the link ends with (``A_RES_75_1-EN.pdf``)."""
        return unquote(urlparse(self.url).path.rstrip("/").rsplit("/", 1)[-1])


@dataclass(frozen=True)
class MarcRecord:
    """A bibliographic record, reduced to what a training corpus needs."""

    record_id: str
    symbols: tuple[str, ...] = ()
    title: str = ""
    date: str = ""
    languages: tuple[str, ...] = ()
    subjects: tuple[Subject, ...] = ()
    files: tuple[FileLink, ...] = ()
    position: int = 0              # 1-based order of the record in its file
    source: str = ""

    @property
    def symbol(self) -> str:
        return self.symbols[0] if self.symbols else ""


@dataclass(frozen=True)
class AuthorityRecord:
    """An authority record: authority id -> thesaurus URI or T-code, and its headings."""

    authority_id: str
    uri: str | None = None
    tcode: str | None = None
    label: str = ""
    alt_labels: tuple[str, ...] = ()
    position: int = 0
    source: str = ""


@dataclass
class ParseInfo:
    """What a parse learned besides the records: the wrapper's ``total`` and ``search_id``,
    and the leading ``Search-Engine-Total-Number-Of-Results`` comment."""

    total: int | None = None
    search_id: str | None = None
    records: int = 0
    extra: dict = field(default_factory=dict)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _text(value: str | None) -> str:
    return re.sub(r"\s+", " ", value or "").strip()


def _subfields(datafield: ET.Element) -> list[tuple[str, str]]:
    return [(sub.get("code", ""), _text(sub.text)) for sub in datafield if _local(sub.tag) == "subfield"]


def normalize_date(raw: str) -> str:
    """``20200701`` / ``2020-07-01`` / ``2020`` -> ISO ``2020-07-01`` / ``2020``; other text unchanged."""
    raw = raw.strip()
    match = re.fullmatch(r"(\d{4})-?(\d{2})?-?(\d{2})?", raw)
    if not match:
        return raw
    return "-".join(part for part in match.groups() if part)


def language_of_file(url: str, name: str | None = None) -> str | None:
    match = FILE_LANG.search(urlparse(url).path)
    if match:
        return match.group(1).lower()
    if name:
        return _LANG_NAMES.get(name.strip().lower())
    return None


def _record_from(element: ET.Element, position: int, source: str) -> MarcRecord | AuthorityRecord:
    leader = ""
    control: dict[str, str] = {}
    fields: list[tuple[str, list[tuple[str, str]]]] = []
    for child in element:
        name = _local(child.tag)
        if name == "leader":
            leader = child.text or ""
        elif name == "controlfield":
            control.setdefault(child.get("tag", ""), _text(child.text))
        elif name == "datafield":
            fields.append((child.get("tag", ""), _subfields(child)))
    tags = {tag for tag, _ in fields}
    record_id = control.get("001", "")
    is_authority = (len(leader) > 6 and leader[6] == "z") or (
        "245" not in tags and any(t in tags for t in ("100", "110", "111", "130", "150", "151", "155")))
    if is_authority:
        uri = tcode = None
        label = ""
        alts: list[str] = []
        for tag, subs in fields:
            values = [v for code, v in subs if code == "a" and v]
            if tag == "035":
                for value in values:
                    ref = _AUTHORITY_REF.match(value)
                    bare = ref.group(2).strip() if ref else value
                    if bare.startswith(("http://", "https://")):
                        uri = uri or bare
                    elif _TCODE.match(value):
                        tcode = tcode or _TCODE.match(value).group(1)
            elif tag in ("150", "151", "100", "110", "111", "130", "155") and values and not label:
                label = values[0]
            elif tag.startswith("4") and values:
                alts.extend(values)
            elif tag == "024":
                for code, value in subs:
                    if code in ("a", "0", "1") and value.startswith(("http://", "https://")):
                        uri = uri or value
        return AuthorityRecord(authority_id=record_id, uri=uri, tcode=tcode, label=label,
                               alt_labels=tuple(alts), position=position, source=source)

    symbols: list[str] = []
    title_parts: list[str] = []
    date = ""
    languages: list[str] = []
    subjects: list[Subject] = []
    files: list[FileLink] = []
    for tag, subs in fields:
        if tag == "191":
            symbols.extend(v for code, v in subs if code == "a" and v and v not in symbols)
        elif tag == "245" and not title_parts:
            # ISBD punctuation ends each part ("Resolution 2532 (2020) /"): drop it between parts.
            title_parts = [v.rstrip(" /:;=,") for code, v in subs if code in ("a", "b", "c") and v]
        elif tag == "269" and not date:
            date = normalize_date(next((v for code, v in subs if code == "a" and v), ""))
        elif tag == "041":
            for code, value in subs:
                if code == "a":
                    for chunk in re.findall(r"[a-z]{3}", value.lower()) or [value.lower()]:
                        lang = _LANG_CODES.get(chunk)
                        if lang and lang not in languages:
                            languages.append(lang)
        elif tag in ("650", "651"):
            label = next((v for code, v in subs if code == "a" and v), "")
            if not label:
                continue
            authority = uri = None
            for code, value in subs:
                if code == "0" and value:
                    if value.startswith(("http://", "https://")):
                        uri = value
                    else:
                        ref = _AUTHORITY_REF.match(value)
                        authority = ref.group(2).strip() if ref else value
            source_code = next((v for code, v in subs if code == "2" and v), None)
            subjects.append(Subject(label=label, authority=authority, uri=uri, source=source_code, tag=tag))
        elif tag == "856":
            url = next((v for code, v in subs if code == "u" and v), "")
            if not url:
                continue
            language_name = next((v for code, v in subs if code == "y" and v), None)
            size_text = next((v for code, v in subs if code == "s" and v), "")
            size = int(size_text) if size_text.isdigit() else None
            files.append(FileLink(url=url, lang=language_of_file(url, language_name),
                                  language_name=language_name, size=size))
    title = " ".join(title_parts).strip(" /:;,.")
    return MarcRecord(record_id=record_id, symbols=tuple(symbols), title=title, date=date,
                      languages=tuple(languages), subjects=tuple(subjects), files=tuple(files),
                      position=position, source=source)


_TOTAL_COMMENT = re.compile(r"Search-Engine-Total-Number-Of-Results:\s*(\d+)")


def _malformed(exc: ET.ParseError, name: str):
    line = exc.position[0] if getattr(exc, "position", None) else None
    message = str(exc).split(": line")[0]
    raise InputError(f"malformed XML: {message}", name, line) from None


def _check_encoding(head: bytes, name: str) -> None:
    """Refuse encodings in which the byte scan for ``<!DOCTYPE`` would not see it."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head[:4]:
        raise InputError("MARCXML in UTF-16 or UTF-32 is not read; save it as UTF-8", name, 1)
    match = _DECLARED_ENCODING.match(head)
    if match:
        encoding = match.group(1).decode("ascii")
        probe = "<!DOCTYPE <!ENTITY &;%\n"
        try:
            compatible = codecs.lookup(encoding) and probe.encode(encoding) == probe.encode("ascii")
        except (LookupError, UnicodeError, ValueError):
            compatible = False
        if not compatible:
            raise InputError(f"MARCXML declared in the encoding {encoding!r} is not read (not ASCII-compatible "
                             "or unknown); save it as UTF-8", name, 1)


def iter_marcxml_stream(stream: BinaryIO, name: str, info: ParseInfo | None = None,
                        chunk_size: int = 1 << 16) -> Iterator[MarcRecord | AuthorityRecord]:
    """Stream the records of a MARCXML byte stream; ``name`` names errors."""
    info = info if info is not None else ParseInfo()
    parser = ET.XMLPullParser(events=("start", "end", "comment"))
    depth_stack: list[str] = []
    elements: list[ET.Element] = []  # the open elements, outermost first
    position = 0
    line = 1
    tail = b""
    started = False
    while True:
        try:
            chunk = stream.read(chunk_size)
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}", name) from None
        if not started and chunk:
            started = True
            if chunk.startswith(b"\xef\xbb\xbf"):
                chunk = chunk[3:]
            _check_encoding(chunk, name)
        window = tail + chunk
        unsafe = _UNSAFE.search(window)
        if unsafe:
            bad_line = line + window.count(b"\n", 0, unsafe.start()) - tail.count(b"\n")
            raise InputError("refusing XML with a DTD or entity declarations (MARCXML needs none)",
                             name, max(bad_line, 1))
        line += chunk.count(b"\n")
        tail = window[-16:]
        try:
            if chunk:
                parser.feed(chunk)
            else:
                parser.close()
        except ET.ParseError as exc:
            _malformed(exc, name)
        events = parser.read_events()
        while True:
            try:
                event, element = next(events)
            except StopIteration:
                break
            except ET.ParseError as exc:  # the pull parser reports errors in order, after the events before them
                _malformed(exc, name)
            if event == "comment":
                match = _TOTAL_COMMENT.search(element.text or "")
                if match and info.total is None:
                    info.total = int(match.group(1))
                continue
            local = _local(element.tag)
            if event == "start":
                depth_stack.append(local)
                elements.append(element)
                if len(depth_stack) > MAX_DEPTH:
                    raise InputError(f"elements nested deeper than {MAX_DEPTH} levels (MARCXML needs 4)", name,
                                     _line_of(parser, line))
                continue
            depth_stack.pop()
            elements.pop()
            if "record" in depth_stack:
                continue  # part of a record, read when the record ends
            if local == "record":
                position += 1
                info.records = position
                yield _record_from(element, position, name)
            elif local == "total":
                text = (element.text or "").strip()
                if text.isdigit():
                    info.total = int(text)
            elif local == "search_id":
                info.search_id = (element.text or "").strip() or None
            # Done with it: drop it from its parent, so that a long file does not pile up elements.
            element.clear()
            if elements:
                elements[-1].remove(element)
        if not chunk:
            break


def _line_of(parser, fallback: int) -> int:
    """The parser's current line where the C parser tells it, else the last line fed."""
    inner = getattr(getattr(parser, "_parser", None), "parser", None)
    return getattr(inner, "CurrentLineNumber", None) or fallback


def iter_marcxml_bytes(data: bytes, name: str, info: ParseInfo | None = None) -> Iterator[MarcRecord | AuthorityRecord]:
    import io

    return iter_marcxml_stream(io.BytesIO(data), name, info)


def marcxml_files(path: str | Path) -> list[Path]:
    """The MARCXML files of ``path``: the file itself, or a folder's ``*.xml`` files (sorted, recursively)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".xml"
                       and not any(part.startswith(".") for part in p.relative_to(path).parts))
        if not files:
            raise InputError("no .xml files in this folder", path)
        return files
    if not path.is_file():
        raise InputError("MARCXML file not found", path)
    return [path]


def read_marcxml(paths: str | Path | Iterable[str | Path]) -> Iterator[MarcRecord | AuthorityRecord]:
    """Every record of a MARCXML file or folder (or several), in order."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    for given in paths:
        for path in marcxml_files(given):
            try:
                handle = open(path, "rb")
            except OSError as exc:
                raise InputError(f"cannot read: {exc.strerror or exc}", path) from None
            with handle:
                yield from iter_marcxml_stream(handle, str(path))
