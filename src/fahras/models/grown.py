"""A trained backend whose subject space grew after training.

:func:`fahras.learning.learn` adds subjects that indexers used but the model
never saw.  Backends that can take new documents (``knn``) learn them; the
others keep their trained state and are wrapped in ``grown``: the wrapped
backend scores the subjects it was trained on, and the subjects added since
score 0 until the next full ``fahras train``.  Not trained directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from fahras.errors import UsageError
from fahras.models import load_backend, register
from fahras.models.base import AnalyzedText, Backend, Evidence, FitContext, Param


@register
class GrownBackend(Backend):
    """A trained backend plus subjects added after training (made by ``fahras learn``; not trained directly).

    Parameters
    ----------
    n_subjects : the grown subject space's size.
    inner_subjects : how many of them (the first ones) the wrapped backend scores.
    """

    name = "grown"
    trainable = False
    params = {
        "n_subjects": Param(0, "size of the grown subject space", low=0),
        "inner_subjects": Param(0, "how many of the subjects (the first ones) the wrapped backend scores", low=0),
    }

    def check_params(self) -> None:
        if self.n_subjects < self.inner_subjects:
            raise UsageError("backend 'grown': a subject space only grows (n_subjects >= inner_subjects)")

    @classmethod
    def wrap(cls, backend: Backend, n_subjects: int, inner_subjects: int) -> "GrownBackend":
        """``backend`` (scoring ``inner_subjects`` subjects) in a space of ``n_subjects``."""
        if isinstance(backend, GrownBackend):
            backend, inner_subjects = backend.inner_, backend.inner_subjects
        if n_subjects < inner_subjects:
            raise ValueError("a subject space only grows")
        grown = cls(n_subjects=n_subjects, inner_subjects=inner_subjects)
        grown.inner_ = backend
        return grown

    def fit(self, documents: Sequence[AnalyzedText], targets: sp.csr_matrix, *,
            context: FitContext | None = None) -> "GrownBackend":
        raise UsageError("the 'grown' backend is made by 'fahras learn' from a trained model; train another backend")

    def predict_scores(self, docs: Sequence[AnalyzedText]) -> np.ndarray:
        inner = self.inner_.predict_scores(docs)
        out = np.zeros((len(docs), self.n_subjects), dtype=inner.dtype)
        out[:, : inner.shape[1]] = inner
        return out

    def explain(self, doc: AnalyzedText, subject: int, top: int = 5) -> list[Evidence]:
        return self.inner_.explain(doc, subject, top) if subject < self.inner_subjects else []

    def save_state(self, folder: Path) -> None:
        self.inner_.save(folder / "inner")

    def load_state(self, folder: Path) -> None:
        self.inner_ = load_backend(folder / "inner")
