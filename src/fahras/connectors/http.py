"""The one HTTP client of Fahras: polite, patient, and clear when a host cannot be reached.

Only :mod:`fahras.connectors` uses it (``unbis`` for the thesaurus dump,
``undl`` for Digital Library records and full texts); nothing else in Fahras
touches the network.  Built on :mod:`urllib.request` (no dependency): every
request has a timeout, a User-Agent naming Fahras, a minimum interval between
requests (rate limit), and retries with exponential backoff on 429 (honouring
``Retry-After``), 5xx, timeouts and dropped connections.  Downloads stream to a
temporary file in the target folder and are renamed into place, so a file is
there whole or not at all.
"""

from __future__ import annotations

import email.utils
import http.client
import logging
import os
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from fahras.errors import FahrasError

log = logging.getLogger(__name__)


def _user_agent() -> str:
    try:
        from importlib.metadata import version

        release = version("fahras")
    except Exception:  # not installed as a distribution
        release = "dev"
    return f"Fahras/{release} (UNBIS subject indexing; Python urllib)"


class NetworkError(FahrasError):
    """A host could not be reached, or kept failing after the retries."""

    exit_code = 69  # EX_UNAVAILABLE


class HttpStatusError(NetworkError):
    """The server answered with an error status that retrying will not fix (404, 401, ...)."""

    def __init__(self, message: str, status: int, url: str):
        self.status = status
        self.url = url
        super().__init__(message)


@dataclass
class HttpResponse:
    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url


class HttpClient:
    """GET and download with timeouts, a rate limit and retries.

    ``delay``: minimum seconds between the starts of two requests;
    ``retries``: attempts after the first; ``backoff``: the first retry waits
    this long, each next one twice as long (a ``Retry-After`` header wins, up to
    ``max_wait``).  ``sleep`` is injectable for tests.
    """

    def __init__(self, *, timeout: float = 30.0, delay: float = 1.0, retries: int = 4, backoff: float = 2.0,
                 max_wait: float = 300.0, headers: Mapping[str, str] | None = None,
                 user_agent: str | None = None, sleep: Callable[[float], None] = time.sleep):
        self.timeout = timeout
        self.delay = delay
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.headers = {"User-Agent": user_agent or _user_agent(), **(headers or {})}
        self.sleep = sleep
        self._last_start: float | None = None
        self._lock = threading.Lock()
        self.requests = 0  # count, for reports and tests

    # -- internals ---------------------------------------------------------------
    def _wait_turn(self) -> None:
        with self._lock:
            if self._last_start is not None and self.delay > 0:
                wait = self.delay - (time.monotonic() - self._last_start)
                if wait > 0:
                    self.sleep(wait)
            self._last_start = time.monotonic()
            self.requests += 1

    def _request(self, url: str, params: Mapping[str, object] | None, headers: Mapping[str, str] | None):
        if params:
            query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
            url = f"{url}{'&' if '?' in url else '?'}{query}"
        return urllib.request.Request(url, headers={**self.headers, **(headers or {})}, method="GET")

    def _backoff_wait(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_wait)
        return min(self.backoff * (2 ** attempt), self.max_wait)

    def _open(self, url: str, params, headers, consume: Callable):
        """Open ``url`` with retries; ``consume(response)`` reads it (inside the retry loop)."""
        request = self._request(url, params, headers)
        host = _host(request.full_url)
        last_problem = ""
        for attempt in range(self.retries + 1):
            self._wait_turn()
            retry_after = None
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return consume(response)
            except urllib.error.HTTPError as exc:
                status = exc.code
                try:
                    exc.read()
                except Exception:
                    pass
                finally:
                    exc.close()
                if status == 429 or status >= 500:
                    retry_after = retry_after_seconds(exc.headers.get("Retry-After") if exc.headers else None)
                    last_problem = f"HTTP {status} {exc.reason or ''}".strip()
                else:
                    raise HttpStatusError(f"{host}: HTTP {status} {exc.reason or ''} for {request.full_url}".rstrip(),
                                          status, request.full_url) from None
            except urllib.error.URLError as exc:
                reason = exc.reason
                if isinstance(reason, (TimeoutError, socket.timeout)):
                    last_problem = f"timed out after {self.timeout:g} s"
                else:
                    last_problem = str(getattr(reason, "strerror", None) or reason)
            except (TimeoutError, socket.timeout):
                last_problem = f"timed out after {self.timeout:g} s"
            except (ConnectionError, http.client.HTTPException) as exc:
                last_problem = f"connection lost: {exc or type(exc).__name__}"
            if attempt < self.retries:
                wait = self._backoff_wait(attempt, retry_after)
                log.warning("%s: %s; retrying in %.1f s (%d/%d)", host, last_problem, wait, attempt + 1, self.retries)
                self.sleep(wait)
        raise NetworkError(f"cannot reach {host}: {last_problem} (after {self.retries + 1} attempts); "
                           "check the network or try again later")

    # -- public ------------------------------------------------------------------
    def get(self, url: str, params: Mapping[str, object] | None = None,
            headers: Mapping[str, str] | None = None) -> HttpResponse:
        def consume(response) -> HttpResponse:
            return HttpResponse(url=response.geturl(), status=response.status,
                                headers={k.lower(): v for k, v in response.headers.items()}, body=response.read())

        return self._open(url, params, headers, consume)

    def download(self, url: str, dest: str | Path, progress: Callable[[int, int], None] | None = None,
                 headers: Mapping[str, str] | None = None) -> int:
        """Stream ``url`` into ``dest`` atomically; returns the byte count.

        ``progress(done, total)`` is called as bytes arrive (``total`` 0 when unknown).
        """
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)

        def consume(response) -> int:
            total = int(response.headers.get("Content-Length") or 0)
            fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
            done = 0
            try:
                with os.fdopen(fd, "wb") as handle:
                    while True:
                        block = response.read(1 << 16)
                        if not block:
                            break
                        handle.write(block)
                        done += len(block)
                        if progress:
                            progress(done, total)
                    handle.flush()
                    os.fsync(handle.fileno())
                if total and done < total:
                    raise ConnectionResetError(f"got {done} of {total} bytes")
                os.replace(tmp, dest)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            return done

        return self._open(url, None, headers, consume)
