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

import contextlib
import contextvars
import hashlib
import json
import zipfile
from collections import Counter
from itertools import repeat
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import scipy.sparse as sp

from fahras.models.analysed import AnalysedCorpus
from fahras.models.base import AnalyzedText, Param

SEPARATOR = " "
"""Joins the terms of an n-gram feature."""

FEATURES_FILE = "features.json"
IDF_FILE = "idf.npy"
PAIRS_FILE = "ngram_ids.npz"


#: The TF-IDF feature parameters shared by the backends built on :class:`TfidfFeatures`.
TFIDF_PARAMS = {
    "ngram_max": Param(2, "longest term n-gram used as a feature (1 = single terms)", low=1),
    "min_df": Param(2, "a feature must occur in at least this many training documents", low=1),
    "max_features": Param(200_000, "keep at most this many features, most frequent first (null: all)",
                          kind=int, low=1, optional=True),
}


def ngrams(terms: list[str], max_n: int) -> list[str]:
    """The terms followed by every run of 2..``max_n`` adjacent terms."""
    features = list(terms)
    for n in range(2, max_n + 1):
        features.extend(SEPARATOR.join(terms[i:i + n]) for i in range(len(terms) - n + 1))
    return features


def ngram_counts(terms: list[str], max_n: int) -> Counter:
    """How often each feature of :func:`ngrams` occurs (``Counter(ngrams(terms, max_n))``, faster)."""
    counts = Counter(terms)
    for n in range(2, max_n + 1):
        counts.update(map(SEPARATOR.join, zip(*(terms[k:] for k in range(n)))))
    return counts


