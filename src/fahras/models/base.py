"""The one small interface every backend implements.

A backend learns from analysed documents and a 0/1 subject matrix, and
scores documents against its subject space.  Conventions follow
scikit-learn: every parameter is declared once, in the class's
:attr:`Backend.params` (type, default, allowed values, a one-line
description), and only stored by ``__init__``, which checks it; learned
state lives in attributes ending in ``_`` set by ``fit``, which returns
``self``.  ``fit(documents, targets, *, context)`` is the same for every
backend: the :class:`FitContext` carries the analyzer and the subjects'
concepts.  ``save``/``load`` use plain files (JSON, ``.npy``, ``.npz``) in a
folder the caller provides; no pickles.  The registry (names -> classes)
is :mod:`fahras.models`.
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from fahras.errors import UsageError
from fahras.text import Analyzer, Tokens


@dataclass
class AnalyzedText:
    """A document's text with its analysed tokens (computed once, shared by backends).

    ``tokens`` may be given as any sequence of :class:`~fahras.text.Token`;
    it is kept as :class:`~fahras.text.Tokens`, whose ``terms`` list
    backends read directly.
    """

    text: str
    tokens: Tokens
    lang: str | None = None

    def __post_init__(self) -> None:
        self.tokens = Tokens.of(self.tokens)

    @property
    def terms(self) -> list[str]:
        """The tokens' terms in text order (the list itself: do not change it)."""
        return self.tokens.terms

    def __reduce__(self):
        # Pickled compactly (terms + two int arrays, not one object per token):
        # training workers receive every analysed document.
        spans = np.array([self.tokens.starts, self.tokens.ends], dtype=np.int64).reshape(2, -1)
        return _unpack_analyzed, (self.text, self.terms, spans, self.lang)


def _unpack_analyzed(text: str, terms: list[str], spans: np.ndarray, lang: str | None) -> AnalyzedText:
    starts, ends = spans.tolist()
    return AnalyzedText(text, Tokens(list(terms), starts, ends), lang)


@dataclass
class Evidence:
    """Why a subject was suggested: contributing terms or matched passages."""

    kind: str  # "term" or "passage"
    text: str
    weight: float
    spans: list[tuple[int, int]] = field(default_factory=list)

    def to_dict(self) -> dict:
        data = {"kind": self.kind, "text": self.text, "weight": round(float(self.weight), 6)}
        if self.spans:
            data["spans"] = [list(s) for s in self.spans]
        return data


_KIND_NAMES = {tuple: "list", list: "list", dict: "object", str: "text", bool: "true/false", int: "integer",
               float: "number"}


@dataclass(frozen=True)
class Param:
    """One backend parameter: its default, a one-line description and what values it takes.

    ``kind`` is the type (by default the default's type; ``float`` takes
    ints too, ``tuple`` takes lists); ``low``/``high`` bound numbers (both
    included, unless ``low_open``/``high_open``), ``choices`` lists the
    allowed values; ``optional`` allows None (so does a None default).
    """

    default: Any
    description: str
    kind: type | None = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple | None = None
    optional: bool = False

    @property
    def type(self) -> type | None:
        if self.kind is not None:
            return self.kind
        return None if self.default is None else type(self.default)

    def allowed(self) -> str:
        """The allowed values in words (for messages and ``fahras backends``)."""
        kind = self.type
        parts = [_KIND_NAMES.get(kind, kind.__name__) if kind is not None else "any"]
        if self.choices is not None:
            parts = ["one of " + ", ".join(json.dumps(c) for c in self.choices)]
        if self.low is not None or self.high is not None:
            lo = "" if self.low is None else f"{self.low:g} {'<' if self.low_open else '<='} "
            hi = "" if self.high is None else f" {'<' if self.high_open else '<='} {self.high:g}"
            parts.append(f"{lo}x{hi}")
        if self.optional or self.default is None:
            parts.append("or null")
        return " ".join(parts)

    def check(self, backend: str, name: str, value: Any) -> None:
        """A :class:`UsageError` naming the backend and parameter unless ``value`` is allowed."""
        if value is None:
            if self.optional or self.default is None:
                return
            raise UsageError(f"backend {backend!r}: the {name!r} parameter must not be null (allowed: {self.allowed()})")
        kind = self.type
        ok = (kind is None
              or (isinstance(value, bool) if kind is bool else
                  isinstance(value, (int, float)) and not isinstance(value, bool) if kind is float else
                  isinstance(value, int) and not isinstance(value, bool) if kind is int else
                  isinstance(value, (list, tuple)) if kind in (list, tuple) else
                  isinstance(value, kind)))
        if ok and self.choices is not None:
            ok = value in self.choices
        if ok and isinstance(value, (int, float)) and not isinstance(value, bool):
            ok = math.isfinite(value) and not (
                self.low is not None and (value < self.low or (self.low_open and value == self.low))
                or self.high is not None and (value > self.high or (self.high_open and value == self.high)))
        if not ok:
            raise UsageError(f"backend {backend!r}: the {name!r} parameter must be {self.allowed()}, got {value!r}")


