"""Annif's REST API v1, implemented on Fahras's projects.

The paths, parameters, status codes and JSON shapes are those of Annif's
published OpenAPI description (``annif/openapi/annif.yaml``): an Annif client
(Annif's own ``http`` backend, DSpace, Koha plug-ins) works against Fahras
unchanged.  Where Annif leaves a value to the implementation:

- ``language`` of a suggest call is the language of the labels returned (one
  of the six UN languages); the documents' language is the project's
  (``auto``: detected for each document).
- ``notation`` is the concept's UNBIS identifier (null for local headings).
- a project's ``language`` is its configured document language, or ``en`` (the
  default label language) for ``auto`` projects; ``document_language`` says
  which.
- results with score 0 (subjects the model did not score) are left out.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Annotated

from fastapi import APIRouter, Body, Form, Query, Request, Response
from pydantic import BaseModel, Field

from fahras.service import timing
from fahras.service.problems import Problem, problem_responses
from fahras.vocab import LANGUAGES

log = logging.getLogger("fahras.service")

router = APIRouter(prefix="/v1")

API_TITLE = "Annif REST API (Fahras)"


# -- schemas ---------------------------------------------------------------------------------
class ApiInfo(BaseModel):
    title: str
    version: str


class Vocab(BaseModel):
    vocab_id: str
    languages: list[str] = []
    size: int | None = None
    loaded: bool = True


class VocabList(BaseModel):
    vocabs: list[Vocab]


class ProjectBackend(BaseModel):
    backend_id: str


class ProjectInfo(BaseModel):
    project_id: str
    name: str
    language: str
    backend: ProjectBackend
    vocab: Vocab | None = None
    vocab_language: str | None = None
    is_trained: bool | None = None
    modification_time: str | None = None
    document_language: str = Field("auto", description="Fahras: the documents' language (auto: detected)")
    may_learn: bool = Field(True, description="Fahras: whether /learn may update this project")


class ProjectList(BaseModel):
    projects: list[ProjectInfo]


class SuggestionResult(BaseModel):
    uri: str
    label: str
    notation: str | None = None
    score: float


class SuggestionResultList(BaseModel):
    results: list[SuggestionResult]


class BatchSuggestionResult(SuggestionResultList):
    document_id: str | None = None


class BatchDocument(BaseModel):
    text: str
    document_id: str | None = None
    metadata: dict[str, str] | None = None


class BatchRequest(BaseModel):
    documents: list[BatchDocument]


class Subject(BaseModel):
    uri: str
    label: str | None = None


class IndexedDocument(BaseModel):
    text: str = ""
    subjects: list[Subject] = []
    metadata: dict[str, str] | None = None


class DetectRequest(BaseModel):
    text: str
    languages: list[str] = Field(min_length=1)


class DetectedLanguage(BaseModel):
    language: str | None
    score: float


class DetectedLanguages(BaseModel):
    results: list[DetectedLanguage]


# -- helpers ---------------------------------------------------------------------------------
def state_of(request: Request):
    return request.app.state.fahras


def vocab_id_of(vocab) -> str:
    """A short id for a project's vocabulary: ``unbis`` for the UNBIS Thesaurus, else its file's name."""
    from pathlib import PurePath

    source = str(getattr(vocab, "source", "") or "")
    name = PurePath(source).stem.lower() if source else ""
    if not name or "all_topics" in name or "unbis" in source.lower():
        return "unbis"
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name)


def vocab_info(project) -> Vocab:
    return Vocab(vocab_id=vocab_id_of(project.vocab), languages=list(LANGUAGES), size=len(project.vocab),
                 loaded=True)


def project_info(project) -> ProjectInfo:
    config = project.config
    return ProjectInfo(project_id=config.project_id, name=config.name,
                       language=config.language if config.language != "auto" else "en",
                       backend=ProjectBackend(backend_id=project.backend_id), vocab=vocab_info(project),
                       vocab_language=config.language if config.language != "auto" else "en",
                       is_trained=True, modification_time=project.modification_time_iso,
                       document_language=config.language, may_learn=config.learn)


def label_language(project, language: str | None) -> str:
    """The language of the labels: the one asked for, else the project's (en for auto projects)."""
    if language is None or language == "":
        return project.config.language if project.config.language != "auto" else "en"
    if language not in LANGUAGES:
        raise Problem(400, f'language "{language}" not supported by vocabulary '
                           f"(one of {', '.join(LANGUAGES)})")
    return language


