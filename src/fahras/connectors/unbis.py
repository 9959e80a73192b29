"""Download the UNBIS Thesaurus SKOS dump (Turtle) from the UN Digital Library.

The Dag Hammarskjöld Library publishes the thesaurus as the files of one
Digital Library record (``unbist-YYYYMMDD.ttl``; the name changes with each
edition, earlier editions had other hosts).  Without ``--url``,
:func:`fetch_thesaurus` asks the Digital Library's file API for that record's
files and downloads the newest ``unbist-*.ttl``; when the listing cannot be
read it falls back to :data:`FALLBACK_URL`, the dump current when this was
written.  ``--url`` downloads any other location as is.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from fahras.connectors.http import HttpClient, HttpStatusError, NetworkError
from fahras.errors import InputError

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://digitallibrary.un.org"
#: The Digital Library record that holds the thesaurus dumps (as of 2025).
THESAURUS_RECORD = "4075456"
#: The dump current when this module was written; used when the file listing fails.
FALLBACK_URL = f"{DEFAULT_BASE_URL}/record/{THESAURUS_RECORD}/files/unbist-20250708_2.ttl"

_DUMP_NAME = re.compile(r"^unbist[-_]?(\d{4})-?(\d{2})-?(\d{2})\D*.*\.ttl$", re.IGNORECASE)


@dataclass
class FetchReport:
    url: str
    out: Path
    size: int
    resolved_from: str  # "url" (given), "listing" (the record's newest dump) or "fallback"


def newest_dump(files: list[dict]) -> dict | None:
    """The entry of the newest ``unbist-YYYYMMDD*.ttl`` in a file listing (``name``/``url`` keys)."""
    best, best_key = None, None
    for entry in files:
        if not isinstance(entry, dict):
            continue
        name = str(entry.get("name") or "")
        fmt = str(entry.get("format") or "")
        full = name if name.lower().endswith(".ttl") else name + (fmt if fmt.startswith(".") else "")
        match = _DUMP_NAME.match(full)
        if not match or not entry.get("url"):
            continue
        key = (match.groups(), full)
        if best_key is None or key > best_key:
            best, best_key = entry, key
    return best


def resolve_dump_url(client: HttpClient, base_url: str = DEFAULT_BASE_URL,
                     record: str = THESAURUS_RECORD) -> tuple[str, str]:
    """The URL of the newest dump, from the record's file listing; the fallback when that fails."""
    listing_url = f"{base_url.rstrip('/')}/api/v1/file"
    try:
        response = client.get(listing_url, params={"recid": record})
        files = json.loads(response.body)
        if isinstance(files, dict):  # some deployments wrap the list
            files = files.get("files") or files.get("results") or []
        entry = newest_dump(files if isinstance(files, list) else [])
        if entry:
            return str(entry["url"]), "listing"
        log.warning("no unbist-*.ttl among the files of record %s; using %s", record, FALLBACK_URL)
    except HttpStatusError as exc:
        log.warning("cannot list the files of record %s (%s); using %s", record, exc, FALLBACK_URL)
    except ValueError:
        log.warning("the file listing of record %s is not JSON; using %s", record, FALLBACK_URL)
    if base_url.rstrip("/") != DEFAULT_BASE_URL:
        return f"{base_url.rstrip('/')}/record/{record}/files/{FALLBACK_URL.rsplit('/', 1)[-1]}", "fallback"
    return FALLBACK_URL, "fallback"


def fetch_thesaurus(out: str | Path, url: str | None = None, client: HttpClient | None = None,
                    base_url: str = DEFAULT_BASE_URL, progress: Callable[[int, int], None] | None = None,
                    check: bool = True) -> FetchReport:
    """Download the thesaurus dump to ``out`` (atomically).

    ``check`` parses the result as SKOS before keeping it, so a download that
    is an error page never replaces a good thesaurus.
    """
    out = Path(out)
    client = client or HttpClient(timeout=60.0, delay=1.0)
    if url:
        how = "url"
    else:
        url, how = resolve_dump_url(client, base_url)
    if out.is_dir():
        raise InputError("--out is a folder; give the file to write, e.g. unbist.ttl", out)
    # The temporary file keeps the suffix of ``out`` so the check parses it in the right syntax.
    tmp = out.with_name(f".{out.stem}.download{out.suffix or '.ttl'}")
    try:
        size = client.download(url, tmp, progress=progress)
        if size == 0:
            raise NetworkError(f"{url}: the server sent an empty file")
        if check:
            from fahras.vocab.skos import parse_skos

            try:
                vocab = parse_skos(tmp)
            except InputError as exc:
                raise NetworkError(f"{url}: the download is not a SKOS thesaurus ({exc.reason})") from None
            log.info("%s: %d concepts, version %s", url, len(vocab), vocab.version or "unknown")
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return FetchReport(url=url, out=out, size=size, resolved_from=how)
