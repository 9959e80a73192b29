"""Fahras's additions to the Annif API, under ``/v1/fahras/``, and the health checks.

- ``POST /v1/fahras/projects/{id}/suggest``: a file upload (PDF, DOCX, HTML,
  text, UN export) or a text; extraction and page-furniture masking as the
  command line does; evidence spans index into ``document.text``.
- ``GET /v1/fahras/projects/{id}/concepts?q=``: concept search for
  autocompletion; ``GET .../concepts/{uri or identifier}``: one concept.
- ``POST /v1/fahras/projects/{id}/feedback``: store an indexer's decision.
- ``GET /v1/fahras/documents/{key}``, ``GET /v1/fahras/projects/{id}/queue``:
  documents the feedback database or a project's corpus folder knows.
- ``POST /v1/fahras/projects/{id}/reload``: load the model folder again.
- ``GET /healthz`` (the process answers), ``GET /readyz`` (models loaded).
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path, PurePosixPath
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from fahras.service.annif_api import state_of
from fahras.service.problems import Problem, problem_responses
from fahras.vocab import LANGUAGES

log = logging.getLogger("fahras.service")

router = APIRouter()
API = "/v1/fahras"

#: the number of results a suggest call without ``limit`` returns at least
DEFAULT_SHOWN = 10


# -- suggest from a file or a text ----------------------------------------------------------------
_SUGGEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": {"type": "object", "properties": {
                "file": {"type": "string", "format": "binary",
                         "description": "a document: .txt (UTF-8 or UN export), .pdf, .docx, .html"},
                "text": {"type": "string"}}}},
            "application/x-www-form-urlencoded": {"schema": {"type": "object", "required": ["text"],
                                                             "properties": {"text": {"type": "string"}}}},
            "application/json": {"schema": {"type": "object", "required": ["text"],
                                            "properties": {"text": {"type": "string"},
                                                           "name": {"type": "string"}}}},
        },
    }
}


def _flag(value: str | None, name: str) -> bool:
    if value is None or value == "":
        return False
    lowered = str(value).lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise Problem(400, f"{name} must be true or false, not {value!r}")


def safe_upload_name(filename: str | None) -> str:
    """A display name for an uploaded file: its last path component, never used as a path."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name.strip()
    name = "".join(c for c in name if c.isprintable())[:200]
    return name or "document"


