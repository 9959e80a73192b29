"""A learned ensemble: base backends combined by a stacking model.

Each base backend is cross-validated once; its held-out scores train a
logistic-regression *stacker* over (document, candidate subject) pairs.  The
stacker sees each backend's score, log-odds and rank, and the subject's
training frequency, so it learns how much to trust each backend and returns
calibrated probabilities ("how likely is this descriptor right").

Candidates are the union of each backend's top ``candidates`` subjects; every
other subject scores 0.  That keeps prediction linear in documents x
candidates, not documents x thesaurus.

**One calibrated scale.**  Subjects that no training document has (composed
headings, zero-shot concepts) cannot be weighed by the stacker's main head:
it never saw them right or wrong.  They get a probability from a second
logistic head, the *novel head* (:attr:`Stacker.novel`), calibrated on the
cross-fitting pairs whose subject is new to its fold (absent from the fold's
training documents; with fewer than :data:`MIN_NOVEL_RIGHT` right pairs, also
on the pairs of composed headings hidden from their fold, :class:`NovelSimulation`,
by default; or a strongly regularised fallback on four of its features,
:meth:`Stacker.fit_novel_fallback`): the same stacker features, plus how the document names
the heading's filler (whole-label and partial mention counts, share, first
position, template words nearby: :meth:`HeadingsBackend.mention_features`)
and ``named``, the stacked probability of the seen subjects that already
name that filler (:func:`~fahras.vocab.headings.covering_subjects`: a
document indexed under ``ERITREA--ETHIOPIA`` does not need ``ETHIOPIA
SITUATION`` as well).  The held-out scores of such pairs are themselves
cross-fitted (each fold's pairs scored by a novel head fitted on the other
folds'), so the decision rule is tuned on the same scale.  Models saved
before the novel head keep their old behaviour: the best base score,
discounted by ``named``.

The stacking model is a public class, :class:`Stacker`: given base-backend
scores of documents and their subjects it fits (``Stacker.fit``) and scores
(``Stacker.predict``) on its own, so the ensemble's stacker can be refitted on
new documents without refitting the base backends
(:meth:`EnsembleBackend.base_scores`, :meth:`EnsembleBackend.refit_stacker`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import scipy.sparse as sp

from fahras.errors import UsageError
from fahras.models import create_backend, load_backend, register
from fahras.models.base import AnalyzedText, Backend, Evidence, FitContext, Param
from fahras.models.budget import FitOnce
from fahras.models.crossfit import cross_fit
from fahras.models.folds import DEFAULT_FOLDS, FOLD_KINDS, make_folds, random_folds
from fahras.models.heading_features import MENTION_FEATURES
from fahras.models.linear import LinearHead
from fahras.models.held_out import held_out_csr, placed_rows
from fahras.models.sparse_rank import SparseRanking, as_csr, non_negative, row_max
from fahras.vocab.headings import covering_subjects

log = logging.getLogger(__name__)

#: The default ensemble's bases (docs/design.md, "The default ensemble's bases"): omikuji with Bonsai's
#: shallow, wide trees (a no-op under 100 subjects: one leaf) on single terms seen once or more, another view
#: of the text than tfidf-linear's and knn's terms and bigrams seen twice (on 50,000 yso-finna-en titles,
#: 5,000 test titles: nDCG@5 0.238 alone against 0.218 for the Parabel, bigram default); ``labels``, label
#: matching calibrated on the training documents (0.241 alone there).
DEFAULT_OMIKUJI = {"cluster_balanced": False, "cluster_k": 100, "max_depth": 3, "ngram_max": 1, "min_df": 1}
DEFAULT_BASES = ({"name": "tfidf-linear"}, {"name": "omikuji", "params": DEFAULT_OMIKUJI}, {"name": "knn"},
                 {"name": "labels"}, {"name": "headings"}, {"name": "acronyms"})
#: The default ensemble's ``labels`` base is left out when fewer subjects than this have training documents
#: (:func:`default_labels`): there each subject has enough training documents for the supervised bases to learn
#: its words, and on the Security Council resolutions (about 100 subjects with documents, 1,800 with the
#: composed headings) label matching cost the rolling benchmark's 2012 test year 0.038 tuned F1 and its 2013
#: year 0.028 (docs/benchmarks.md, "Default ensemble on yso-finna-en").  On yso-finna-en (thousands of
#: subjects, most with a handful of titles) it is the strongest single base.
LABELS_MIN_SUBJECTS = 1000
_STACKER_FILE = "stacker.json"
_BASES_FILE = "bases.json"
_NOVEL_FILE = "novel.json"

#: The full novel head (every stacker and mention feature) is learned only from at least this many right held-out
#: pairs of subjects new to their fold; with fewer (random folds, which almost never hold a subject out; a small
#: corpus; the Security Council resolutions up to 2009 or 2010) the *fallback head* is learned instead
#: (:meth:`Stacker.fit_novel_fallback`), so that such subjects always get a held-out-calibrated probability.
MIN_NOVEL_RIGHT = 10
#: The fallback head's features, as positions in the novel head's features (:meth:`Stacker.fallback_columns`):
#: the backends' consensus (reciprocal rank of their mean score), the share of backends ranking the subject in
#: their top 3, whole-label mentions of the heading's filler, and ``named`` (the seen subjects naming the filler).
FALLBACK_FEATURES = ("consensus", "top3_share", "full", "named")
#: Inverse regularisation of the fallback head: a Gaussian prior of variance C on each weight of the standardised
#: features, so with a handful of right pairs the weights stay small and the scores near the (smoothed) base rate.
FALLBACK_C = 0.1
#: The fallback head's pseudo-pair (at the features' mean): this many pairs at the precision of all held-out
#: candidates (seen or not), so with no right pair the base rate is (smoothed) low, not 0, and with no pair at
#: all it is that overall precision.
FALLBACK_PRIOR_PAIRS = 1.0


@dataclass(eq=False)
class NovelSimulation:
    """Simulated novelty for the novel head (issue #16): in each cross-fitting fold a seeded random ``share`` of
    the subject *groups* seen in the fold's training part is hidden, and the fold's held-out pairs of the hidden
    subjects are scored as if no training document had them -- prior 0, the bases that only score subjects they
    were trained on (e.g. tfidf-linear, omikuji, knn) at what they give unseen subjects, a base in ``rescore`` re-scoring the pair as new
    (the headings backend: :meth:`HeadingsBackend.scores_as_new`), the other bases as they are -- and become
    extra training pairs of the novel head.  The seen head, the held-out scores and the decision rule do not see
    them.  Real novelty in the training years is rare (on the Security Council resolutions up to 2010, 5 right
    held-out pairs of subjects new to their fold); hiding subjects that were indexed gives the head pairs of new
    headings that are right, as a next year's new topics are.

    ``groups``: per subject column, the group it is hidden with (the headings backend's filler: MALI SITUATION,
    MALI--POLITICAL CONDITIONS and UN MISSION IN MALI together, as a new topic brings them), -1 for a subject never
    hidden (no base could propose it unseen).  ``rescore``: base position -> function (subject columns, mention
    features of the pairs) -> scores as new, for the pairs of ``Match`` rows."""

    share: float
    groups: np.ndarray
    seed: int = 0
    rescore: dict = field(default_factory=dict)
    #: the novel head on a few features only, monotone in the proposing bases' scores (:meth:`Stacker.monotone_columns`)
    monotone: bool = False
    #: weight of each simulated pair in the novel head's fit, against 1 for a real one (0: as many in total as the
    #: real pairs)
    weight: float = 1.0

    def hidden(self, fold: int, seen: np.ndarray) -> np.ndarray:
        """The subject columns hidden from fold ``fold`` (a boolean mask; only ``seen`` subjects are hidden)."""
        groups = np.asarray(self.groups)
        eligible = np.unique(groups[(groups >= 0) & seen])
        n = int(round(float(self.share) * len(eligible)))
        if not n:
            return np.zeros(len(groups), dtype=bool)
        chosen = np.random.default_rng([int(self.seed) & 0xFFFFFFFF, int(fold)]).choice(eligible, n, replace=False)
        return np.isin(groups, chosen) & seen

    def as_new(self, base_held: list[np.ndarray], hide: np.ndarray, seen: np.ndarray,
               match: Match | None) -> list[np.ndarray]:
        """The held-out base scores with the ``hide`` columns scored as new (see the class)."""
        out = []
        cols = np.flatnonzero(hide)
        for b, scores in enumerate(base_held):
            if b in self.rescore:
                scores = scores.copy()
                scores[:, cols] = 0.0
                if match is not None and len(match[0]):
                    keep = hide[match[1]]
                    rows, m_cols, feats = match[0][keep], match[1][keep], match[2][keep]
                    if len(rows):
                        scores[rows, m_cols] = self.rescore[b](m_cols, feats)
            elif not _proposes(scores, seen):  # a base that scores only what it was trained on
                scores = scores.copy()
                scores[:, cols] = _unseen_level(scores, seen)
            out.append(scores)
        return out


def _unseen_level(scores: np.ndarray, seen: np.ndarray) -> float:
    """The score a base gives subjects it has no training document of (its lowest score of an unseen column:
    0 for most bases, tfidf-linear's constant sigmoid(-10) for it; 0 with every subject seen)."""
    return float(scores[:, ~seen].min()) if (~seen).any() and scores.shape[0] else 0.0


def _proposes(scores: np.ndarray, seen: np.ndarray) -> bool:
    """Whether a base's held-out ``scores`` tell unseen subjects apart (some above :func:`_unseen_level`): it
    can propose a subject no training document has (headings, acronyms, labels)."""
    return bool((~seen).any() and scores.shape[0] and scores[:, ~seen].max() > _unseen_level(scores, seen))

Match = tuple[np.ndarray, np.ndarray, np.ndarray]
"""How documents name composed headings' fillers: (document rows, subject columns, mention features)."""


# -- the default bases by corpus size (owned by the scale work, #19; DEFAULT_BASES itself is chosen elsewhere) --
#: Bases that fit one model per subject over all documents: left out of the default above this many
#: documents x subjects (tfidf-linear: one logistic regression per subject, four times when cross-fitted;
#: 100,000 documents x 27,754 subjects would take hours on two cores).
PER_SUBJECT_BASES = {"tfidf-linear": 100_000_000}


#: Above this many documents x subjects, omikuji prunes its classifiers' weights at 0.1 (Annif's value) instead
#: of its default 0.01: on 20,000 yso-finna-en titles a model of 54 MB instead of 168 MB for 0.0015 less
#: nDCG@5 (0.1251 against 0.1267); on the 429 resolutions of the time split 0.1 would cost 0.047.
LARGE_OMIKUJI = {"linear_weight_threshold": 0.1,
                 # scoring memory (scale-score): classifiers held dense only above 10% of the features, not 5%;
                 # at 100,000 yso titles the loaded ensemble takes 617 MB instead of 881 MB, 0.87 instead of
                 # 0.49 ms a title in omikuji, the same scores (docs/scaling.md, "Scoring at scale")
                 "dense_weights": 0.1}


def default_bases_for(n_docs: int, n_subjects: int, bases: Sequence[dict] = DEFAULT_BASES) -> tuple[dict, ...]:
    """The default ensemble's bases for a corpus of ``n_docs`` documents and ``n_subjects`` subjects:
    ``bases`` without the per-subject bases (:data:`PER_SUBJECT_BASES`) too costly at that size, and omikuji
    pruned as :data:`LARGE_OMIKUJI` says past the same size (both logged)."""
    large = n_docs * n_subjects > min(PER_SUBJECT_BASES.values(), default=0)
    kept = tuple(b for b in bases if n_docs * n_subjects <= PER_SUBJECT_BASES.get(b["name"], n_docs * n_subjects))
    if large:
        kept = tuple({"name": b["name"], "params": {**LARGE_OMIKUJI, **b.get("params", {})}}
                     if b["name"] == "omikuji" else b for b in kept)
        log.warning("%d documents x %d subjects: omikuji prunes its weights at %s", n_docs, n_subjects,
                    LARGE_OMIKUJI["linear_weight_threshold"])
    dropped = [b["name"] for b in bases if b["name"] not in {k["name"] for k in kept}]
    if dropped and len(kept) < len(bases):
        log.warning("%d documents x %d subjects: the default ensemble leaves out %s (one model per subject; "
                    "too costly at this size); bases: %s", n_docs, n_subjects, ", ".join(dropped),
                    ", ".join(b["name"] for b in kept))
    return kept or tuple(bases)


def _ranks(order: np.ndarray) -> np.ndarray:
    """0-based rank of every column in each row, from the rows' argsort ``order``."""
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(order.shape[1]), order.shape), axis=1)
    return rank


