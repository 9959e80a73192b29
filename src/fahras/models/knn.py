"""Nearest neighbours: subjects of the most similar training documents.

Documents are TF-IDF vectors over the analyser's terms and bigrams
(:class:`fahras.models.features.TfidfFeatures`), so the dot product of two
vectors is their cosine similarity.  A document's score for a subject is the
similarity-weighted vote of its ``k`` most similar training documents::

    vote(s) = sum_n sim_n ** exponent * [n has s] / sum_n sim_n ** exponent

which lies in [0, 1] (the share of the neighbours' weight carried by
``s``); a larger ``exponent`` lets the closest neighbours dominate.
Optionally the cosine similarity to each subject's centroid (the normalised
mean vector of its training documents) is mixed in with weight
``centroid_weight``.

Files: ``features.json`` and ``idf.npy`` (the features), ``train.npz``
(training documents x features), ``labels.npz`` (training documents x
subjects) and ``postings_*.npy`` (the training documents feature by feature,
uncompressed: scoring memory-maps them; a model saved without them makes them
from ``train.npz`` when loading).  The centroids are recomputed when first needed.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from fahras.models import register
from fahras.models.base import AnalyzedText, Backend, Evidence, FitContext, Param
from fahras.models.omikuji_fast import COMPILED_MIN_DOCS, numba_available
from fahras.store.files import map_file
from fahras.models.features import TFIDF_PARAMS, TfidfFeatures, feature_spans, top_shared_features

_TRAIN = "train.npz"
_LABELS = "labels.npz"
_POSTINGS = "postings_"  # postings_indptr.npy, postings_indices.npy, postings_data.npy
_CHUNK = 128  # documents scored at once (bounds the documents x training-documents matrix)
#: At most this many similarities (documents x training documents) at once: 64 MB of float32, so
#: 671,000 training documents are scored 25 documents at a time; no all-pairs matrix at any size.
_MAX_SIMILARITIES = 1 << 24
#: Training rows whose similarities the compiled vote sums at once (128 KB of float32: they stay in cache).
_BLOCK_ROWS = 1 << 15


@register
class KnnBackend(Backend):
    """Similarity-weighted vote of the nearest training documents.

    Parameters
    ----------
    ngram_max, min_df, max_features : the TF-IDF features, as in ``tfidf-linear``.
    k : number of nearest training documents that vote.
    exponent : similarities are raised to this power before voting (sharpening;
        0 = every neighbour counts the same).
    centroid_weight : share of the score given to the cosine similarity between
        the document and each subject's centroid (0 = neighbours only, 1 = centroids only).
    """

    name = "knn"
    params = {
        **TFIDF_PARAMS,
        "k": Param(20, "number of nearest training documents that vote", low=1),
        "exponent": Param(4.0, "similarities are raised to this power before voting (0: every neighbour counts the same)",
                          low=0),
        "centroid_weight": Param(0.0, "share of the score from the similarity to each subject's centroid "
                                 "(0: neighbours only, 1: centroids only)", low=0, high=1),
    }

    def fit(self, docs: Sequence[AnalyzedText], y: sp.csr_matrix, *,
            context: FitContext | None = None) -> "KnnBackend":
        features = TfidfFeatures(self.ngram_max, self.min_df, self.max_features)
        return self.fit_features(features, features.fit_transform(docs), y)

    def fit_features(self, features: TfidfFeatures, x: sp.csr_matrix, y: sp.csr_matrix) -> "KnnBackend":
        """Learn from ``x``, the TF-IDF rows that ``features`` (fitted with this backend's feature
        parameters) made of the training documents (see :meth:`OmikujiBackend.fit_features`)."""
        self.features_ = features
        self.train_ = sp.csr_matrix(x, dtype=np.float32, copy=True)
        self.labels_ = sp.csr_matrix(y, dtype=np.float32)
        self.centroids_ = _unit_centroids(self.train_, self.labels_)
        self._index_training()
        return self

    @property
    def centroids_(self) -> sp.csr_matrix:
        """Subjects x features unit centroids: made from the training vectors on first use (only
        ``centroid_weight`` > 0 and explanations read them), so loading a model does not wait for them."""
        centroids = self.__dict__.get("_centroids")
        if centroids is None:
            centroids = self._centroids = _unit_centroids(self.train_, self.labels_)
        return centroids

    @centroids_.setter
    def centroids_(self, value: sp.csr_matrix | None) -> None:
        self._centroids = value

    def _index_training(self) -> None:
        # The training vectors transposed once, as the row-major matrix a product with
        # them needs: ``x @ train_.T`` would transpose them again for every block.
        self._train_t = sp.csr_matrix(self.train_.T)

    # -- scoring -------------------------------------------------------------------
    def _neighbours(self, x: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """Indices and vote weights (docs x k', k' = min(k, training docs)) of the nearest documents."""
        sims = np.asarray((x @ self._train_t).todense(), dtype=np.float32)
        k = min(int(self.k), sims.shape[1])
        if k < sims.shape[1]:
            nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        else:
            nearest = np.tile(np.arange(sims.shape[1]), (sims.shape[0], 1))
        sims = np.take_along_axis(sims, nearest, axis=1)
        # Neighbours sharing no feature carry no weight, whatever the exponent (0 ** 0 = 1).
        weights = np.where(sims > 0, np.maximum(sims, 0.0) ** float(self.exponent), 0.0).astype(np.float32)
        return nearest, weights

    def _votes(self, nearest: np.ndarray, weights: np.ndarray) -> np.ndarray:
        n_docs, k = nearest.shape
        rows = np.repeat(np.arange(n_docs), k)
        spread = sp.csr_matrix((weights.ravel(), (rows, nearest.ravel())),
                               shape=(n_docs, self.labels_.shape[0]))
        votes = np.asarray((spread @ self.labels_).todense(), dtype=np.float64)
        totals = weights.sum(axis=1, dtype=np.float64)[:, None]
        return np.divide(votes, totals, out=np.zeros_like(votes), where=totals > 0)

    def predict_scores(self, docs: Sequence[AnalyzedText]) -> np.ndarray:
        if float(self.centroid_weight) == 0.0:
            return self.predict_sparse(docs).toarray()
        n_subjects = self.labels_.shape[1]
        out = np.zeros((len(docs), n_subjects), dtype=np.float32)
        c = float(self.centroid_weight)
        chunk = max(1, min(_CHUNK, _MAX_SIMILARITIES // max(self.labels_.shape[0], 1)))
        for start in range(0, len(docs), chunk):
            x = self.features_.transform(docs[start:start + chunk])
            score = np.zeros((x.shape[0], n_subjects), dtype=np.float64)
            if c < 1.0:
                score += (1.0 - c) * self._votes(*self._neighbours(x))
            if c > 0.0:
                score += c * np.asarray((x @ self.centroids_.T).todense(), dtype=np.float64)
            out[start:start + x.shape[0]] = score
        return np.clip(out, 0.0, 1.0)

    def predict_sparse(self, docs: Sequence[AnalyzedText]) -> sp.csr_matrix:
        """:meth:`predict_scores` as CSR, the neighbours found from the sparse similarities (only training
        documents sharing a feature with the document can carry weight), with no documents x training
        documents array.  Among neighbours of equal similarity at the ``k``-th place, the lower training
        row is taken (the dense path's partition takes one of them in no defined order)."""
        if float(self.centroid_weight) > 0.0:
            return super().predict_sparse(docs)
        n_subjects = self.labels_.shape[1]
        parts = []
        # at most _MAX_SIMILARITIES similarities at once even if every training document shared a feature
        chunk = max(1, min(_CHUNK, _MAX_SIMILARITIES // max(self.labels_.shape[0], 1)))
        for start in range(0, len(docs), chunk):
            x = self.features_.transform(docs[start:start + chunk])
            parts.append(self._sparse_votes(x))
        if not parts:
            return sp.csr_matrix((0, n_subjects), dtype=np.float32)
        out = sp.csr_matrix(sp.vstack(parts), dtype=np.float32)
        out.data = np.clip(out.data, 0.0, 1.0)
        out.eliminate_zeros()
        out.sort_indices()
        return out

    def _sparse_votes(self, x: sp.csr_matrix) -> sp.csr_matrix:
        if numba_available() and x.shape[0] >= COMPILED_MIN_DOCS:
            return self._compiled_votes(x)
        return self._scipy_votes(x)  # the same numbers; a few documents need not load the compiled kernel

    def _compiled_votes(self, x: sp.csr_matrix) -> sp.csr_matrix:
        """:meth:`_scipy_votes` compiled (:mod:`fahras.models._knn_kernel`): the same numbers, about ten times
        faster at 671,000 training titles, with no documents x training-documents matrix at all."""
        from fahras.models._knn_kernel import knn_neighbours, knn_votes

        x = sp.csr_matrix(x, dtype=np.float32)
        n_docs = x.shape[0]
        n_train, n_subjects = self.labels_.shape
        post, labels = self._train_t, self.labels_
        if post.dtype != np.float32:
            post = self._train_t = sp.csr_matrix(post, dtype=np.float32)
        k = min(int(self.k), n_train)
        post_ptr, lab_ptr, lab_val, per_doc = self._kernel_arrays(post, labels)
        cap = max(1, min(n_subjects, k * max(per_doc, 1)))
        counts = np.zeros(n_docs, dtype=np.int64)
        cols = np.zeros((n_docs, cap), dtype=np.int64)
        vals = np.zeros((n_docs, cap), dtype=np.float32)
        if n_docs and n_train and k:
            rows = np.zeros((n_docs, k), dtype=np.int64)
            sims = np.zeros((n_docs, k), dtype=np.float32)
            near = np.zeros(n_docs, dtype=np.int64)
            knn_neighbours(0, n_docs, x.indptr.astype(np.int64), x.indices.astype(np.int64), x.data,
                           post_ptr, post.indices, post.data, n_train, k,
                           _BLOCK_ROWS, rows, sims, near)
            # NumPy's float32 power (SIMD) and the compiled one differ in the last bit: NumPy's, as the
            # reference path computes the weights
            weights = np.zeros_like(sims)
            taken = np.arange(k)[None, :] < near[:, None]
            weights[taken] = sims[taken] ** float(self.exponent)
            status = knn_votes(0, n_docs, rows, sims, weights, near, lab_ptr, labels.indices, lab_val, n_subjects,
                               counts, cols, vals, cap)
            if status != 0:
                raise RuntimeError("knn: more votes than room for them")  # cannot happen: cap bounds them
        keep = np.arange(cap)[None, :] < counts[:, None]
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return sp.csr_matrix((vals[keep], cols[keep], indptr), shape=(n_docs, n_subjects))

    def _kernel_arrays(self, post: sp.csr_matrix, labels: sp.csr_matrix) -> tuple:
        """The kernels' int64 row pointers of the postings and of the labels, the labels' float32 values and
        the most subjects a training document has: made once for the postings and labels they come from
        (every batch of 25 titles copied and scanned 7 MB of them at 671,000 training titles)."""
        known = self.__dict__.get("_kernel_prep")
        if known is not None and known[0] is post and known[1] is labels:
            return known[2:]
        prep = (post, labels, post.indptr.astype(np.int64, copy=False), labels.indptr.astype(np.int64, copy=False),
                labels.data.astype(np.float32, copy=False), int(np.diff(labels.indptr).max(initial=0)))
        self._kernel_prep = prep  # one assignment: another thread sees the whole tuple or none
        return prep[2:]

    def _scipy_votes(self, x: sp.csr_matrix) -> sp.csr_matrix:
        sims = sp.csr_matrix(x @ self._train_t, dtype=np.float32)
        sims.data[~(sims.data > 0)] = 0.0  # neighbours sharing no feature carry no weight
        sims.eliminate_zeros()
        n_docs, k = x.shape[0], min(int(self.k), self.labels_.shape[0])
        take = []  # per document: the stored entries of its k nearest (ties at the k-th: lower training row)
        for i in range(n_docs):
            start, end = sims.indptr[i], sims.indptr[i + 1]
            if end - start <= k:
                take.append(np.arange(start, end))
                continue
            row = sims.data[start:end]
            kth = np.partition(row, len(row) - k)[len(row) - k]
            above = np.flatnonzero(row > kth)
            tied = np.flatnonzero(row == kth)
            if len(tied) > k - len(above):  # the lowest training rows among the tied
                rows_tied = sims.indices[start:end][tied]
                tied = tied[np.argsort(rows_tied, kind="stable")[:k - len(above)]]
            take.append(start + np.sort(np.concatenate([above, tied])))
        take = np.concatenate(take).astype(np.int64) if take else np.zeros(0, np.int64)
        row_of = np.repeat(np.arange(n_docs, dtype=np.int64), np.diff(sims.indptr))[take]
        order = np.lexsort((sims.indices[take], -sims.data[take], row_of))  # nearest first
        take, row_of = take[order], row_of[order]
        weights = (sims.data[take] ** float(self.exponent)).astype(np.float32)
        spread = sp.csr_matrix((weights, (row_of, sims.indices[take])), shape=(n_docs, self.labels_.shape[0]))
        votes = sp.csr_matrix(spread @ self.labels_)
        totals = np.zeros(n_docs, dtype=np.float64)
        np.add.at(totals, row_of, weights.astype(np.float64))
        votes.sort_indices()
        vote_rows = np.repeat(np.arange(n_docs), np.diff(votes.indptr))
        data = votes.data.astype(np.float64)
        has = totals[vote_rows] > 0
        data = np.where(has, data / np.where(has, totals[vote_rows], 1.0), 0.0)
        return sp.csr_matrix((data.astype(np.float32), votes.indices, votes.indptr), shape=votes.shape)

    def explain(self, doc: AnalyzedText, subject: int, top: int = 5) -> list[Evidence]:
        """The document's terms that weigh most in its nearest neighbours that have ``subject``.

        Each neighbour's TF-IDF vector counts with its vote weight (and the
        subject centroid with ``centroid_weight``).
        """
        x = self.features_.transform([doc])
        nearest, weights = self._neighbours(x)
        nearest, weights = nearest[0], weights[0]
        has_subject = np.asarray(self.labels_[nearest, subject].todense()).ravel() > 0
        c = float(self.centroid_weight)
        profile = sp.csr_matrix((1, self.train_.shape[1]), dtype=np.float64)
        total = float(weights.sum())
        if c < 1.0 and has_subject.any() and total > 0:
            mix = sp.csr_matrix(weights[has_subject][None, :] / total)
            profile = profile + (1.0 - c) * (mix @ self.train_[nearest[has_subject]])
        if c > 0.0:
            profile = profile + c * self.centroids_[subject]
        names = self.features_.feature_names
        return [Evidence("term", str(names[col]), weight, feature_spans(doc, str(names[col])))
                for col, weight in top_shared_features(x, profile, top)]

    # -- persistence -----------------------------------------------------------------
    def save_state(self, folder: Path) -> None:
        self.features_.save(folder)
        sp.save_npz(folder / _TRAIN, self.train_, compressed=True)
        sp.save_npz(folder / _LABELS, self.labels_, compressed=True)
        # the training vectors feature by feature, uncompressed: scoring maps them rather than reading,
        # decompressing and transposing train.npz (1.1 s of a cold load at 671,000 titles)
        post = sp.csr_matrix(self._train_t, dtype=np.float32)
        for name in ("indptr", "indices", "data"):
            np.save(folder / f"{_POSTINGS}{name}.npy", getattr(post, name), allow_pickle=False)

    @property
    def train_(self) -> sp.csr_matrix:
        """Training documents x features (explanations and learning only): a loaded model with postings reads
        them on first use (from the file as it was at loading)."""
        train = self.__dict__.get("_train")
        if train is None:
            train = self._train = sp.csr_matrix(sp.load_npz(io.BytesIO(self._train_file)), dtype=np.float32)
        return train

    @train_.setter
    def train_(self, value: sp.csr_matrix) -> None:
        self._train = value

    def load_state(self, folder: Path) -> None:
        self.features_ = TfidfFeatures.load(folder, self.ngram_max)
        self.labels_ = sp.csr_matrix(sp.load_npz(folder / _LABELS), dtype=np.float32)
        self.centroids_ = None  # made on first use
        if all((folder / f"{_POSTINGS}{name}.npy").is_file() for name in ("indptr", "indices", "data")):
            parts = {name: np.load(folder / f"{_POSTINGS}{name}.npy", mmap_mode="r", allow_pickle=False)
                     for name in ("indptr", "indices", "data")}
            if len(parts["indptr"]) != self.features_.n_features + 1 or len(parts["indices"]) != len(parts["data"]):
                raise ValueError("the postings do not fit the features")
            self._train_t = sp.csr_matrix((parts["data"], parts["indices"], parts["indptr"]),
                                          shape=(self.features_.n_features, self.labels_.shape[0]), copy=False)
            self._train_file = map_file(folder / _TRAIN)
            with np.load(io.BytesIO(self._train_file), allow_pickle=False) as saved:  # its shape only: checked now
                shape = tuple(int(n) for n in saved["shape"])
            if shape != (self.labels_.shape[0], self.features_.n_features):
                raise ValueError(f"{_TRAIN} has shape {shape}, not documents x features "
                                 f"({self.labels_.shape[0]} x {self.features_.n_features})")
            self._train = None
            return
        self.train_ = sp.csr_matrix(sp.load_npz(folder / _TRAIN), dtype=np.float32)
        if self.train_.shape[1] != self.features_.n_features:
            raise ValueError("feature count differs between files")
        if self.train_.shape[0] != self.labels_.shape[0]:
            raise ValueError("document count differs between train.npz and labels.npz")
        self._index_training()

    # -- learning without retraining (fahras.learning) ------------------------------
    def add_documents(self, docs: Sequence[AnalyzedText], y: sp.csr_matrix) -> np.ndarray:
        """Add documents to the memory the neighbours are found in; returns their rows.

        ``y`` (documents x subjects) may have more columns than the memory
        has subjects: the subject space grew, and the new subjects can be
        suggested from now on.  The features (terms, IDF) stay as trained.
        """
        y = sp.csr_matrix(y, dtype=np.float32)
        n_old = self.train_.shape[0]
        width = max(y.shape[1], self.labels_.shape[1])
        self.labels_.resize((n_old, width))
        y.resize((y.shape[0], width))
        self.train_ = sp.csr_matrix(sp.vstack([self.train_, self.features_.transform(docs)]), dtype=np.float32)
        self.labels_ = sp.csr_matrix(sp.vstack([self.labels_, y]), dtype=np.float32)
        self.centroids_ = _unit_centroids(self.train_, self.labels_)
        self._index_training()
        return np.arange(n_old, n_old + y.shape[0])

    def set_labels(self, rows: Sequence[int], y: sp.csr_matrix) -> None:
        """Replace the subjects of memory documents ``rows`` (a corrected decision)."""
        y = sp.csr_matrix(y, dtype=np.float32)
        labels = sp.lil_matrix(self.labels_)
        if y.shape[1] > labels.shape[1]:
            labels.resize((labels.shape[0], y.shape[1]))
        y.resize((y.shape[0], labels.shape[1]))
        for row, new in zip(rows, y):
            labels[int(row)] = new
        self.labels_ = sp.csr_matrix(labels, dtype=np.float32)
        self.centroids_ = _unit_centroids(self.train_, self.labels_)


def _unit_centroids(x: sp.csr_matrix, y: sp.csr_matrix) -> sp.csr_matrix:
    """Subjects x features: each subject's summed training vectors, scaled to unit length."""
    sums = sp.csr_matrix(sp.csr_matrix(y, dtype=np.float32).T @ x, dtype=np.float32)
    norms = np.sqrt(np.asarray(sums.multiply(sums).sum(axis=1)).ravel())
    scale = sp.diags((1.0 / np.where(norms > 0, norms, 1.0)).astype(np.float32))
    centroids = sp.csr_matrix(scale @ sums, dtype=np.float32)
    centroids.sort_indices()
    return centroids