def check_limits(limit: int | None, threshold: float | None) -> None:
    if limit is not None and limit < 0:
        raise Problem(400, "limit must be 0 or more")
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise Problem(400, "threshold must be between 0 and 1")


def suggest_texts(project, texts: list[str], limit: int, threshold: float, label_lang: str) -> list[list[dict]]:
    """Annif-style results for each text: the top ``limit`` with score >= ``threshold`` (and > 0)."""
    out: list[list[dict] | None] = [[] if limit == 0 or not t.strip() else None for t in texts]
    todo = [i for i, r in enumerate(out) if r is None]
    if todo:
        found = project.indexer.suggest_batch([texts[i] for i in todo], limit=limit, threshold=threshold,
                                              label_lang=label_lang, lang=project.config.document_language)
        for i, suggestions in zip(todo, found):
            out[i] = [{"uri": s.uri, "label": s.label, "notation": None if s.local else (s.identifier or None),
                       "score": float(s.score)} for s in suggestions if s.score > 0 and s.score >= threshold]
    return out  # type: ignore[return-value]


# -- routes ----------------------------------------------------------------------------------
@router.get("/", response_model=ApiInfo, tags=["API information"],
            summary="get basic information about the API service")
def show_info() -> ApiInfo:
    from fahras import __version__

    return ApiInfo(title=API_TITLE, version=__version__)


@router.get("/vocabs", response_model=VocabList, tags=["Vocabulary information"],
            summary="get a list of vocabularies")
def list_vocabs(request: Request) -> VocabList:
    vocabs: dict[str, Vocab] = {}
    for _, project in sorted(state_of(request).projects.items()):
        info = vocab_info(project)
        if info.vocab_id not in vocabs or (info.size or 0) > (vocabs[info.vocab_id].size or 0):
            vocabs[info.vocab_id] = info
    return VocabList(vocabs=list(vocabs.values()))


@router.get("/projects", response_model=ProjectList, tags=["Project administration"],
            summary="get a list of projects")
def list_projects(request: Request) -> ProjectList:
    return ProjectList(projects=[project_info(p) for _, p in sorted(state_of(request).projects.items())])


@router.get("/projects/{project_id}", response_model=ProjectInfo, tags=["Project administration"],
            summary="show project information", responses=problem_responses(404, 503))
def show_project(project_id: str, request: Request) -> ProjectInfo:
    return project_info(state_of(request).project(project_id))


@router.post("/projects/{project_id}/suggest", response_model=SuggestionResultList,
             tags=["Automatic subject indexing"], summary="suggest subjects for a given text",
             responses=problem_responses(400, 404, 413, 503))
async def suggest(project_id: str, request: Request,
                  text: Annotated[str, Form(description="input text")],
                  limit: Annotated[int, Form(description="maximum number of results to return")] = 10,
                  threshold: Annotated[float, Form(description="minimum score threshold")] = 0.0,
                  language: Annotated[str | None, Form(description="language of subject labels")] = None):
    state = state_of(request)
    project = state.project(project_id)
    check_limits(limit, threshold)
    lang = label_language(project, language)
    state.check_text(text)
    timing.note("chars", len(text))
    results = await state.score(suggest_texts, project, [text], limit, threshold, lang)
    return {"results": results[0]}


@router.post("/projects/{project_id}/suggest-batch", response_model=list[BatchSuggestionResult],
             tags=["Automatic subject indexing"],
             summary="suggest subjects for the given batch of up to 32 documents",
             responses=problem_responses(400, 404, 413, 503))
