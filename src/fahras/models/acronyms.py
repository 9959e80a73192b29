"""Acronyms: score the headings of bodies a document names by their acronym.

UN documents name a mission, office or tribunal in full once, with its
acronym in brackets -- "the United Nations Mission in Liberia (UNMIL)" --
and by the acronym from then on.  How often each acronym recurs tells the
body the document acts on from the bodies it merely mentions: a resolution
renewing UNMIL's mandate says "UNMIL" thirty times and "UNOCI" seven.  The
bag-of-words backends see these acronyms as rare words among thousands; this
backend reads them as what they are.

1. :meth:`AcronymsBackend.fit` finds every definition -- words followed by a
   bracketed acronym -- in the training documents and matches the words just
   before the bracket against the labels of the subject space (in every
   language a subject has labels in; "United Nations" and its French and
   Spanish forms read as "UN", "African Union" as "AU").  A label of at least
   ``min_label_words`` words matches when it is those words, or one word off
   them (a word added, dropped or changed) if it has at least
   ``fuzzy_min_words`` words: "African Union-United Nations Hybrid Operation
   in Darfur (UNAMID)" is ``AU/UN HYBRID OPERATION IN DARFUR``.  For each
   acronym only its closest labels are kept.  No gold subject is used.
2. :meth:`AcronymsBackend.predict_scores` counts the known acronyms in each
   document (case-sensitive, whole words), plus any the document itself
   defines that training did not see.  A subject's score is its acronyms'
   share of all those mentions times ``1 - exp(-count / saturation)``: the
   body a document is about has most of the mentions, and many of them.

Every other subject scores 0: the backend is meant to be stacked with the
others by the ``ensemble`` backend.  Acronyms are Latin capitals, so Arabic
and Chinese texts score only where they quote them.

Files: ``acronyms.json`` (the acronyms' subjects, the acronyms training saw
defined that match no label, and the analysed labels, for definitions found at
prediction time).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from fahras.models import register
from fahras.models.base import AnalyzedText, Backend, Evidence, FitContext, Param
from fahras.text.matcher import concept_labels
from fahras.vocab.normalize import label_key

_FORMAT = 1
_STATE = "acronyms.json"

#: An acronym: a capital, then 1-3 letters, a capital, up to 8 letters or hyphens ("UNMIL", "MONUSCO", "ICTY").
_ACRONYM = r"[A-Z][A-Za-z]{1,3}[A-Z][A-Za-z\-]{0,8}"
#: Mentions: no ``\b`` (it makes the scan 2.5x slower); the greedy tail takes in the rest of a word, so
#: "UNMILs" or "UNMILITARY" are not read as "UNMIL".
_MENTION = re.compile(_ACRONYM)
_BRACKETED = re.compile(rf"\(\s*({_ACRONYM})\s*\)")
#: How far before a bracketed acronym its expansion is looked for (characters).
_REACH = 160
_WORD = re.compile(r"\w+")
_BODIES = (  # the organisations' names that labels abbreviate
    (re.compile(r"\b(?:united nations|nations unies|naciones unidas)\b"), "un"),
    (re.compile(r"\b(?:african union|union africaine|union africana)\b"), "au"),
)
_STOP = frozenset("the of in for and on to a an at by with de du des la le les el los las en et y".split())


def label_words(label: str) -> tuple[str, ...]:
    """The words a label or an acronym's expansion is compared by: folded, bodies abbreviated, no stop words."""
    text = label_key(label)
    for pattern, short in _BODIES:
        text = pattern.sub(short, text)
    return tuple(w for w in _WORD.findall(text) if w not in _STOP)


