"""TF-IDF features with one logistic-regression classifier per subject.

Features are the analyser's terms plus adjacent-term bigrams, weighted by
sublinear TF-IDF and L2-normalised (:class:`fahras.models.features.TfidfFeatures`).
Each subject gets a binary L2-regularised logistic regression (liblinear),
so scores are probabilities and every score can be explained as the sum of
term weight x feature value.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from fahras.models.base import AnalyzedText, Backend, Evidence, register
from fahras.models.convergence import ConvergenceCount
from fahras.models.features import TfidfFeatures, feature_spans, top_shared_features
from fahras.text import Analyzer

log = logging.getLogger(__name__)

#: Iteration limit of each subject's logistic regression.
MAX_ITER = 1000


@register
class TfidfLinearBackend(Backend):
    """One-vs-rest logistic regression on TF-IDF n-grams.

    Parameters
    ----------
    ngram_max : longest term n-gram used as a feature (1 = single terms).
    min_df : a feature must occur in at least this many training documents.
    max_features : keep at most this many features (most frequent first); None = all.
    C : inverse regularisation strength of each logistic regression.
    class_weight : ``"balanced"`` to up-weight the rare positive documents, or None.
    """

    name = "tfidf-linear"

    def __init__(self, ngram_max: int = 2, min_df: int = 2, max_features: int | None = 200_000,
                 C: float = 20.0, class_weight: str | None = "balanced"):
        self.ngram_max = ngram_max
        self.min_df = min_df
        self.max_features = max_features
        self.C = C
        self.class_weight = class_weight

    def fit(self, docs: Sequence[AnalyzedText], y: sp.csr_matrix, analyzer: Analyzer) -> "TfidfLinearBackend":
        from sklearn.linear_model import LogisticRegression

        self.features_ = TfidfFeatures(self.ngram_max, self.min_df, self.max_features)
        x = self.features_.fit_transform(docs)
        y = sp.csc_matrix(y)
        positives = np.asarray(y.sum(axis=0)).ravel()
        # Subjects all or none of the documents have get a constant score and no weights:
        # the weight matrix has rows only for the subjects a classifier is learned for.
        self.intercept_ = np.where(positives > 0, 10.0, -10.0).astype(np.float32)
        self.active_ = np.flatnonzero((positives > 0) & (positives < y.shape[0]))
        # Column-major, so that ``coef_.T`` is the row-major matrix a product with a sparse
        # matrix reads (scipy would copy the whole of a transposed row-major one each time).
        self.coef_ = np.zeros((len(self.active_), x.shape[1]), dtype=np.float32, order="F")
        # Some regressions stop at the limit (short texts, many rare subjects): counted and
        # logged once, not warned about one by one.  (5,000 yso-finna-en records: 12 of 409
        # sampled subjects stop at 1,000; a limit of 10,000 lets all converge for 3.5x the CPU.)
        with ConvergenceCount(log, "tfidf-linear", MAX_ITER) as count:
            for row, j in enumerate(self.active_):
                target = y[:, j].toarray().ravel() > 0
                # The dual problem is far cheaper when features outnumber documents (the usual case).
                model = LogisticRegression(C=self.C, solver="liblinear", dual=x.shape[1] > x.shape[0],
                                           class_weight=self.class_weight, max_iter=MAX_ITER, random_state=0)
                model.fit(x, target)
                count.add(model)
                self.coef_[row] = model.coef_[0]
                self.intercept_[j] = model.intercept_[0]
        return self

    def predict_scores(self, docs: Sequence[AnalyzedText]) -> np.ndarray:
        x = self.features_.transform(docs)
        logits = np.tile(self.intercept_, (x.shape[0], 1))
        logits[:, self.active_] += np.asarray(x @ self.coef_.T)
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -50, 50)))

    def explain(self, doc: AnalyzedText, subject: int, top: int = 5) -> list[Evidence]:
        x = self.features_.transform([doc])
        names = self.features_.feature_names
        row = np.searchsorted(self.active_, subject)
        if row >= len(self.active_) or self.active_[row] != subject:
            return []  # a constant-score subject: no term made it
        return [Evidence("term", str(names[col]), weight, feature_spans(doc, str(names[col])))
                for col, weight in top_shared_features(x, self.coef_[row], top)]

    # -- persistence -----------------------------------------------------------
    def save_state(self, folder: Path) -> None:
        self.features_.save(folder)  # features.json, idf.npy
        np.save(folder / "coef.npy", np.ascontiguousarray(self.coef_))
        np.save(folder / "active.npy", self.active_)
        np.save(folder / "intercept.npy", self.intercept_)

    def load_state(self, folder: Path) -> None:
        self.features_ = TfidfFeatures.load(folder, self.ngram_max)
        self.coef_ = np.asfortranarray(np.load(folder / "coef.npy", allow_pickle=False))  # see fit
        self.active_ = np.load(folder / "active.npy", allow_pickle=False)
        self.intercept_ = np.load(folder / "intercept.npy", allow_pickle=False)
        if self.coef_.shape != (len(self.active_), self.features_.n_features):
            raise ValueError("weight matrix does not match the features or the subjects")
