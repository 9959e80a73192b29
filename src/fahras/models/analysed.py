"""The training corpus's analysis stored compactly: a few large arrays, not objects per title and token (#19).

Training keeps every document's analysis until the last fit that reads it.
Held as Python objects (an :class:`~fahras.models.base.AnalyzedText` per
document: its text, a :class:`~fahras.text.Tokens` with three lists of
strings and ints), 671,068 yso-finna-en titles took about 1 GB of the main
process, and Python's small-object arenas do not go back to the system once
such objects are freed: the main process rested at 2 GB while the workers
fitted.  :class:`AnalysedCorpus` keeps the same analysis as

* the terms as ids into one interned term table (each distinct term once),
* the tokens' start and end offsets in two int32 arrays,
* the texts in one UTF-8 buffer, and the languages as small codes,
* the documents' limits (row pointers) in int64 arrays,

each one growable buffer while documents are added, then read in place as
NumPy arrays: 12 bytes a token and the text's UTF-8.  Large buffers live outside Python's
small-object arenas (``malloc`` maps them), so releasing them gives their
memory back to the system at once.

It is a ``Sequence[AnalyzedText]``: indexing makes the document's
:class:`~fahras.models.base.AnalyzedText` (the same text, terms, offsets and
language as the analyser gave), so every backend reads it as it reads a list.
Slicing and :meth:`AnalysedCorpus.take` give views that share the buffers
(no copy, no objects); the TF-IDF features read the term ids directly
(:meth:`AnalysedCorpus.term_rows`).  :class:`TrainingRecords` does the same for
what training keeps per document besides the analysis: its id, the metadata the
folds read (``year``, ``series``) and its subjects' URIs as ids into one table.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Sequence
from typing import Hashable, Iterable, Iterator

import numpy as np

from fahras.models.base import AnalyzedText, subset
from fahras.text import Tokens

#: Offsets are int32: a document's text must be shorter than this many characters.
MAX_TEXT_CHARS = 2**31 - 1


def _position(i: int, n: int, what: str) -> int:
    """Index ``i`` of a sequence of ``n`` items as a position (negative ones from the end), or IndexError."""
    if i < 0:
        i += n
    if not 0 <= i < n:
        raise IndexError(f"{what} index out of range")
    return i


class _Strings:
    """Strings in one UTF-8 buffer with int64 limits: ``column[i]`` decodes string ``i``."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.ptr = array("q", [0])

    def append(self, text: str) -> None:
        self.buffer += text.encode("utf-8", "surrogatepass")
        self.ptr.append(len(self.buffer))

    def __len__(self) -> int:
        return len(self.ptr) - 1

    def __getitem__(self, i: int) -> str:
        return self.buffer[self.ptr[i]:self.ptr[i + 1]].decode("utf-8", "surrogatepass")

    def nbytes(self) -> int:
        return len(self.buffer) + self.ptr.itemsize * len(self.ptr)


class _Interned:
    """One table of distinct strings and, per item, a run of ids into it (``runs[i]``: the strings of item ``i``)."""

    def __init__(self) -> None:
        self.table: list[str] = []
        self.index: dict[str, int] = {}
        self.ids = array("i")
        self.ptr = array("q", [0])

    def append(self, strings: Iterable[str]) -> None:
        index, table = self.index, self.table
        for s in strings:
            j = index.get(s)
            if j is None:
                j = index[s] = len(table)
                table.append(s)
            self.ids.append(j)
        self.ptr.append(len(self.ids))

    def __len__(self) -> int:
        return len(self.ptr) - 1

    def run(self, i: int) -> list[int]:
        return self.ids[self.ptr[i]:self.ptr[i + 1]].tolist()

    def strings(self, i: int) -> list[str]:
        table = self.table
        return [table[j] for j in self.ids[self.ptr[i]:self.ptr[i + 1]]]

    def nbytes(self) -> int:
        return self.ids.itemsize * len(self.ids) + self.ptr.itemsize * len(self.ptr)


