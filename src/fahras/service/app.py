"""The FastAPI application: shared state, limits, routes and page plug-ins.

:func:`create_app` builds the app for a :class:`ServiceConfig`.  Models are
loaded once, when the app starts (``lifespan``), into a
:class:`ProjectRegistry` shared read-only by all requests.  Scoring runs in
a bounded pool of threads (``limits.workers``) so the event loop never
waits for it; a request whose scoring has not finished within
``limits.request_timeout`` seconds (waiting in the queue included) gets a
503.  After its own routes the app mounts page plug-ins: every entry point
of the group ``fahras.service.pages`` is a callable ``mount(app, config)``.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Callable

from fastapi import FastAPI, Request

from fahras.service import timing
from fahras.service.config import ServiceConfig
from fahras.service.problems import Problem, install_handlers, problem_response
from fahras.service.projects import LoadedProject, ProjectRegistry

log = logging.getLogger("fahras.service")

PAGES_GROUP = "fahras.service.pages"


@dataclass
class ServiceState:
    """What every request handler reaches through ``app.state.fahras``."""

    config: ServiceConfig
    registry: ProjectRegistry
    feedback: object | None = None           # a fahras.feedback.FeedbackStore, or None
    api_key: str | None = None
    scoring: ThreadPoolExecutor | None = None
    learning: ThreadPoolExecutor | None = None
    learn_locks: dict = field(default_factory=dict)
    feedback_error: str | None = None
    corpora: dict = field(default_factory=dict)  # project id -> CorpusIndex of its corpus folder

    def corpus(self, project_id: str):
        """The :class:`fahras.service.corpus_index.CorpusIndex` of a project's corpus folder."""
        index = self.corpora.get(project_id)
        if index is None:
            from fahras.service.corpus_index import CorpusIndex

            config = self.config.project(project_id)
            index = self.corpora.setdefault(project_id, CorpusIndex(config.corpus if config else None))
        return index

    @property
    def projects(self) -> dict[str, LoadedProject]:
        """Project id -> loaded project (a snapshot)."""
        return self.registry.as_dict()

    def search(self, project_id: str):
        """The :class:`fahras.vocab.search.ConceptSearch` of a project's vocabulary."""
        return self.project(project_id).search()

    def project(self, project_id: str) -> LoadedProject:
        """The loaded project, or a 404 (unknown) / 503 (not loaded) problem."""
        if project_id not in self.registry:
            raise Problem(404, f"Project '{project_id}' not found", "Project not found")
        project = self.registry.get(project_id)
        if project is None:
            why = self.registry.errors.get(project_id)
            raise Problem(503, f"Project '{project_id}' is not loaded" + (f": {why}" if why else " yet"))
        return project

    async def score(self, func: Callable, *args, **kwargs):
        """Run ``func`` in the scoring pool; a 503 problem if it does not finish in time."""
        if self.scoring is None:
            raise Problem(503, "the service is not started")
        marks = timing.CURRENT.get()
        if marks is not None:
            marks["submitted"] = time.perf_counter()
        future = self.scoring.submit(_timed, marks, func, *args, **kwargs)
        timeout = self.config.limits.request_timeout
        try:
            result = await asyncio.wait_for(asyncio.wrap_future(future), timeout)
            timing.mark("resumed")
            return result
        except asyncio.TimeoutError:
            future.cancel()  # a queued job never starts; a running one finishes in its thread
            raise Problem(503, f"the request took longer than the time limit of {timeout:g} s; "
                               f"try again later") from None

    def check_text(self, text: str, what: str = "text") -> None:
        limit = self.config.limits.max_text_chars
        if len(text) > limit:
            raise Problem(413, f"{what} has {len(text)} characters; the limit is {limit}")

    def require_writer(self, request: Request) -> None:
        """Write endpoints: the API key when one is configured, else loopback clients only."""
        if self.api_key is not None:
            given = request.headers.get("x-api-key")
            auth = request.headers.get("authorization", "")
            if given is None and auth.lower().startswith("bearer "):
                given = auth[7:].strip()
            if given is None or not hmac.compare_digest(given.encode(), self.api_key.encode()):
                raise Problem(401, "this endpoint needs the API key (header 'Authorization: Bearer KEY' "
                                   "or 'X-API-Key: KEY')", headers={"WWW-Authenticate": "Bearer"})
            return
        host = request.client.host if request.client else ""
        if not _is_loopback(host):
            raise Problem(403, "write endpoints are open to loopback clients only unless the server "
                               "has an API key (fahras serve --api-key-file)", "Operation not allowed")


