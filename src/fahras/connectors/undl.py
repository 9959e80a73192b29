"""Harvest records and full texts from the UN Digital Library (``digitallibrary.un.org``).

Two ways in:

- the public search (default): ``/search?p=QUERY&of=xm&rg=200&jrec=N`` serves
  MARCXML pages of up to 200 records; the number of hits is in a leading
  ``<!-- Search-Engine-Total-Number-Of-Results: N -->`` comment; ``jrec`` is
  the 1-based position of the page's first record;
- the API, with a token (``--token-file``): ``/api/v1/search?p=QUERY&format=xml``
  with ``Authorization: Token ...``; the answer wraps the records in
  ``<response><total/><search_id/><collection/></response>`` and the next page
  is asked for with ``search_id``.  The API allows about 100 requests per 5
  minutes, so its default pace is one request every 3 seconds.

For every record the full texts in the asked languages (856 ``$u`` ending in
``-EN.pdf`` ...) are downloaded into ``OUT/files``, extracted (PDF text, page
furniture removed) and written as UN export documents by
:class:`fahras.connectors.build.CorpusWriter`, which also logs each record in
``OUT/records.jsonl``.  The record pages are kept in ``OUT/marcxml`` (so
``fahras corpus import marcxml OUT/marcxml --texts OUT/files`` rebuilds the
corpus offline).

Resumable: ``OUT/.harvest-state.json`` (written atomically after each page)
says where the search stands; a rerun with the same query continues from
there, and records already in ``records.jsonl`` are skipped.  Stopping at any
point (Ctrl-C) leaves only whole files behind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from fahras.connectors.build import (BuildSummary, CorpusWriter, SubjectResolver, collect_authorities,
                                     extract_text, stored_file_name, write_json_atomic)
from fahras.connectors.http import HttpClient, HttpStatusError
from fahras.corpus.marcxml import FileLink, MarcRecord, ParseInfo, iter_marcxml_bytes, read_marcxml
from fahras.errors import InputError, UsageError
from fahras.store.files import write_file_atomic
from fahras.vocab import Vocabulary

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://digitallibrary.un.org"
PAGE_SIZE = 200
STATE_FILE = ".harvest-state.json"
PUBLIC_DELAY = 1.0   # seconds between requests to the public search
API_DELAY = 3.0      # the API allows about 100 requests per 5 minutes


@dataclass
class Page:
    records: list
    total: int | None
    search_id: str | None
    raw: bytes


def read_token(path: str | Path) -> str:
    path = Path(path)
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the token file: {getattr(exc, 'strerror', None) or exc}", path) from None
    if not token or "\n" in token:
        raise InputError("the token file must hold the API token on one line", path)
    return token


class DigitalLibrary:
    """One Digital Library site, searched page by page."""

    def __init__(self, base_url: str = DEFAULT_BASE_URL, token: str | None = None,
                 client: HttpClient | None = None, page_size: int = PAGE_SIZE):
        if not base_url.startswith(("http://", "https://")):
            raise UsageError(f"--base-url must start with http:// or https://, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.client = client or HttpClient(delay=API_DELAY if token else PUBLIC_DELAY)
        self.page_size = page_size

    @property
    def mode(self) -> str:
        return "api" if self.token else "public"

    def _parse(self, raw: bytes, url: str) -> Page:
        info = ParseInfo()
        try:
            records = list(iter_marcxml_bytes(raw, url, info))
        except InputError as exc:
            head = raw[:200].decode("utf-8", errors="replace").strip().lower()
            if head.startswith(("<!doctype html", "<html")):
                raise InputError("the server sent an HTML page instead of MARCXML (check --base-url and the query)",
                                 url) from None
            raise exc
        return Page(records=records, total=info.total, search_id=info.search_id, raw=raw)

    def search_page(self, query: str, start: int = 1, search_id: str | None = None) -> Page:
        """One page of results: from the 1-based ``start`` (public) or after ``search_id`` (API)."""
        if self.token:
            url = f"{self.base_url}/api/v1/search"
            params = {"p": query, "format": "xml", "search_id": search_id}
            response = self.client.get(url, params=params, headers={"Authorization": f"Token {self.token}",
                                                                     "Accept": "application/xml"})
        else:
            url = f"{self.base_url}/search"
            params = {"p": query, "of": "xm", "rg": self.page_size, "jrec": start}
            response = self.client.get(url, params=params)
        return self._parse(response.body, response.url)


def download_text_source(client: HttpClient, files_dir: Path,
                         on_download: Callable[[], None] | None = None):
    """Texts of a record's files, downloaded once into ``files_dir`` (kept for reruns and offline imports)."""
    files_dir.mkdir(parents=True, exist_ok=True)

    def source(record: MarcRecord, link: FileLink) -> tuple[str | None, str]:
        if not link.url.startswith(("http://", "https://")):
            return None, "missing: not an http(s) link"
        dest = files_dir / stored_file_name(link)
        if not dest.exists():
            try:
                client.download(link.url, dest)
            except HttpStatusError as exc:
                return None, f"missing: HTTP {exc.status}"
            if on_download:
                on_download()
        try:
            data = dest.read_bytes()
        except OSError as exc:
            return None, f"unreadable: {exc.strerror or exc}"
        return extract_text(data, dest.name)

    return source