def _edits(a: Sequence[str], b: Sequence[str]) -> int:
    """Word-level edit distance (insertions, deletions, substitutions)."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def definitions(text: str, skip=()):
    """``(acronym, expansion words)`` for every bracketed acronym in ``text`` that is not in ``skip``."""
    for m in _BRACKETED.finditer(text):
        if m.group(1) not in skip:
            yield m.group(1), label_words(text[max(0, m.start() - _REACH):m.start()])


@register
class AcronymsBackend(Backend):
    """Scores the subjects whose acronyms a document uses, by how much it uses them.

    Parameters
    ----------
    min_label_words : labels with fewer words (stop words aside) are never
        matched: short labels name countries and topics, not bodies, and
        "the Security Council (SC)" must not make every resolution about
        SECURITY COUNCIL.
    fuzzy_min_words : labels with at least this many words also match an
        expansion one word off them.
    saturation : mentions at which the count factor reaches ``1 - 1/e``.
    document_definitions : also use the acronyms a document defines itself
        (new missions, or bodies no training document named).
    """

    name = "acronyms"
    params = {
        "min_label_words": Param(3, "labels with fewer words (stop words aside) are never matched", low=1),
        "fuzzy_min_words": Param(4, "labels with at least this many words also match an expansion one word off",
                                 low=1),
        "saturation": Param(3.0, "mentions at which the count factor reaches 1 - 1/e", low=0, low_open=True),
        "document_definitions": Param(True, "also use the acronyms a document defines itself"),
    }

    # -- fitting -------------------------------------------------------------
    def fit(self, docs: Sequence[AnalyzedText], y: sp.csr_matrix, *,
            context: FitContext | None = None) -> "AcronymsBackend":
        concepts = (context or FitContext()).require_concepts(self.name, y.shape[1])
        self.n_subjects_ = int(y.shape[1])
        labels = set()
        for column, concept in enumerate(concepts):
            for label in concept_labels(concept):  # every language's
                words = label_words(label)
                if len(words) >= self.min_label_words:
                    labels.add((column, words))
        self.labels_ = sorted(labels)
        self._index_labels()
        best: dict[str, tuple[int, set[int]]] = {}
        defined = set()
        for doc in docs:
            for acronym, expansion in definitions(doc.text):
                defined.add(acronym)
                distance, columns = self._match(expansion)
                if not columns:
                    continue
                known = best.get(acronym)
                if known is None or distance < known[0]:
                    best[acronym] = (distance, set(columns))
                elif distance == known[0]:
                    known[1].update(columns)
        self.acronyms_ = {acronym: sorted(columns) for acronym, (_, columns) in sorted(best.items())}
        self.unmatched_ = sorted(defined - set(best))  # defined in training, matched no label
        self.defined_ = frozenset(defined)
        return self

    def _index_labels(self) -> None:
        self.by_last_word_: dict[str, list[tuple[int, tuple[str, ...]]]] = defaultdict(list)
        for column, words in self.labels_:
            self.by_last_word_[words[-1]].append((column, words))

    def _match(self, expansion: tuple[str, ...]) -> tuple[int, list[int]]:
        """(edits, columns): the labels closest to the end of ``expansion``, if close enough."""
        candidates = {c for word in expansion[-2:] for c in self.by_last_word_.get(word, ())}
        best, columns = 2, []
        for column, words in candidates:
            n = len(words)
            allowed = 1 if n >= self.fuzzy_min_words else 0
            tail = set(expansion[-(n + 1):])  # each label word missing from it costs an edit
            if sum(w not in tail for w in words) > allowed:
                continue
            distance = min(_edits(expansion[-w:], words) for w in range(max(1, n - 1), n + 2))
            if distance > allowed:
                continue
            if distance < best:
                best, columns = distance, [column]
            elif distance == best:
                columns.append(column)
        return best, sorted(set(columns))

    # -- prediction ------------------------------------------------------------
    def _subjects_of(self, text: str) -> dict[str, list[int]]:
        """The acronyms the document can use: the learnt ones and, if allowed, those it defines itself."""
        if not self.document_definitions:
            return self.acronyms_
        own = {}
        # acronyms training saw defined: their expansions matched there already, or matched nothing
        for acronym, expansion in definitions(text, skip=self.defined_):
            if acronym not in own:
                own[acronym] = self._match(expansion)[1]
        return {**self.acronyms_, **own} if own else self.acronyms_

    def _counts(self, text: str) -> tuple[dict[int, int], int, dict[str, list[int]]]:
        """(mentions per subject, mentions of all known acronyms, the acronyms' subjects)."""
        subjects = self._subjects_of(text)
        mentions = Counter(a for a in _MENTION.findall(text) if subjects.get(a))
        per_subject: dict[int, int] = defaultdict(int)
        for acronym, count in mentions.items():
            for column in subjects[acronym]:
                per_subject[column] += count
        return per_subject, sum(mentions.values()), subjects

    def predict_scores(self, docs: Sequence[AnalyzedText]) -> np.ndarray:
        out = np.zeros((len(docs), self.n_subjects_), dtype=np.float32)
        for row, doc in enumerate(docs):
            per_subject, total, _ = self._counts(doc.text)
            for column, count in per_subject.items():
                out[row, column] = min(count / total, 1.0) * (1.0 - math.exp(-count / self.saturation))
        return out

    def predict_sparse(self, docs: Sequence[AnalyzedText]) -> sp.csr_matrix:
        """:meth:`predict_scores` as CSR without the documents x subjects array: the same float32 values."""
        cols_all, vals_all = [], []
        indptr = np.zeros(len(docs) + 1, dtype=np.int64)
        for row, doc in enumerate(docs):
            per_subject, total, _ = self._counts(doc.text)
            kept = 0
            for column in sorted(per_subject):
                count = per_subject[column]
                value = np.float32(min(count / total, 1.0) * (1.0 - math.exp(-count / self.saturation)))
                if value != 0:
                    cols_all.append(column)
                    vals_all.append(value)
                    kept += 1
            indptr[row + 1] = indptr[row] + kept
        return sp.csr_matrix((np.asarray(vals_all, dtype=np.float32), np.asarray(cols_all, dtype=np.int64), indptr),
                             shape=(len(docs), self.n_subjects_))

    def explain(self, doc: AnalyzedText, subject: int, top: int = 5) -> list[Evidence]:
        """The subject's acronyms in the document, with where they occur."""
        per_subject, total, subjects = self._counts(doc.text)
        if not per_subject.get(int(subject)):
            return []
        spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for m in _MENTION.finditer(doc.text):
            if int(subject) in subjects.get(m.group(), ()):
                spans[m.group()].append(m.span())
        ranked = sorted(spans.items(), key=lambda kv: (-len(kv[1]), kv[1][0]))
        return [Evidence("term", acronym, len(s) / total, s) for acronym, s in ranked[:top]]

    # -- persistence -----------------------------------------------------------
    def save_state(self, folder: Path) -> None:
        state = {"format": _FORMAT, "n_subjects": self.n_subjects_, "acronyms": self.acronyms_,
                 "unmatched": self.unmatched_,
                 "labels": [[column, list(words)] for column, words in self.labels_]}
        (folder / _STATE).write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")

    def load_state(self, folder: Path) -> None:
        state = json.loads((folder / _STATE).read_text(encoding="utf-8"))
        if state.get("format") != _FORMAT:
            raise ValueError("acronyms model written by another version")
        self.n_subjects_ = int(state["n_subjects"])
        self.acronyms_ = {str(a): [int(c) for c in columns] for a, columns in state["acronyms"].items()}
        self.unmatched_ = [str(a) for a in state["unmatched"]]
        self.defined_ = frozenset(self.acronyms_).union(self.unmatched_)
        self.labels_ = [(int(column), tuple(words)) for column, words in state["labels"]]
        if any(not 0 <= c < self.n_subjects_ for cs in self.acronyms_.values() for c in cs) or any(
                not 0 <= c < self.n_subjects_ or not words for c, words in self.labels_):
            raise ValueError(f"acronyms.json names subjects outside 0..{self.n_subjects_ - 1}")
        self._index_labels()