class _PairColumns:
    """The columns of single-term and two-term features, found from term ids.

    Each distinct term of the features gets an id; a two-term feature is
    keyed by ``first id * number of terms + second id``, and the keys are
    kept sorted.  A document's features are then found with one dictionary
    lookup per token and array operations, instead of joining and looking
    up every adjacent pair as a string.  It counts exactly what
    :func:`ngram_counts` counts, provided no term holds :data:`SEPARATOR`
    (checked per document; such documents take the string path).
    """

    def __init__(self, terms: list[str], unigram: np.ndarray, keys: np.ndarray, columns: np.ndarray):
        self.ids = dict(zip(terms, range(len(terms))))
        self.terms, self.unigram, self.keys, self.columns = terms, unigram, keys, columns

    @classmethod
    def from_features(cls, feature_names: Sequence[str]) -> "_PairColumns | None":
        """The index of these features, or None if some feature is not one or two terms."""
        ids: dict[str, int] = {}
        split = [str(f).split(SEPARATOR) for f in feature_names]
        for parts in split:
            if not 1 <= len(parts) <= 2 or "" in parts:
                return None
            for part in parts:
                ids.setdefault(part, len(ids))
        n = len(ids)
        unigram = np.full(n, -1, dtype=np.int64)
        keys, columns = [], []
        for column, parts in enumerate(split):
            if len(parts) == 1:
                unigram[ids[parts[0]]] = column
            else:
                keys.append(ids[parts[0]] * n + ids[parts[1]])
                columns.append(column)
        keys_a, columns_a = np.asarray(keys, dtype=np.int64), np.asarray(columns, dtype=np.int64)
        order = np.argsort(keys_a, kind="stable")
        return cls(list(ids), unigram, keys_a[order], columns_a[order])

    @classmethod
    def load(cls, path: Path, n_features: int, key: str) -> "_PairColumns":
        """Read what :meth:`save` wrote for the features whose fingerprint is ``key``."""
        try:
            with np.load(path, allow_pickle=False) as data:
                terms, unigram, keys, columns = (data[k] for k in ("terms", "unigram", "keys", "columns"))
                saved_key = str(data["features"]) if "features" in data else ""
        except (zipfile.BadZipFile, EOFError, KeyError) as exc:
            raise ValueError(f"{path.name} is damaged ({exc})") from None
        n = len(terms)
        if saved_key != key:
            raise ValueError(f"{path.name} was made for other features")
        if (unigram.shape != (n,) or keys.shape != columns.shape or keys.ndim != 1
                or (len(keys) and (np.any(np.diff(keys) < 0) or keys[0] < 0 or keys[-1] >= n * n))
                or np.any(unigram >= n_features) or np.any(columns < 0) or np.any(columns >= n_features)):
            raise ValueError(f"{path.name} does not fit the model's {n_features} features")
        return cls(terms.tolist(), unigram.astype(np.int64), keys.astype(np.int64), columns.astype(np.int64))

    def save(self, path: Path, key: str) -> None:
        """Write the index into ``path``, marked with the features' fingerprint ``key``."""
        with open(path, "wb") as f:
            np.savez(f, terms=np.asarray(self.terms, dtype=str), unigram=self.unigram, keys=self.keys,
                     columns=self.columns, features=np.asarray(key))

    def counts(self, terms: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
        """(sorted feature columns, their counts) of a document's terms; None if a term holds the separator."""
        if SEPARATOR in "\n".join(terms):
            return None
        ids = np.fromiter(map(self.ids.get, terms, repeat(-1)), dtype=np.int64, count=len(terms))
        singles = self.unigram[ids[ids >= 0]]
        first, second = ids[:-1], ids[1:]
        both = (first >= 0) & (second >= 0)
        keys = first[both] * len(self.terms) + second[both]
        # sorted, searchsorted starts each search where the last ended: three times
        # faster on a long resolution (the order does not matter to np.unique)
        keys.sort()
        at = np.searchsorted(self.keys, keys)
        at[at >= len(self.keys)] = 0
        pairs = self.columns[at[self.keys[at] == keys]] if len(self.keys) else np.zeros(0, np.int64)
        return np.unique(np.concatenate([singles[singles >= 0], pairs]), return_counts=True)


# -- rows shared between backends during one prediction ------------------------------
_SHARED_ROWS: contextvars.ContextVar[dict | None] = contextvars.ContextVar("fahras_shared_rows", default=None)


@contextlib.contextmanager
def _memo_block(memo: contextvars.ContextVar) -> Iterator[None]:
    """A memo dict in ``memo`` for the duration of the block (an enclosing block's, if any)."""
    outer = memo.get()
    token = memo.set({} if outer is None else outer)
    try:
        yield
    finally:
        memo.reset(token)


def sharing_rows() -> contextlib.AbstractContextManager:
    """Within this block, documents transformed by equal :class:`TfidfFeatures` are transformed once.

    An ensemble's bases (tfidf-linear, omikuji, knn) are usually trained on
    the same documents with the same feature settings, so their features are
    equal (same terms, same IDF): the rows computed for one serve the
    others.  The memo belongs to the block (a context variable: each thread
    has its own) and keys documents by identity, so the documents must stay
    alive and unchanged while it lasts.  Nothing is cached outside a block.
    """
    return _memo_block(_SHARED_ROWS)


# -- features shared between backends during one training -------------------------
_SHARED_FITS: contextvars.ContextVar[dict | None] = contextvars.ContextVar("fahras_shared_fits", default=None)


def sharing_fits() -> contextlib.AbstractContextManager:
    """Within this block, equal :class:`TfidfFeatures` fitted on the same documents are fitted once.

    Training an ensemble fits tfidf-linear, omikuji and knn on the same
    folds with (by default) the same feature settings: the vocabulary, IDF
    and document vectors learned for one serve the others.  Documents are
    keyed by identity (the memo keeps them alive); each fit gets its own copy
    of the vectors.  Nothing is cached outside a block.
    """
    return _memo_block(_SHARED_FITS)


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
        shared = _SHARED_FITS.get()
        if shared is not None:
            compact = isinstance(docs, AnalysedCorpus)  # (its documents are made on access: keyed by rows)
            key = (self.ngram_max, self.min_df, self.max_features, docs.identity() if compact else tuple(map(id, docs)))
            if key not in shared:
                matrix = self._fit_transform(docs)
                shared[key] = (docs if compact else list(docs), matrix, self.feature_names_, self.vocabulary_,
                               self.idf_, self.key_, self._pair_columns())
            _, matrix, self.feature_names_, self.vocabulary_, self.idf_, self.key_, self._pairs = shared[key]
            return matrix.copy()
        return self._fit_transform(docs)

    def _fit_transform(self, docs: Sequence[AnalyzedText]) -> sp.csr_matrix:
        from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

        self.__dict__.pop("_pairs", None)  # made again for the new features
        min_df = self.min_df if len(docs) >= 2 * self.min_df else 1
        if isinstance(docs, AnalysedCorpus) and self._fit_ids(docs, min_df):
            return self.transform(docs)
        vectorizer = CountVectorizer(analyzer=self._analyzer(), min_df=min_df, max_features=self.max_features)
        counts = vectorizer.fit_transform([d.terms for d in docs])
        self.feature_names_ = vectorizer.get_feature_names_out()
        self.vocabulary_ = {str(t): i for i, t in enumerate(self.feature_names_)}
        self.idf_ = TfidfTransformer(sublinear_tf=True).fit(counts).idf_.astype(np.float64)
        self.key_ = _fingerprint([str(t) for t in self.feature_names_], self.idf_, self.ngram_max)
        return self.transform(docs)

    def fit(self, docs: Sequence[AnalyzedText]) -> "TfidfFeatures":
        self.fit_transform(docs)
        return self

    def transform(self, docs: Sequence[AnalyzedText]) -> sp.csr_matrix:
        """Documents x features, float32 CSR, each row of unit length (or empty).

        Sublinear TF (1 + log tf) x IDF, L2-normalised: scikit-learn's
        ``TfidfTransformer(sublinear_tf=True)``, computed here so that
        suggesting needs no scikit-learn import.  Inside :func:`sharing_rows`
        a document's row is computed once for all equal features.
        """
        if isinstance(docs, AnalysedCorpus):
            rows_from_ids = self._transform_ids(docs)
            if rows_from_ids is not None:
                return rows_from_ids
        shared = _SHARED_ROWS.get()
        key = getattr(self, "key_", None)
        rows = []
        for doc in docs:
            if shared is None or key is None:
                rows.append(self._row(doc))
                continue
            row = shared.get((key, id(doc)))
            if row is None or row[0] is not doc:
                row = shared[(key, id(doc))] = (doc, *self._row(doc))
            rows.append(row[1:])
        indptr = np.zeros(len(docs) + 1, dtype=np.int64)
        np.cumsum([len(columns) for columns, _ in rows], out=indptr[1:])
        return sp.csr_matrix(
            (np.concatenate([values for _, values in rows]) if rows else np.zeros(0, np.float32),
             np.concatenate([columns for columns, _ in rows]) if rows else np.zeros(0, np.int64), indptr),
            shape=(len(docs), len(self.feature_names_)))

    # -- from term ids: an AnalysedCorpus (#19) ------------------------------------------
    def _fit_ids(self, docs: AnalysedCorpus, min_df: int) -> bool:
        """Learn the features and IDF from the corpus's term ids, as :meth:`_fit_transform`'s
        ``CountVectorizer`` and ``TfidfTransformer`` learn them from the terms (the same features in the same
        order, the same IDF), without a string per n-gram occurrence or a dictionary of every n-gram; False
        (nothing learned) where it does not apply: n-grams longer than two terms, a term holding a character
        at or below :data:`SEPARATOR`, no feature kept (``CountVectorizer`` raises its own error there)."""
        if self.ngram_max not in (1, 2):
            return False
        table = docs.term_table()
        if not _ids_apply(table):
            return False
        keys, tf, df = _feature_counts(docs, len(table), self.ngram_max)
        keep = df >= min_df
        keys, tf, df = keys[keep], tf[keep], df[keep]
        if not len(keys):
            return False
        n_terms = len(table)
        first, second = np.divmod(np.maximum(keys - n_terms, 0), n_terms)
        unigram = keys < n_terms
        first[unigram], second[unigram] = keys[unigram], -1
        rank = np.empty(n_terms, dtype=np.int64)
        rank[np.asarray(sorted(range(n_terms), key=table.__getitem__), dtype=np.int64)] = np.arange(n_terms)
        # the features' string order: "a" < "a b" < "a c" < "ab" when no term has a character <= SEPARATOR
        order = np.argsort(rank[first] * (n_terms + 1) + np.where(unigram, 0, rank[np.maximum(second, 0)] + 1),
                           kind="stable")
        keys, tf, df, first, second = keys[order], tf[order], df[order], first[order], second[order]
        if self.max_features is not None and len(keys) > self.max_features:
            # CountVectorizer's choice, on the same array in the same (alphabetical) order: the same ties kept
            chosen = np.zeros(len(keys), dtype=bool)
            chosen[(-tf).argsort()[:self.max_features]] = True
            keys, df, first, second = keys[chosen], df[chosen], first[chosen], second[chosen]
        names = [table[a] if b < 0 else table[a] + SEPARATOR + table[b] for a, b in zip(first.tolist(), second.tolist())]
        self.feature_names_ = np.asarray(names, dtype=object)
        self.vocabulary_ = {t: i for i, t in enumerate(names)}
        # TfidfTransformer(sublinear_tf=True).fit's IDF, computed the same way (smoothed)
        dff = df.astype(np.float64) + 1.0
        idf = np.full_like(dff, fill_value=len(docs) + 1, dtype=np.float64)
        idf /= dff
        np.log(idf, out=idf)
        idf += 1.0
        self.idf_ = idf
        self.key_ = _fingerprint(names, self.idf_, self.ngram_max)
        return True

    def _transform_ids(self, docs: AnalysedCorpus) -> sp.csr_matrix | None:
        """:meth:`transform` of the corpus from its term ids (the same rows, to the bit), None where it does not
        apply (see :meth:`_fit_ids`; features that are not all one or two terms)."""
        table = docs.term_table()
        if self.ngram_max not in (1, 2) or not _ids_apply(table):
            return None
        n_features = len(self.feature_names_)
        if self.ngram_max == 2:
            pairs = self._pair_columns()
            if pairs is None:
                return None
            fid = np.fromiter(map(pairs.ids.get, table, repeat(-1)), dtype=np.int64, count=len(table))
            n_fterms = len(pairs.terms)

            def columns(ids: np.ndarray, same_doc: np.ndarray) -> np.ndarray:
                f = fid[ids]
                single = np.where(f >= 0, pairs.unigram[np.maximum(f, 0)], -1)
                both = same_doc & (f[:-1] >= 0) & (f[1:] >= 0)
                key = np.where(both, f[:-1] * n_fterms + f[1:], -1)
                if len(pairs.keys):
                    at = np.minimum(np.searchsorted(pairs.keys, key), len(pairs.keys) - 1)
                    pair = np.where(both & (pairs.keys[at] == key), pairs.columns[at], -1)
                else:
                    pair = np.full(len(key), -1, dtype=np.int64)
                return np.concatenate([single, pair])
        else:
            col = np.fromiter(map(self.vocabulary_.get, table, repeat(-1)), dtype=np.int64, count=len(table))

            def columns(ids: np.ndarray, same_doc: np.ndarray) -> np.ndarray:
                return col[ids]

        ids, ptr = docs.term_rows()
        n_docs = len(ptr) - 1
        parts_cols, parts_tf, lengths = [], [], np.zeros(n_docs, dtype=np.int64)
        for lo, hi, block, doc in _id_blocks(ids, ptr, _ID_BLOCK):
            cols = columns(block, doc[:-1] == doc[1:])
            owner = doc if self.ngram_max == 1 else np.concatenate([doc, doc[:-1]])
            found = cols >= 0
            cell, tf = np.unique(owner[found] * n_features + cols[found], return_counts=True)
            row, column = np.divmod(cell, n_features)
            lengths[lo:hi] = np.bincount(row, minlength=hi - lo)
            parts_cols.append(column)
            parts_tf.append(tf)
        indptr = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        column = np.concatenate(parts_cols) if parts_cols else np.zeros(0, np.int64)
        tf = np.concatenate(parts_tf) if parts_tf else np.zeros(0, np.int64)
        del parts_cols, parts_tf
        # _row's arithmetic, element by element; each row's norm by its own dot product, as _row takes it
        weights = (1.0 + np.log(tf)) * self.idf_[column]
        del tf
        norms = np.ones(n_docs, dtype=np.float64)
        bounds = indptr.tolist()
        for i in np.flatnonzero(lengths).tolist():
            w = weights[bounds[i]:bounds[i + 1]]
            norm = np.sqrt(np.dot(w, w))
            if norm > 0:
                norms[i] = norm
        weights /= np.repeat(norms, lengths)
        return sp.csr_matrix((weights.astype(np.float32), column, indptr), shape=(n_docs, n_features))

    def _pair_columns(self) -> "_PairColumns | None":
        """The term-id index of two-term features (made on first use unless loaded), None if not applicable."""
        if self.ngram_max != 2:
            return None
        if not hasattr(self, "_pairs"):
            self._pairs = _PairColumns.from_features(self.feature_names_)
        return self._pairs

    def _counts(self, terms: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(sorted columns, counts) of the features in ``terms``."""
        pairs = self._pair_columns()
        found = pairs.counts(terms) if pairs is not None else None
        if found is not None:
            return found
        counts = ngram_counts(terms, self.ngram_max)
        columns = np.fromiter(map(self.vocabulary_.get, counts, repeat(-1)), dtype=np.int64, count=len(counts))
        known = columns >= 0
        tf = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))[known]
        columns = columns[known]
        order = np.argsort(columns)
        return columns[order], tf[order]

    def _row(self, doc: AnalyzedText) -> tuple[np.ndarray, np.ndarray]:
        """(sorted columns, float32 values) of one document."""
        columns, tf = self._counts(doc.terms)
        if not len(columns):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        weights = (1.0 + np.log(tf)) * self.idf_[columns]
        norm = np.sqrt(np.dot(weights, weights))
        return columns, (weights / norm if norm > 0 else weights).astype(np.float32)

    @property
    def feature_names(self) -> np.ndarray:
        """The feature strings in column order (n-grams joined by :data:`SEPARATOR`)."""
        return self.feature_names_

    @property
    def n_features(self) -> int:
        return len(self.feature_names_)

    # -- persistence -------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """Write ``features.json`` and ``idf.npy`` into ``folder`` (and ``ngram_ids.npz``, the term-id index)."""
        (folder / FEATURES_FILE).write_text(
            json.dumps({"terms": [str(t) for t in self.feature_names_]}, ensure_ascii=False), encoding="utf-8")
        np.save(folder / IDF_FILE, self.idf_.astype(np.float64))
        pairs = self._pair_columns()
        if pairs is not None:
            pairs.save(folder / PAIRS_FILE, self.key_)

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
        features.key_ = _fingerprint(terms, features.idf_, ngram_max)
        if ngram_max == 2 and (folder / PAIRS_FILE).is_file():  # older models have none: made on first use
            features._pairs = _PairColumns.load(folder / PAIRS_FILE, len(terms), features.key_)
        return features


#: Documents whose term ids are counted at once (bounds the work arrays of :meth:`TfidfFeatures._fit_ids`).
_ID_BLOCK = 65_536


def _id_blocks(ids: np.ndarray, ptr: np.ndarray, size: int) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """The corpus's term ids (``ids``, documents delimited by ``ptr``) in blocks of ``size`` documents: (first
    document, end, the block's term ids as int64, each id's document counted from the block's first)."""
    n_docs = len(ptr) - 1
    for lo in range(0, n_docs, size):
        hi = min(lo + size, n_docs)
        yield (lo, hi, ids[int(ptr[lo]):int(ptr[hi])].astype(np.int64),
               np.repeat(np.arange(hi - lo, dtype=np.int64), np.diff(ptr[lo:hi + 1])))


def _ids_apply(table: Sequence[str]) -> bool:
    """Whether features can be found from term ids: every term non-empty, every character after
    :data:`SEPARATOR` (so an n-gram's string order follows its terms', and no term holds the separator)."""
    return all(term and min(term) > SEPARATOR for term in table)


def _feature_counts(docs: AnalysedCorpus, n_terms: int, ngram_max: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(feature keys, sorted; their occurrences; their documents) over the corpus.  A term's key is its id, a
    two-term feature's ``n_terms + first * n_terms + second``."""
    ids, ptr = docs.term_rows()
    span = n_terms + n_terms * n_terms if ngram_max == 2 else n_terms
    block = max(1, min(_ID_BLOCK, (2**62) // max(span, 1)))
    found_keys, found_tf, found_df = [], [], []
    for _, _, terms, doc in _id_blocks(ids, ptr, block):
        if ngram_max == 2:
            same = doc[:-1] == doc[1:]
            keys = np.concatenate([terms, n_terms + terms[:-1][same] * n_terms + terms[1:][same]])
            owner = np.concatenate([doc, doc[:-1][same]])
        else:
            keys, owner = terms, doc
        del terms, doc
        k, tf = np.unique(keys, return_counts=True)
        per_doc = np.unique(owner * span + keys) % span
        del keys, owner
        k2, df = np.unique(per_doc, return_counts=True)  # (the same keys as k)
        found_keys.append(k)
        found_tf.append(tf)
        found_df.append(df)
        if len(found_keys) > 1:  # merged as it goes: one running table
            k = np.concatenate(found_keys)
            merged, inverse = np.unique(k, return_inverse=True)
            found_keys = [merged]
            found_tf = [np.bincount(inverse, weights=np.concatenate(found_tf)).astype(np.int64)]
            found_df = [np.bincount(inverse, weights=np.concatenate(found_df)).astype(np.int64)]
    if not found_keys:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    return found_keys[0], found_tf[0].astype(np.int64), found_df[0].astype(np.int64)


def _fingerprint(terms: list[str], idf: np.ndarray, ngram_max: int) -> str:
    """A digest of everything :meth:`TfidfFeatures.transform` depends on: equal digests, equal rows."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{ngram_max}\n".encode())
    digest.update("\n".join(terms).encode("utf-8", "surrogatepass"))
    digest.update(np.ascontiguousarray(idf, dtype=np.float64).tobytes())
    return digest.hexdigest()


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
