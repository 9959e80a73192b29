"""Cross-validation folds that do not leak: near-duplicates together, or time order kept.

The held-out scores an ensemble's stacker learns from and the decision rule
is tuned on come from cross-validation folds.  On a library's documents,
random folds leak: yearly mandate renewals, follow-up letters and reports of
one series are near-duplicates of each other, so a random fold almost always
holds a sibling of each held-out document in its training part.  The
held-out scores are then far better than what the model gets on new
documents, and everything fitted to them (the stacker's trust in nearest
neighbours, the decision rule's threshold) is fitted to that optimism.

:func:`make_folds` builds ``n_folds`` (training rows, held-out rows) pairs
of one of three kinds:

``"grouped"``
    Documents with the same *group key* are never split across folds.  The
    key is, per document, the first of: an explicit ``series`` (e.g. an
    agenda item), else its set of subjects (the heading set: a mandate
    renewal carries the same headings as the previous one) together with
    its year when one is known (see ``"time"``: the year of the metadata or
    of the document id).  With the year, the near-duplicates of one year
    (renewals, follow-ups) stay together while the series' other years
    remain in the training part -- as when the model meets next year's
    documents, having seen the series so far; without it, a whole series is
    held out at once, which on the Security Council resolutions makes the
    held-out scores far worse than next year's (benchmarks/rolling.py).  Groups are
    shuffled with the seed and dealt, largest first, to the fold with the
    fewest documents so far (ties: the lower fold number), so folds stay
    balanced.  Fallback: with fewer distinct groups than folds, grouping is
    impossible and the folds are random (logged).
``"time"``
    Contiguous blocks in time order: documents sorted by their date key
    (stable, so documents of one date keep their corpus order), cut into
    ``n_folds`` consecutive blocks.  Each held-out block is a period the
    rest of the folds do not cover; the documents' date key is, per
    document, the first of an explicit ``order`` value, the *last*
    four-digit year (1900-2099) in the document id (UN symbols such as
    ``S/RES/2063 (2012)``: the number comes first, the year last), else the
    key of the document before it in the corpus.
``"random"``
    Shuffled K-fold (scikit-learn's ``KFold(shuffle=True)``): what Fahras
    used before; models trained with it are reproduced exactly.

All kinds are deterministic given the seed, and every document is held out
exactly once.
"""

from __future__ import annotations

import logging
import random
import re
from typing import Hashable, Sequence

import numpy as np

log = logging.getLogger(__name__)

FOLD_KINDS = ("grouped", "time", "random")
#: the kind of folds Fahras uses unless told otherwise (grouped, falling back to random on small corpora whose
#: groups are whole subjects; measured by benchmarks/rolling.py, docs/design.md)
DEFAULT_FOLDS = "grouped"

_YEAR = re.compile(r"(?<!\d)(19\d\d|20\d\d)(?!\d)")

Folds = list[tuple[np.ndarray, np.ndarray]]


def check_kind(kind: str) -> str:
    if kind not in FOLD_KINDS:
        raise ValueError(f"unknown kind of folds {kind!r}; choose one of {', '.join(FOLD_KINDS)}")
    return kind


def random_folds(n_docs: int, n_folds: int, random_state: int = 0) -> Folds:
    """Shuffled K-fold, as scikit-learn's ``KFold(n_folds, shuffle=True, random_state=...)``."""
    from sklearn.model_selection import KFold

    return [(np.asarray(a), np.asarray(b))
            for a, b in KFold(n_folds, shuffle=True, random_state=random_state).split(np.zeros(n_docs))]


def group_keys(subjects: Sequence[Sequence[Hashable]], series: Sequence[Hashable | None] | None = None,
               years: Sequence[float | None] | None = None) -> list[Hashable]:
    """The group key of every document: its ``series`` when given (not None), else its heading set and
    its year (None when unknown)."""
    keys: list[Hashable] = []
    for i, subj in enumerate(subjects):
        s = series[i] if series is not None else None
        year = years[i] if years is not None else None
        keys.append(("series", s) if s is not None else ("subjects", frozenset(subj), year))
    return keys


def known_years(ids: Sequence[str] | None, n_docs: int, order: Sequence[float | None] | None = None
                ) -> list[float | None]:
    """Each document's year from ``order`` or its id (the last four-digit year in it), None when neither has one."""
    years: list[float | None] = []
    for i in range(n_docs):
        value = order[i] if order is not None else None
        if value is None and ids is not None:
            found = _YEAR.findall(str(ids[i]))
            value = float(found[-1]) if found else None
        years.append(None if value is None else float(value))
    return years


