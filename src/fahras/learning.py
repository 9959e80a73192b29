"""Learning from indexers' decisions without a full retrain.

:func:`learn` takes a trained model folder and documents with the subjects
indexers settled on (accepted + added, as URIs) and writes a model that has
learned from them.  What learns on the spot (see ``docs/design.md``):

* **the subject space grows**: a subject an indexer added that the model
  never saw becomes a column of the model (a thesaurus concept from the
  model's vocabulary snapshot, or a local heading);
* **knn** adds the documents to the memory its neighbours are found in,
  new subjects included, so documents like them get those subjects proposed;
* **the ensemble's stacker** is refitted on the decided documents'
  (document, candidate) rows -- the base backends' scores *before* the
  document was learned, so they are held out like the cross-validation
  scores it was trained on -- with a Gaussian prior centred on the trained
  weights whose strength stands for the training documents (their number
  times the curvature the decided rows show), so a few decisions move it a
  little and as many decisions as training documents weigh as much;
* **the subject prior** (the stacker's frequency feature) counts the decided
  documents;
* **the decision rule** is re-tuned on the decided documents' held-out
  scores once there are ``min_rule_documents`` of them.

The other backends (tfidf-linear, omikuji, headings, acronyms, zeroshot)
keep their trained state until the next ``fahras train``; in a grown space
they are wrapped in :class:`~fahras.models.grown.GrownBackend` (the subjects
added since score 0 for them).

What was learned is kept in the model folder (``learning/``): the decided
documents' ids and subjects, their stacker rows (or ranked scores), the
trained stacker and rule.  Learning again refits from all of it, from the
trained weights, so repeated learning does not compound; a document learned
again with other subjects replaces its earlier decision, one learned again
with the same subjects is skipped.  Documents learned in one call are scored
together before any of them is learned (a batch); the service learns each
call's documents so.  The model is written as a new
folder and swapped in atomically (the old one stays whole if anything fails).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator
from urllib.parse import unquote

import numpy as np
import scipy.sparse as sp

from fahras.corpus import Document
from fahras.decision import DecisionRule, tune_rule
from fahras.errors import ModelError, UsageError
from fahras.indexer import Indexer
from fahras.models.base import AnalyzedText, Backend
from fahras.models.ensemble import EnsembleBackend
from fahras.models.grown import GrownBackend
from fahras.models.knn import KnnBackend
from fahras.store import atomic_directory
from fahras.subjects import SubjectSpace, resolve
from fahras.vocab import LANGUAGES, LOCAL_URI_PREFIX, Vocabulary, local_concept

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

MEMORY_DIR = "learning"
MEMORY_FORMAT = 1
#: Ranked scores kept per decided document for a model without a stacker.
RANKED_KEPT = 50


@dataclass
class LearnReport:
    """What one :func:`learn` call did."""

    model: Path
    documents: int = 0  # learned for the first time
    relabelled: int = 0  # learned before with other subjects: replaced
    unchanged: int = 0  # learned before with the same subjects: skipped
    skipped: int = 0  # no text or no subjects
    new_subjects: list[str] = field(default_factory=list)
    knn_documents: int = 0  # documents in the nearest-neighbour memory after learning
    memory_documents: int = 0  # decided documents the stacker and rule learn from
    stacker_change: float | None = None  # largest change of a stacker weight (None: no stacker)
    rule_before: dict = field(default_factory=dict)
    rule_after: dict = field(default_factory=dict)
    seconds: float = 0.0
    written: bool = False  # False: nothing new, the model folder was left as it was

    @property
    def changed(self) -> bool:
        return bool(self.documents or self.relabelled or self.new_subjects)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["model"] = str(self.model)
        return data


# -- what was learned, kept in the model folder ----------------------------------------
@dataclass
class _Memory:
    trained_documents: int
    base_rule: dict
    base_stacker: list[float] | None  # coef + [intercept]
    base_prior: np.ndarray | None
    ids: list[str] = field(default_factory=list)
    subjects: list[list[str]] = field(default_factory=list)
    knn_rows: list[list[int]] = field(default_factory=list)  # per document: its row in each knn backend
    pair_doc: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    pair_col: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    pair_x: np.ndarray | None = None
    ranked_cols: np.ndarray | None = None  # documents x RANKED_KEPT (models without a stacker)
    ranked_scores: np.ndarray | None = None
    ranked_total: np.ndarray = field(default_factory=lambda: np.zeros(0))
    history: list[dict] = field(default_factory=list)

    @classmethod
    def fresh(cls, indexer: Indexer) -> "_Memory":
        backend = indexer.backend_
        stacker = prior = None
        if isinstance(backend, EnsembleBackend):
            stacker = [float(c) for c in backend.coef_] + [float(backend.intercept_)]
            prior = np.asarray(backend.prior_, dtype=np.float32).copy()
        return cls(trained_documents=int(indexer.training_.get("documents") or 0),
                   base_rule=indexer.rule_.to_dict(), base_stacker=stacker, base_prior=prior)

    @classmethod
    def load(cls, folder: Path, indexer: Indexer) -> "_Memory":
        state_path = folder / "state.json"
        if not state_path.is_file():
            return cls.fresh(indexer)
        try:
            state = json.loads(state_path.read_text(encoding="utf-8"))
            if state.get("format") != MEMORY_FORMAT:
                raise ValueError(f"format {state.get('format')!r}")
            memory = cls(trained_documents=int(state["trained_documents"]), base_rule=state["base_rule"],
                         base_stacker=state.get("base_stacker"), base_prior=None, ids=list(state["ids"]),
                         subjects=[list(s) for s in state["subjects"]],
                         knn_rows=[list(r) for r in state["knn_rows"]], history=list(state.get("history", [])))
            if (folder / "prior.npy").is_file():
                memory.base_prior = np.load(folder / "prior.npy", allow_pickle=False)
            if (folder / "pairs.npz").is_file():
                with np.load(folder / "pairs.npz", allow_pickle=False) as data:
                    memory.pair_doc, memory.pair_col = data["doc"], data["col"]
                    memory.pair_x = data["x"].astype(np.float64)
            if (folder / "ranked.npz").is_file():
                with np.load(folder / "ranked.npz", allow_pickle=False) as data:
                    memory.ranked_cols, memory.ranked_scores = data["cols"], data["scores"]
                    memory.ranked_total = data["total"]
        except (OSError, KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{folder}: damaged learning memory ({exc}); delete the folder to start afresh "
                             "(what knn learned stays)") from None
        if len(memory.subjects) != len(memory.ids) or len(memory.knn_rows) != len(memory.ids):
            raise ModelError(f"{folder}: damaged learning memory (inconsistent lengths)")
        return memory

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        state = {"format": MEMORY_FORMAT, "trained_documents": self.trained_documents,
                 "base_rule": self.base_rule, "base_stacker": self.base_stacker, "ids": self.ids,
                 "subjects": self.subjects, "knn_rows": self.knn_rows, "history": self.history}
        (folder / "state.json").write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
        if self.base_prior is not None:
            np.save(folder / "prior.npy", self.base_prior)
        if self.pair_x is not None:
            np.savez_compressed(folder / "pairs.npz", doc=self.pair_doc, col=self.pair_col,
                                x=self.pair_x.astype(np.float32))
        if self.ranked_cols is not None:
            np.savez_compressed(folder / "ranked.npz", cols=self.ranked_cols, scores=self.ranked_scores,
                                total=self.ranked_total)


# -- the learner -----------------------------------------------------------------------
class Learner:
    """A loaded model that learns from decided documents in memory; :meth:`save` writes it.

    :func:`learn` is load + :meth:`learn` + :meth:`save`; a benchmark or a
    service that learns often keeps a Learner and its :attr:`indexer`.
    """

    def __init__(self, indexer: Indexer, memory: "_Memory | None" = None, min_rule_documents: int = 20,
                 prior_weight: float = 1.0):
        if not hasattr(indexer, "backend_"):
            raise UsageError("learning needs a trained model")
        if min_rule_documents < 1:
            raise UsageError("min_rule_documents must be at least 1")
        if prior_weight < 0:
            raise UsageError("prior_weight must not be negative")
        self.indexer = indexer
        self.memory = memory or _Memory.fresh(indexer)
        self.min_rule_documents = min_rule_documents
        self.prior_weight = prior_weight
        self._index = {doc_id: n for n, doc_id in enumerate(self.memory.ids)}

    @classmethod
    def load(cls, model_dir: str | Path, **options) -> "Learner":
        model_dir = Path(model_dir)
        indexer = Indexer.load(model_dir)
        return cls(indexer, _Memory.load(model_dir / MEMORY_DIR, indexer), **options)

    # -- the backends that learn -------------------------------------------------
    def _knns(self) -> list[KnnBackend]:
        backend = self.indexer.backend_
        bases = backend.bases_ if isinstance(backend, EnsembleBackend) else [backend]
        return [b for b in bases if isinstance(b, KnnBackend)]

    @property
    def _ensemble(self) -> EnsembleBackend | None:
        backend = self.indexer.backend_
        return backend if isinstance(backend, EnsembleBackend) else None

    # -- learning ------------------------------------------------------------------
    def learn(self, documents: Iterable[Document], progress: Progress | None = None,
              batch_size: int = 64) -> LearnReport:
        """Learn from ``documents`` (subjects as URIs, identifiers or labels); the model changes in memory."""
        started = time.perf_counter()
        report = LearnReport(model=Path())
        report.rule_before = self.indexer.rule_.to_dict()
        coef_before = self._stacker_weights()
        pending: list[tuple[Document, list[str]]] = []
        done = 0
        for doc in documents:
            if not doc.subjects or not doc.text or not doc.text.strip():
                report.skipped += 1
                continue
            uris = self._resolve(doc, report)
            known = self._index.get(doc.id)
            if known is not None:
                if set(self.memory.subjects[known]) == set(uris):
                    report.unchanged += 1
                else:
                    self._relabel(known, uris)
                    report.relabelled += 1
                continue
            if any(d.id == doc.id for d, _ in pending):  # the same document twice in one call: the last wins
                pending = [(d, u) for d, u in pending if d.id != doc.id]
            pending.append((doc, uris))
            if len(pending) >= batch_size:
                done += self._learn_batch(pending)
                pending = []
                if progress:
                    progress("learn", done, 0)
        if pending:
            done += self._learn_batch(pending)
            if progress:
                progress("learn", done, 0)
        report.documents = done
        if done or report.relabelled or report.new_subjects:
            self._refit()
            self.memory.history.append({"documents": done, "relabelled": report.relabelled,
                                        "new_subjects": len(report.new_subjects),
                                        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        report.rule_after = self.indexer.rule_.to_dict()
        after = self._stacker_weights()
        report.stacker_change = (None if after is None or coef_before is None
                                 else float(np.max(np.abs(after - coef_before))))
        report.knn_documents = sum(int(k.train_.shape[0]) for k in self._knns())
        report.memory_documents = len(self.memory.ids)
        report.seconds = round(time.perf_counter() - started, 3)
        self.indexer.training_ = {**self.indexer.training_, "learning": {
            "documents": len(self.memory.ids), "subjects": len(self.indexer.subjects_),
            "calls": len(self.memory.history), "decision_rule_tuned": len(self.memory.ids) >= self.min_rule_documents,
        }}
        return report

    def _stacker_weights(self) -> np.ndarray | None:
        ensemble = self._ensemble
        if ensemble is None:
            return None
        return np.append(np.asarray(ensemble.coef_, dtype=np.float64), ensemble.intercept_)

    def _resolve(self, doc: Document, report: LearnReport) -> list[str]:
        """The document's subjects as URIs; subjects the model does not know are added to its space."""
        indexer = self.indexer
        labels = doc.metadata.get("labels") or {}
        uris = []
        for descriptor in doc.subjects:
            concept = resolve(descriptor, indexer.vocab_)
            if concept.uri not in indexer.vocab_:
                given = descriptor.strip()
                if given.startswith(LOCAL_URI_PREFIX):  # a local heading's URI spells its label's key
                    concept = local_concept(labels.get(given) or unquote(given[len(LOCAL_URI_PREFIX):]))
                elif concept.local and given.startswith(("http://", "https://", "urn:")):
                    # A URI the model's thesaurus snapshot lacks: keep the URI itself, labelled if we can.
                    label = labels.get(given) or given
                    concept = type(concept)(uri=given, identifier=local_concept(label).identifier,
                                            labels={"en": label}, local=True)
                indexer.vocab_ = Vocabulary([*indexer.vocab_, concept], groups=indexer.vocab_.groups,
                                            source=indexer.vocab_.source)
            if concept.uri not in indexer.subjects_.index:
                self._grow([concept.uri])
                report.new_subjects.append(concept.uri)
            uris.append(concept.uri)
        return list(dict.fromkeys(uris))

    def _grow(self, uris: list[str]) -> None:
        """Add subjects to the model's space: new columns at the end of every score matrix."""
        indexer = self.indexer
        before = len(indexer.subjects_)
        indexer.subjects_ = SubjectSpace([*indexer.subjects_.uris, *uris])
        after = len(indexer.subjects_)

        def grown(backend: Backend) -> Backend:
            if isinstance(backend, KnnBackend):
                backend.labels_.resize((backend.labels_.shape[0], after))  # new subjects: no document yet
                return backend
            inner = backend.inner_subjects if isinstance(backend, GrownBackend) else before
            return GrownBackend.wrap(backend, after, inner)

        ensemble = self._ensemble
        if ensemble is not None:
            ensemble.bases_ = [grown(b) for b in ensemble.bases_]
            ensemble.prior_ = np.concatenate([ensemble.prior_, np.zeros(after - before, dtype=np.float32)])
            if ensemble.stacker_.grown_from is None:  # they keep knn's vote, not the novel head's (#16)
                ensemble.stacker_.grown_from = before
            cover = sp.csr_matrix(ensemble.cover_, copy=True)
            cover.resize((after, after))
            ensemble.cover_ = cover
        else:
            indexer.backend_ = grown(indexer.backend_)

    def _analyse(self, doc: Document) -> AnalyzedText:
        lang = doc.metadata.get("language")
        return self.indexer.analyse(doc.text, lang if lang in LANGUAGES else None)

    def _learn_batch(self, batch: list[tuple[Document, list[str]]]) -> int:
        """Held-out scores of the batch (before it is learned), then the batch joins the memory."""
        indexer, memory = self.indexer, self.memory
        analysed = [self._analyse(doc) for doc, _ in batch]
        first = len(memory.ids)
        ensemble = self._ensemble
        if ensemble is not None:
            base = [b.predict_scores(analysed) for b in ensemble.bases_]
            rows, cols, x = ensemble.candidate_features(base)
            memory.pair_doc = np.concatenate([memory.pair_doc, (rows + first).astype(np.int32)])
            memory.pair_col = np.concatenate([memory.pair_col, cols.astype(np.int32)])
            memory.pair_x = x if memory.pair_x is None else np.vstack([memory.pair_x, x])
        else:
            scores = indexer.backend_.predict_scores(analysed)
            k = min(RANKED_KEPT, scores.shape[1])
            order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
            top = np.take_along_axis(scores, order, axis=1).astype(np.float32)
            if memory.ranked_cols is None:
                memory.ranked_cols, memory.ranked_scores = order.astype(np.int32), top
            else:
                memory.ranked_cols = np.vstack([memory.ranked_cols, order.astype(np.int32)])
                memory.ranked_scores = np.vstack([memory.ranked_scores, top])
            memory.ranked_total = np.concatenate([memory.ranked_total, scores.sum(axis=1, dtype=np.float64)])
        y = indexer.subjects_.indicator([set(uris) for _, uris in batch])
        knn_rows = [knn.add_documents(analysed, y) for knn in self._knns()]
        for n, (doc, uris) in enumerate(batch):
            self._index[doc.id] = len(memory.ids)
            memory.ids.append(doc.id)
            memory.subjects.append(list(uris))
            memory.knn_rows.append([int(rows[n]) for rows in knn_rows])
        return len(batch)

    def _relabel(self, n: int, uris: list[str]) -> None:
        self.memory.subjects[n] = list(uris)
        y = self.indexer.subjects_.indicator([set(uris)])
        for knn, row in zip(self._knns(), self.memory.knn_rows[n]):
            knn.set_labels([row], y)

    # -- refitting the stacker, prior and rule ---------------------------------------
    def _truth(self, docs: np.ndarray, cols: np.ndarray) -> np.ndarray:
        index = self.indexer.subjects_.index
        gold = [{index[u] for u in subjects if u in index} for subjects in self.memory.subjects]
        return np.fromiter((c in gold[d] for d, c in zip(docs, cols)), dtype=bool, count=len(docs))

    def _refit(self) -> None:
        memory, indexer = self.memory, self.indexer
        ensemble = self._ensemble
        n_gold = np.array([len(s) for s in memory.subjects], dtype=float)
        if ensemble is not None:
            # Subjects added since training stay "unseen" for the ensemble (prior 0): they take the
            # best base score (knn's vote) instead of the stacker's, which has no evidence on them
            # and would read the other backends' zeros ("cannot score it") as evidence against.
            trained = len(memory.base_prior)
            counts = np.zeros(len(indexer.subjects_), dtype=np.float64)
            for subjects in memory.subjects:
                for uri in subjects:
                    counts[indexer.subjects_.index[uri]] += 1
            prior = np.zeros(len(indexer.subjects_), dtype=np.float64)
            prior[:trained] = np.log1p(np.expm1(memory.base_prior) + counts[:trained])
            ensemble.prior_ = prior.astype(np.float32)
            if memory.pair_x is not None and len(memory.pair_x):
                target = self._truth(memory.pair_doc, memory.pair_col)
                stacked = memory.pair_col < trained
                w = np.asarray(memory.base_stacker, dtype=np.float64)
                if stacked.any():
                    w = _fit_with_prior(memory.pair_x[stacked], target[stacked], w,
                                        self.prior_weight * memory.trained_documents / max(len(memory.ids), 1))
                ensemble.coef_, ensemble.intercept_ = w[:-1], float(w[-1])
                probs = 1.0 / (1.0 + np.exp(-np.clip(memory.pair_x @ w[:-1] + w[-1], -50, 50)))
                n_bases = len(ensemble.bases_)
                passed = memory.pair_x[:, 0:3 * n_bases:3].max(axis=1)  # each base's raw score: 1st of 3
                probs = np.where(stacked, probs, passed)
                scores, truth = _compact(memory.pair_doc, probs, target, len(memory.ids))
            else:
                scores = truth = None
        else:
            scores = memory.ranked_scores
            truth = None
            if memory.ranked_cols is not None:
                flat = self._truth(np.repeat(np.arange(len(memory.ids)), memory.ranked_cols.shape[1]),
                                   memory.ranked_cols.ravel())
                truth = flat.reshape(memory.ranked_cols.shape)
        base_rule = DecisionRule.from_dict(memory.base_rule)
        if scores is not None and len(memory.ids) >= self.min_rule_documents:
            indexer.rule_, _ = tune_rule(scores, sp.csr_matrix(truth.astype(np.float32)), n_gold=n_gold,
                                         max_limit=indexer.max_limit, kind=base_rule.kind)
        else:
            indexer.rule_ = base_rule

    # -- writing ---------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the model and what it learned as one folder, atomically (the old one stays whole on failure)."""
        with atomic_directory(path) as tmp:
            self.indexer.save(tmp)  # an empty folder is replaced in place
            self.memory.save(tmp / MEMORY_DIR)
        return Path(path)