class _Store:
    """The buffers of an :class:`AnalysedCorpus` (shared by its views)."""

    def __init__(self) -> None:
        self.terms = _Interned()
        self.starts = array("i")
        self.ends = array("i")
        self.texts = _Strings()
        self.langs = array("b")
        self.lang_table: list[str | None] = []
        self.released = False

    def __len__(self) -> int:
        return len(self.texts)

    def release(self) -> None:
        self.terms = _Interned()
        self.starts, self.ends, self.texts, self.langs = array("i"), array("i"), _Strings(), array("b")
        self.released = True


class AnalysedCorpus(Sequence):
    """Analysed documents in a few large buffers; ``corpus[i]`` is document ``i``'s :class:`AnalyzedText`.

    Build it with :meth:`append` (or :meth:`of`); indexing, iteration,
    slicing and :meth:`take` read it.  Views (slices, :meth:`take`) share the
    buffers.  :meth:`release` empties it for every holder (as
    :class:`fahras.models.budget.Releasable` empties a list), once
    ``releasable`` is set by the owner that will not read it again.
    """

    def __init__(self) -> None:
        self._store = _Store()
        self._rows: np.ndarray | None = None  # a view's rows of the store (None: all of them)
        self.releasable = False

    @classmethod
    def of(cls, docs: Iterable[AnalyzedText]) -> "AnalysedCorpus":
        corpus = cls()
        for doc in docs:
            corpus.append(doc)
        return corpus

    # -- building --------------------------------------------------------------
    def append(self, doc: AnalyzedText) -> None:
        """Add one analysed document (its offsets found) at the end."""
        if self._rows is not None:
            raise TypeError("a view of an analysed corpus cannot grow")
        store = self._store
        if len(doc.text) > MAX_TEXT_CHARS:
            raise ValueError(f"a document of {len(doc.text)} characters is too long to train on "
                             f"(at most {MAX_TEXT_CHARS})")
        tokens = doc.tokens
        store.terms.append(tokens.terms)
        store.starts.extend(tokens.starts)
        store.ends.extend(tokens.ends)
        store.texts.append(doc.text)
        try:
            code = store.lang_table.index(doc.lang)
        except ValueError:
            code = len(store.lang_table)
            if code > 127:
                raise ValueError("more than 128 languages in one training corpus") from None
            store.lang_table.append(doc.lang)
        store.langs.append(code)

    # -- reading ---------------------------------------------------------------
    def __len__(self) -> int:
        if self._store.released:
            return 0
        return len(self._store) if self._rows is None else len(self._rows)

    def _row(self, i: int) -> int:
        i = _position(i, len(self), "analysed corpus")
        return i if self._rows is None else int(self._rows[i])

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.take(np.arange(len(self))[index])
        return self._document(self._row(index))

    def _document(self, r: int) -> AnalyzedText:
        store = self._store
        a, b = store.terms.ptr[r], store.terms.ptr[r + 1]
        tokens = Tokens(store.terms.strings(r), store.starts[a:b].tolist(), store.ends[a:b].tolist())
        return AnalyzedText(store.texts[r], tokens, store.lang_table[store.langs[r]])

    def __iter__(self) -> Iterator[AnalyzedText]:
        rows = range(len(self._store)) if self._rows is None else self._rows.tolist()
        for r in rows:
            if self._store.released:
                return
            yield self._document(r)

    def rows(self) -> np.ndarray:
        """The store's rows of this corpus's documents, in order (int64)."""
        return np.arange(len(self), dtype=np.int64) if self._rows is None else self._rows

    def take(self, rows) -> "AnalysedCorpus":
        """The documents at ``rows`` (positions in this corpus), as a view sharing the buffers."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        n = len(self)
        if len(rows) and (rows.min() < -n or rows.max() >= n):
            raise IndexError("analysed corpus index out of range")
        rows = np.where(rows < 0, rows + n, rows)
        view = AnalysedCorpus.__new__(AnalysedCorpus)
        view._store = self._store
        view._rows = rows if self._rows is None else self._rows[rows]
        view.releasable = False
        return view

    def identity(self) -> tuple:
        """A key equal for two corpora of the same documents of the same store (memo keys: no object per document)."""
        rows = self.rows()
        return "analysed", id(self._store), len(rows), hashlib.blake2b(rows.tobytes(), digest_size=16).hexdigest()

    def term_table(self) -> list[str]:
        """Every distinct term, once (term id -> term); do not change it."""
        return self._store.terms.table

    def term_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """(term ids of every token, row pointers): document ``i``'s terms are the table's entries at
        ``ids[ptr[i]:ptr[i + 1]]``.  Without a copy for a whole corpus."""
        store = self._store
        ids = np.frombuffer(store.terms.ids, dtype=np.int32) if len(store.terms.ids) else np.zeros(0, np.int32)
        ptr = np.frombuffer(store.terms.ptr, dtype=np.int64)
        if self._rows is None:
            return ids, ptr
        rows = self._rows
        lengths = ptr[rows + 1] - ptr[rows]
        out_ptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=out_ptr[1:])
        at = np.repeat(ptr[rows] - out_ptr[:-1], lengths) + np.arange(out_ptr[-1], dtype=np.int64)
        return ids[at], out_ptr

    def languages(self) -> dict[str, int]:
        """Language -> how many documents are in it (language unknown: left out), sorted by language."""
        store = self._store
        codes = np.frombuffer(store.langs, dtype=np.int8) if len(store.langs) else np.zeros(0, np.int8)
        if self._rows is not None:
            codes = codes[self._rows]
        counts = np.bincount(codes.astype(np.int64), minlength=len(store.lang_table))
        return dict(sorted((lang, int(c)) for lang, c in zip(store.lang_table, counts) if lang and c))

    def nbytes(self) -> int:
        """The buffers' size in bytes (the term table's strings not counted)."""
        store = self._store
        return (store.terms.nbytes() + store.texts.nbytes() + 4 * (len(store.starts) + len(store.ends))
                + len(store.langs))

    # -- letting go -------------------------------------------------------------
    @property
    def released(self) -> bool:
        return self._store.released

    def release(self) -> None:
        """Empty the corpus for every holder (views too) and give the buffers' memory back."""
        from fahras.models.budget import release_free_memory

        self._store.release()
        release_free_memory()

    def clear(self) -> None:  # (as a list is cleared)
        self.release()

    def __reduce__(self):
        # Sent to a cluster's workers as its buffers (a few large arrays), not one object per document.
        return _unpack_corpus, (self._store, self._rows)

    def __repr__(self) -> str:
        return f"AnalysedCorpus({len(self)} documents, {self.nbytes() / 2**20:.1f} MB)"


