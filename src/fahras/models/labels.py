"""Label matching calibrated on the training documents: a cheap lexical base for large vocabularies.

The ``labels`` backend finds the thesaurus labels (preferred and alternative,
analysed like the documents) whose terms all occur in a document, and gives
each matched (document, concept) pair a probability from a logistic
regression over a few match features, learned on the training documents:

* ``phrase``: the label's terms occur adjacent and in order (else only as a bag);
* ``terms``: how many terms the label has; ``cover``: the share of the
  document's distinct terms that the label accounts for (a title that *is* the
  label), ``first``: how early it occurs, ``preferred``: the preferred label matched;
* ``inside``: the label's terms are all terms of a longer matched label
  (``history`` inside ``history of art``);
* the concept's record in training: its *match precision*, how often a
  training document matching its label was indexed with it (smoothed towards
  the overall rate, as log-odds; each training document's own pair left out
  while learning), how often its label matched at all, and how often it was
  assigned;
* ``matched``: how many concepts the document matches.

Unlike the supervised bases it can rank a concept that no training document
has (its precision is then the overall rate, or lower when its label matched
training documents that were not indexed with it), and unlike
:mod:`fahras.models.zeroshot` it looks only at the concepts whose labels a
document matches, so a title costs microseconds, not a pass over every
concept: cheap enough for 100,000 documents x 27,754 concepts.  Every concept
whose labels the document does not match scores 0.

With ``vocabulary_share`` the backend also adds the vocabulary's concepts
that no training document has to the subject space, when the training
documents already use at least that share of the vocabulary (a library
catalogue indexed with the whole thesaurus, not a corpus indexed with a
small part of it, as the Security Council's headings are).

Files: ``labels.json`` (the analysed labels per language and the learned
weights) and ``stats.npz`` (the concepts' training counts).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from fahras.models import register
from fahras.models.base import AnalyzedText, Backend, Evidence, FitContext, Param
from fahras.models.linear import LinearHead
from fahras.text import analyzers_by_language

LABELS_FILE = "labels.json"
STATS_FILE = "stats.npz"

#: The match features, in column order.
FEATURES = ("phrase", "terms", "cover", "first", "preferred", "inside", "precision", "label_docs", "assigned",
            "matched")
#: Smoothing of the match precision: this many pseudo-matches at the overall rate.
_SMOOTHING = 2.0


class _Index:
    """One language's analysed labels: label -> (concept column, terms, preferred), and term -> labels."""

    def __init__(self, terms: list[str], concept: np.ndarray, ptr: np.ndarray, label_terms: np.ndarray,
                 preferred: np.ndarray):
        self.terms, self.concept, self.ptr, self.label_terms, self.preferred = (
            terms, concept, ptr, label_terms, preferred)
        self.term_id = {t: i for i, t in enumerate(terms)}
        self.n_terms = np.diff(ptr).astype(np.int32)
        owner = np.repeat(np.arange(len(concept), dtype=np.int32), self.n_terms)
        order = np.argsort(label_terms, kind="stable")
        self.inv = owner[order]
        self.inv_ptr = np.concatenate([[0], np.cumsum(np.bincount(label_terms, minlength=len(terms)))])

    @classmethod
    def build(cls, concepts: Sequence, analyzer, lang: str) -> "_Index":
        from fahras.text.matcher import concept_labels

        terms: dict[str, int] = {}
        concept, ptr, flat, preferred = [], [0], [], []
        for col, c in enumerate(concepts):
            if c is None:
                continue
            pref = c.labels.get(lang)
            for label in concept_labels(c, lang):
                ids = [terms.setdefault(t, len(terms)) for t in analyzer.tokens(label).terms]
                if not ids:
                    continue
                concept.append(col)
                flat.extend(ids)
                ptr.append(len(flat))
                preferred.append(label == pref)
        return cls(list(terms), np.array(concept, dtype=np.int32), np.array(ptr, dtype=np.int64),
                   np.array(flat, dtype=np.int32), np.array(preferred, dtype=bool))

    def to_dict(self) -> dict:
        return {"terms": self.terms, "concept": self.concept.tolist(), "ptr": self.ptr.tolist(),
                "label_terms": self.label_terms.tolist(), "preferred": self.preferred.astype(int).tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "_Index":
        return cls(list(d["terms"]), np.array(d["concept"], dtype=np.int32), np.array(d["ptr"], dtype=np.int64),
                   np.array(d["label_terms"], dtype=np.int32), np.array(d["preferred"], dtype=bool))

    def match(self, doc_terms: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The labels whose terms all occur in ``doc_terms``: (labels, phrase, first position, inside)."""
        ids = [self.term_id.get(t, -1) for t in doc_terms]
        present = sorted({i for i in ids if i >= 0})
        if not present:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty.astype(bool), empty, empty.astype(bool)
        hits = np.concatenate([self.inv[self.inv_ptr[t]:self.inv_ptr[t + 1]] for t in present])
        labels, counts = np.unique(hits, return_counts=True)
        labels = labels[counts == self.n_terms[labels]]
        phrase = np.zeros(len(labels), dtype=bool)
        first = np.zeros(len(labels), dtype=np.int64)
        bit = {t: 1 << k for k, t in enumerate(present)}
        masks = []
        for k, label in enumerate(labels.tolist()):
            seq = self.label_terms[self.ptr[label]:self.ptr[label + 1]].tolist()
            n = len(seq)
            if n == 1:
                phrase[k], first[k] = True, ids.index(seq[0])
            else:
                at = next((p for p in range(len(ids) - n + 1) if ids[p] == seq[0] and ids[p:p + n] == seq), -1)
                phrase[k] = at >= 0
                first[k] = at if at >= 0 else min(ids.index(t) for t in seq)
            mask = 0
            for t in seq:
                mask |= bit[t]
            masks.append(mask)
        inside = np.array([any(o != m and o & m == m for o in masks) for m in masks], dtype=bool)
        return labels, phrase, first, inside


@register
class LabelsBackend(Backend):
    """Thesaurus labels found in the document, calibrated on the training documents (see the module docstring)."""

    name = "labels"
    params = {
        "learn_docs": Param(20_000, "at most this many training documents (a seeded sample) calibrate the match "
                            "features", low=1),
        "C": Param(1.0, "inverse regularisation strength of the calibrating logistic regression", low=0,
                   low_open=True),
        "vocabulary_share": Param(0.3, "add the vocabulary's concepts no training document has to the subject space "
                                  "when the training documents use at least this share of it (1: never)", low=0,
                                  high=1),
    }

    def extra_subjects(self, vocab, gold: Sequence[set[str]]) -> list:
        """Every vocabulary concept, when the training documents use at least ``vocabulary_share`` of them."""
        concepts = [c for c in vocab]
        if not concepts or float(self.vocabulary_share) >= 1:
            return []
        from fahras.models.analysed import used_uris

        used = used_uris(gold) if len(gold) else set()
        share = sum(c.uri in used for c in concepts) / len(concepts)
        return concepts if share >= float(self.vocabulary_share) else []

    # -- fitting ---------------------------------------------------------------
    def fit(self, docs: Sequence[AnalyzedText], y: sp.csr_matrix, *,
            context: FitContext | None = None) -> "LabelsBackend":
        context = context or FitContext()
        concepts = context.require_concepts(self.name, y.shape[1])
        self.index_ = {lang: _Index.build(concepts, analyzer, lang)
                       for lang, analyzer in analyzers_by_language(context.analyzer).items()}
        y = sp.csr_matrix(y)
        self.n_subjects_ = int(y.shape[1])
        # the concepts' training record: documents matching a label, and of those, indexed with the concept
        matched = np.zeros(self.n_subjects_, dtype=np.float64)
        right = np.zeros(self.n_subjects_, dtype=np.float64)
        # Only the documents that calibrate the head keep their matches (#19: at 671,068 titles every
        # document's three small arrays held about 0.5 GB of the main process; the head is the same).
        learn = self._learn_rows(len(docs))
        keep = np.zeros(len(docs), dtype=bool)
        keep[learn] = True
        pairs = {}
        for i, doc in enumerate(docs):
            cols, raw = self._raw(doc)
            gold = np.isin(cols, y.indices[y.indptr[i]:y.indptr[i + 1]])
            matched[cols] += 1
            right[cols[gold]] += gold[gold]
            if keep[i]:
                pairs[i] = (cols, raw, gold)
        self.matched_, self.right_ = matched, right
        self.assigned_ = np.asarray(y.sum(axis=0)).ravel().astype(np.float64)
        self.rate_ = float((right.sum() + 1.0) / (matched.sum() + 2.0))
        self.head_ = self._learn(pairs, learn)
        return self

    def _learn_rows(self, n_docs: int) -> np.ndarray:
        """The documents (rows, sorted) that calibrate the head: all, or a seeded sample of ``learn_docs``."""
        rows = np.arange(n_docs)
        if len(rows) > int(self.learn_docs):
            rows = np.sort(np.random.default_rng(0).choice(rows, int(self.learn_docs), replace=False))
        return rows

    def _learn(self, pairs: dict, rows: np.ndarray) -> LinearHead:
        xs, ts = [], []
        for i in rows.tolist():
            cols, raw, gold = pairs[i]
            if not len(cols):
                continue
            own = gold.astype(np.float64)  # leave the document's own pairs out of its concepts' record
            xs.append(self._features(cols, raw, self.matched_[cols] - 1, self.right_[cols] - own,
                                     self.assigned_[cols] - own))
            ts.append(gold)
        target = np.concatenate(ts) if ts else np.zeros(0, dtype=bool)
        if LinearHead.degenerate(target):  # every match right (or none): a constant at the smoothed rate
            rate = (target.sum() + 0.5) / (len(target) + 1.0)
            return LinearHead(np.zeros(len(FEATURES)), float(np.log(rate / (1 - rate))))
        return LinearHead.fit(np.vstack(xs), target, C=float(self.C), max_iter=1000, standardise=True)

    # -- features --------------------------------------------------------------
    def _raw(self, doc: AnalyzedText) -> tuple[np.ndarray, np.ndarray]:
        """Matched concept columns and their per-document features (the best label of each concept):
        phrase, terms, cover, first, preferred, inside, matched."""
        index = self.index_.get(doc.lang) or self.index_.get("en") or next(iter(self.index_.values()))
        terms = doc.terms
        labels, phrase, first, inside = index.match(terms)
        if not len(labels):
            return np.zeros(0, dtype=np.int64), np.zeros((0, 7))
        n_terms = index.n_terms[labels].astype(np.float64)
        distinct = max(len(set(terms)), 1)
        raw = np.column_stack([phrase, n_terms, np.minimum(n_terms / distinct, 1.0), 1.0 / (1.0 + first),
                               index.preferred[labels], inside, np.zeros(len(labels))])
        cols = index.concept[labels].astype(np.int64)
        # the best label of each concept: phrase first, then more terms, then not inside another
        key = raw[:, 0] * 4 + raw[:, 1] - raw[:, 5] * 0.5 + raw[:, 4] * 0.1
        order = np.lexsort((-key, cols))
        cols, raw = cols[order], raw[order]
        keep = np.concatenate([[True], cols[1:] != cols[:-1]])
        cols, raw = cols[keep], raw[keep]
        raw[:, 6] = np.log1p(len(cols))
        return cols, raw

    def _features(self, cols: np.ndarray, raw: np.ndarray, matched: np.ndarray, right: np.ndarray,
                  assigned: np.ndarray) -> np.ndarray:
        rate = self.rate_
        precision = (right + _SMOOTHING * rate) / (np.maximum(matched, 0) + _SMOOTHING)
        precision = np.clip(precision, 1e-4, 1 - 1e-4)
        return np.column_stack([raw[:, 0], raw[:, 1] / 4.0, raw[:, 2], raw[:, 3], raw[:, 4], raw[:, 5],
                                np.log(precision / (1 - precision)) / 5.0, np.log1p(np.maximum(matched, 0)) / 5.0,
                                np.log1p(np.maximum(assigned, 0)) / 5.0, raw[:, 6]])

    # -- scoring ---------------------------------------------------------------
    def predict_scores(self, docs: Sequence[AnalyzedText]) -> np.ndarray:
        out = np.zeros((len(docs), self.n_subjects_), dtype=np.float32)
        for i, doc in enumerate(docs):
            cols, raw = self._raw(doc)
            if len(cols):
                out[i, cols] = self.head_.predict(self._features(cols, raw, self.matched_[cols], self.right_[cols],
                                                                 self.assigned_[cols]))
        return out

    def predict_sparse(self, docs: Sequence[AnalyzedText]) -> sp.csr_matrix:
        """:meth:`predict_scores` as CSR without the documents x subjects array (filling and searching
        it cost more than the matching at 27,754 subjects): the same float32 values."""
        parts_cols, parts_vals = [], []
        indptr = np.zeros(len(docs) + 1, dtype=np.int64)
        for i, doc in enumerate(docs):
            cols, raw = self._raw(doc)
            if len(cols):
                values = np.asarray(self.head_.predict(self._features(cols, raw, self.matched_[cols],
                                                                      self.right_[cols], self.assigned_[cols])),
                                    dtype=np.float32)
                order = np.argsort(cols, kind="stable")
                cols, values = cols[order], values[order]
                keep = values != 0
                cols, values = cols[keep], values[keep]
                parts_cols.append(cols)
                parts_vals.append(values)
            indptr[i + 1] = indptr[i] + (len(parts_cols[-1]) if len(cols) else 0)
        return sp.csr_matrix((np.concatenate(parts_vals) if parts_vals else np.zeros(0, np.float32),
                              np.concatenate(parts_cols) if parts_cols else np.zeros(0, np.int64), indptr),
                             shape=(len(docs), self.n_subjects_))

    def explain(self, doc: AnalyzedText, subject: int, top: int = 5) -> list[Evidence]:
        index = self.index_.get(doc.lang) or self.index_.get("en") or next(iter(self.index_.values()))
        labels, phrase, _, _ = index.match(doc.terms)
        labels = labels[index.concept[labels] == subject]
        evidence = []
        for label in labels.tolist():
            wanted = set(index.label_terms[index.ptr[label]:index.ptr[label + 1]].tolist())
            spans = [(doc.tokens[p].start, doc.tokens[p].end) for p, t in enumerate(doc.terms)
                     if index.term_id.get(t, -1) in wanted]
            if spans:
                evidence.append(Evidence("term", " ".join(doc.text[a:b] for a, b in spans[:len(wanted)]),
                                         1.0, spans))
        return evidence[:top]

    # -- saving ----------------------------------------------------------------
    def save_state(self, folder: Path) -> None:
        (folder / LABELS_FILE).write_text(json.dumps({
            "n_subjects": self.n_subjects_, "rate": self.rate_, "features": list(FEATURES),
            "head": self.head_.to_dict(), "langs": {lang: idx.to_dict() for lang, idx in self.index_.items()}},
            ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        np.savez(folder / STATS_FILE, matched=self.matched_, right=self.right_, assigned=self.assigned_)

    def load_state(self, folder: Path) -> None:
        data = json.loads((folder / LABELS_FILE).read_text(encoding="utf-8"))
        if list(data["features"]) != list(FEATURES):
            raise ValueError("the model's label features differ from this version's")
        self.n_subjects_ = int(data["n_subjects"])
        self.rate_ = float(data["rate"])
        self.head_ = LinearHead.from_dict(data["head"], len(FEATURES))
        self.index_ = {lang: _Index.from_dict(d) for lang, d in data["langs"].items()}
        with np.load(folder / STATS_FILE, allow_pickle=False) as stats:
            self.matched_, self.right_, self.assigned_ = stats["matched"], stats["right"], stats["assigned"]
        if any(len(a) != self.n_subjects_ for a in (self.matched_, self.right_, self.assigned_)):
            raise ValueError("the model's files disagree on the number of subjects")