def grouped_folds(groups: Sequence[Hashable], n_folds: int, random_state: int = 0) -> Folds:
    """Folds that keep every group whole, balanced by size (see the module docstring)."""
    n_docs = len(groups)
    members: dict[Hashable, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    if len(members) < n_folds:
        log.info("grouped folds: %d groups for %d folds; using random folds instead", len(members), n_folds)
        return random_folds(n_docs, n_folds, random_state)
    order = list(members.values())  # first-appearance order: deterministic
    random.Random(random_state).shuffle(order)
    order.sort(key=len, reverse=True)  # stable: equal sizes keep the shuffled order
    assigned = np.empty(n_docs, dtype=np.int64)
    sizes = [0] * n_folds
    for rows in order:
        fold = min(range(n_folds), key=lambda f: (sizes[f], f))
        assigned[rows] = fold
        sizes[fold] += len(rows)
    every = np.arange(n_docs)
    return [(every[assigned != f], every[assigned == f]) for f in range(n_folds)]


#: Grouped folds fall back to random ones when more than this share of the held-out documents' subject
#: assignments have no training document in their fold: the groups are then (nearly) whole subjects (a small
#: corpus whose subjects each have one heading set), and a stacker fitted on such folds would learn that a
#: document never has a subject it was trained on.  On the Security Council resolutions, grouped folds hold
#: 5-7.5% of the assignments out this way (no fold above 12%), and next year's documents meet 2-10% (gold
#: subjects no training document has, benchmarks/rolling.py); a synthetic corpus of 4 subjects without years
#: reached 48% (one fold 86%), which 0.5 let through.
MAX_UNSEEN_SHARE = 0.25


def unseen_share(folds: Folds, subjects: Sequence[Sequence[Hashable]]) -> float:
    """The share of held-out (document, subject) assignments whose subject no training document of the fold has."""
    unseen = total = 0
    for train, held in folds:
        known = {s for i in train for s in subjects[int(i)]}
        for i in held:
            for s in subjects[int(i)]:
                total += 1
                unseen += s not in known
    return unseen / total if total else 0.0


def time_keys(ids: Sequence[str] | None, n_docs: int, order: Sequence[float | None] | None = None) -> list[float]:
    """Each document's date key: ``order`` (when not None), else a year in its id, else its position.

    A document without either keeps its position relative to its neighbours: it takes
    the key of the last dated document before it (or, at the start, of the first one after it).
    """
    keys = known_years(ids, n_docs, order)
    known = [k for k in keys if k is not None]
    if not known:
        return [float(i) for i in range(n_docs)]
    filled, last = [], known[0]
    for k in keys:
        last = k if k is not None else last
        filled.append(last)
    return filled


def time_folds(keys: Sequence[float], n_folds: int) -> Folds:
    """``n_folds`` contiguous blocks of the documents in time order (stable sort of ``keys``)."""
    n_docs = len(keys)
    ranked = np.argsort(np.asarray(keys, dtype=np.float64), kind="stable")
    blocks = np.array_split(ranked, n_folds)
    every = np.arange(n_docs)
    folds = []
    for block in blocks:
        held = np.sort(block)
        folds.append((np.setdiff1d(every, held, assume_unique=True), held))
    return folds


def make_folds(n_folds: int, kind: str = DEFAULT_FOLDS, *, subjects: Sequence[Sequence[Hashable]] | None = None,
               ids: Sequence[str] | None = None, series: Sequence[Hashable | None] | None = None,
               order: Sequence[float | None] | None = None, n_docs: int | None = None,
               random_state: int = 0) -> Folds:
    """``n_folds`` (training rows, held-out rows) pairs of the given ``kind`` (see the module docstring).

    ``subjects`` (one collection of subjects per document) gives the grouped
    kind its heading sets; ``series`` overrides them per document; ``ids``
    and ``order`` give both kinds their years.  ``n_docs`` defaults to the
    length of whichever of them is given.
    """
    check_kind(kind)
    for given in (subjects, ids, series, order):
        if given is not None:
            n_docs = len(given) if n_docs is None else n_docs
            if len(given) != n_docs:
                raise ValueError("make_folds: every per-document sequence needs one entry per document")
    if n_docs is None:
        raise ValueError("make_folds: give the documents' subjects, ids, order or n_docs")
    if n_folds < 2 or n_folds > n_docs:
        raise ValueError(f"cannot make {n_folds} folds of {n_docs} documents")
    if kind == "random":
        return random_folds(n_docs, n_folds, random_state)
    if kind == "grouped":
        if subjects is None and series is None:
            log.info("grouped folds: no subjects or series given; using random folds instead")
            return random_folds(n_docs, n_folds, random_state)
        folds = grouped_folds(group_keys(subjects if subjects is not None else [()] * n_docs, series,
                                         known_years(ids, n_docs, order)), n_folds, random_state)
        share = unseen_share(folds, subjects) if subjects is not None else 0.0
        if share > MAX_UNSEEN_SHARE:
            log.info("grouped folds: %.0f%% of the held-out subject assignments have no training document in "
                     "their fold (more than %.0f%%: the groups are whole subjects, as in a small corpus); using "
                     "random folds instead", 100 * share, 100 * MAX_UNSEEN_SHARE)
            return random_folds(n_docs, n_folds, random_state)
        return folds
    return time_folds(time_keys(ids, n_docs, order), n_folds)


__all__ = ["FOLD_KINDS", "DEFAULT_FOLDS", "make_folds", "random_folds", "grouped_folds", "time_folds",
           "group_keys", "time_keys", "check_kind", "unseen_share",
           "MAX_UNSEEN_SHARE"]