def _unpack_corpus(store: _Store, rows: np.ndarray | None) -> AnalysedCorpus:
    corpus = AnalysedCorpus.__new__(AnalysedCorpus)
    corpus._store, corpus._rows, corpus.releasable = store, rows, False
    return corpus


def languages_of(docs: Sequence[AnalyzedText]) -> dict[str, int]:
    """Language -> how many of ``docs`` are in it (language unknown: left out), sorted by language."""
    if isinstance(docs, AnalysedCorpus):
        return docs.languages()
    counts: dict[str, int] = {}
    for doc in docs:
        if doc.lang:
            counts[doc.lang] = counts.get(doc.lang, 0) + 1
    return dict(sorted(counts.items()))


def take(docs: Sequence[AnalyzedText], rows) -> Sequence[AnalyzedText]:
    """The documents of ``docs`` at ``rows``: a view of an :class:`AnalysedCorpus`, else a list."""
    return subset(docs, rows)


# -- what training keeps per document besides the analysis ----------------------------
#: The metadata keys training reads (the folds' series and years); the others are not kept.
KEPT_METADATA = ("year", "series")


class GoldSets(Sequence):
    """Each document's subject URIs (``gold[i]`` is a new ``set``), stored as ids into one table of URIs."""

    def __init__(self) -> None:
        self._runs = _Interned()

    def append(self, uris: Iterable[str]) -> None:
        self._runs.append(sorted(uris))

    def __len__(self) -> int:
        return len(self._runs)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(len(self))[i]]
        return set(self._runs.strings(_position(i, len(self), "gold")))

    def sorted_lists(self) -> list[list[str]]:
        """Each document's URIs, sorted."""
        return [self._runs.strings(i) for i in range(len(self))]

    def union(self) -> set[str]:
        """Every URI of some document (``set().union(*gold)``, without a set per document)."""
        return set(self._runs.table)

    def indicator(self, space) -> "object":
        """:meth:`fahras.subjects.SubjectSpace.indicator` of these sets (documents x subjects 0/1 CSR, column
        indices sorted within each row), from the ids."""
        import scipy.sparse as sp

        runs = self._runs
        column = np.array([space.index.get(uri, -1) for uri in runs.table], dtype=np.int64)
        ids = np.frombuffer(runs.ids, dtype=np.int32) if len(runs.ids) else np.zeros(0, np.int32)
        ptr = np.frombuffer(runs.ptr, dtype=np.int64)
        cols = column[ids]
        rows = np.repeat(np.arange(len(self), dtype=np.int64), np.diff(ptr))
        keep = cols >= 0
        out = sp.csr_matrix((np.ones(int(keep.sum()), dtype=np.float32), (rows[keep], cols[keep])),
                            shape=(len(self), len(space.uris)))
        out.sort_indices()
        return out

    def clear(self) -> None:
        self._runs = _Interned()