async def suggest_batch(project_id: str, request: Request, body: BatchRequest,
                        limit: Annotated[int, Query()] = 10, threshold: Annotated[float, Query()] = 0.0,
                        language: Annotated[str | None, Query()] = None):
    state = state_of(request)
    project = state.project(project_id)
    check_limits(limit, threshold)
    lang = label_language(project, language)
    most = state.config.limits.max_batch_documents
    if len(body.documents) > most:
        raise Problem(400, f"{len(body.documents)} documents in a batch; at most {most} are allowed")
    for i, doc in enumerate(body.documents):
        state.check_text(doc.text, f"documents[{i}].text")
    results = await state.score(suggest_texts, project, [d.text for d in body.documents], limit, threshold, lang)
    return [{"results": r, "document_id": d.document_id} for d, r in zip(body.documents, results)]


@router.post("/projects/{project_id}/learn", status_code=204, tags=["Learning from feedback"],
             summary="learn from manually indexed documents",
             responses={204: {"description": "successful operation"}, **problem_responses(400, 401, 403, 404, 413, 503)})
async def learn(project_id: str, request: Request, documents: Annotated[list[IndexedDocument], Body()]):
    from fahras.service.learning import schedule_learning

    state = state_of(request)
    project = state.project(project_id)
    if not project.config.learn:
        raise Problem(403, f"Project '{project_id}' is not configured to allow learning via API",
                      "Learning not allowed")
    state.require_writer(request)
    for i, doc in enumerate(documents):
        state.check_text(doc.text, f"[{i}].text")
    docs = [(doc.text, [s.uri for s in doc.subjects], _learn_document_id(doc)) for doc in documents
            if doc.text.strip() and doc.subjects]
    await schedule_learning(state, project, docs)
    return Response(status_code=204)


def _learn_document_id(doc: IndexedDocument) -> str:
    meta = doc.metadata or {}
    for key in ("document_id", "id", "symbol"):
        if meta.get(key):
            return str(meta[key])
    return "learn-" + hashlib.sha256(doc.text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@router.post("/detect-language", response_model=DetectedLanguages, tags=["Language detection"],
             summary="detect the language of a text given a list of candidate languages",
             responses=problem_responses(400, 413))
async def detect_language(request: Request, body: DetectRequest):
    state = state_of(request)
    unknown = [code for code in body.languages if code not in LANGUAGES]
    if unknown:
        raise Problem(400, f"unsupported candidate language(s): {', '.join(unknown)} "
                           f"(Fahras knows {', '.join(LANGUAGES)})")
    state.check_text(body.text)
    results = await state.score(language_scores, body.text, list(dict.fromkeys(body.languages)))
    return {"results": results}


def language_scores(text: str, candidates: list[str]) -> list[dict]:
    """Each candidate's share of the text, best first; ``language: null`` for the rest.

    Arabic, Chinese and Russian are settled by counting letters per script;
    the Latin-script share goes to English, French and Spanish in proportion
    to lingua's confidence (restricted to those three).
    """
    from fahras.text.langid import DETECTOR, _sample, script_counts

    sample = _sample(text, 4000)
    counts = script_counts(sample)
    weights = {"ar": counts["ar"], "zh": counts["zh"] * 3.0, "ru": counts["ru"], "latin": counts["latin"]}
    total = sum(weights.values())
    if total <= 0:
        return [{"language": None, "score": 1.0}]
    shares = {code: weights[code] / total for code in ("ar", "zh", "ru")}
    latin = weights["latin"] / total
    if latin > 0:
        values = {v.language.iso_code_639_1.name.lower(): v.value
                  for v in DETECTOR.get().compute_language_confidence_values(_sample(sample, 1200))}
        latin_sum = sum(values.get(code, 0.0) for code in ("en", "fr", "es")) or 1.0
        for code in ("en", "fr", "es"):
            shares[code] = latin * values.get(code, 0.0) / latin_sum
    results = [{"language": code, "score": round(shares.get(code, 0.0), 4)} for code in candidates]
    rest = max(0.0, 1.0 - sum(r["score"] for r in results))
    if rest > 0.0001:
        results.append({"language": None, "score": round(rest, 4)})
    return sorted(results, key=lambda r: -r["score"])
