"""The one small interface every backend implements, and the backend registry.

A backend learns from analysed documents and a 0/1 subject matrix, and
scores documents against its subject space.  Conventions follow
scikit-learn: every parameter is named in ``__init__`` and only stored
there; learned state lives in attributes ending in ``_`` set by ``fit``,
which returns ``self``.  ``save``/``load`` use plain files (JSON, ``.npy``,
``.npz``) in a folder the caller provides; no pickles.
"""

from __future__ import annotations

import inspect
import json
import zipfile
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ClassVar, Sequence

import numpy as np
import scipy.sparse as sp

from fahras.errors import ModelError, UsageError
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


class Backend(ABC):
    """Scores documents against a fixed subject space."""

    name: ClassVar[str]
    #: True for backends that need the subjects' concepts (labels, groups,
    #: relations): their ``fit`` then takes ``concepts=``, one Concept per column.
    uses_concepts: ClassVar[bool] = False

    @abstractmethod
    def fit(self, docs: Sequence[AnalyzedText], y: sp.csr_matrix, analyzer: Analyzer) -> "Backend":
        """Learn from documents and their documents x subjects 0/1 matrix.

        Backends with ``uses_concepts`` take a keyword ``concepts`` as well;
        call them through :func:`fit_backend`, which passes it only to them.
        """

    @abstractmethod
    def predict_scores(self, docs: Sequence[AnalyzedText]) -> np.ndarray:
        """Documents x subjects scores in [0, 1], higher is better."""

    def extra_subjects(self, vocab, gold: Sequence[set[str]]) -> list:
        """Concepts this backend can suggest beyond the training subjects.

        Called before the subject space is built, with the vocabulary and the
        training documents' gold URIs; returns :class:`~fahras.vocab.Concept`
        objects (e.g. headings composed from thesaurus concepts) to add to the
        space.  Most backends add none.
        """
        return []

    def fit_out_of_fold(self, docs: Sequence[AnalyzedText], y: sp.csr_matrix, analyzer: Analyzer,
                        folds: Sequence[tuple[np.ndarray, np.ndarray]],
                        progress: Callable[[str, int, int], None] | None = None,
                        concepts: Sequence | None = None) -> np.ndarray:
        """Fit on all documents and return held-out scores for each of them.

        ``folds`` are (train indices, held-out indices) pairs covering every
        document once as held out.  The default refits a fresh copy of the
        backend per fold; an ensemble overrides it to reuse its base models'
        held-out scores instead of nesting cross-validations.
        """
        oof = np.zeros(y.shape, dtype=np.float32)
        for k, (train, held) in enumerate(folds, 1):
            copy = create_backend(self.name, self.get_params())
            fit_backend(copy, [docs[i] for i in train], y[train], analyzer, concepts)
            oof[held] = copy.predict_scores([docs[i] for i in held])
            if progress:
                progress("tune", k, len(folds))
        fit_backend(self, docs, y, analyzer, concepts)
        return oof

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
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "params.json").write_text(json.dumps({"backend": self.name, "params": self.get_params()},
                                                       indent=2), encoding="utf-8")
        self.save_state(folder)

    @classmethod
    def load(cls, folder: Path) -> "Backend":
        try:
            meta = json.loads((folder / "params.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelError(f"{folder}: unreadable backend parameters ({exc})") from None
        backend = create_backend(meta["backend"], meta.get("params", {}))
        try:
            backend.load_state(folder)
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # .npz files are zip files
            raise ModelError(f"{folder}: damaged backend files ({exc})") from None
        return backend


def fit_backend(backend: Backend, docs: Sequence[AnalyzedText], y: sp.csr_matrix, analyzer: Analyzer,
                concepts: Sequence | None = None) -> Backend:
    """Fit ``backend``, passing ``concepts`` only to backends that use them."""
    if backend.uses_concepts:
        return backend.fit(docs, y, analyzer, concepts=concepts)
    return backend.fit(docs, y, analyzer)


_REGISTRY: dict[str, type[Backend]] = {}


def register(cls: type[Backend]) -> type[Backend]:
    """Class decorator: make a backend available by its ``name``."""
    _REGISTRY[cls.name] = cls
    return cls


def backend_names() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def create_backend(name: str, params: dict | None = None) -> Backend:
    _load_builtin()
    if name not in _REGISTRY:
        raise UsageError(f"unknown backend {name!r}; available: {', '.join(sorted(_REGISTRY))}")
    cls = _REGISTRY[name]
    _check_types(name, cls, params or {})
    try:
        return cls(**(params or {}))
    except TypeError as exc:
        raise UsageError(f"bad parameters for backend {name!r}: {exc}") from None


def _check_types(name: str, cls: type[Backend], params: dict) -> None:
    """Parameters must have the type of their default (ints for floats are fine)."""
    signature = inspect.signature(cls.__init__).parameters
    for key, value in params.items():
        if key not in signature:
            known = ", ".join(p for p in signature if p != "self")
            raise UsageError(f"backend {name!r} has no parameter {key!r}; it has: {known}")
        default = signature[key].default
        if default is None or default is inspect.Parameter.empty or value is None:
            continue
        expected = type(default)
        ok = (isinstance(value, bool) if expected is bool else
              isinstance(value, (int, float)) and not isinstance(value, bool) if expected is float else
              isinstance(value, int) and not isinstance(value, bool) if expected is int else
              isinstance(value, (list, tuple)) if expected in (list, tuple) else
              isinstance(value, expected))
        if not ok:
            raise UsageError(f"backend {name!r}: parameter {key!r} must be {expected.__name__} "
                             f"like its default {default!r}, got {value!r}")


def _load_builtin() -> None:
    # Importing the modules registers their backends.
    from fahras.models import tfidf_linear  # noqa: F401
    from fahras.models import omikuji_tree  # noqa: F401
    from fahras.models import knn  # noqa: F401
    from fahras.models import ensemble  # noqa: F401
    from fahras.models import zeroshot  # noqa: F401
    from fahras.models import headings  # noqa: F401
    from fahras.models import acronyms  # noqa: F401
    from fahras.models import grown  # noqa: F401