def used_uris(gold: Sequence[set[str]]) -> set[str]:
    """Every URI of some document of ``gold``."""
    if isinstance(gold, GoldSets):
        return gold.union()
    return set().union(*gold)


class TrainingRecords(Sequence):
    """The training documents as training needs them after their analysis: ``records[i]`` is a
    :class:`~fahras.corpus.Document` with the id, the text (from ``texts``, the analysis), the subject URIs
    (``gold``, sorted) and the metadata of :data:`KEPT_METADATA`; stored as buffers, not objects per document.

    With ``keep`` the documents themselves are kept as given (what the forward-chaining estimate refits
    from)."""

    def __init__(self, gold: GoldSets, texts: AnalysedCorpus | None = None, keep: bool = False) -> None:
        self.gold, self.texts = gold, texts
        self._ids = _Strings()
        self._meta: dict[str, dict[int, Hashable]] = {key: {} for key in KEPT_METADATA}
        self._kept: list | None = [] if keep else None

    def append(self, doc) -> None:
        n = len(self._ids)
        self._ids.append(doc.id)
        for key in KEPT_METADATA:
            value = doc.metadata.get(key)
            if value is not None:
                self._meta[key][n] = value
        if self._kept is not None:
            self._kept.append(doc)

    def __len__(self) -> int:
        return len(self._ids)

    def ids(self) -> list[str]:
        return [self._ids[i] for i in range(len(self))]

    def metadata(self, key: str) -> list:
        """Each document's metadata value ``key`` (None where it has none); ``key`` one of :data:`KEPT_METADATA`."""
        values = self._meta[key]
        return [values.get(i) for i in range(len(self))]

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(len(self))[i]]
        n = len(self)
        i = _position(i, n, "training record")
        if self._kept is not None:
            return self._kept[i]
        from fahras.corpus import Document

        text = self.texts[i].text if self.texts is not None and len(self.texts) == n else ""
        meta = {key: values[i] for key, values in self._meta.items() if i in values}
        return Document(self._ids[i], text, tuple(sorted(self.gold[i])), meta)

    def clear(self) -> None:
        self._ids = _Strings()
        self._meta = {key: {} for key in KEPT_METADATA}
        if self._kept is not None:
            self._kept = []


def document_ids(documents: Sequence) -> list[str]:
    return documents.ids() if isinstance(documents, TrainingRecords) else [d.id for d in documents]


def document_metadata(documents: Sequence, key: str) -> list:
    if isinstance(documents, TrainingRecords) and key in KEPT_METADATA:
        return documents.metadata(key)
    return [d.metadata.get(key) for d in documents]
