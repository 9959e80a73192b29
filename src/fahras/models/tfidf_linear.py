"""TF-IDF features with one logistic-regression classifier per subject.

Features are the analyser's terms plus adjacent-term bigrams, weighted by
sublinear TF-IDF and L2-normalised (:class:`fahras.models.features.TfidfFeatures`).
Each subject gets a binary L2-regularised logistic regression (liblinear),
so scores are probabilities and every score can be explained as the sum of
term weight x feature value.

The weights are kept sparse (subjects x features, CSR): each regression's
weights smaller than ``prune`` in absolute value are dropped as it is fitted,
so no dense subjects x features matrix exists at any time (27,754 subjects x
200,000 features would be 22 GB dense).  Models saved before this kept a
dense ``coef.npy``; they still load.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from fahras.models import register
from fahras.models.base import AnalyzedText, Backend, Evidence, FitContext, Param
from fahras.models.convergence import ConvergenceCount
from fahras.models.features import TFIDF_PARAMS, TfidfFeatures, feature_spans, top_shared_features

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
    params = {
        **TFIDF_PARAMS,
        "C": Param(20.0, "inverse regularisation strength of each logistic regression", low=0, low_open=True),
        "prune": Param(0.01, "weights smaller than this in absolute value are dropped (0: keep all non-zero)",
                       low=0),
        "class_weight": Param("balanced", "'balanced' up-weights the rare positive documents; null: equal weights",
                              choices=("balanced",), optional=True),
    }

    def fit(self, docs: Sequence[AnalyzedText], y: sp.csr_matrix, *,
            context: FitContext | None = None) -> "TfidfLinearBackend":
        features = TfidfFeatures(self.ngram_max, self.min_df, self.max_features)
        return self.fit_features(features, features.fit_transform(docs), y)

    def fit_features(self, features: TfidfFeatures, x: sp.csr_matrix, y: sp.csr_matrix) -> "TfidfLinearBackend":
        """Learn from ``x``, the TF-IDF rows that ``features`` (fitted with this backend's feature
        parameters) made of the training documents (see :meth:`OmikujiBackend.fit_features`)."""
        from sklearn.linear_model import LogisticRegression

        self.features_ = features
        x = sp.csr_matrix(x)
        y = sp.csc_matrix(y)
        positives = np.asarray(y.sum(axis=0)).ravel()
        # Subjects all or none of the documents have get a constant score and no weights:
        # the weight matrix has rows only for the subjects a classifier is learned for.
        self.intercept_ = np.where(positives > 0, 10.0, -10.0).astype(np.float32)
        self.active_ = np.flatnonzero((positives > 0) & (positives < y.shape[0]))
        prune = float(self.prune)
        indptr, indices, data = [0], [], []
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
                weights = model.coef_[0]
                keep = np.flatnonzero(np.abs(weights) > prune) if prune > 0 else np.flatnonzero(weights)
                indices.append(keep.astype(np.int32))
                data.append(weights[keep].astype(np.float32))
                indptr.append(indptr[-1] + len(keep))
                self.intercept_[j] = model.intercept_[0]
        self.coef_ = _weights(indptr, indices, data, (len(self.active_), x.shape[1]))
        return self

    def predict_scores(self, docs: Sequence[AnalyzedText]) -> np.ndarray:
        x = self.features_.transform(docs)
        logits = np.tile(self.intercept_, (x.shape[0], 1))
        logits[:, self.active_] += (x @ self._coef_t).toarray()
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -50, 50)))

    def explain(self, doc: AnalyzedText, subject: int, top: int = 5) -> list[Evidence]:
        x = self.features_.transform([doc])
        names = self.features_.feature_names
        row = np.searchsorted(self.active_, subject)
        if row >= len(self.active_) or self.active_[row] != subject:
            return []  # a constant-score subject: no term made it
        return [Evidence("term", str(names[col]), weight, feature_spans(doc, str(names[col])))
                for col, weight in top_shared_features(x, self.coef_[row], top)]

    @property
    def coef_(self) -> sp.csr_matrix:
        """Subjects (``active_``) x features weights, sparse."""
        return self._coef

    @coef_.setter
    def coef_(self, coef) -> None:
        self._coef = sp.csr_matrix(coef, dtype=np.float32)
        # The transposed copy a product with documents reads (features x subjects, CSC of coef_).
        self._coef_t = sp.csc_matrix(self._coef).T

    # -- persistence -----------------------------------------------------------
    def save_state(self, folder: Path) -> None:
        self.features_.save(folder)  # features.json, idf.npy
        sp.save_npz(folder / "coef.npz", self.coef_, compressed=False)
        np.save(folder / "active.npy", self.active_)
        np.save(folder / "intercept.npy", self.intercept_)

    def load_state(self, folder: Path) -> None:
        self.features_ = TfidfFeatures.load(folder, self.ngram_max)
        if (folder / "coef.npz").exists():
            self.coef_ = sp.load_npz(folder / "coef.npz")
        else:  # a model saved before the weights were sparse
            self.coef_ = np.load(folder / "coef.npy", allow_pickle=False)
        self.active_ = np.load(folder / "active.npy", allow_pickle=False)
        self.intercept_ = np.load(folder / "intercept.npy", allow_pickle=False)
        if self.coef_.shape != (len(self.active_), self.features_.n_features):
            raise ValueError("weight matrix does not match the features or the subjects")


def _weights(indptr: list[int], indices: list[np.ndarray], data: list[np.ndarray],
             shape: tuple[int, int]) -> sp.csr_matrix:
    """A CSR matrix from its rows' kept columns and weights."""
    return sp.csr_matrix((np.concatenate(data) if data else np.zeros(0, np.float32),
                          np.concatenate(indices) if indices else np.zeros(0, np.int32),
                          np.asarray(indptr, dtype=np.int64)), shape=shape)