@dataclass(frozen=True)
class FitContext:
    """What a backend may need besides the documents and their subjects.

    ``analyzer`` analysed the documents (backends that analyse labels use it
    for them too); ``concepts`` holds one :class:`~fahras.vocab.Concept` per
    subject column (None for a column without one).
    """

    analyzer: Analyzer | None = None
    concepts: Sequence | None = None

    def require_concepts(self, backend: str, n_subjects: int) -> list:
        """The concepts, checked against the number of subject columns."""
        if self.concepts is None:
            raise UsageError(f"the {backend} backend needs the subjects' concepts (their labels): "
                             "fit it through an Indexer, or pass FitContext(concepts=...)")
        concepts = list(self.concepts)
        if len(concepts) != n_subjects:
            raise UsageError(f"{len(concepts)} concepts for {n_subjects} subjects (one per subject column)")
        return concepts


class Backend(ABC):
    """Scores documents against a fixed subject space."""

    name: ClassVar[str]
    #: The parameters, in order: name -> :class:`Param`.  Declared once per class;
    #: :meth:`__init__` checks every value against it.
    params: ClassVar[Mapping[str, Param]] = {}
    #: Capabilities.  ``zero_shot``: can be trained without documents (a
    #: vocabulary subject space alone); ``trainable``: ``fit`` trains it (False
    #: for a backend only made from other, trained ones).
    zero_shot: ClassVar[bool] = False
    trainable: ClassVar[bool] = True

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            raise UsageError(f"backend {self.name!r} has no parameter {unknown[0]!r}; "
                             f"it has: {', '.join(self.params) or 'none'}")
        for key, spec in self.params.items():
            value = params.get(key, spec.default)
            spec.check(self.name, key, value)
            setattr(self, key, value)
        self.check_params()

    def check_params(self) -> None:
        """Checks that involve several parameters (each one alone is checked against :attr:`params`)."""

    @abstractmethod
    def fit(self, documents: Sequence[AnalyzedText], targets: sp.csr_matrix, *,
            context: FitContext | None = None) -> "Backend":
        """Learn from documents and their documents x subjects 0/1 matrix."""

    @abstractmethod
    def predict_scores(self, docs: Sequence[AnalyzedText]) -> np.ndarray:
        """Documents x subjects scores in [0, 1], higher is better."""

    def predict_sparse(self, docs: Sequence[AnalyzedText]) -> sp.csr_matrix:
        """:meth:`predict_scores` as a CSR matrix (sorted indices, no stored zeros): what batch scoring
        reads.  Backends whose scores are mostly zero override it to skip the dense array."""
        return as_csr(self.predict_scores(docs))

    def extra_subjects(self, vocab, gold: Sequence[set[str]]) -> list:
        """Concepts this backend can suggest beyond the training subjects.

        Called before the subject space is built, with the vocabulary and the
        training documents' gold URIs; returns :class:`~fahras.vocab.Concept`
        objects (e.g. headings composed from thesaurus concepts) to add to the
        space.  Most backends add none.
        """
        return []

    def fit_out_of_fold(self, documents: Sequence[AnalyzedText], targets: sp.csr_matrix,
                        folds: Sequence[tuple[np.ndarray, np.ndarray]], *, context: FitContext | None = None,
                        progress: Callable[[str, int, int], None] | None = None) -> np.ndarray:
        """Fit on all documents and return held-out scores for each of them.

        ``folds`` are (train indices, held-out indices) pairs covering every
        document once as held out.  The default refits a fresh copy of the
        backend per fold; an ensemble overrides it to reuse its base models'
        held-out scores instead of nesting cross-validations.
        """
        from fahras.models.budget import FitOnce, sparse_rows
        from fahras.models.held_out import HeldRows, held_result, wants_csr

        take = subset

        # large corpora: only the held-out rows cost memory (#19); a held-out sample's as CSR (held_out_csr)
        oof = HeldRows(targets.shape) if wants_csr() else sparse_rows(targets.shape)
        scored = "predict_sparse" if isinstance(oof, HeldRows) else "predict_scores"
        if isinstance(folds, FitOnce):  # a large corpus's held-out sample: the fold's fit is the final one
            (train, held), = folds
            self.fit(take(documents, train), targets[train], context=context)
            oof[held] = getattr(self, scored)(take(documents, held))
            if progress:
                progress("tune", 1, 1)
            return held_result(oof)
        for k, (train, held) in enumerate(folds, 1):
            copy = type(self)(**self.get_params())
            copy.fit(take(documents, train), targets[train], context=context)
            oof[held] = getattr(copy, scored)(take(documents, held))
            if progress:
                progress("tune", k, len(folds))
        self.fit(documents, targets, context=context)
        return held_result(oof)

    def explain(self, doc: AnalyzedText, subject: int, top: int = 5) -> list[Evidence]:
        """What in the document made ``subject`` score; empty if the backend cannot say."""
        return []

    @abstractmethod
    def save_state(self, folder: Path) -> None:
        """Write the learned state (not the parameters) into ``folder``."""

    @abstractmethod
    def load_state(self, folder: Path) -> None:
        """Read what :meth:`save_state` wrote."""

    # -- parameters -------------------------------------------------------
    def get_params(self) -> dict:
        return {name: getattr(self, name) for name in self.params}

    def save(self, folder: Path) -> None:
        """Write the parameters (``params.json``) and the learned state into ``folder``
        (:func:`fahras.models.load_backend` reads it back)."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "params.json").write_text(json.dumps({"backend": self.name, "params": self.get_params()},
                                                       indent=2), encoding="utf-8")
        self.save_state(folder)


def subset(documents: Sequence[AnalyzedText], rows) -> Sequence[AnalyzedText]:
    """The documents at ``rows``: a view where ``documents`` makes one (``take``: an
    :class:`~fahras.models.analysed.AnalysedCorpus`, whose fold is then an index array, not a list of
    documents), else a list."""
    take = getattr(documents, "take", None)
    return take(rows) if callable(take) else [documents[i] for i in rows]


def as_csr(scores, dtype=None) -> sp.csr_matrix:
    """``scores`` (dense or sparse) as a CSR matrix with sorted indices and no stored zeros."""
    if isinstance(scores, np.ndarray) and scores.ndim == 2:  # faster than scipy's conversion of a dense array
        flat = np.flatnonzero(scores)
        n_cols = scores.shape[1]
        rows = flat // n_cols if n_cols else flat
        indptr = np.zeros(scores.shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=scores.shape[0]), out=indptr[1:])
        data = scores.ravel()[flat]
        return sp.csr_matrix((data if dtype is None else data.astype(dtype), flat % max(n_cols, 1), indptr),
                             shape=scores.shape)
    out = sp.csr_matrix(scores, dtype=dtype)
    if out is scores:
        out = out.copy()
    out.sum_duplicates()
    out.eliminate_zeros()
    out.sort_indices()
    return out