def _fit_with_prior(x: np.ndarray, target: np.ndarray, w0: np.ndarray, strength: float,
                    ridge: float = 1.0, floor: float = 0.1, iterations: int = 50) -> np.ndarray:
    """Logistic regression weights (coef + intercept) for ``x`` -> ``target``, near ``w0``.

    Minimises the log-loss of the rows plus ``0.5 (w - w0)' P (w - w0)``
    where ``P = strength * (H0 + floor * mean(diag H0) * I) + ridge * I``
    and ``H0`` is the log-loss curvature of these rows at ``w0``: the
    trained weights count as ``strength`` times as many rows as these
    (Newton's method; the problem is small and convex).
    """
    xt = np.hstack([x, np.ones((len(x), 1))])
    t = target.astype(np.float64)

    def probs(w):
        return 1.0 / (1.0 + np.exp(-np.clip(xt @ w, -50, 50)))

    def objective(w):
        z = np.clip(xt @ w, -50, 50)
        d = w - w0
        return float(np.sum(np.logaddexp(0.0, z) - t * z) + 0.5 * d @ prior @ d)

    p0 = probs(w0)
    curvature = (xt.T * (p0 * (1 - p0))) @ xt
    # Directions these rows hardly inform (a feature that is ~0 in all of them) keep the
    # trained weight: an isotropic share of the curvature, also scaled by the strength.
    curvature += floor * np.trace(curvature) / len(w0) * np.eye(len(w0))
    prior = strength * curvature + ridge * np.eye(len(w0))
    w = w0.astype(np.float64).copy()
    current = objective(w)
    for _ in range(iterations):
        p = probs(w)
        gradient = xt.T @ (p - t) + prior @ (w - w0)
        hessian = (xt.T * (p * (1 - p))) @ xt + prior
        step = np.linalg.solve(hessian, gradient)
        size = 1.0
        while size > 1e-4:
            candidate = w - size * step
            value = objective(candidate)
            if value <= current:
                break
            size /= 2
        else:
            break
        improvement = current - value
        w, current = candidate, value
        if improvement < 1e-9 * max(1.0, abs(current)):
            break
    return w


