"""A learned ensemble: base backends combined by a stacking model.

Each base backend is cross-validated once; its held-out scores train a
logistic-regression *stacker* over (document, candidate subject) pairs.  The
stacker sees each backend's score, log-odds and rank, and the subject's
training frequency, so it learns how much to trust each backend and returns
calibrated probabilities ("how likely is this descriptor right").

Candidates are the union of each backend's top ``candidates`` subjects; every
other subject scores 0.  Subjects that no training document has (composed
headings, zero-shot concepts) get the best base score instead: the stacker
has no held-out evidence to weigh them.  That keeps prediction linear in documents x
candidates, not documents x thesaurus.

A composed heading no training document has is also discounted by the
probability of the subjects that already name its filler
(:func:`~fahras.models.headings.covering_subjects`): a document indexed under
``ERITREA--ETHIOPIA`` does not need ``ETHIOPIA SITUATION`` as well, while
``MALI--POLITICAL CONDITIONS`` is untouched where no heading names Mali.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import scipy.sparse as sp

from fahras.errors import UsageError
from fahras.models.base import AnalyzedText, Backend, Evidence, create_backend, register
from fahras.models.crossfit import cross_fit
from fahras.models.headings import covering_subjects
from fahras.text import Analyzer

DEFAULT_BASES = ({"name": "tfidf-linear"}, {"name": "omikuji"}, {"name": "knn"}, {"name": "headings"},
                 {"name": "acronyms"})


def _ranks(order: np.ndarray) -> np.ndarray:
    """0-based rank of every column in each row, from the rows' argsort ``order``."""
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(order.shape[1]), order.shape), axis=1)
    return rank


def _no_cover(n_subjects: int) -> sp.csr_matrix:
    return sp.csr_matrix((n_subjects, n_subjects), dtype=np.float32)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


