"""Where a request's time goes: a ``Server-Timing`` header on every response.

:class:`RequestTiming` (ASGI middleware) starts a clock when the app receives
a request and adds, to the response's headers, the standard ``Server-Timing``
header (W3C Server Timing) with durations in milliseconds:

- ``app``: from the app receiving the request to the response starting;
- ``read``: from there to the scoring job being handed to the scoring pool
  (the body read, the form or JSON parsed and checked);
- ``queue``: waiting for one of the scoring threads (``limits.workers``; the
  pool's queue is first in, first out);
- ``score``: the scoring itself (analysis, model, results) in its thread;
- ``resume``: from the scoring's end to the request's handler running again
  (the event loop's lag);

only the parts a request went through appear.  With the ``fahras.service.timing``
logger at DEBUG, each request also logs one line with the same figures and its
text's length (``chars``).  ``benchmarks/load.py`` reads the header to tell
the server's share of a latency from the clients'.
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar

log = logging.getLogger("fahras.service.timing")

#: The running request's timing marks (seconds, time.perf_counter()), or None outside a request.
CURRENT: ContextVar[dict | None] = ContextVar("fahras_request_timing", default=None)

_ORDER = ("app", "read", "queue", "score", "resume")


def mark(name: str, value: float | None = None) -> None:
    """Record ``name`` at ``value`` (default: now) in the running request's marks (if any)."""
    marks = CURRENT.get()
    if marks is not None:
        marks[name] = time.perf_counter() if value is None else value


def note(name: str, value) -> None:
    """Record a figure such as the text's length for the timing log line."""
    marks = CURRENT.get()
    if marks is not None:
        marks.setdefault("notes", {})[name] = value


def durations(marks: dict, now: float) -> dict[str, float]:
    """The durations (ms) the marks of one request give, in a fixed order."""
    start = marks["start"]
    spans = {"app": (start, now)}
    if "submitted" in marks:
        spans["read"] = (start, marks["submitted"])
        if "started" in marks:
            spans["queue"] = (marks["submitted"], marks["started"])
        if "started" in marks and "ended" in marks:
            spans["score"] = (marks["started"], marks["ended"])
        if "ended" in marks and "resumed" in marks:
            spans["resume"] = (marks["ended"], marks["resumed"])
    return {name: round(1000 * max(0.0, spans[name][1] - spans[name][0]), 2) for name in _ORDER if name in spans}


def header_value(figures: dict[str, float]) -> str:
    return ", ".join(f"{name};dur={value:g}" for name, value in figures.items())


def parse_header(value: str) -> dict[str, float]:
    """``Server-Timing`` header -> {name: ms} (entries without a duration are left out)."""
    out = {}
    for entry in value.split(","):
        parts = [p.strip() for p in entry.split(";")]
        for p in parts[1:]:
            if p.startswith("dur="):
                try:
                    out[parts[0]] = float(p[4:])
                except ValueError:
                    pass
    return out


class RequestTiming:
    """ASGI middleware: the ``Server-Timing`` header (and a debug log line) for each HTTP request."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        marks = {"start": time.perf_counter()}
        token = CURRENT.set(marks)
        status = 0

        async def timed_send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                figures = durations(marks, time.perf_counter())
                marks["figures"] = figures
                message = {**message, "headers": [*message.get("headers", []),
                                                   (b"server-timing", header_value(figures).encode("ascii"))]}
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            CURRENT.reset(token)
            if log.isEnabledFor(logging.DEBUG) and "figures" in marks:
                notes = " ".join(f"{k}={v}" for k, v in marks.get("notes", {}).items())
                log.debug("%s %s %d %s %s", scope.get("method"), scope.get("path"), status,
                          header_value(marks["figures"]), notes)
