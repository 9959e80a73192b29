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
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Sequence

import numpy as np
import scipy.sparse as sp

from fahras.errors import ModelError, UsageError
from fahras.text import Analyzer, Token


@dataclass
class AnalyzedText:
    """A document's text with its analysed tokens (computed once, shared by backends)."""

    text: str
    tokens: list[Token]
    lang: str | None = None

    @property
    def terms(self) -> list[str]:
        return [t.term for t in self.tokens]


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

    @abstractmethod
    def fit(self, docs: Sequence[AnalyzedText], y: sp.csr_matrix, analyzer: Analyzer) -> "Backend":
        """Learn from documents and their documents x subjects 0/1 matrix."""

    @abstractmethod
    def predict_scores(self, docs: Sequence[AnalyzedText]) -> np.ndarray:
        """Documents x subjects scores in [0, 1], higher is better."""

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
        except (OSError, KeyError, ValueError) as exc:
            raise ModelError(f"{folder}: damaged backend files ({exc})") from None
        return backend


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
    try:
        return _REGISTRY[name](**(params or {}))
    except TypeError as exc:
        raise UsageError(f"bad parameters for backend {name!r}: {exc}") from None


def _load_builtin() -> None:
    # Importing the modules registers their backends.
    from fahras.models import tfidf_linear  # noqa: F401
    from fahras.models import omikuji_tree  # noqa: F401
    from fahras.models import knn  # noqa: F401