def _compact(doc: np.ndarray, probs: np.ndarray, target: np.ndarray, n_docs: int) -> tuple[np.ndarray, np.ndarray]:
    """Documents x candidate slots: each document's candidates' scores and whether each is right."""
    counts = np.bincount(doc, minlength=n_docs)
    width = max(int(counts.max()) if len(counts) else 0, 1)
    scores = np.zeros((n_docs, width), dtype=np.float64)
    truth = np.zeros((n_docs, width), dtype=bool)
    order = np.argsort(doc, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.arange(len(doc)) - starts[doc[order]]
    scores[doc[order], slot] = probs[order]
    truth[doc[order], slot] = target[order]
    return scores, truth


# -- the function the service and the command line call ------------------------------
@contextlib.contextmanager
def _model_lock(model_dir: Path) -> Iterator[None]:
    """One learner at a time per model folder (an advisory lock on a sibling file)."""
    try:
        import fcntl
    except ImportError:  # not on POSIX: no lock
        yield
        return
    lock_path = model_dir.absolute().parent / f".{model_dir.name}.learn.lock"
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def learn(model_dir: Path, documents: Iterable[Document], out: Path | None = None,
          progress: Progress | None = None, *, min_rule_documents: int = 20,
          prior_weight: float = 1.0) -> LearnReport:
    """Learn from decided documents; write the model to ``out`` (default: replace ``model_dir`` atomically).

    ``documents`` carry the final subjects (URIs, identifiers or labels).
    See the module documentation for what learns.  Returns a
    :class:`LearnReport`; the written folder's ``manifest.json`` has a new
    ``created`` time.  When nothing is new (every document already learned
    with the same subjects) and ``out`` is None, the model folder is left
    untouched (``report.written`` is False).
    """
    model_dir = Path(model_dir)
    target = Path(out) if out is not None else model_dir
    with _model_lock(model_dir):
        learner = Learner.load(model_dir, min_rule_documents=min_rule_documents, prior_weight=prior_weight)
        report = learner.learn(documents, progress)
        if report.changed or target != model_dir:
            learner.save(target)
            report.written = True
    report.model = target
    return report


def decision_documents(store, project: str | None = None) -> tuple[list[Document], int]:
    """The latest decision on each document of a :class:`~fahras.feedback.FeedbackStore` as documents.

    Returns the documents with text and final subjects, and how many
    decisions had no text to learn from.
    """
    documents, without_text = [], 0
    for decision in store.latest_decisions(project):
        text = store.text_of(decision)
        if not text or not text.strip():
            without_text += 1
            continue
        documents.append(Document(id=decision.document_id, text=text, subjects=tuple(decision.subjects),
                                  metadata={"language": decision.language, "labels": dict(decision.labels),
                                            "project": decision.project, "symbol": decision.symbol}))
    return documents, without_text


__all__ = ["LearnReport", "Learner", "decision_documents", "learn"]