def _timed(marks: dict | None, func: Callable, *args, **kwargs):
    """``func(*args, **kwargs)``, its start and end written into the request's timing marks."""
    if marks is None:
        return func(*args, **kwargs)
    marks["started"] = time.perf_counter()
    try:
        return func(*args, **kwargs)
    finally:
        marks["ended"] = time.perf_counter()


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BodyLimit:
    """ASGI middleware: request bodies larger than ``limit`` bytes get a 413 problem.

    A declared ``Content-Length`` over the limit is refused before anything is
    read; a body without one is read up to the limit and refused when it
    goes over.  Either way the handler never sees a larger body.
    """

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                return await problem_response(400, "invalid Content-Length header")(scope, receive, send)
            if size > self.limit:
                return await self._too_large(scope, receive, send)
            return await self.app(scope, self._counting(receive), send)
        chunks, total = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            total += len(message.get("body", b""))
            if total > self.limit:
                return await self._too_large(scope, receive, send)
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    def _counting(self, receive):
        """A client that sends more than it declared is cut off at the limit too."""
        seen = 0

        async def wrapped():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise Problem(413, f"request body larger than {self.limit} bytes")
            return message

        return wrapped

    async def _too_large(self, scope, receive, send):
        response = problem_response(413, f"request body larger than the limit of {self.limit} bytes",
                                    headers={"Connection": "close"})
        await response(scope, receive, send)


def _open_feedback(config: ServiceConfig):
    """The feedback store of ``config.db`` (None when no database is configured)."""
    if not config.db:
        return None
    from fahras.errors import UsageError

    try:
        from fahras.feedback import FeedbackStore

        return FeedbackStore(config.db)
    except ImportError as exc:
        raise UsageError(f"the feedback database needs the db extra: pip install 'fahras[db]' ({exc}); "
                         f"or serve without one: --db none") from None


def create_app(config: ServiceConfig, *, load: bool = True) -> FastAPI:
    """The Fahras service for ``config`` (models load when the app starts)."""
    from fahras import __version__
    from fahras.service import annif_api, docs, fahras_api

    registry = ProjectRegistry(config)
    state = ServiceState(config=config, registry=registry, api_key=config.api_key(),
                         feedback=_open_feedback(config))  # created and migrated now: errors before serving

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state.scoring = ThreadPoolExecutor(max_workers=config.limits.workers, thread_name_prefix="fahras-score")
        state.learning = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fahras-learn")
        if load:
            loader = threading.Thread(target=_load_and_warm, args=(registry,), name="fahras-load", daemon=True)
            loader.start()
        try:
            yield
        finally:
            state.scoring.shutdown(wait=False, cancel_futures=True)
            state.learning.shutdown(wait=False, cancel_futures=True)
            if state.feedback is not None:
                state.feedback.close()

    app = FastAPI(title="Fahras REST API", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json",
                  description="Subject suggestions from the UNBIS Thesaurus for UN documents. "
                              "The `/v1/` endpoints are Annif's REST API v1; `/v1/fahras/` ones are "
                              "Fahras's additions. Errors are application/problem+json.")
    app.state.fahras = state
    install_handlers(app)
    app.add_middleware(BodyLimit, limit=config.limits.max_body_bytes)
    app.add_middleware(timing.RequestTiming)  # outermost: its clock starts first
    app.include_router(annif_api.router)
    app.include_router(fahras_api.router)
    docs.mount(app)
    _mount_pages(app, config)
    return app


def _load_and_warm(registry: ProjectRegistry) -> None:
    registry.load_all()


def _mount_pages(app: FastAPI, config: ServiceConfig) -> None:
    from importlib.metadata import entry_points

    for entry in entry_points(group=PAGES_GROUP):
        try:
            entry.load()(app, config)
            log.info("mounted page plug-in %s (%s)", entry.name, entry.value)
        except Exception:  # a broken plug-in must not take the API down
            log.exception("page plug-in %s (%s) failed to mount", entry.name, entry.value)
