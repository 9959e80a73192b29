"""From MARCXML records and full texts to a training corpus (no network here).

Layout of a corpus folder ``OUT`` (the same for ``fahras corpus import`` and
``fahras corpus harvest``)::

    OUT/documents/NAME-EN.txt   one UN export document per record and language
    OUT/documents/NAME.txt      the title, for a record without any text (unless --require-text)
    OUT/records.jsonl           one line per record: symbol, record id, date, languages,
                                subjects (and how each was matched), file links and
                                what happened to each
    OUT/files/, OUT/marcxml/    (harvest only) the downloaded full texts and record pages

Train on ``OUT/documents``.  ``records.jsonl`` is appended to record by record
(each line flushed to disk), documents are written atomically, so an
interrupted run leaves a consistent folder and a rerun skips the records
already done (written, or without subjects).  Records skipped for lack of a
text or for their date are looked at again on a rerun; if the outcome
changes, a new line is appended, so the last line of a record counts.

Subjects are written as thesaurus URIs where the thesaurus knows them: by the
authority record (``$0`` -> authority record -> URI or T-code in its 035),
else by label (case and accents ignored, any language, alternative and hidden
labels included); headings the thesaurus lacks are kept as written (local
headings).  Without a thesaurus, authority URIs are still used and every
other heading is kept as written, to be matched at training time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable

from fahras.corpus.marcxml import AuthorityRecord, FileLink, MarcRecord, Subject, read_marcxml
from fahras.corpus.unexport import HEADER
from fahras.errors import InputError
from fahras.store.files import write_file_atomic
from fahras.store.names import safe_name
from fahras.vocab import Vocabulary

log = logging.getLogger(__name__)

LANGS = ("ar", "zh", "en", "fr", "ru", "es")
RECORDS_FILE = "records.jsonl"
DOCUMENTS_DIR = "documents"


def stored_file_name(link: FileLink) -> str:
    """The safe local name a downloaded full text is stored under (``S_RES_2532(2020)-EN.pdf``).

    A name that had to be changed to be safe, or that has lower-case letters, ends with a
    hash of its link: two links whose names differ only in case (or in characters
    a file name cannot hold) never share a file, even on a case-insensitive file system.
    """
    name = link.name or "file"
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, "pdf"
    safe = safe_name(stem)
    if safe != stem or safe != safe.upper():
        safe = safe_name(f"{safe}-{hashlib.sha1(link.url.encode('utf-8')).hexdigest()[:8]}")
    return f"{safe}.{safe_name(suffix)[:10].lower()}"


def _clean_descriptor(value: str) -> str:
    return re.sub(r"[|\r\n]+", " ", value).strip()


@dataclass
class BuildSummary:
    records_read: int = 0
    records_written: int = 0
    documents_written: int = 0
    title_documents: int = 0
    records_without_subjects: int = 0
    records_without_text: int = 0      # skipped with --require-text
    records_already_done: int = 0      # skipped on a rerun
    records_before_since: int = 0
    authority_records: int = 0
    subjects_by_authority: int = 0
    subjects_by_uri: int = 0
    subjects_by_label: int = 0
    subjects_local: int = 0
    texts_missing: int = 0
    texts_unreadable: int = 0
    texts_downloaded: int = 0
    pages: int = 0
    total: int | None = None

    @property
    def subjects_matched(self) -> int:
        return self.subjects_by_authority + self.subjects_by_uri + self.subjects_by_label

    def to_dict(self) -> dict:
        return {**asdict(self), "subjects_matched": self.subjects_matched}

    def lines(self) -> list[str]:
        out = [f"records read: {self.records_read}" + (f" (of {self.total} found)" if self.total is not None else ""),
               f"records written: {self.records_written} ({self.documents_written} documents, "
               f"{self.title_documents} of them titles only)",
               f"subjects matched to the thesaurus: {self.subjects_matched} (by authority record "
               f"{self.subjects_by_authority}, by URI {self.subjects_by_uri}, by label {self.subjects_by_label})",
               f"subjects kept as local headings: {self.subjects_local}",
               f"records without subjects (skipped): {self.records_without_subjects}",
               f"texts missing: {self.texts_missing}" + (f", unreadable: {self.texts_unreadable}"
                                                         if self.texts_unreadable else "")]
        if self.records_without_text:
            out.append(f"records without any text (skipped, --require-text): {self.records_without_text}")
        if self.records_already_done:
            out.append(f"records already done by an earlier run (skipped): {self.records_already_done}")
        if self.records_before_since:
            out.append(f"records dated before --since (skipped): {self.records_before_since}")
        if self.texts_downloaded:
            out.append(f"texts downloaded: {self.texts_downloaded}")
        return out


class SubjectResolver:
    """Subject heading -> descriptor to write (URI or heading) and how it was matched."""

    def __init__(self, vocab: Vocabulary | None = None, authorities: dict[str, AuthorityRecord] | None = None):
        self.vocab = vocab
        self.authorities = dict(authorities or {})

    def _by_authority(self, subject: Subject) -> str | None:
        record = self.authorities.get(subject.authority or "")
        if record is None:
            return None
        if self.vocab is None:
            return record.uri
        for key in (record.uri, record.tcode):
            if key:
                concept = self.vocab.get(key) or self.vocab.find(key)
                if concept is not None and not concept.local:
                    return concept.uri
        for label in (record.label, *record.alt_labels):
            concept = self.vocab.find(label) if label else None
            if concept is not None and not concept.local:
                return concept.uri
        return None

    def resolve(self, subject: Subject) -> tuple[str, str]:
        """``(descriptor, how)``; ``how`` is ``authority``, ``uri``, ``label`` or ``local``."""
        uri = self._by_authority(subject)
        if uri:
            return uri, "authority"
        if subject.uri and (self.vocab is None or subject.uri in self.vocab):
            return subject.uri, "uri"
        if self.vocab is not None:
            concept = self.vocab.find(subject.label)
            if concept is not None and not concept.local:
                return concept.uri, "label"
        return _clean_descriptor(subject.label), "local"


def write_json_atomic(path: Path, data) -> None:
    write_file_atomic(path, json.dumps(data, ensure_ascii=False, indent=1) + "\n")


TextSource = Callable[[MarcRecord, FileLink], tuple[str | None, str]]
"""Gives the text of one file of a record: ``(text, status)``; ``text`` None when there is none."""


class CorpusWriter:
    """Writes documents and ``records.jsonl`` into a corpus folder, resumably."""

    def __init__(self, out: str | Path, resolver: SubjectResolver, langs: Iterable[str] | None = None,
                 require_text: bool = False, summary: BuildSummary | None = None):
        self.out = Path(out)
        self.documents = self.out / DOCUMENTS_DIR
        try:
            self.documents.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the corpus folder: {exc.strerror or exc}", self.out) from None
        self.records_path = self.out / RECORDS_FILE
        self.resolver = resolver
        self.langs = tuple(langs) if langs else LANGS
        self.require_text = require_text
        self.summary = summary or BuildSummary()
        self.done: dict[str, dict] = {}
        self.owner: dict[str, str] = {}   # casefolded document name -> record id
        self._load()

    # -- resumption ----------------------------------------------------------------
    def _load(self) -> None:
        if not self.records_path.exists():
            return
        raw = self.records_path.read_bytes()
        if raw and not raw.endswith(b"\n"):  # a line cut by an interruption: drop it
            keep = raw.rfind(b"\n") + 1
            with open(self.records_path, "r+b") as handle:
                handle.truncate(keep)
            raw = raw[:keep]
            log.info("%s: dropped an incomplete last line left by an interrupted run", self.records_path)
        for number, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                raise InputError("not a JSON line; remove it or start with an empty --out folder",
                                 self.records_path, number) from None
            key = str(entry.get("key") or entry.get("record_id") or "")
            self.done[key] = entry
            for name in entry.get("documents", []):
                self.owner[name.casefold()] = key
            if entry.get("name"):
                self.owner[entry["name"].casefold()] = key

    @staticmethod
    def key(record: MarcRecord) -> str:
        return record.record_id or f"{record.source}#{record.position}"

    #: Outcomes a rerun keeps; records skipped for lack of text, or for their date, are looked at again
    #: (the texts may have arrived, --since may have changed).
    FINAL = ("written", "skipped: no subjects")

    def is_done(self, record: MarcRecord) -> bool:
        entry = self.done.get(self.key(record))
        return entry is not None and str(entry.get("status", "")).startswith(self.FINAL)

    # -- writing -------------------------------------------------------------------
    def _append(self, entry: dict) -> None:
        previous = self.done.get(entry["key"])
        if previous == entry:
            return  # a record looked at again with the same outcome: no second line
        with open(self.records_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.done[entry["key"]] = entry

    def _base_name(self, record: MarcRecord, key: str, languages: list[str]) -> str:
        base = safe_name(record.symbol or f"record-{record.record_id or record.position}")
        # Two records whose symbols differ only in case (or in characters a file name cannot hold) must not
        # share names on a case-insensitive file system: the second one gets its record id appended.
        candidates = [base, f"{base}.txt", *(f"{base}-{lang.upper()}.txt" for lang in languages)]
        if any(self.owner.get(c.casefold(), key) != key for c in candidates):
            base = safe_name(f"{base}-{record.record_id or record.position}")
        self.owner[base.casefold()] = key
        return base

    def _document(self, name: str, descriptors: list[str], text: str, key: str) -> str:
        header = HEADER + "".join(f"{d}|" for d in descriptors)
        write_file_atomic(self.documents / name, f"{header}\n\n{text.strip()}\n")
        self.owner[name.casefold()] = key
        self.summary.documents_written += 1
        return name

    def skip(self, record: MarcRecord, status: str) -> dict:
        entry = self._entry(record, status)
        self._append(entry)
        return entry

    def _entry(self, record: MarcRecord, status: str) -> dict:
        return {"record_id": record.record_id, "key": self.key(record), "symbol": record.symbol,
                "symbols": list(record.symbols), "title": record.title, "date": record.date,
                "languages": list(record.languages), "status": status, "source": record.source}

    def add(self, record: MarcRecord, text_source: TextSource) -> dict:
        """Write the documents of one record and log it; returns its ``records.jsonl`` entry."""
        key = self.key(record)
        self.summary.records_read += 1
        if self.is_done(record):
            self.summary.records_already_done += 1
            return self.done[key]
        if not record.subjects:
            self.summary.records_without_subjects += 1
            return self.skip(record, "skipped: no subjects")

        subjects, descriptors = [], []
        counts = {"authority": 0, "uri": 0, "label": 0, "local": 0}
        for subject in record.subjects:
            descriptor, how = self.resolver.resolve(subject)
            counts[how] += 1
            subjects.append({"label": subject.label, "authority": subject.authority, "source": subject.source,
                             "tag": subject.tag, "matched": how,
                             "uri": descriptor if how != "local" else None})
            if descriptor and descriptor not in descriptors:
                descriptors.append(descriptor)

        wanted = [lang for lang in self.langs if any(f.lang == lang for f in record.files)]
        base = self._base_name(record, key, wanted)
        files, documents, written_langs = [], [], set()
        for link in record.files:
            item = {"url": link.url, "name": link.name, "lang": link.lang, "size": link.size}
            if link.lang not in self.langs:
                item["status"] = "not requested" if link.lang else "language unknown"
            elif link.lang in written_langs:
                item["status"] = "not needed (language already written)"
            else:
                text, status = text_source(record, link)
                item["status"] = status
                if text and text.strip():
                    name = self._document(f"{base}-{link.lang.upper()}.txt", descriptors, text, key)
                    item["document"] = name
                    documents.append(name)
                    written_langs.add(link.lang)
                elif status.startswith("missing"):
                    self.summary.texts_missing += 1
                else:
                    self.summary.texts_unreadable += 1
            files.append(item)
        # Languages asked for that the record lists no file for are not "missing": the UN did not publish them.

        entry = self._entry(record, "written")
        entry["name"] = base
        if not documents:
            if self.require_text or not record.title:
                self.summary.records_without_text += 1 if self.require_text else 0
                entry["status"] = "skipped: no text" if self.require_text else "skipped: no text and no title"
                entry.update(subjects=subjects, files=files, documents=[])
                self._append(entry)
                return entry
            documents.append(self._document(f"{base}.txt", descriptors, record.title, key))
            self.summary.title_documents += 1
            entry["status"] = "written (title only)"
        self.summary.records_written += 1
        self.summary.subjects_by_authority += counts["authority"]
        self.summary.subjects_by_uri += counts["uri"]
        self.summary.subjects_by_label += counts["label"]
        self.summary.subjects_local += counts["local"]
        entry.update(subjects=subjects, files=files, documents=documents)
        self._append(entry)
        return entry


# ---------------------------------------------------------------------------- import from disk
def collect_authorities(records: Iterable) -> dict[str, AuthorityRecord]:
    return {r.authority_id: r for r in records if isinstance(r, AuthorityRecord) and r.authority_id}


def _text_index(texts: Path | None) -> dict[str, Path]:
    if texts is None:
        return {}
    if not texts.is_dir():
        raise InputError("--texts: not a folder", texts)
    index: dict[str, Path] = {}
    for path in sorted(texts.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            index.setdefault(path.name.casefold(), path)
    return index


def extract_text(data: bytes, name: str) -> tuple[str | None, str]:
    """Text of a downloaded or local file, page furniture removed: ``(text, status)``."""
    from fahras.text.extract import extract_bytes

    try:
        return extract_bytes(data, name, strip=True, detect=False).text, "extracted"
    except InputError as exc:
        return None, f"unreadable: {exc.reason}"


def local_text_source(texts: Path | None) -> TextSource:
    """Texts from a folder, matched by the 856 file names (case ignored; another extension accepted)."""
    index = _text_index(texts)
    by_stem: dict[str, Path] = {}
    for name, path in index.items():
        by_stem.setdefault(Path(name).stem, path)

    def source(record: MarcRecord, link: FileLink) -> tuple[str | None, str]:
        name = link.name.casefold()
        stored = stored_file_name(link).casefold()
        path = (index.get(name) or index.get(stored) or by_stem.get(Path(name).stem)
                or by_stem.get(Path(stored).stem))
        if path is None:
            return None, "missing: no such file in --texts" if texts else "missing: no --texts folder"
        try:
            data = path.read_bytes()
        except OSError as exc:
            return None, f"unreadable: {exc.strerror or exc}"
        text, status = extract_text(data, path.name)
        return text, status if text is None else f"extracted from {path.name}"

    return source


def import_marcxml(sources: Iterable[str | Path], out: str | Path, texts: str | Path | None = None,
                   vocab: Vocabulary | None = None, langs: Iterable[str] | None = None,
                   require_text: bool = False, authorities: Iterable[str | Path] = (),
                   progress: Callable[[int, int], None] | None = None) -> BuildSummary:
    """Build a corpus folder from MARCXML files (or folders) and a folder of full texts."""
    sources = [Path(s) for s in sources]
    summary = BuildSummary()
    known = collect_authorities(read_marcxml([*sources, *[Path(a) for a in authorities]]))
    summary.authority_records = len(known)
    writer = CorpusWriter(out, SubjectResolver(vocab, known), langs=langs, require_text=require_text,
                          summary=summary)
    source = local_text_source(Path(texts) if texts else None)
    for record in read_marcxml(sources):
        if isinstance(record, MarcRecord):
            writer.add(record, source)
            if progress:
                progress(summary.records_read, 0)
    return summary