async def _read_input(request: Request, state) -> tuple[str, str, int]:
    """(name, text, header offset) of the document a suggest call sends.

    ``text`` is what the evidence offsets index into: for a UN export file
    the whole file text including its header line, whose length is the
    offset of the analysed text within it.
    """
    from fahras.errors import InputError

    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            data = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            raise Problem(400, "the body is not valid JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            raise Problem(400, "JSON body must be an object with a string 'text'")
        return safe_upload_name(data.get("name")) if data.get("name") else "text", data["text"], 0
    if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        form = await request.form(max_files=1, max_fields=50)
        upload = form.get("file")
        if upload is not None and not isinstance(upload, str):
            name = safe_upload_name(upload.filename)
            data = await upload.read()
            suffix = Path(name).suffix.lower()
            try:
                text, offset = await asyncio.to_thread(_extract_upload, data, suffix, name)
            except InputError as exc:
                raise Problem(400, f"{name}: {exc.reason}") from None
            return name, text, offset
        if isinstance(form.get("text"), str):
            return "text", form["text"], 0
        raise Problem(400, "send a document as 'file' (multipart) or a 'text' field")
    raise Problem(400, f"unsupported content type {content_type or '(none)'}: send multipart/form-data with "
                       f"'file', or a form or JSON 'text'")


def _extract_upload(data: bytes, suffix: str, name: str) -> tuple[str, int]:
    """The text the evidence indexes into, and where the analysed text starts in it.

    The file's name only chooses the format (by its suffix); it never
    becomes a path.
    """
    from fahras.corpus.unexport import HEADER
    from fahras.text import extract_bytes

    extracted = extract_bytes(data, "upload" + suffix if suffix else "upload", strip=False, detect=False)
    text = extracted.text
    if suffix in ("", ".txt") and data.lstrip(b"\xef\xbb\xbf").startswith(HEADER.encode()):
        whole = data.decode("utf-8", "replace").lstrip("\ufeff")
        if whole.endswith(text):
            return whole, len(whole) - len(text)
    return text, 0


def _concept_group(vocab, concept, lang: str) -> dict | None:
    if not concept.groups:
        return None
    gid = concept.groups[0]
    names = vocab.groups.get(gid, {}) or {}
    return {"uri": gid, "label": names.get(lang) or names.get("en") or next(iter(names.values()), gid)}


def _suggest_document(project, name: str, text: str, offset: int, limit, threshold, lang: str | None,
                      label_lang: str, all_labels: bool, explain: bool) -> dict:
    """What ``POST /v1/fahras/projects/{id}/suggest`` returns (runs in the scoring pool)."""
    from fahras.batch import analyse_document
    from fahras.models.features import sharing_rows

    indexer = project.indexer
    body = text[offset:]
    analysed = analyse_document(indexer, body, name, lang)
    with sharing_rows():
        row = indexer.scores([analysed], lang=lang)[0]
        order = np.argsort(-row, kind="stable")
        total = float(row.sum(dtype=np.float64))
        model_rule = indexer.rule()
        n_decided = model_rule.select(row[order[: model_rule.limit]], total=total)
        if limit is None and threshold is None:
            shown = max(DEFAULT_SHOWN, n_decided)
        else:
            rule = indexer.rule(limit, threshold)
            shown = rule.select(row[order[: rule.limit]], total=total)
        results = []
        for rank, column in enumerate(order[:shown].tolist()):
            score = float(row[column])
            if score <= 0 and rank >= n_decided:
                break
            info = indexer.subject_info(column, label_lang)
            item = {"uri": info.uri, "label": info.label, "notation": None if info.local else info.identifier,
                    "score": round(score, 6), "local": info.local, "decided": rank < n_decided}
            if all_labels:
                item["labels"] = dict(info.labels)
            if explain:
                item["evidence"] = _evidence(indexer.backend_.explain(analysed, column), text, offset)
            results.append(item)
    document_language = getattr(analysed, "lang", None) or lang
    return {"document": {"name": name, "language": document_language, "text": text},
            "results": results,
            "model": {"project_id": project.config.project_id, "modification_time": project.modification_time_iso}}


def _evidence(evidence, text: str, offset: int) -> list[dict]:
    out = []
    for ev in evidence:
        backend = getattr(ev, "backend", None) or ev.kind
        if not ev.spans:
            out.append({"text": ev.text, "start": None, "end": None, "score": round(float(ev.weight), 6),
                        "backend": backend})
            continue
        for start, end in ev.spans:
            start, end = int(start) + offset, int(end) + offset
            out.append({"text": text[start:end], "start": start, "end": end,
                        "score": round(float(ev.weight), 6), "backend": backend})
    return out


@router.post(API + "/projects/{project_id}/suggest", tags=["Fahras"], openapi_extra=_SUGGEST_BODY,
             summary="suggest subjects for an uploaded document (PDF, DOCX, HTML, text, UN export) or a text",
             responses=problem_responses(400, 404, 413, 422, 503))
async def fahras_suggest(project_id: str, request: Request,
                         limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
                         threshold: Annotated[float | None, Query(ge=0.0, le=1.0)] = None,
                         language: Annotated[str, Query(description="document language or auto")] = "auto",
                         label_language: Annotated[str, Query()] = "en",
                         all_labels: Annotated[str | None, Query()] = None,
                         explain: Annotated[str | None, Query()] = None):
    state = state_of(request)
    project = state.project(project_id)
    if language != "auto" and language not in LANGUAGES:
        raise Problem(400, f"language must be auto or one of {', '.join(LANGUAGES)}")
    if label_language not in LANGUAGES:
        raise Problem(400, f"label_language must be one of {', '.join(LANGUAGES)}")
    flags = (_flag(all_labels, "all_labels"), _flag(explain, "explain"))
    name, text, offset = await _read_input(request, state)
    state.check_text(text, name)
    if not text[offset:].strip():
        raise Problem(422, f"{name}: no text in the document")
    lang = None if language == "auto" else language
    if lang is None and project.config.document_language:
        lang = project.config.document_language
    return await state.score(_suggest_document, project, name, text, offset, limit, threshold, lang,
                             label_language, *flags)


# -- concepts ----------------------------------------------------------------------------------
def concept_json(vocab, concept, lang: str, hit=None) -> dict:
    related = []
    for uri in concept.related:
        other = vocab.get(uri)
        related.append({"uri": uri, "label": other.label(lang) if other else uri})
    return {"uri": concept.uri, "label": concept.label(lang), "labels": dict(concept.labels),
            "notation": None if concept.local else concept.identifier,
            "group": _concept_group(vocab, concept, lang), "related": related,
            "matched": hit.label if hit is not None else None,
            "matched_language": hit.lang if hit is not None else None,
            "score": float(hit.score) if hit is not None else None}


@router.get(API + "/projects/{project_id}/concepts", tags=["Fahras"],
            summary="concept search: prefix and word matches on labels in the six languages",
            responses=problem_responses(400, 404, 503))
async def search_concepts(project_id: str, request: Request, q: Annotated[str, Query(max_length=200)] = "",
                          lang: Annotated[str, Query()] = "en", limit: Annotated[int, Query(ge=1, le=100)] = 10):
    state = state_of(request)
    project = state.project(project_id)
    if lang not in LANGUAGES:
        raise Problem(400, f"lang must be one of {', '.join(LANGUAGES)}")
    if not q.strip():
        return {"results": []}

    def run():
        search = project.search()
        return [concept_json(project.vocab, hit.concept, lang, hit) for hit in search.search(q, limit=limit)]

    return {"results": await state.score(run)}


@router.get(API + "/projects/{project_id}/concepts/{concept:path}", tags=["Fahras"],
            summary="one concept, by URI (url-encoded) or identifier", responses=problem_responses(404, 503))
async def show_concept(project_id: str, concept: str, request: Request, lang: Annotated[str, Query()] = "en"):
    state = state_of(request)
    project = state.project(project_id)
    if lang not in LANGUAGES:
        raise Problem(400, f"lang must be one of {', '.join(LANGUAGES)}")
    vocab = project.vocab
    found = vocab.get(concept) or vocab.by_identifier(concept)
    if found is None:
        raise Problem(404, f"no concept {concept!r} in project '{project_id}'")
    return concept_json(vocab, found, lang)


# -- feedback ----------------------------------------------------------------------------------
class Shown(BaseModel):
    uri: str
    label: str = ""
    score: float = 0.0
    rank: int = 0


class FeedbackIn(BaseModel):
    document_id: str = Field(min_length=1, max_length=500)
    symbol: str | None = Field(None, max_length=200)
    language: str | None = None
    text: str | None = None
    accepted: list[str] = []
    rejected: list[str] = []
    added: list[str] = []
    shown: list[Shown] = []
    indexer: str | None = Field(None, max_length=200)


@router.post(API + "/projects/{project_id}/feedback", status_code=201, tags=["Fahras"],
             summary="store an indexer's decision on a document",
             responses={201: {"description": "stored; the body is {\"id\": N}"},
                        **problem_responses(400, 401, 403, 404, 413, 503)})
async def feedback(project_id: str, request: Request, body: FeedbackIn):
    state = state_of(request)
    project = state.project(project_id)
    state.require_writer(request)
    if state.feedback is None:
        raise Problem(503, "no feedback database is configured (fahras serve --db URL)")
    if body.language is not None and body.language not in LANGUAGES:
        raise Problem(400, f"language must be one of {', '.join(LANGUAGES)}")
    if body.text is not None:
        state.check_text(body.text)
    from fahras.feedback import Decision, ShownSuggestion

    decision = Decision(project=project_id, document_id=body.document_id, language=body.language,
                        accepted=list(body.accepted), rejected=list(body.rejected), added=list(body.added),
                        shown=[ShownSuggestion(uri=s.uri, label=s.label, score=s.score, rank=s.rank)
                               for s in body.shown],
                        model_version=project.modification_time_iso, symbol=body.symbol, text=body.text,
                        indexer=body.indexer, source="decision", labels=_labels(project.vocab, body))
    new_id = await asyncio.to_thread(state.feedback.add, decision)
    return JSONResponse({"id": int(new_id)}, status_code=201)


def _labels(vocab, body: FeedbackIn) -> dict[str, str]:
    """English labels of the decision's subjects (the label shown for those the vocabulary lacks)."""
    shown = {s.uri: s.label for s in body.shown if s.label}
    labels = {}
    for uri in dict.fromkeys([*body.accepted, *body.rejected, *body.added]):
        concept = vocab.get(uri)
        label = concept.label("en") if concept is not None else shown.get(uri)
        if label:
            labels[uri] = label
    return labels


# -- documents and queue -----------------------------------------------------------------------
#: the most documents one queue request returns (``offset`` pages through more)
QUEUE_LIMIT = 10_000



def _find_in_corpus(state, key: str):
    """(project config, file) of the corpus document whose id (file stem) or symbol is ``key``."""
    for config in state.config.projects:
        path = state.corpus(config.project_id).find(key)
        if path is not None:
            return config, path
    for config in state.config.projects:
        path = state.corpus(config.project_id).find_symbol(key)
        if path is not None:
            return config, path
    return None


def _decision_json(decision) -> dict | None:
    return decision.to_dict() if decision is not None else None


def _document(state, key: str) -> dict | None:
    from fahras.batch import read_document
    from fahras.errors import InputError
    from fahras.text.furniture import find_symbol

    decision = state.feedback.find_document(key) if state.feedback is not None else None
    found = _find_in_corpus(state, key)
    if found is not None:
        config, path = found
        try:
            text = read_document(path)
        except InputError:
            text = None
        if text is not None:
            if decision is None and state.feedback is not None:
                decision = state.feedback.find_document(path.stem)
            from fahras.text.langid import detect_language

            return {"document_id": path.stem, "symbol": find_symbol(text), "language": detect_language(text),
                    "text": text, "project": config.project_id, "decision": _decision_json(decision)}
    if decision is not None:
        return {"document_id": decision.document_id, "symbol": decision.symbol, "language": decision.language,
                "text": state.feedback.text_of(decision), "project": decision.project,
                "decision": _decision_json(decision)}
    return None


@router.get(API + "/documents/{key:path}", tags=["Fahras"],
            summary="a document known to the feedback database or a project's corpus folder",
            responses=problem_responses(404))
async def get_document(key: str, request: Request):
    state = state_of(request)
    found = await asyncio.to_thread(_document, state, key)
    if found is None:
        raise Problem(404, f"no document {key!r} in the feedback database or the projects' corpus folders")
    return found


@router.get(API + "/projects/{project_id}/queue", tags=["Fahras"],
            summary="the documents of the project's corpus folder, with whether each is decided",
            responses=problem_responses(404))
async def queue(project_id: str, request: Request,
                offset: Annotated[int, Query(ge=0, description="documents to skip (by name)")] = 0,
                limit: Annotated[int, Query(ge=1, le=QUEUE_LIMIT, description="documents to return")] = QUEUE_LIMIT):
    state = state_of(request)
    config = state.config.project(project_id)
    if config is None:
        raise Problem(404, f"Project '{project_id}' not found", "Project not found")

    def run():
        files = state.corpus(project_id).files()
        page = files[offset:offset + limit]
        decided = state.feedback.decided(project_id, [p.stem for p in page]) if state.feedback is not None else set()
        return {"documents": [{"document_id": p.stem, "name": p.name, "decided": p.stem in decided} for p in page],
                "total": len(files), "offset": offset, "limit": limit}

    return await asyncio.to_thread(run)


# -- reload and health -----------------------------------------------------------------------
@router.post(API + "/projects/{project_id}/reload", tags=["Fahras"],
             summary="load the project's model folder again (requests under way finish on the old model)",
             responses=problem_responses(401, 403, 404, 503))
async def reload(project_id: str, request: Request):
    from fahras.errors import FahrasError

    state = state_of(request)
    if project_id not in state.registry:
        raise Problem(404, f"Project '{project_id}' not found", "Project not found")
    state.require_writer(request)
    try:
        project = await asyncio.to_thread(state.registry.reload, project_id)
    except (FahrasError, OSError, ValueError, KeyError) as exc:
        raise Problem(503, f"cannot reload project '{project_id}': {exc}") from None
    return {"project_id": project_id, "modification_time": project.modification_time_iso}


@router.get("/healthz", tags=["Health"], summary="the process answers")
def healthz():
    return {"status": "ok"}


@router.get("/readyz", tags=["Health"], summary="the models are loaded",
            responses=problem_responses(503))
def readyz(request: Request):
    state = state_of(request)
    registry = state.registry
    if not registry.ready.is_set():
        raise Problem(503, "models are loading")
    loaded = sorted(pid for pid, _ in registry.items())
    if not loaded:
        raise Problem(503, "no project could be loaded: " + "; ".join(f"{k}: {v}" for k, v in registry.errors.items()))
    return {"status": "ready", "projects": loaded, "failed": registry.errors}