def _no_cover(n_subjects: int) -> sp.csr_matrix:
    return sp.csr_matrix((n_subjects, n_subjects), dtype=np.float32)


def _pick(matrix: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``matrix[rows, cols] > 0`` as a flat boolean array (empty for no pairs)."""
    if not len(rows):
        return np.zeros(0, dtype=bool)
    return np.asarray(matrix[rows, cols]).ravel() > 0


def _sample_csr(scores, rows: np.ndarray) -> sp.csr_matrix:
    """Rows ``rows`` of held-out ``scores`` (CSR, or an array read in blocks of :data:`FEATURE_ROWS` rows) as
    CSR with sorted indices and no stored zeros."""
    if sp.issparse(scores):
        return as_csr(sp.csr_matrix(scores)[rows])
    blocks = [as_csr(np.asarray(scores[rows[i:i + FEATURE_ROWS]])) for i in range(0, len(rows), FEATURE_ROWS)]
    if not blocks:
        return sp.csr_matrix((0, scores.shape[1]), dtype=scores.dtype)
    return as_csr(sp.vstack(blocks, format="csr"))


def _match_rows(match: Match | None, rows: np.ndarray, n_docs: int) -> Match | None:
    """The part of ``match`` on documents ``rows``, renumbered 0.. in ``rows`` order."""
    if match is None:
        return None
    position = np.full(n_docs, -1, dtype=np.int64)
    position[rows] = np.arange(len(rows))
    m_rows, m_cols, m_feats = match
    keep = position[m_rows] >= 0
    return position[m_rows[keep]], m_cols[keep], m_feats[keep]


def _nothing_to_learn(spec: dict, docs: Sequence[AnalyzedText], y: sp.csr_matrix, context: FitContext) -> str:
    """Why the base backend ``spec`` would score 0 everywhere on this vocabulary and corpus ('' if it would not)."""
    if spec["name"] == "headings" and context.concepts is not None:
        from fahras.vocab.headings import pattern_instances

        if not pattern_instances(context.concepts, bool(spec.get("params", {}).get("unknown_fillers", False)))[2]:
            return "no subject is an instance of a heading pattern ({X} SITUATION, {X}--POLITICAL CONDITIONS)"
    if spec["name"] == "labels" and (context.concepts is None or all(c is None for c in context.concepts)):
        return "no subject has a thesaurus concept (labels to match)"
    if spec["name"] == "acronyms" and context.concepts is not None:
        backend = create_backend("acronyms", spec.get("params")).fit(docs, y, context=context)
        if not backend.acronyms_:
            return "no training document defines an acronym that matches a subject's label"
        probe = docs[::max(1, len(docs) // MIN_SCORED_PROBE)]
        scored = int(np.count_nonzero(backend.predict_scores(probe).any(axis=1)))
        if scored < MIN_SCORED_SHARE * len(probe):
            return (f"it would score {scored} of {len(probe)} training documents (fewer than "
                    f"{MIN_SCORED_SHARE:.0%}: {len(backend.acronyms_)} acronyms matching a subject's label)")
    return ""


#: A base whose scores would reach fewer than this share of the training documents (of a probe of about
#: :data:`MIN_SCORED_PROBE` of them, evenly spaced) is left out of the default ensemble: its fits, its stacker
#: features and its scoring cost for nothing (``acronyms`` on 100,000 yso-finna-en titles scores 5 of 2,417
#: held-out titles; on the Security Council resolutions most documents name an acronym).
MIN_SCORED_SHARE = 0.01
MIN_SCORED_PROBE = 2000


def default_labels(bases: Sequence[dict], n_subjects: int) -> tuple[dict, ...]:
    """The default bases without ``labels`` when fewer than :data:`LABELS_MIN_SUBJECTS` subjects have
    training documents (``n_subjects``; logged)."""
    if n_subjects >= LABELS_MIN_SUBJECTS or not any(b["name"] == "labels" for b in bases):
        return tuple(bases)
    log.info("ensemble: base 'labels' left out: %d subjects with training documents, fewer than %d (the other "
             "bases learn their words from the training documents)", n_subjects, LABELS_MIN_SUBJECTS)
    return tuple(b for b in bases if b["name"] != "labels")


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


#: Documents whose stacker features are computed at once (each is the same computed alone: features are per
#: document); bounds the documents x subjects work arrays (ranks, candidate mask, consensus) to this many rows.
FEATURE_ROWS = 256

#: Ranks below this depth are not told apart (they count as this rank): with tens of thousands of
#: subjects, a full documents x subjects rank matrix per base would outweigh the scores (fahras.models.budget).
RANK_DEPTH = 256


class _Ranking:
    """Each row's ``depth`` best columns in order (ties: lower column first, as a stable argsort), and the
    0-based rank of any (row, column) pair, capped at ``depth`` (exact when a row has at most ``depth``
    columns, as with up to :data:`RANK_DEPTH` subjects)."""

    def __init__(self, scores: np.ndarray, k: int, depth: int | None = None):
        n_docs, n_subjects = scores.shape
        self.depth = min(max(RANK_DEPTH if depth is None else depth, k), n_subjects)
        if self.depth == n_subjects:
            self.top = np.argsort(-scores, axis=1, kind="stable")
            self._full = _ranks(self.top)
            return
        top = np.argpartition(-scores, self.depth - 1, axis=1)[:, :self.depth]
        order = np.lexsort((top, -np.take_along_axis(scores, top, axis=1)), axis=1)
        self.top = np.take_along_axis(top, order, axis=1)
        self._full = None
        rows = np.repeat(np.arange(n_docs), self.depth)
        self._lookup = sp.csr_matrix((np.tile(np.arange(1, self.depth + 1, dtype=np.int32), n_docs),
                                      (rows, self.top.ravel())), shape=scores.shape)

    def rank(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        if self._full is not None:
            return self._full[rows, cols]
        found = np.asarray(self._lookup[rows, cols]).ravel()
        return np.where(found > 0, found - 1, self.depth)


@dataclass(eq=False)
class Stacker:
    """Combines base backends' scores: a logistic regression over (document, candidate subject) pairs.

    Knows the subjects through ``prior`` (log(1 + training documents) per
    subject: 0 means never seen, and such subjects take the best base score
    instead, see :meth:`unseen_scores`) and ``cover`` (subjects x subjects,
    the seen subjects naming each composed heading's filler).

    Typical use, e.g. to learn from new documents without refitting the
    base backends::

        base = ensemble.base_scores(docs)          # one documents x subjects array per base
        stacker = Stacker(len(base), candidates=20, C=1.0, prior=..., cover=...)
        stacker.fit(base, targets)                # targets: documents x subjects 0/1
        scores = stacker.predict(base)
    """

    n_bases: int
    candidates: int = 20
    C: float = 1.0
    prior: np.ndarray | None = None
    cover: sp.csr_matrix | None = None
    head: LinearHead | None = None
    #: the head scoring subjects that are not seen (None: models made before it; see :meth:`unseen_scores`)
    novel: LinearHead | None = None
    #: after :meth:`held_out_scores` with ``learn_novel``: the held-out pairs of subjects new to their fold and
    #: how many are right (the full novel head from :data:`MIN_NOVEL_RIGHT` right pairs, else the fallback)
    novel_pairs: tuple[int, int] | None = None
    #: after :meth:`held_out_scores` with a :class:`NovelSimulation`: the simulated pairs (subjects hidden from
    #: their fold) the novel head was trained on as well, and how many are right
    novel_simulated: tuple[int, int] | None = None
    #: subjects from this column on were added after training (:mod:`fahras.learning`): while unseen they keep
    #: the best base score (:meth:`unseen_scores`) even with a novel head, which is calibrated for subjects the
    #: bases could only compose or match, not for ones the indexers have since decided (knn has their votes)
    grown_from: int | None = None
    #: candidates and ranks from the bases' proposals only (:meth:`features_sparse`): a subject a base scores 0
    #: is not among its candidates and ranks at the depth; learned so on a held-out sample (#19), saved with
    #: the head.  False (models made before it, the dense :meth:`features`): zero scores rank in column order
    proposals_only: bool = False

    @staticmethod
    def subject_prior(targets: sp.csr_matrix) -> np.ndarray:
        """log(1 + documents) of each subject column of ``targets``."""
        return np.log1p(np.asarray(sp.csr_matrix(targets).sum(axis=0)).ravel()).astype(np.float32)

    @classmethod
    def for_subjects(cls, n_bases: int, targets: sp.csr_matrix, concepts: Sequence | None = None,
                     candidates: int = 20, C: float = 1.0) -> "Stacker":
        """An unfitted stacker that knows the subjects of ``targets`` (training documents x subjects):
        their frequency, and (given one concept per column) which seen subjects name each composed
        heading's filler."""
        prior = cls.subject_prior(targets)
        cover = (covering_subjects(concepts, np.flatnonzero(prior > 0)) if concepts is not None
                 else _no_cover(targets.shape[1]))
        return cls(n_bases, candidates, C, prior, cover)

    def clone(self) -> "Stacker":
        """An unfitted stacker of the same kind and settings, knowing the same subjects."""
        return type(self)(self.n_bases, self.candidates, self.C, self.prior, self.cover,
                          proposals_only=self.proposals_only)

    @property
    def n_features(self) -> int:
        return 4 * self.n_bases + 3

    @property
    def n_novel_features(self) -> int:
        """The novel head's features: the stacker's, the mention features, ``named``."""
        return self.n_features + len(MENTION_FEATURES) + 1

    def features(self, base_scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
        if self.proposals_only:  # learned from the bases' proposals (#19): the sparse twin's features
            sparse = [as_csr(s) for s in base_scores]
            if all(non_negative(s) for s in sparse):
                return self.features_sparse(sparse)
        n_docs, n_subjects = base_scores[0].shape
        if n_docs > FEATURE_ROWS:  # in blocks of rows: the work arrays below are documents x subjects (#19)
            parts = [self.features([s[i:i + FEATURE_ROWS] for s in base_scores])
                     for i in range(0, n_docs, FEATURE_ROWS)]
            return (np.concatenate([p[0] + i * FEATURE_ROWS for i, p in enumerate(parts)]),
                    np.concatenate([p[1] for p in parts]), np.vstack([p[2] for p in parts]))
        k = min(self.candidates, n_subjects)
        ranked = [_Ranking(scores, k) for scores in base_scores]
        mask = np.zeros((n_docs, n_subjects), dtype=bool)
        for ranking in ranked:
            np.put_along_axis(mask, ranking.top[:, :k], True, axis=1)
        rows, cols = np.nonzero(mask)
        ranks = [ranking.rank(rows, cols) for ranking in ranked]
        columns = []
        for scores, rank in zip(base_scores, ranks):
            s = scores[rows, cols]
            columns += [s, _logit(s) / 10.0, 1.0 / (1.0 + rank)]
        columns.append(self.prior[cols] / 5.0)
        columns.append(np.mean([rank < 3 for rank in ranks], axis=0))
        for scores in base_scores:
            columns.append(scores[rows, cols] / np.maximum(scores.max(axis=1)[rows], 1e-6))
        consensus = _Ranking(np.mean(base_scores, axis=0), k).rank(rows, cols)
        columns.append(1.0 / (1.0 + consensus))
        return rows, cols, np.column_stack(columns).astype(np.float64)

    def fit(self, base_scores: list[np.ndarray], targets: sp.csr_matrix) -> "Stacker":
        """Learn the weights from base scores (one documents x subjects array per base) and the true subjects."""
        return self._fit_head(*self.features(base_scores), targets)

    def _fit_head(self, rows: np.ndarray, cols: np.ndarray, x: np.ndarray, targets: sp.csr_matrix) -> "Stacker":
        """The head learned from the candidates' features ``x`` at (``rows``, ``cols``) and the true subjects."""
        target = np.asarray(sp.csr_matrix(targets)[rows, cols]).ravel() > 0
        self.head = LinearHead.fit(x, target, C=self.C, max_iter=1000)
        return self

    def stack(self, base_scores: list[np.ndarray]) -> np.ndarray:
        """The stacked scores of the candidates (every other subject 0), without :meth:`unseen_scores`."""
        rows, cols, x = self.features(base_scores)
        out = np.zeros(base_scores[0].shape, dtype=np.float32)
        out[rows, cols] = self.head.predict(x)
        return out

    def predict(self, base_scores: list[np.ndarray], seen: np.ndarray | None = None,
                match: Match | None = None) -> np.ndarray:
        """Final scores (``seen``: by default ``prior > 0``): the main head for the seen candidates, the
        novel head for the others (``match``: how the documents name headings' fillers); a model without
        a novel head scores them with :meth:`unseen_scores`."""
        seen = self.prior > 0 if seen is None else seen
        if self.novel is None:
            out = self.stack(base_scores)
            self.unseen_scores(out, base_scores, seen)
            return out
        out, novel = self._split_predict(self, base_scores, seen, match)
        rows, cols, x = novel
        if len(rows):
            out[rows, cols] = self.novel.predict(x)
        if self.grown_from is not None and self.grown_from < out.shape[1]:
            added = np.zeros(out.shape[1], dtype=bool)
            added[self.grown_from:] = True
            if (added & ~seen).any():  # only those columns: every other one counts as seen here
                self.unseen_scores(out, base_scores, seen | ~added)
        return out

    # -- scoring a batch from sparse base scores (issue 19: scale; see fahras.models.sparse_rank) --
    def features_sparse(self, base_scores: list[sp.csr_matrix]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`features` of non-negative CSR base scores (no stored zeros, sorted indices), touching
        only their stored entries.  The same rows, columns and features as :meth:`features` on the
        dense arrays wherever that ranks by a stable sort (up to :data:`RANK_DEPTH` subjects); above
        that, the dense path picks the zero-score candidates of a base with fewer than ``candidates``
        nonzero scores in no defined order, where this takes the lowest columns (a stable sort's)."""
        n_docs, n_subjects = base_scores[0].shape
        k = min(self.candidates, n_subjects)
        depth = min(max(RANK_DEPTH, k), n_subjects)
        ranked = [SparseRanking(scores, depth, not self.proposals_only) for scores in base_scores]
        keys = np.unique(np.concatenate([r * n_subjects + c for r, c in (ranking.top(k) for ranking in ranked)]))
        rows, cols = keys // n_subjects, keys % n_subjects
        ranks = [ranking.rank(rows, cols) for ranking in ranked]
        values = [ranking.values(rows, cols) for ranking in ranked]
        # each column written into the float64 matrix as it is made (the values of np.column_stack's, without
        # the list of columns and the stacked copy beside the matrix: #19, the held-out sample's stacker)
        x = np.empty((len(rows), self.n_features), dtype=np.float64)
        n = len(base_scores)
        for b, (s, rank) in enumerate(zip(values, ranks)):
            x[:, 3 * b] = s
            x[:, 3 * b + 1] = _logit(s) / 10.0
            x[:, 3 * b + 2] = 1.0 / (1.0 + rank)
        x[:, 3 * n] = self.prior[cols] / 5.0
        x[:, 3 * n + 1] = np.mean([rank < 3 for rank in ranks], axis=0)
        for b, (scores, s) in enumerate(zip(base_scores, values)):
            x[:, 3 * n + 2 + b] = s / np.maximum(row_max(scores)[rows], 1e-6)
        total = base_scores[0]
        for scores in base_scores[1:]:
            total = total + scores
        mean = as_csr(total)
        mean.data = mean.data / len(base_scores)
        mean.eliminate_zeros()
        consensus = SparseRanking(mean, depth, not self.proposals_only).rank(rows, cols)
        x[:, 4 * n + 2] = 1.0 / (1.0 + consensus)
        return rows, cols, x

    def predict_sparse(self, base_scores: list[sp.csr_matrix], seen: np.ndarray | None = None) -> sp.csr_matrix:
        """:meth:`predict` (a stacker without a novel head) of non-negative CSR base scores, as CSR."""
        if self.novel is not None:
            raise ValueError("predict_sparse scores with the main head only; this stacker has a novel head")
        seen = self.prior > 0 if seen is None else seen
        n_docs, n_subjects = base_scores[0].shape
        rows, cols, x = self.features_sparse(base_scores)
        data = self.head.predict(x).astype(np.float32) if len(rows) else np.zeros(0, np.float32)
        out = as_csr(sp.csr_matrix((data, (rows, cols)), shape=(n_docs, n_subjects), dtype=np.float32))
        unseen = np.flatnonzero(~seen)
        if not unseen.size:
            return out
        # the subjects no training document has, as unseen_scores scores them, on their columns only: the best
        # base score (an elementwise maximum of the CSR columns: no documents x unseen dense array, #19) ...
        part = sp.csr_matrix(base_scores[0][:, unseen], dtype=np.float32)
        for s in base_scores[1:]:
            part = part.maximum(sp.csr_matrix(s[:, unseen], dtype=np.float32))
        part = as_csr(part, np.float32)
        cover = self.cover[unseen]
        if not seen[cover.indices].all():
            cover = cover.multiply(seen[np.newaxis, :].astype(np.float32)).tocsr()
            cover.eliminate_zeros()
        covered = np.flatnonzero(np.diff(cover.indptr))
        if covered.size:  # ... discounted by the seen subjects naming their filler (dense on those columns only)
            named = np.maximum.reduceat(out[:, cover.indices].toarray(), cover.indptr[covered], axis=1)
            discounted = part[:, covered].toarray()
            discounted *= 1.0 - named
            others = np.ones(len(unseen), dtype=np.float32)
            others[covered] = 0.0
            put = sp.csr_matrix((np.ones(len(covered), dtype=np.float32), (np.arange(len(covered)), covered)),
                                shape=(len(covered), len(unseen)))
            part = as_csr(part @ sp.diags(others) + sp.csr_matrix(discounted) @ put, np.float32)
        keep = np.ones(n_subjects, dtype=np.float32)
        keep[unseen] = 0.0
        spread = sp.csr_matrix((np.ones(len(unseen), dtype=np.float32), (np.arange(len(unseen)), unseen)),
                               shape=(len(unseen), n_subjects))
        return as_csr(out @ sp.diags(keep) + part @ spread, dtype=np.float32)

    def fit_sparse(self, base_scores: list[sp.csr_matrix], targets: sp.csr_matrix) -> "Stacker":
        """:meth:`fit` from non-negative CSR base scores (:meth:`features_sparse`: the same candidates and
        features as the dense arrays give, up to the zero-score candidates' order, see there)."""
        return self._fit_head(*self.features_sparse(base_scores), targets)

    @staticmethod
    def _split_predict(fitted: "Stacker", base_scores: list[np.ndarray], seen: np.ndarray,
                       match: Match | None) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The main head's scores of the seen candidates (every other subject 0), and the unseen
        candidates' (rows, columns, novel-head features)."""
        rows, cols, x = fitted.features(base_scores)
        out = np.zeros(base_scores[0].shape, dtype=np.float32)
        known = seen[cols]
        if known.any():
            out[rows[known], cols[known]] = fitted.head.predict(x[known])
        new = ~known
        return out, fitted.novel_features(rows[new], cols[new], x[new], out, seen, match)

    def novel_features(self, rows: np.ndarray, cols: np.ndarray, x: np.ndarray, stacked: np.ndarray,
                       seen: np.ndarray, match: Match | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The novel head's features of the candidate pairs ``rows``, ``cols`` (stacker features ``x``):
        ``x``, the mention features of ``match`` (0 where the document does not name the filler) and
        ``named``: the best ``stacked`` score of the seen subjects that name the subject's filler."""
        mention = np.zeros((len(rows), len(MENTION_FEATURES)))
        if match is not None and len(rows) and len(match[0]):
            m_rows, m_cols, m_feats = match
            n_cols = stacked.shape[1]
            where = {int(k): i for i, k in enumerate(m_rows.astype(np.int64) * n_cols + m_cols)}
            for k, key in enumerate((rows.astype(np.int64) * n_cols + cols).tolist()):
                i = where.get(key)
                if i is not None:
                    mention[k] = m_feats[i]
        named = np.zeros(len(rows))
        if len(rows) and self.cover is not None and self.cover.nnz:
            for k, (r, c) in enumerate(zip(rows.tolist(), cols.tolist())):
                names = self.cover.indices[self.cover.indptr[c]:self.cover.indptr[c + 1]]
                names = names[seen[names]]
                if names.size:
                    named[k] = float(stacked[r, names].max())
        return rows, cols, np.hstack([x, mention, named[:, None]])

    def fit_novel(self, x: np.ndarray, target: np.ndarray, sample_weight: np.ndarray | None = None) -> LinearHead:
        """A novel head fitted on held-out pairs of subjects new to their fold.  With a single class (e.g.
        no such pair was ever right), a constant head at the smoothed observed rate."""
        target = np.asarray(target, dtype=bool)
        if LinearHead.degenerate(target):
            rate = (target.sum() + 0.5) / (len(target) + 1.0)
            return LinearHead(np.zeros(self.n_novel_features), float(np.log(rate / (1 - rate))))
        return LinearHead.fit(x, target, C=self.C, max_iter=2000, standardise=True, sample_weight=sample_weight)

    def _log_novel_pairs(self, pairs: list, bases: Sequence[int]) -> None:
        """DEBUG: mean features of the real and the simulated novel pairs, right and wrong: the proposing
        bases' scores, whole-label mentions (``full``), ``named``."""
        columns = [3 * b for b in bases] + [self.n_features + MENTION_FEATURES.index("full"), self.n_novel_features - 1]
        for kind, part in (("real", lambda p: slice(0, len(p[1]))), ("simulated", lambda p: slice(len(p[1]), None))):
            x = np.vstack([np.zeros((0, self.n_novel_features))] + [p[3][part(p)] for p in pairs])
            t = np.concatenate([np.zeros(0, bool)] + [p[4][part(p)] for p in pairs])
            for label, rows in (("right", t), ("wrong", ~t)):
                if rows.any():
                    log.debug("ensemble: %s novel pairs, %s (%d): mean proposing-base score(s), full, named = %s",
                              kind, label, int(rows.sum()), np.round(x[rows][:, columns].mean(axis=0), 3).tolist())

    def monotone_columns(self, bases: Sequence[int]) -> np.ndarray:
        """Positions, in the novel head's features, of the log-odds of the scores of ``bases`` (the bases that
        propose new subjects: the headings backend, acronyms): a head on these alone (with positive weights)
        keeps a single proposing base's order among new subjects.  Not ``named``: with it (a positive weight on
        the UN corpus up to 2010) the demo's split lost 0.010 nDCG@5, without it 0.0015 (docs/benchmarks.md)."""
        return np.array([3 * int(b) + 1 for b in bases])

    def fit_novel_columns(self, x: np.ndarray, target: np.ndarray, columns: np.ndarray,
                          sample_weight: np.ndarray | None = None) -> LinearHead:
        """A novel head on ``columns`` of its features only (the other weights 0); a constant at the smoothed
        observed rate with a single class."""
        target = np.asarray(target, dtype=bool)
        if LinearHead.degenerate(target):
            return self.fit_novel(x, target)
        part = LinearHead.fit(x[:, columns], target, C=self.C, max_iter=2000, standardise=True,
                              sample_weight=sample_weight)
        coef, mean, scale = (np.zeros(self.n_novel_features), np.zeros(self.n_novel_features),
                             np.ones(self.n_novel_features))
        coef[columns], mean[columns], scale[columns] = part.coef, part.mean, part.scale
        return LinearHead(coef, float(part.intercept), mean, scale)

    def fallback_columns(self) -> np.ndarray:
        """Positions of :data:`FALLBACK_FEATURES` in the novel head's features (:meth:`novel_features`)."""
        n = self.n_bases
        return np.array([4 * n + 2, 3 * n + 1, self.n_features + MENTION_FEATURES.index("full"),
                         self.n_novel_features - 1])

    def fit_novel_fallback(self, x: np.ndarray, target: np.ndarray, base_rate: float) -> LinearHead:
        """The novel head when too few held-out pairs new to their fold are right for the full head
        (:data:`MIN_NOVEL_RIGHT`): a logistic regression on the few :data:`FALLBACK_FEATURES` only (the other
        weights 0), strongly regularised (:data:`FALLBACK_C`) so it stays near the held-out base rate, with
        :data:`FALLBACK_PRIOR_PAIRS` pseudo-pairs at the features' mean right at ``base_rate`` (the precision
        of all held-out candidates): with no right pair every score is that smoothed rate (low), and with no
        pair at all it is ``base_rate``.  The same kind of head as the full one (saved the same way)."""
        from sklearn.linear_model import LogisticRegression

        target = np.asarray(target, dtype=bool)
        columns = self.fallback_columns()
        few = x[:, columns] if len(x) else np.zeros((0, len(columns)))
        mean = few.mean(axis=0) if len(few) else np.zeros(len(columns))
        scale = few.std(axis=0) if len(few) else np.ones(len(columns))
        scale = np.where(scale > 1e-9, scale, 1.0)
        z = np.vstack([(few - mean) / scale, np.zeros((2, len(columns)))])
        labels = np.concatenate([target, [True, False]])
        rate = float(np.clip(base_rate, 1e-6, 1 - 1e-6))
        weight = np.concatenate([np.ones(len(target)), FALLBACK_PRIOR_PAIRS * np.array([rate, 1.0 - rate])])
        model = LogisticRegression(C=FALLBACK_C, max_iter=2000)
        model.fit(z, labels, sample_weight=weight)
        coef, full_mean, full_scale = (np.zeros(self.n_novel_features), np.zeros(self.n_novel_features),
                                       np.ones(self.n_novel_features))
        coef[columns], full_mean[columns], full_scale[columns] = model.coef_[0], mean, scale
        return LinearHead(coef, float(model.intercept_[0]), full_mean, full_scale)

    def unseen_scores(self, out: np.ndarray, base: list[np.ndarray], seen: np.ndarray) -> None:
        """Score, in place, the subjects of ``out`` that are not ``seen`` in training.

        They take the best base score (:meth:`pass_through`), times the
        probability that none of the seen subjects naming their filler
        (``cover``) is right -- the most likely of them standing for all.
        """
        unseen = np.flatnonzero(~seen)
        if not unseen.size:
            return
        out[:, unseen] = self.pass_through(base, unseen)
        cover = self.cover[unseen]
        if not seen[cover.indices].all():  # held-out folds: some naming subjects are not seen there
            cover = cover.multiply(seen[np.newaxis, :].astype(np.float32)).tocsr()
            cover.eliminate_zeros()
        covered = np.flatnonzero(np.diff(cover.indptr))
        if covered.size:
            named = np.maximum.reduceat(out[:, cover.indices], cover.indptr[covered], axis=1)
            out[:, unseen[covered]] *= 1.0 - named

    @staticmethod
    def pass_through(base_scores: list[np.ndarray], columns: np.ndarray) -> np.ndarray:
        """Scores of subjects no training document has: the best base score, unstacked.

        The stacker cannot learn how far to trust a backend on such subjects
        (held-out folds hardly contain any), while the backends that can
        suggest them (composed headings, zero-shot) score them as probabilities.
        """
        return np.max([s[:, columns] for s in base_scores], axis=0)

    def held_out_scores(self, base_oof: list[np.ndarray], targets: sp.csr_matrix,
                        folds: Sequence[tuple[np.ndarray, np.ndarray]], match: Match | None = None,
                        learn_novel: bool = True, fallback: bool = True,
                        simulation: NovelSimulation | None = None) -> np.ndarray:
        """Held-out ensemble scores: a copy of this stacker cross-fitted on the base backends' held-out scores.

        With ``learn_novel`` (the default) this stacker's :attr:`novel` head is
        fitted on the held-out pairs whose subject is new to its fold, and
        those pairs' held-out scores come from novel heads cross-fitted over
        the folds (each fold's pairs scored by a head fitted on the others').
        Without it, such pairs are scored as :meth:`predict` scores them.
        With a ``simulation`` (:class:`NovelSimulation`), each fold's held-out pairs of the subjects it hides
        are the novel head's training pairs as well (never the seen head's; their held-out scores stay the
        main head's).
        """
        targets = sp.csr_matrix(targets)
        oof = np.zeros(targets.shape, dtype=np.float32)
        pairs = []  # per fold: held rows, novel pairs (local rows, columns, features), their targets
        counts = []  # per fold: seen candidate pairs, right ones
        proposers = set()  # the bases that score subjects new to their fold
        for f, (train, held) in enumerate(folds):
            fold = self.clone()
            # The fold's own subject frequencies, counted on its training part only: the held-out documents'
            # subjects must not make their own subjects look more frequent than they were to the bases (a
            # leak: the held-out scores then promised more than new documents get), and a subject new to the
            # fold has prior 0, as at prediction time (the novel head learns that).
            fold.prior = self.subject_prior(targets[train])
            fold.fit([s[train] for s in base_oof], targets[train])
            seen = np.asarray(targets[train].sum(axis=0)).ravel() > 0
            base_held = [s[held] for s in base_oof]
            if not learn_novel:
                fold.novel = self.novel
                oof[held] = fold.predict(base_held, seen, _match_rows(match, held, targets.shape[0]))
                continue
            held_match = _match_rows(match, held, targets.shape[0])
            part, (rows, cols, x) = self._split_predict(fold, base_held, seen, held_match)
            oof[held] = part
            # the seen candidates (the main head scored them, > 0) and how many are right: with the new ones,
            # the precision of all held-out candidates, the fallback head's prior
            s_rows, s_cols = np.nonzero(part)
            counts.append((len(s_rows), int(_pick(targets[held], s_rows, s_cols).sum())))
            if simulation is not None and simulation.monotone:
                proposers.update(b for b, scores in enumerate(base_held) if _proposes(scores, seen))
            sim_x, sim_target = np.zeros((0, self.n_novel_features)), np.zeros(0, dtype=bool)
            hide = simulation.hidden(f, seen) if simulation is not None else None
            if hide is not None and hide.any():  # the subjects hidden from this fold, scored as new to it
                as_new = fold.clone()
                as_new.head, as_new.prior = fold.head, np.where(hide, 0.0, fold.prior).astype(fold.prior.dtype)
                _, (h_rows, h_cols, h_x) = self._split_predict(
                    as_new, simulation.as_new(base_held, hide, seen, held_match), seen & ~hide, held_match)
                keep = hide[h_cols]
                sim_x, sim_target = h_x[keep], _pick(targets[held], h_rows[keep], h_cols[keep])
            pairs.append((held, rows, cols, np.vstack([x, sim_x]),
                          np.concatenate([_pick(targets[held], rows, cols), sim_target]), len(sim_target)))
        if learn_novel:
            n_sim = sum(p[5] for p in pairs)
            right_sim = int(sum(int(np.sum(p[4][len(p[1]):])) for p in pairs))
            right = int(sum(int(np.sum(p[4])) for p in pairs)) - right_sim
            n_new = sum(len(p[1]) for p in pairs)
            self.novel_pairs = (n_new, right)
            self.novel_simulated = (n_sim, right_sim) if simulation is not None else None
            if simulation is not None and right >= MIN_NOVEL_RIGHT:
                # enough real pairs: they alone (the simulated ones cost the rolling benchmark's 2012 test year
                # 0.004-0.017 nDCG@5 where the full head was learned from real pairs: docs/benchmarks.md)
                log.info("ensemble: %d held-out pairs of subjects new to their fold, %d right: the novel head learns "
                         "from them alone (not from the %d simulated pairs)", n_new, right, n_sim)
                pairs = [(held, rows, cols, x[:len(rows)], target[:len(rows)], 0)
                         for held, rows, cols, x, target, _ in pairs]
                n_sim = 0
            elif simulation is not None:
                log.info("ensemble: %d simulated pairs of subjects hidden from their fold (%d right) train the "
                         "novel head with the %d real ones (%d right)", n_sim, right_sim, n_new, right)
                if log.isEnabledFor(logging.DEBUG):  # do the two kinds of pairs look alike? (docs/design.md)
                    self._log_novel_pairs(pairs, sorted(simulation.rescore))
                right += right_sim
            if right < MIN_NOVEL_RIGHT and not fallback:  # as before the fallback: no head, raw scores
                log.info("ensemble: %d held-out pairs of subjects new to their fold, %d of them right (fewer than "
                         "%d): no novel head (novel_fallback off); such subjects keep their best base score",
                         n_new, right, MIN_NOVEL_RIGHT)
                self.novel = None
                return self.held_out_scores(base_oof, targets, folds, match, learn_novel=False)
            if right < MIN_NOVEL_RIGHT:
                base_rate = ((right + sum(c[1] for c in counts)) / max(n_new + sum(c[0] for c in counts), 1))
                log.info("ensemble: %d held-out pairs of subjects new to their fold, %d of them right (fewer than "
                         "%d): the fallback novel head (%s; prior: all held-out candidates' precision %.3f)",
                         n_new, right, MIN_NOVEL_RIGHT, ", ".join(FALLBACK_FEATURES), base_rate)

                def fit(x: np.ndarray, target: np.ndarray, weight: np.ndarray) -> LinearHead:
                    return self.fit_novel_fallback(x, target, base_rate)
            elif simulation is not None and simulation.monotone and n_sim:  # (the real pairs alone: the full head)
                columns = self.monotone_columns(sorted(proposers | set(simulation.rescore)))

                def fit(x: np.ndarray, target: np.ndarray, weight: np.ndarray) -> LinearHead:
                    return self.fit_novel_columns(x, target, columns, weight)
            else:
                fit = self.fit_novel
            width = self.n_novel_features
            sim_weight = 1.0 if simulation is None else float(simulation.weight) or n_new / max(n_sim, 1)

            def weights(chosen: list) -> np.ndarray:
                return np.concatenate([np.zeros(0)] + [np.r_[np.ones(len(p[1])), np.full(p[5], sim_weight)]
                                                       for p in chosen])
            for f, (held, rows, cols, x, *_) in enumerate(pairs):
                if len(rows):
                    others = [p for g, p in enumerate(pairs) if g != f]
                    head = fit(np.vstack([np.zeros((0, width))] + [p[3] for p in others]),
                               np.concatenate([np.zeros(0, bool)] + [p[4] for p in others]), weights(others))
                    oof[held[rows], cols] = head.predict(x[:len(rows)])
            self.novel = fit(np.vstack([np.zeros((0, width))] + [p[3] for p in pairs]),
                             np.concatenate([np.zeros(0, bool)] + [p[4] for p in pairs]), weights(pairs))
        return oof


@register
class EnsembleBackend(Backend):
    """Stacked ensemble of base backends: a learned stacker combines their scores (see :class:`Stacker`)."""

    name = "ensemble"
    params = {
        "backends": Param(DEFAULT_BASES, "base backends, as a list of {\"name\": ..., \"params\": {...}}",
                          kind=tuple),
        "cv_folds": Param(3, "folds giving the base backends' held-out scores when fitted alone (an Indexer's "
                          "folds are used otherwise)", low=2),
        "candidates": Param(20, "top subjects of each base backend re-scored by the stacker", low=1),
        "C": Param(1.0, "inverse regularisation of the stacker", low=0, low_open=True),
        "random_state": Param(0, "seed of the folds"),
        "calibrate_new": Param(True, "score subjects no training document has with a head calibrated on "
                               "cross-fitting pairs new to their fold (the full head when at least "
                               "MIN_NOVEL_RIGHT of those pairs are right, else a strongly regularised fallback "
                               "on four features near their base rate; false: their best raw base score, "
                               "discounted by the subjects naming the same filler)"),
        "novel_fallback": Param(False, "with calibrate_new and fewer than MIN_NOVEL_RIGHT right held-out pairs "
                                "new to their fold, score subjects no training document has with the fallback "
                                "head (false, the default: their best raw base score, discounted; the fallback "
                                "cost nDCG@5 on later years, most two years ahead: docs/benchmarks.md)"),
        "novel_simulate": Param(0.35, "with calibrate_new, the share of composed-heading fillers hidden from each "
                                "cross-fitting fold (seeded) so that their held-out pairs, scored as new, train the "
                                "novel head where fewer than MIN_NOVEL_RIGHT real held-out pairs new to their fold "
                                "are right (simulated novelty; 0: off, such subjects keep their raw score)",
                                low=0, high=1),
        "novel_monotone": Param(True, "with novel_simulate (where its pairs are used), the novel head reads only the "
                                "log-odds of the bases that propose new subjects (headings, acronyms), so it keeps "
                                "their order of new headings against each other (false: every feature)"),
        "novel_simulate_weight": Param(1.0, "with novel_simulate, the weight of a simulated pair in the novel head's "
                                       "fit against 1 for a real one (0: the simulated pairs weigh as much in total as "
                                       "the real ones)", low=0),
        "folds": Param(DEFAULT_FOLDS, "kind of folds when fitted alone (an Indexer's folds are used otherwise): "
                       "grouped keeps documents with the same subjects together, time holds out contiguous "
                       "blocks in corpus order, random is shuffled K-fold", choices=FOLD_KINDS),
        "n_jobs": Param(0, "worker processes fitting the base backends on the folds (0: automatic); results "
                        "do not depend on it", low=0),
    }

    def check_params(self) -> None:
        for spec in self.backends:
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or \
                    not isinstance(spec.get("params", {}), dict) or set(spec) - {"name", "params"}:
                raise UsageError(f"backend 'ensemble': each base backend must be {{\"name\": ..., \"params\": "
                                 f"{{...}}}}, got {spec!r}")

    # -- fitting -------------------------------------------------------------
    def fit(self, docs: Sequence[AnalyzedText], y: sp.csr_matrix, *,
            context: FitContext | None = None) -> "EnsembleBackend":
        y = sp.csr_matrix(y)
        subjects = [y.indices[y.indptr[i]:y.indptr[i + 1]].tolist() for i in range(y.shape[0])]
        folds = make_folds(self.cv_folds, self.folds, subjects=subjects, random_state=self.random_state)
        self.fit_out_of_fold(docs, y, folds, context=context)
        return self

    def fit_out_of_fold(self, docs: Sequence[AnalyzedText], y: sp.csr_matrix,
                        folds: Sequence[tuple[np.ndarray, np.ndarray]], *, context: FitContext | None = None,
                        progress: Callable[[str, int, int], None] | None = None) -> np.ndarray:
        if not self.backends:
            raise UsageError("an ensemble needs at least one base backend")
        context = context or FitContext()
        y = sp.csr_matrix(y)
        bases = tuple(self.backends)
        if bases == tuple(DEFAULT_BASES):  # the default, by size
            bases = default_labels(default_bases_for(*y.shape, bases), int((y.getnnz(axis=0) > 0).sum()))
        self.base_specs_ = self.useful_bases(docs, y, context, bases)
        self.learn_subjects(y, context.concepts)
        rows = np.unique(np.concatenate([np.asarray(held) for _, held in folds]))
        # (a held-out sample: the documents are not read after the bases' fits, so they may be released, #19)
        with held_out_csr(len(rows) < y.shape[0]):  # a sample's held-out scores come back as CSR (#19)
            self.bases_, base_oof = cross_fit([dict(b) for b in self.base_specs_], docs, y, context.analyzer, folds,
                                              concepts=context.concepts, n_jobs=self.n_jobs, progress=progress,
                                              release_docs=len(rows) < y.shape[0])
        if progress:
            progress("stacker", 0, 1)
        if len(rows) < y.shape[0]:  # a held-out sample (fahras.models.budget): no novel head learned there
            return self._fit_stacker_on_sample(base_oof, y, folds, rows)
        if self.calibrate_new:
            oof = self.stacker_.held_out_scores(base_oof, y, folds, self.match_features(docs),
                                                fallback=bool(self.novel_fallback),
                                                simulation=self.novel_simulation())
        else:
            oof = self.stacker_.held_out_scores(base_oof, y, folds, learn_novel=False)
        self.stacker_.fit(base_oof, y)
        return oof

    def novel_simulation(self) -> NovelSimulation | None:
        """The :class:`NovelSimulation` of the ``novel_simulate`` parameter (None when 0 or without a base that
        names composed headings): the headings backend's instances grouped by filler, re-scored as new by it."""
        share = float(self.novel_simulate)
        n_subjects = len(self.stacker_.prior)
        for b, base in enumerate(getattr(self, "bases_", ())):
            if share > 0 and hasattr(base, "scores_as_new") and len(getattr(base, "instance_col_", ())):
                groups = np.full(n_subjects, -1, dtype=np.int64)
                groups[np.asarray(base.instance_col_)] = np.asarray(base.instance_filler_)
                return NovelSimulation(share, groups, int(self.random_state), {b: base.scores_as_new},
                                       bool(self.novel_monotone), float(self.novel_simulate_weight))
        return None

    def useful_bases(self, docs: Sequence[AnalyzedText], y: sp.csr_matrix, context: FitContext,
                     bases: Sequence[dict] | None = None) -> tuple:
        """The base backends worth fitting, of ``bases`` (default: the ``backends`` parameter): ``headings``
        is left out when no subject is an instance of a heading pattern (the vocabulary and the training
        headings gave it no template), ``acronyms`` when no training document defines an acronym that
        matches a subject's label, ``labels`` when no subject has a concept with labels (logged either
        way).  At least one base is always kept.  :meth:`fit` keeps them as :attr:`base_specs_` (the
        ``backends`` parameter stays as given)."""
        bases = tuple(self.backends if bases is None else bases)
        kept, dropped = [], []
        for spec in bases:
            reason = _nothing_to_learn(spec, docs, y, context)
            (dropped if reason else kept).append((spec, reason))
        if not kept:
            return bases
        for spec, reason in dropped:
            log.info("ensemble: base %r left out: %s", spec["name"], reason)
        return tuple(spec for spec, _ in kept)

    def _fit_stacker_on_sample(self, base_oof: list, y: sp.csr_matrix, folds, rows: np.ndarray) -> sp.csr_matrix:
        """The stacker learns from the held-out rows only (the base scores hold nothing elsewhere), cross-fitted
        over 3 folds of them for the returned held-out scores (CSR, documents x subjects, nothing stored outside
        ``rows``); subjects count as seen when the base backends' training parts have them.

        The sample's base scores are taken as CSR (``base_oof``: CSR, or arrays read in blocks of rows) and the
        stacker is fitted and scores from them (:meth:`Stacker.fit_sparse`, :meth:`Stacker.predict_sparse`):
        no sample x subjects dense array (266 MB per base at 2,417 x 27,754, and a copy per stacker fold: #19).
        Bases with negative scores take the dense stacker (the same fits as before)."""
        part, target = [_sample_csr(s, rows) for s in base_oof], y[rows]
        base_oof[:] = []  # the documents x subjects scores: their sample rows are copied (#19: peak memory)
        dense = not all(non_negative(s) for s in part)
        if dense:  # the sparse twin ranks as a stable sort only on non-negative scores
            part = [s.toarray() for s in part]
        # The subjects' frequencies as the base backends saw them: counting the sampled documents' own
        # subjects would tell the stacker that a held-out document's subjects are more frequent than they
        # were for the bases (on 20,000 yso-finna-en titles, the frequency's weight went from 0.45 to 5.4,
        # and the ensemble ranked below its omikuji base: nDCG@5 0.110 against 0.119 without).
        outside = np.ones(y.shape[0], dtype=bool)
        outside[rows] = False
        training = np.asarray(folds[0][0]) if len(folds) == 1 else np.flatnonzero(outside)
        full_prior = self.stacker_.prior
        self.stacker_.prior = Stacker.subject_prior(y[training])
        seen = self.stacker_.prior > 0
        # candidates and ranks from the bases' proposals: a zero score is not ranked (sparse twin only)
        self.stacker_.proposals_only = not dense
        held_parts, held_rows = [], []
        for train, held in random_folds(len(rows), min(3, len(rows)), self.random_state):
            fold = self.stacker_.clone()
            if dense:
                fold.fit([s[train] for s in part], target[train])
                scores = as_csr(fold.predict([s[held] for s in part], seen), np.float32)
            else:
                fold.fit_sparse([s[train] for s in part], target[train])
                scores = fold.predict_sparse([s[held] for s in part], seen)
            held_parts.append(scores)
            held_rows.append(rows[held])
        if dense:
            self.stacker_.fit(part, target)
        else:
            self.stacker_.fit_sparse(part, target)
        if not isinstance(folds, FitOnce):  # (a FitOnce fold's bases are the final ones: they know its part)
            self.stacker_.prior = full_prior  # new documents: the bases learned from all of them
        if not held_parts:
            return sp.csr_matrix(y.shape, dtype=np.float32)
        return placed_rows(sp.vstack(held_parts, format="csr"), np.concatenate(held_rows), y.shape[0])

    def learn_subjects(self, y: sp.csr_matrix, concepts: Sequence | None = None) -> None:
        """What the ensemble knows of the subjects themselves (an unfitted :attr:`stacker_` that holds it):
        training frequency (``prior``) and which seen subjects name the filler of each composed heading
        (``cover``, needs ``concepts``)."""
        self.stacker_ = Stacker.for_subjects(len(self.base_specs_), y, concepts, int(self.candidates), float(self.C))

    def refit_stacker(self, base_scores: list[np.ndarray], targets: sp.csr_matrix,
                      prior: np.ndarray | None = None) -> Stacker:
        """Refit the stacker on base scores of (new) documents, keeping the base backends.

        ``prior`` replaces the subjects' training frequencies (e.g. counting
        the new documents too; default: the current ones).
        """
        stacker = self.stacker_.clone()
        stacker.novel = self.stacker_.novel  # the subjects no document has are scored as before
        stacker.grown_from = self.stacker_.grown_from
        if prior is not None:
            stacker.prior = prior
        self.stacker_ = stacker.fit(base_scores, targets)
        return stacker

    def extra_subjects(self, vocab, gold):
        extra = {}
        for spec in self.backends:
            for concept in create_backend(spec["name"], spec.get("params")).extra_subjects(vocab, gold):
                extra.setdefault(concept.uri, concept)
        return list(extra.values())

    # -- the stacker's state under the names it had before Stacker (fahras.learning uses them) --
    prior_ = property(lambda self: self.stacker_.prior, lambda self, value: setattr(self.stacker_, "prior", value),
                      doc="The subjects' training frequencies (:attr:`Stacker.prior`).")
    cover_ = property(lambda self: self.stacker_.cover, lambda self, value: setattr(self.stacker_, "cover", value),
                      doc="Which seen subjects name each composed heading's filler (:attr:`Stacker.cover`).")

    @property
    def coef_(self) -> np.ndarray:
        """The stacker's weights (:attr:`LinearHead.coef` of :attr:`Stacker.head`)."""
        return self.stacker_.head.coef

    @coef_.setter
    def coef_(self, coef: np.ndarray) -> None:
        self._head().coef = np.asarray(coef, dtype=np.float64)

    @property
    def intercept_(self) -> float:
        return self.stacker_.head.intercept

    @intercept_.setter
    def intercept_(self, intercept: float) -> None:
        self._head().intercept = float(intercept)

    def _head(self) -> LinearHead:
        if self.stacker_.head is None:
            self.stacker_.head = LinearHead.constant(self.stacker_.n_features, False)
        return self.stacker_.head

    def candidate_features(self, base_scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The stacker's (documents, subjects, features) rows for the candidates of ``base_scores``
        (:meth:`Stacker.features`)."""
        return self.stacker_.features(base_scores)

    # -- prediction ------------------------------------------------------------
    def base_scores(self, docs: Sequence[AnalyzedText]) -> list[np.ndarray]:
        """Each base backend's documents x subjects scores (in ``backends`` order)."""
        return [b.predict_scores(docs) for b in self.bases_]

    def match_features(self, docs: Sequence[AnalyzedText]) -> Match | None:
        """How ``docs`` name the fillers of composed headings (from a base with ``mention_features``, the
        ``headings`` backend); None without such a base."""
        for base in getattr(self, "bases_", ()):
            if hasattr(base, "mention_features"):
                return base.mention_features(docs)
        return None

    def predict_scores(self, docs: Sequence[AnalyzedText]) -> np.ndarray:
        return self.predict_sparse(docs).toarray()

    def predict_sparse(self, docs: Sequence[AnalyzedText]) -> sp.csr_matrix:
        """:meth:`predict_scores` as CSR: from the bases' sparse scores (:meth:`Backend.predict_sparse`),
        candidates, features and the stacker on their stored entries only (:meth:`Stacker.predict_sparse`).
        A stacker with a novel head, or a base with negative scores, takes the dense path."""
        base = [b.predict_sparse(docs) for b in self.bases_]
        if self.stacker_.novel is None and all(non_negative(s) for s in base):
            return self.stacker_.predict_sparse(base)
        dense = [s.toarray() for s in base]
        return as_csr(self.combine(dense, self.match_features(docs) if self.stacker_.novel is not None else None))

    def combine(self, base: list[np.ndarray], match: Match | None = None) -> np.ndarray:
        """Ensemble scores from the base backends' scores (in ``backends`` order) and, for subjects no
        training document has, how the documents name composed headings' fillers (:meth:`match_features`)."""
        return self.stacker_.predict(base, match=match)

    def explain(self, doc: AnalyzedText, subject: int, top: int = 5) -> list[Evidence]:
        merged: dict[str, Evidence] = {}
        for base in self.bases_:
            for ev in base.explain(doc, subject, top):
                if ev.text not in merged or merged[ev.text].weight < ev.weight:
                    merged[ev.text] = ev
        return sorted(merged.values(), key=lambda e: -e.weight)[:top]

    # -- persistence -----------------------------------------------------------
    def save_state(self, folder: Path) -> None:
        (folder / _BASES_FILE).write_text(json.dumps([dict(b) for b in self.base_specs_], indent=1),
                                          encoding="utf-8")
        for n, base in enumerate(self.bases_):
            base.save(folder / f"base{n}")
        np.save(folder / "prior.npy", self.stacker_.prior)
        sp.save_npz(folder / "cover.npz", self.stacker_.cover)
        head = self.stacker_.head.to_dict()
        if self.stacker_.proposals_only:  # (absent: False, as every model made before it)
            head["proposals_only"] = True
        (folder / _STACKER_FILE).write_text(json.dumps(head), encoding="utf-8")
        if self.stacker_.novel is not None:
            data = self.stacker_.novel.to_dict()
            if self.stacker_.grown_from is not None:
                data["grown_from"] = int(self.stacker_.grown_from)
            (folder / _NOVEL_FILE).write_text(json.dumps(data), encoding="utf-8")

    def load_state(self, folder: Path) -> None:
        chosen = folder / _BASES_FILE  # absent from models made before it: their ``backends`` were the chosen bases
        self.base_specs_ = (tuple(json.loads(chosen.read_text(encoding="utf-8"))) if chosen.exists()
                            else tuple(self.backends))
        self.bases_ = [load_backend(folder / f"base{n}") for n in range(len(self.base_specs_))]
        prior = np.load(folder / "prior.npy", allow_pickle=False)
        cover = folder / "cover.npz"  # absent from models made before it: nothing is discounted
        cover = sp.load_npz(cover).tocsr() if cover.exists() else _no_cover(len(prior))
        if cover.shape != (len(prior), len(prior)):
            raise ValueError(f"cover.npz has shape {cover.shape} for {len(prior)} subjects")
        stacker = Stacker(len(self.base_specs_), int(self.candidates), float(self.C), prior, cover)
        data = json.loads((folder / _STACKER_FILE).read_text(encoding="utf-8"))
        stacker.head = LinearHead.from_dict(data, stacker.n_features)
        stacker.proposals_only = bool(data.get("proposals_only", False))
        novel = folder / _NOVEL_FILE  # absent from models made before it: the old pass-through
        if novel.exists():
            data = json.loads(novel.read_text(encoding="utf-8"))
            stacker.novel = LinearHead.from_dict(data, stacker.n_novel_features)
            stacker.grown_from = int(data["grown_from"]) if data.get("grown_from") is not None else None
        self.stacker_ = stacker

