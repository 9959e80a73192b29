"""Shared pieces of the connector tests: a scripted HTTP server on loopback, PDFs, the CLI."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, urlsplit

from test_text_extract import make_pdf as make_pages_pdf

FIXTURES = Path(__file__).parent / "fixtures" / "connectors"
UNDL = "https://digitallibrary.un.org"


def make_pdf(lines: list[str]) -> bytes:
    """A one-page PDF with one Helvetica text line per string (ASCII)."""
    return make_pages_pdf([lines])


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0          # seconds to wait before answering (timeouts)
    truncate: int | None = None  # send only this many bytes of the body, then close


@dataclass
class Request:
    path: str
    query: dict
    headers: dict


class Server:
    """An HTTP server on 127.0.0.1 that answers from a routing function and logs every request."""

    def __init__(self, route: Callable[[Request], Reply]):
        self.route = route
        self.requests: list[Request] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 (http.server's naming)
                parts = urlsplit(self.path)
                request = Request(parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()},
                                  {k.lower(): v for k, v in self.headers.items()})
                server.requests.append(request)
                reply = server.route(request)
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.body
                try:
                    self.send_response(reply.status)
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(body if reply.truncate is None else body[:reply.truncate])
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "Server":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


def fahras(*args, env: dict | None = None, timeout: float = 300):
    """Run the CLI as a user does: a subprocess; returns CompletedProcess with text output."""
    import os

    return subprocess.run([sys.executable, "-m", "fahras", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def marc_record(record_id: str, symbol: str | None, date: str | None, subjects: list[tuple[str, str | None]],
                langs: tuple[str, ...] = ("en",), base: str = UNDL, title: str | None = None) -> str:
    """One bibliographic record in MARCXML (default namespace), with 856 links under ``base``."""
    from xml.sax.saxutils import escape

    def field(tag: str, *subfields: tuple[str, str]) -> str:
        inner = "".join(f'<subfield code="{code}">{escape(value)}</subfield>' for code, value in subfields)
        return f'<datafield tag="{tag}" ind1=" " ind2=" ">{inner}</datafield>'

    parts = [f'<controlfield tag="001">{record_id}</controlfield>']
    if symbol:
        parts.append(field("191", ("a", symbol)))
    parts.append(field("245", ("a", title or f"Resolution {symbol or record_id}")))
    if date:
        parts.append(field("269", ("a", date)))
    for label, authority in subjects:
        subs = [("a", label)] + ([("0", f"(DHLAUTH){authority}")] if authority else []) + [("2", "unbist")]
        parts.append(field("650", *subs))
    stem = (symbol or record_id).replace("/", "_").replace(" ", "")
    for lang in langs:
        parts.append(field("856", ("s", "1000"), ("u", f"{base}/record/{record_id}/files/{stem}-{lang.upper()}.pdf"),
                           ("y", {"en": "English", "fr": "Français", "ar": "العربية"}.get(lang, lang))))
    return "<record>" + "".join(parts) + "</record>"


def marc_page(records: list[str], total: int | None) -> bytes:
    comment = f"<!-- Search-Engine-Total-Number-Of-Results: {total} -->\n" if total is not None else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{comment}'
            f'<collection xmlns="http://www.loc.gov/MARC21/slim">{"".join(records)}</collection>').encode("utf-8")


def refuse_external_hosts(monkeypatch) -> None:
    """Make any attempt to resolve a host other than loopback fail loudly (no test may reach a UN host)."""
    import socket

    real = socket.getaddrinfo

    def guarded(host, *args, **kwargs):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise OSError(f"test tried to reach {host!r}; tests use the loopback server only")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
