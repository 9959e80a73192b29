"""Errors as ``application/problem+json`` (RFC 9457), the way Annif's API reports them.

Every error response of the service has the body ``{"type", "title",
"status", "detail"}`` and that media type; no traceback ever reaches a
client (unexpected errors are logged and answered with a plain 500 problem).
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from fahras.errors import FahrasError, InputError, ModelError, UsageError

log = logging.getLogger("fahras.service")

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """An error answered with a problem+json body of ``status``."""

    def __init__(self, status: int, detail: str, title: str | None = None, headers: dict | None = None):
        super().__init__(detail)
        self.status = int(status)
        self.detail = detail
        self.title = title or HTTPStatus(self.status).phrase
        self.headers = headers


def problem_response(status: int, detail: str, title: str | None = None, headers: dict | None = None) -> JSONResponse:
    title = title or HTTPStatus(status).phrase
    return JSONResponse({"type": "about:blank", "title": title, "status": status, "detail": detail},
                        status_code=status, media_type=PROBLEM_JSON, headers=headers)


#: the problem+json schema, for the OpenAPI document
PROBLEM_SCHEMA = {
    "type": "object",
    "properties": {"type": {"type": "string", "default": "about:blank"}, "title": {"type": "string"},
                   "status": {"type": "integer"}, "detail": {"type": "string"}},
}


def problem_responses(*codes: int) -> dict:
    """OpenAPI ``responses`` entries for the given error statuses."""
    return {code: {"description": HTTPStatus(code).phrase,
                   "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}} for code in codes}


def _validation_detail(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body",)) or "request"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def install_handlers(app: FastAPI) -> None:
    """Turn every error into a problem+json response."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        return problem_response(exc.status, exc.detail, exc.title, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        return problem_response(400, _validation_detail(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such resource: {request.url.path}"
        return problem_response(exc.status_code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(InputError)
    @app.exception_handler(UsageError)
    async def _input(request: Request, exc: FahrasError):
        return problem_response(400, str(exc))

    @app.exception_handler(ModelError)
    async def _model(request: Request, exc: ModelError):
        return problem_response(503, str(exc), "Service unavailable")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error in %s %s", request.method, request.url.path)
        return problem_response(500, "internal error; the server log has the details")
