"""TF-IDF document vectors over the analyser's terms and term n-grams, shared by backends.

Features are the analyser's terms plus adjacent-term n-grams (joined by a
space), counted by scikit-learn's ``CountVectorizer``, weighted by sublinear
TF-IDF and L2-normalised (``TfidfTransformer``), as float32 CSR rows.

:class:`TfidfFeatures` is a small helper, not a backend: a backend builds
one from its own parameters, calls :meth:`~TfidfFeatures.fit_transform` in
``fit``, and saves it next to its own files.  The saved form is two plain
files, ``features.json`` (the feature strings, in column order) and
``idf.npy`` (their inverse document frequencies).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from fahras.models.base import AnalyzedText

SEPARATOR = " "
"""Joins the terms of an n-gram feature."""

FEATURES_FILE = "features.json"
IDF_FILE = "idf.npy"


def ngrams(terms: list[str], max_n: int) -> list[str]:
    """The terms followed by every run of 2..``max_n`` adjacent terms."""
    features = list(terms)
    for n in range(2, max_n + 1):
        features.extend(SEPARATOR.join(terms[i:i + n]) for i in range(len(terms) - n + 1))
    return features


class TfidfFeatures:
    """Sublinear TF-IDF over terms and n-grams, L2-normalised.

    Parameters
    ----------
    ngram_max : longest term n-gram used as a feature (1 = single terms).
    min_df : a feature must occur in at least this many training documents
        (relaxed to 1 when there are fewer than ``2 * min_df`` documents).
    max_features : keep at most this many features (most frequent first); None = all.
    """

    def __init__(self, ngram_max: int = 2, min_df: int = 2, max_features: int | None = 200_000):
        self.ngram_max = ngram_max
        self.min_df = min_df
        self.max_features = max_features

    def _analyzer(self):
        max_n = self.ngram_max
        return lambda terms: ngrams(terms, max_n)

    # -- learning and transforming ---------------------------------------------
    def fit_transform(self, docs: Sequence[AnalyzedText]) -> sp.csr_matrix:
        """Learn the features and their IDF from ``docs``; return their vectors."""
        from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

        min_df = self.min_df if len(docs) >= 2 * self.min_df else 1
        vectorizer = CountVectorizer(analyzer=self._analyzer(), min_df=min_df, max_features=self.max_features)
        counts = vectorizer.fit_transform([d.terms for d in docs])
        self.feature_names_ = vectorizer.get_feature_names_out()
        self.vocabulary_ = {str(t): i for i, t in enumerate(self.feature_names_)}
        self.idf_ = TfidfTransformer(sublinear_tf=True).fit(counts).idf_.astype(np.float64)
        return self.transform(docs)

    def fit(self, docs: Sequence[AnalyzedText]) -> "TfidfFeatures":
        self.fit_transform(docs)
        return self

    def transform(self, docs: Sequence[AnalyzedText]) -> sp.csr_matrix:
        """Documents x features, float32 CSR, each row of unit length (or empty).

        Sublinear TF (1 + log tf) x IDF, L2-normalised: scikit-learn's
        ``TfidfTransformer(sublinear_tf=True)``, computed here so that
        suggesting needs no scikit-learn import.
        """
        vocabulary, indptr, indices, values = self.vocabulary_, [0], [], []
        for doc in docs:
            counts: dict[int, int] = {}
            for feature in ngrams(doc.terms, self.ngram_max):
                column = vocabulary.get(feature)
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
            columns = np.fromiter(sorted(counts), dtype=np.int64, count=len(counts))
            weights = (1.0 + np.log([counts[c] for c in columns])) * self.idf_[columns] if len(columns) else \
                np.zeros(0)
            norm = np.sqrt(np.dot(weights, weights))
            indices.append(columns)
            values.append(weights / norm if norm > 0 else weights)
            indptr.append(indptr[-1] + len(columns))
        return sp.csr_matrix(
            (np.concatenate(values).astype(np.float32) if values else np.zeros(0, np.float32),
             np.concatenate(indices) if indices else np.zeros(0, np.int64), np.asarray(indptr)),
            shape=(len(docs), len(self.feature_names_)))

    @property
    def feature_names(self) -> np.ndarray:
        """The feature strings in column order (n-grams joined by :data:`SEPARATOR`)."""
        return self.feature_names_

    @property
    def n_features(self) -> int:
        return len(self.feature_names_)

    # -- persistence -------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """Write ``features.json`` and ``idf.npy`` into ``folder``."""
        (folder / FEATURES_FILE).write_text(
            json.dumps({"terms": [str(t) for t in self.feature_names_]}, ensure_ascii=False), encoding="utf-8")
        np.save(folder / IDF_FILE, self.idf_.astype(np.float64))

    @classmethod
    def load(cls, folder: Path, ngram_max: int = 2) -> "TfidfFeatures":
        """Read what :meth:`save` wrote; ``ngram_max`` must be the one used in training."""
        terms = json.loads((folder / FEATURES_FILE).read_text(encoding="utf-8"))["terms"]
        features = cls(ngram_max=ngram_max)
        features.feature_names_ = np.asarray(terms, dtype=object)
        features.vocabulary_ = {t: i for i, t in enumerate(terms)}
        features.idf_ = np.load(folder / IDF_FILE, allow_pickle=False)
        if features.idf_.shape != (len(terms),):
            raise ValueError("feature count differs between features.json and idf.npy")
        return features


# -- explanation helpers ---------------------------------------------------------
def feature_spans(doc: AnalyzedText, feature: str, limit: int = 10) -> list[tuple[int, int]]:
    """Where a (possibly multi-term) feature occurs in the document's original text."""
    parts = feature.split(SEPARATOR)
    tokens, n = doc.tokens, len(parts)
    spans = []
    for i in range(len(tokens) - n + 1):
        if all(tokens[i + k].term == parts[k] for k in range(n)):
            spans.append((tokens[i].start, tokens[i + n - 1].end))
            if len(spans) >= limit:
                break
    return spans


def top_shared_features(row: sp.csr_matrix, weights: np.ndarray | sp.spmatrix,
                        top: int) -> list[tuple[int, float]]:
    """The document's features with the largest positive ``value x weight``, best first.

    ``row`` is one document's 1 x features vector, ``weights`` a 1 x features
    (dense or sparse) vector; returns ``(feature column, contribution)`` pairs.
    """
    row = sp.csr_matrix(row)
    cols, values = row.indices, row.data
    if sp.issparse(weights):
        w = np.asarray(sp.csr_matrix(weights)[:, cols].todense()).ravel()
    else:
        w = np.asarray(weights).ravel()[cols]
    contributions = values * w
    order = np.argsort(-contributions)[:top]
    return [(int(cols[k]), float(contributions[k])) for k in order if contributions[k] > 0]