def harvest_undl(query: str, out: str | Path, *, since: str | None = None, langs: Iterable[str] = ("en",),
                 library: DigitalLibrary | None = None, vocab: Vocabulary | None = None,
                 authorities: Iterable[str | Path] = (), require_text: bool = False,
                 max_records: int | None = None,
                 progress: Callable[[int, int], None] | None = None) -> BuildSummary:
    """Harvest the records matching ``query`` (and their texts in ``langs``) into the corpus folder ``out``.

    ``since`` (``YYYY-MM-DD``) skips records dated (269) before it; records
    without a date are kept.  ``max_records`` stops after that many records
    (for trials).
    """
    if not query.strip():
        raise UsageError("--query is empty")
    library = library or DigitalLibrary()
    out = Path(out)
    summary = BuildSummary()
    known = collect_authorities(read_marcxml([Path(a) for a in authorities])) if authorities else {}
    summary.authority_records = len(known)
    writer = CorpusWriter(out, SubjectResolver(vocab, known), langs=langs, require_text=require_text,
                          summary=summary)
    pages_dir = out / "marcxml"
    pages_dir.mkdir(parents=True, exist_ok=True)
    state_path = out / STATE_FILE
    identity = {"query": query, "mode": library.mode, "base_url": library.base_url}
    state = _load_state(state_path)
    if state and {k: state.get(k) for k in identity} == identity:
        if state.get("complete"):
            log.info("an earlier harvest of this query completed; checking for new records")
        start = int(state.get("next", 1)) if library.mode == "public" and not state.get("complete") else 1
    else:
        if state:
            log.warning("%s is for another query or site; starting from the first page "
                        "(records already in %s are still skipped)", state_path, writer.records_path.name)
        start = 1
    source = download_text_source(library.client, out / "files",
                                  on_download=lambda: setattr(summary, "texts_downloaded",
                                                              summary.texts_downloaded + 1))
    search_id = None
    fetched = start - 1
    seen_in_run = 0
    seen_keys: set[str] = set()
    while True:
        page = library.search_page(query, start=start, search_id=search_id)
        summary.pages += 1
        if page.total is not None:
            summary.total = page.total
        records = [r for r in page.records if isinstance(r, MarcRecord)]
        if not page.records:
            break
        keys = {CorpusWriter.key(r) for r in records}
        if records and keys <= seen_keys:
            log.warning("the server sent the same records again (it ignores paging?); stopping")
            break
        seen_keys |= keys
        name = f"page-{start:07d}.xml" if library.mode == "public" else f"api-{fetched + 1:07d}.xml"
        write_file_atomic(pages_dir / name, page.raw)
        for record in records:
            if max_records is not None and seen_in_run >= max_records:
                break
            seen_in_run += 1
            if writer.is_done(record):
                summary.records_read += 1
                summary.records_already_done += 1
            elif since and record.date and record.date[:len(since)] < since:
                summary.records_read += 1
                summary.records_before_since += 1
                writer.skip(record, "skipped: before --since")
            else:
                writer.add(record, source)
            if progress:
                progress(summary.records_read, summary.total or 0)
        fetched += len(page.records)
        start += len(page.records)
        search_id = page.search_id
        done = (max_records is not None and seen_in_run >= max_records) or \
               (summary.total is not None and fetched >= summary.total) or \
               (library.mode == "api" and not search_id)
        write_json_atomic(state_path, {**identity, "since": since, "langs": list(langs), "next": start,
                                       "fetched": fetched, "total": summary.total,
                                       "complete": bool(done and not (max_records is not None
                                                                      and seen_in_run >= max_records))})
        if done:
            break
    return summary


def _load_state(path: Path) -> dict | None:
    import json

    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable harvest state %s (%s)", path, exc)
        return None
    return data if isinstance(data, dict) else None