@register
class EnsembleBackend(Backend):
    """Stacked ensemble of base backends.

    Parameters
    ----------
    backends : base backends as ``{"name": ..., "params": {...}}`` dicts.
    cv_folds : folds used to get the base backends' held-out scores when the
        ensemble is fitted on its own (inside :class:`~fahras.Indexer` the
        indexer's folds are reused).
    candidates : how many top subjects of each base backend are re-scored.
    C : inverse regularisation of the stacker.
    random_state : seed of the folds.
    n_jobs : worker processes fitting the base backends on the folds (0 = one
        per core, at most 8, when there are at least 100 documents, else 1); see
        :mod:`fahras.models.crossfit`.  Results do not depend on it.
    """

    name = "ensemble"
    uses_concepts = True  # passed on to the base backends that use them

    def __init__(self, backends: Sequence[dict] = DEFAULT_BASES, cv_folds: int = 3, candidates: int = 20,
                 C: float = 1.0, random_state: int = 0, n_jobs: int = 0):
        self.backends = [dict(b) for b in backends]
        self.cv_folds = cv_folds
        self.candidates = candidates
        self.C = C
        self.random_state = random_state
        self.n_jobs = n_jobs

    # -- fitting -------------------------------------------------------------
    def fit(self, docs: Sequence[AnalyzedText], y: sp.csr_matrix, analyzer: Analyzer,
            concepts: Sequence | None = None) -> "EnsembleBackend":
        from sklearn.model_selection import KFold

        folds = list(KFold(self.cv_folds, shuffle=True, random_state=self.random_state).split(docs))
        self.fit_out_of_fold(docs, y, analyzer, folds, concepts=concepts)
        return self

    def fit_out_of_fold(self, docs: Sequence[AnalyzedText], y: sp.csr_matrix, analyzer: Analyzer,
                        folds: Sequence[tuple[np.ndarray, np.ndarray]],
                        progress: Callable[[str, int, int], None] | None = None,
                        concepts: Sequence | None = None) -> np.ndarray:
        if not self.backends:
            raise UsageError("an ensemble needs at least one base backend")
        y = sp.csr_matrix(y)
        self.learn_subjects(y, concepts)
        self.bases_, base_oof = cross_fit(self.backends, docs, y, analyzer, folds, concepts=concepts,
                                          n_jobs=self.n_jobs, progress=progress)
        oof = self.held_out_scores(base_oof, y, folds)
        self.coef_, self.intercept_ = self._fit_stacker(base_oof, y)
        return oof

    def learn_subjects(self, y: sp.csr_matrix, concepts: Sequence | None = None) -> None:
        """What the ensemble knows of the subjects themselves: training frequency (``prior_``) and which
        seen subjects name the filler of each composed heading (``cover_``, needs ``concepts``)."""
        self.prior_ = np.log1p(np.asarray(y.sum(axis=0)).ravel()).astype(np.float32)
        self.cover_ = (covering_subjects(concepts, np.flatnonzero(self.prior_ > 0)) if concepts is not None
                       else _no_cover(y.shape[1]))

    def held_out_scores(self, base_oof: list[np.ndarray], y: sp.csr_matrix,
                        folds: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Held-out ensemble scores: the stacker cross-fitted on the base backends' held-out scores."""
        oof = np.zeros(y.shape, dtype=np.float32)
        for train, held in folds:
            stacker = self._fit_stacker([s[train] for s in base_oof], y[train])
            scores = self._stack(stacker, [s[held] for s in base_oof])
            seen = np.asarray(y[train].sum(axis=0)).ravel() > 0
            self._unseen_scores(scores, [s[held] for s in base_oof], seen)
            oof[held] = scores
        return oof

    def _features(self, base_scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows, columns and features of the candidate (document, subject) pairs.

        Per base backend: the score, its log-odds and its reciprocal rank, and
        the score relative to that backend's best score for the document (a
        backend's scale varies from document to document).  Then the subject's
        training frequency, the share of backends ranking it in their top 3,
        and its reciprocal rank by the backends' mean score (their consensus).
        The relative score and the last two ("v2") gained +0.006 nDCG@5 and
        +0.008 F1 on average over the four time-split runs of
        benchmarks/stacker_features.py (development splits; see
        benchmarks/results/HISTORY.md, "Stacker features").
        """
        n_docs, n_subjects = base_scores[0].shape
        k = min(self.candidates, n_subjects)
        mask = np.zeros((n_docs, n_subjects), dtype=bool)
        ranks = []
        for scores in base_scores:
            order = np.argsort(-scores, axis=1, kind="stable")
            ranks.append(_ranks(order))
            np.put_along_axis(mask, order[:, :k], True, axis=1)
        rows, cols = np.nonzero(mask)
        columns = []
        for scores, rank in zip(base_scores, ranks):
            s = scores[rows, cols]
            columns += [s, _logit(s) / 10.0, 1.0 / (1.0 + rank[rows, cols])]
        columns.append(self.prior_[cols] / 5.0)
        columns.append(np.mean([rank[rows, cols] < 3 for rank in ranks], axis=0))
        for scores in base_scores:
            columns.append(scores[rows, cols] / np.maximum(scores.max(axis=1)[rows], 1e-6))
        consensus = _ranks(np.argsort(-np.mean(base_scores, axis=0), axis=1, kind="stable"))
        columns.append(1.0 / (1.0 + consensus[rows, cols]))
        return rows, cols, np.column_stack(columns).astype(np.float64)

    def _n_features(self) -> int:
        return 4 * len(self.backends) + 3

    def _fit_stacker(self, base_scores: list[np.ndarray], y: sp.csr_matrix) -> tuple[np.ndarray, float]:
        from sklearn.linear_model import LogisticRegression

        rows, cols, x = self._features(base_scores)
        target = np.asarray(y[rows, cols]).ravel() > 0
        if target.all() or not target.any():
            return np.zeros(x.shape[1]), (10.0 if target.all() else -10.0)
        model = LogisticRegression(C=self.C, max_iter=1000).fit(x, target)
        return model.coef_[0], float(model.intercept_[0])

    def _stack(self, stacker: tuple[np.ndarray, float], base_scores: list[np.ndarray]) -> np.ndarray:
        coef, intercept = stacker
        rows, cols, x = self._features(base_scores)
        out = np.zeros(base_scores[0].shape, dtype=np.float32)
        out[rows, cols] = 1.0 / (1.0 + np.exp(-np.clip(x @ coef + intercept, -50, 50)))
        return out

    def extra_subjects(self, vocab, gold):
        extra = {}
        for spec in self.backends:
            for concept in create_backend(spec["name"], spec.get("params")).extra_subjects(vocab, gold):
                extra.setdefault(concept.uri, concept)
        return list(extra.values())

    # -- prediction ------------------------------------------------------------
    def predict_scores(self, docs: Sequence[AnalyzedText]) -> np.ndarray:
        return self.combine([b.predict_scores(docs) for b in self.bases_])

    def combine(self, base: list[np.ndarray]) -> np.ndarray:
        """Ensemble scores from the base backends' scores (in ``backends`` order)."""
        out = self._stack((self.coef_, self.intercept_), base)
        self._unseen_scores(out, base, self.prior_ > 0)
        return out

    def _unseen_scores(self, out: np.ndarray, base: list[np.ndarray], seen: np.ndarray) -> None:
        """Score, in place, the subjects of ``out`` that are not ``seen`` in training.

        They take the best base score (:meth:`_pass_through`), times the
        probability that none of the seen subjects naming their filler
        (``cover_``) is right -- the most likely of them standing for all.
        """
        unseen = np.flatnonzero(~seen)
        if not unseen.size:
            return
        out[:, unseen] = self._pass_through(base, unseen)
        cover = self.cover_[unseen]
        if not seen[cover.indices].all():  # held-out folds: some naming subjects are not seen there
            cover = cover.multiply(seen[np.newaxis, :].astype(np.float32)).tocsr()
            cover.eliminate_zeros()
        covered = np.flatnonzero(np.diff(cover.indptr))
        if covered.size:
            named = np.maximum.reduceat(out[:, cover.indices], cover.indptr[covered], axis=1)
            out[:, unseen[covered]] *= 1.0 - named

    @staticmethod
    def _pass_through(base_scores: list[np.ndarray], columns: np.ndarray) -> np.ndarray:
        """Scores of subjects no training document has: the best base score, unstacked.

        The stacker cannot learn how far to trust a backend on such subjects
        (held-out folds hardly contain any), while the backends that can
        suggest them (composed headings, zero-shot) score them as probabilities.
        """
        return np.max([s[:, columns] for s in base_scores], axis=0)

    def explain(self, doc: AnalyzedText, subject: int, top: int = 5) -> list[Evidence]:
        merged: dict[str, Evidence] = {}
        for base in self.bases_:
            for ev in base.explain(doc, subject, top):
                if ev.text not in merged or merged[ev.text].weight < ev.weight:
                    merged[ev.text] = ev
        return sorted(merged.values(), key=lambda e: -e.weight)[:top]

    # -- persistence -----------------------------------------------------------
    def save_state(self, folder: Path) -> None:
        for n, base in enumerate(self.bases_):
            base.save(folder / f"base{n}")
        np.save(folder / "prior.npy", self.prior_)
        sp.save_npz(folder / "cover.npz", self.cover_)
        (folder / "stacker.json").write_text(json.dumps({"coef": [float(c) for c in self.coef_],
                                                         "intercept": self.intercept_}), encoding="utf-8")

    def load_state(self, folder: Path) -> None:
        self.bases_ = [Backend.load(folder / f"base{n}") for n in range(len(self.backends))]
        self.prior_ = np.load(folder / "prior.npy", allow_pickle=False)
        cover = folder / "cover.npz"  # absent from models made before it: nothing is discounted
        self.cover_ = (sp.load_npz(cover).tocsr() if cover.exists() else _no_cover(len(self.prior_)))
        if self.cover_.shape != (len(self.prior_), len(self.prior_)):
            raise ValueError(f"cover.npz has shape {self.cover_.shape} for {len(self.prior_)} subjects")
        stacker = json.loads((folder / "stacker.json").read_text(encoding="utf-8"))
        self.coef_ = np.asarray(stacker["coef"], dtype=np.float64)
        self.intercept_ = float(stacker["intercept"])
        if len(self.coef_) != self._n_features():
            raise ValueError(f"the stacker has {len(self.coef_)} weights where this version of Fahras uses "
                             f"{self._n_features()}: retrain the model")
