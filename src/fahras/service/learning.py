"""What ``/learn`` does after answering: store the documents, update the model, reload it.

The documents are stored in the feedback database (when one is configured,
as decisions with ``source="learn"``) before the 204 is sent, so nothing a
client was told was accepted is lost.  Then :func:`fahras.learning.learn`
updates the project's model folder (a new folder swapped in atomically) in
the service's one learning thread, and the project is reloaded: requests
under way finish on the old model, later ones use the new one.  Learning
calls for one project run one after the other.
"""

from __future__ import annotations

import asyncio
import logging

from fahras.service.problems import Problem

log = logging.getLogger("fahras.service")


def _store(state, project, docs: list[tuple[str, list[str], str]]) -> None:
    from fahras.feedback import Decision

    version = project.modification_time_iso
    state.feedback.add_many(Decision(project=project.config.project_id, document_id=doc_id, language=None,
                                     accepted=list(uris), rejected=[], added=[], model_version=version,
                                     text=text, source="learn")
                            for text, uris, doc_id in docs)


def _learn_and_reload(state, project_id: str, model_dir, docs: list[tuple[str, list[str], str]]) -> None:
    from fahras.corpus import Document

    try:
        from fahras.learning import learn
    except ImportError as exc:  # pragma: no cover - depends on the install
        log.error("project %s: learning is not available: %s", project_id, exc)
        return
    documents = [Document(id=doc_id, text=text, subjects=tuple(uris)) for text, uris, doc_id in docs]
    try:
        report = learn(model_dir, documents)
        log.info("project %s learned from %d documents: %s", project_id, len(documents), report)
        state.registry.reload(project_id)
    except Exception:  # the server goes on with the model it has
        log.exception("project %s: learning from %d documents failed", project_id, len(documents))


async def schedule_learning(state, project, docs: list[tuple[str, list[str], str]]) -> None:
    """Store ``docs`` (text, subject URIs, document id) and queue the model's update."""
    if not docs:
        return
    from importlib.util import find_spec

    if find_spec("fahras.learning") is None:  # fail now, with a 503, rather than in the thread
        raise Problem(503, "learning is not available in this installation")
    if state.feedback is not None:
        await asyncio.to_thread(_store, state, project, docs)
    if state.learning is None:
        raise Problem(503, "the service is not started")
    state.learning.submit(_learn_and_reload, state, project.config.project_id, project.config.model, docs)
