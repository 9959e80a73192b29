"""Zero-shot indexing from the thesaurus alone: label matching plus multilingual semantic similarity.

The backend needs no training document: ``Indexer(backend="zeroshot").fit([], vocab)``
makes every thesaurus concept a subject.  For each (document, concept) pair it
computes

* lexical features (:mod:`fahras.models.lexical`): does a label of the concept,
  analysed like the document, occur as a phrase; how often, how early, how
  spread out, how close to the opening where UN documents state their subject
  (``lex_lead``); how much of the label was found; how specific the label is.
  Label words inside UN formulas (``Member States``, ``Security Council``,
  the agenda item line) or inside a longer name (the *named entities* below:
  ``Russian Federation`` is not FEDERALISM) are not counted;
* semantic features (:mod:`fahras.models.semantic`): cosine similarity of the
  document's passages to the concept's multilingual label vector and to its
  context vector (related concepts, groups), with Universal Sentence Encoder
  multilingual v3, less ``hubness`` times the concept's mean similarity to its
  nearest concepts (a name in a tight cluster of names -- a country among its
  neighbours -- must be closer to a passage than its neighbours are);
* a *group share* among *named entities*: concepts of the ``exclusive_groups``
  (by default UNBIS domain 17, geographical descriptors, and micro-thesaurus
  08.03.02, national groups) are alternatives of one another -- of the five
  Central Asian states a letter names, the one it is about is named most.  A
  named entity's share is its label occurrences over those of the most frequent
  entity of its group; a matched concept of no such group has share 1.  A named
  entity's semantic features are multiplied by its share: a passage naming
  KAZAKHSTAN is close to KAZAKHSTAN's vector because of the name, which the
  lexical features already count, and a state named in a list of members is
  not what the document is about;
* thesaurus propagation (:func:`fahras.models.semantic.propagate`) of a first
  score built from the features above: support from group-mates (thematic
  groups only: a country gets no support from its neighbours being named) and
  related concepts.

The score is a logistic function of a weighted sum of these features, in
[0, 1].  Without training documents the weights are the hand-set
:data:`DEFAULT_WEIGHTS` (overridable with ``weights=``); with training
documents (and ``learn=True``) the second-stage weights are learned by a
logistic regression over (document, concept) pairs: every gold concept of a
document, its ``negatives`` best-scoring wrong concepts and as many random ones.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from fahras.errors import UsageError
from fahras.models import lexical, register, semantic
from fahras.models.base import AnalyzedText, Backend, Evidence, FitContext, Param
from fahras.models.linear import LinearHead, sigmoid
from fahras.text import analyzers_by_language

WEIGHTS_FILE = "weights.json"

#: Features of the first stage (lexical, semantic, group share), in column order.
BASE_FEATURES = lexical.FEATURES + semantic.FEATURES + ("lex_cover_spec", "group_share")
#: All features of the final score, in column order.
FEATURES = BASE_FEATURES + ("prop_group", "prop_related")

#: Hand-set weights of the zero-shot score (logits).  Semantic features are
#: standardised over all concepts per document (mean 0, standard deviation 1).
#: ``bias`` calibrates the final score; ``first_bias`` is the bias of the
#: first-stage score (the base features with these same weights) from which
#: :func:`~fahras.models.semantic.propagate` computes the support features.
#: ``lex_root`` (phrases met only at the Arabic root level) weighs as much as
#: ``lex_count`` (phrases met at the stem level) but is only part of the
#: evidence: a root match never sets ``lex_full`` nor ``lex_cover_spec``.  It was
#: half that (0.4) while skeletons came from the Snowball stems; taken from the
#: surface words, with the formulas (مجلس الأمن: council / جلسات sessions) and
#: the words of names no longer matched, and with the number of distinct derived
#: forms in the feature, root matches are less often coincidences.
#: ``lex_lead`` (occurrences weighted by their closeness to the start, where
#: UN documents state their subject) weighs 0.5: at 1.0 it cost English
#: resolutions, whose first paragraphs also recall earlier resolutions.
DEFAULT_WEIGHTS: dict[str, float] = {
    "bias": -13.0,
    "first_bias": -6.0,  # bias of the first-stage score that propagation spreads
    "lex_full": 1.0,
    "lex_count": 0.8,
    "lex_tf": 0.5,
    "lex_cover": 0.5,
    "lex_first": 0.8,
    "lex_spread": 0.5,
    "lex_spec": 0.0,
    "lex_words": 0.5,
    "lex_root": 0.8,
    "lex_lead": 0.5,
    "sem_top": 0.5,
    "sem_z": 0.3,
    "sem_ctx": 0.3,
    "sem_doc": 0.3,
    "lex_cover_spec": 2.0,
    "group_share": 1.0,
    "prop_group": 1.0,
    "prop_related": 0.5,
}


@register
class ZeroShotBackend(Backend):
    """Suggests thesaurus concepts from their labels and meaning, with or without training documents.

    Parameters
    ----------
    max_gap : extra tokens allowed inside a label's phrase occurrence (any term order).
    variant_chars : a document term matches a label term sharing a prefix of at
        least ``min_variant_prefix`` characters when neither has more than this
        many characters beyond it (catches light-stemming differences; 0 = exact only).
    min_variant_prefix : shortest shared prefix of a variant match.
    variant_weight : weight of a label term found only as a variant (exact = 1).
    roots : in Arabic, also count label phrases whose terms meet only by root
        skeleton (feature ``lex_root``, weighted below stem-level matches).
    semantic : use the multilingual sentence encoder (False = label matching only;
        no encoder needed, much faster).
    passage_chars : sentences are merged into passages of at most this many characters.
    max_passages : at most this many passages per document are embedded (evenly spread).
    top_passages : a concept's semantic score is the mean over its best this-many passages.
    related_weight, group_weight : weights of the related concepts' mean vector and
        of the groups' centroid in a concept's context vector.
    propagation_top : group support is the mean of the group's this-many best first-stage scores.
    hubness : share of a concept's hubness (mean cosine to its 10 nearest concepts)
        subtracted from its passage similarities (0 = plain cosines).
    exclusive_groups : ids (or id prefixes) of the groups whose members are named
        entities, alternatives of one another (places, national groups): group share
        and the semantic discount of entities named in passing apply to them, group
        propagation does not, and their label occurrences take the words inside them
        from other labels.  The default fits UNBIS (domain 17, micro-thesaurus 08.03.02).
    lead_tokens : half-life, in tokens from the start of the document, of an
        occurrence's weight in ``lex_lead``.
    weights : feature -> weight overrides of :data:`DEFAULT_WEIGHTS` (``"bias"`` too);
        used as given when there are no training documents or ``learn`` is False.
    learn : learn the final weights from training documents when there are some.
    negatives : wrong concepts per training document used to learn: this many of the
        best-scoring ones, and as many drawn at random (so that the learned weights
        also rank the many obviously wrong concepts low).
    C : inverse regularisation strength of the learned logistic regression.
    threads : BLAS threads of the sentence encoder (1 is fastest for its small matrices).
    """

    name = "zeroshot"
    zero_shot = True
    params = {
        "max_gap": Param(1, "extra tokens allowed inside a label's phrase occurrence (any term order)", low=0),
        "variant_chars": Param(2, "characters beyond a shared prefix a variant of a label term may differ by "
                               "(0: exact terms only)", low=0),
        "min_variant_prefix": Param(4, "shortest shared prefix of a variant match", low=2),
        "variant_weight": Param(0.8, "weight of a label term found only as a variant (exact = 1)", low=0, high=1),
        "roots": Param(True, "in Arabic, also count label phrases whose terms meet only by root skeleton"),
        "semantic": Param(True, "use the multilingual sentence encoder (false: label matching only, faster)"),
        "passage_chars": Param(400, "sentences are merged into passages of at most this many characters", low=20),
        "max_passages": Param(48, "at most this many passages per document are embedded", low=1),
        "top_passages": Param(3, "a concept's semantic score is the mean over its best this-many passages", low=1),
        "related_weight": Param(0.5, "weight of the related concepts' mean vector in a concept's context", low=0),
        "group_weight": Param(0.5, "weight of the groups' centroid in a concept's context vector", low=0),
        "propagation_top": Param(3, "group support is the mean of the group's this-many best first scores", low=1),
        "hubness": Param(0.5, "share of a concept's hubness subtracted from its passage similarities", low=0, high=1),
        "exclusive_groups": Param(("17", "08.03.02"), "ids (or id prefixes) of the groups of named entities "
                                  "(places, national groups)", kind=tuple),
        "lead_tokens": Param(100.0, "half-life, in tokens from the start, of an occurrence's weight in lex_lead",
                             low=0, low_open=True),
        "weights": Param(None, "feature -> weight overrides of the hand-set weights (\"bias\" too)", kind=dict),
        "learn": Param(True, "learn the final weights from training documents when there are some"),
        "negatives": Param(30, "wrong concepts per training document used to learn (hardest and random)", low=0),
        "C": Param(1.0, "inverse regularisation strength of the learned logistic regression", low=0, low_open=True),
        "threads": Param(1, "BLAS threads of the sentence encoder", low=1),
    }

    # -- parts ---------------------------------------------------------------------
    def check_params(self) -> None:
        unknown = sorted(set(self.weights or {}) - set(DEFAULT_WEIGHTS))
        if unknown:
            raise UsageError(f"backend 'zeroshot': unknown feature weight(s) {', '.join(unknown)}; "
                             f"known: {', '.join(DEFAULT_WEIGHTS)}")

    def _new_index(self) -> lexical.LabelIndex:
        return lexical.LabelIndex(int(self.max_gap), int(self.variant_chars), int(self.min_variant_prefix),
                                  float(self.variant_weight), bool(self.roots), float(self.lead_tokens))

    def _hand_weights(self) -> tuple[np.ndarray, float]:
        merged = {**DEFAULT_WEIGHTS, **(self.weights or {})}
        return np.array([merged[f] for f in FEATURES], dtype=np.float64), float(merged["bias"])

    # -- fitting -------------------------------------------------------------------
    def fit(self, docs: Sequence[AnalyzedText], y: sp.csr_matrix, *,
            context: FitContext | None = None) -> "ZeroShotBackend":
        context = context or FitContext()
        concepts = context.require_concepts(self.name, y.shape[1])
        by_lang = analyzers_by_language(context.analyzer)
        self.labels_ = self._new_index().build(concepts, by_lang.__getitem__, list(by_lang))
        self.concepts_ = semantic.ConceptVectors(float(self.related_weight), float(self.group_weight))
        if self.semantic:
            self.concepts_.build(concepts, int(self.threads))
            if float(self.hubness):
                self.concepts_.hubness()
        else:
            self.concepts_.vectors = np.zeros((len(concepts), semantic.DIM), dtype=np.float32)
            col_of = {c.uri: i for i, c in enumerate(concepts) if c is not None}
            self.concepts_.groups = [list(c.groups) if c is not None else [] for c in concepts]
            self.concepts_.related = [sorted({col_of[u] for u in (c.related + c.broader + c.narrower)
                                              if u in col_of} - {i}) if c is not None else []
                                      for i, c in enumerate(concepts)]
            self.concepts_._derive()
        self.n_subjects_ = len(concepts)
        self.group_split_ = None
        self._group_split()
        coef, bias = self._hand_weights()
        self.coef_, self.intercept_ = coef, bias
        self.learned_ = False
        y = sp.csr_matrix(y)
        if self.learn and len(docs) and y.nnz:
            self._learn(docs, y)
        return self

    def _learn(self, docs: Sequence[AnalyzedText], y: sp.csr_matrix) -> None:
        rows, labels = [], []
        rng = np.random.default_rng(0)
        n_neg = int(self.negatives)
        for i, doc in enumerate(docs):
            gold = y.indices[y.indptr[i]:y.indptr[i + 1]]
            if not len(gold):
                continue
            feats = self._features(doc)[0]
            first = feats @ self.coef_ + self.intercept_
            first[gold] = -np.inf
            hard = np.argsort(-first, kind="stable")[:n_neg]
            rand = rng.choice(len(first), size=min(n_neg, len(first)), replace=False)
            wrong = np.unique(np.concatenate([hard, rand]))
            wrong = wrong[np.isfinite(first[wrong])]
            rows.append(feats[gold])
            labels.append(np.ones(len(gold)))
            rows.append(feats[wrong])
            labels.append(np.zeros(len(wrong)))
        if not rows:
            return
        x, t = np.vstack(rows), np.concatenate(labels)
        if LinearHead.degenerate(t > 0):
            return
        head = LinearHead.fit(x, t > 0, C=float(self.C), max_iter=2000)
        self.coef_, self.intercept_ = head.coef, head.intercept
        self.learned_ = True

    # -- scoring -------------------------------------------------------------------
    def _features(self, doc: AnalyzedText):
        """Concepts x FEATURES for one document, with the lexical matches and passages behind them."""
        entities, thematic, is_entity = self._group_split()
        matches = self.labels_.match(doc, is_entity)
        lex = matches.features
        n = self.n_subjects_
        if self.semantic and doc.tokens:
            spans, pvecs = _PASSAGES.get(doc, int(self.passage_chars), int(self.max_passages), int(self.threads))
            sem = semantic.semantic_features(pvecs, self.concepts_, int(self.top_passages), float(self.hubness))
            sem = _standardise(sem)
        else:
            spans, pvecs = [], np.zeros((0, semantic.DIM), dtype=np.float32)
            sem = np.zeros((n, len(semantic.FEATURES)), dtype=np.float32)
        cover_spec = lex[:, 3] * lex[:, 6]
        counts = np.expm1(lex[:, 1])
        share = _group_share(counts, entities)
        minor = is_entity & (counts > 0)
        sem[minor] *= share[minor, None]
        base = np.hstack([lex, sem, cover_spec[:, None], share[:, None]])
        hand, _ = self._hand_weights()
        first_bias = float({**DEFAULT_WEIGHTS, **(self.weights or {})}["first_bias"])
        first = sigmoid(base @ hand[:len(BASE_FEATURES)] + first_bias)
        prop = semantic.propagate(first.astype(np.float32), self.concepts_, int(self.propagation_top), thematic)
        return np.hstack([base, prop]).astype(np.float64), matches, spans, pvecs

    def _group_split(self) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
        """Membership in the named-entity (``exclusive_groups``) groups, in the other
        groups, and which concepts belong to a named-entity group."""
        split = getattr(self, "group_split_", None)
        if split is None:
            prefixes = tuple(str(g) for g in self.exclusive_groups or ())
            exclusive = np.array([bool(prefixes) and str(k).startswith(prefixes)
                                  for k in self.concepts_.group_keys], dtype=bool)
            membership = self.concepts_.membership.tocsc()
            entities = membership[:, np.flatnonzero(exclusive)].tocsr()
            thematic = membership[:, np.flatnonzero(~exclusive)].tocsr()
            split = (entities, thematic, np.asarray(entities.sum(axis=1)).ravel() > 0)
            self.group_split_ = split
        return split

    def predict_scores(self, docs: Sequence[AnalyzedText]) -> np.ndarray:
        out = np.zeros((len(docs), self.n_subjects_), dtype=np.float32)
        for i, doc in enumerate(docs):
            feats = self._features(doc)[0]
            out[i] = sigmoid(feats @ self.coef_ + self.intercept_)
        return out

    def explain(self, doc: AnalyzedText, subject: int, top: int = 5) -> list[Evidence]:
        feats, matches, spans, pvecs = self._features(doc)
        evidence: list[Evidence] = []
        # stem-level phrase occurrences; failing those, the ones found at the Arabic root level
        occ = matches.occurrences.get(subject, []) or matches.root.get(subject, [])
        if occ:
            by_text: dict[str, list[tuple[int, int]]] = {}
            for o in occ:
                by_text.setdefault(doc.text[o.start:o.end], []).append((o.start, o.end))
            for text, where in sorted(by_text.items(), key=lambda kv: (-len(kv[1]), kv[1][0])):
                evidence.append(Evidence("term", text, len(where) / len(occ), where))
        else:
            partial = matches.partial.get(subject, [])
            by_text = {}
            for a, b in partial:
                by_text.setdefault(doc.text[a:b], []).append((a, b))
            cover = float(feats[subject, lexical.FEATURES.index("lex_cover")])
            for text, where in by_text.items():
                evidence.append(Evidence("term", text, cover * len(where) / max(len(partial), 1), sorted(where)))
        evidence = evidence[:top]
        for k, sim in semantic.best_passages(pvecs, self.concepts_, subject, top):
            if sim <= 0:
                break
            a, b = spans[k]
            evidence.append(Evidence("passage", doc.text[a:b], sim, [(a, b)]))
        return evidence

    # -- saving --------------------------------------------------------------------
    def save_state(self, folder: Path) -> None:
        self.labels_.save(folder / lexical.LABEL_INDEX_FILE)
        self.concepts_.save(folder)
        (folder / WEIGHTS_FILE).write_text(json.dumps({
            "features": list(FEATURES), "coef": [float(c) for c in self.coef_], "intercept": self.intercept_,
            "learned": self.learned_, "n_subjects": self.n_subjects_}, indent=1), encoding="utf-8")

    def load_state(self, folder: Path) -> None:
        meta = json.loads((folder / WEIGHTS_FILE).read_text(encoding="utf-8"))
        if list(meta["features"]) != list(FEATURES):
            raise ValueError("the model's features differ from this version's")
        self.coef_ = np.array(meta["coef"], dtype=np.float64)
        self.intercept_ = float(meta["intercept"])
        self.learned_ = bool(meta["learned"])
        self.n_subjects_ = int(meta["n_subjects"])
        self.labels_ = self._new_index().load(folder / lexical.LABEL_INDEX_FILE)
        self.concepts_ = semantic.ConceptVectors(float(self.related_weight), float(self.group_weight)).load(folder)
        if self.labels_.n_concepts != self.n_subjects_ or len(self.concepts_.vectors) != self.n_subjects_:
            raise ValueError("the model's files disagree on the number of subjects")
        self.group_split_ = None
        self._group_split()


_PASSAGES = semantic.PassageCache(size=512)  # ~0.1 MB per document


def _standardise(x: np.ndarray) -> np.ndarray:
    """Columns to mean 0 and standard deviation 1 over the concepts."""
    std = x.std(axis=0, keepdims=True)
    return ((x - x.mean(axis=0, keepdims=True)) / np.where(std > 0, std, 1.0)).astype(np.float32)


def _group_share(counts: np.ndarray, membership: sp.csr_matrix) -> np.ndarray:
    """A matched concept's occurrences over the best of its groups' (1 = the most frequent of a
    group; 1 for a matched concept of no group).  ``membership``: concepts x groups."""
    out = np.zeros(len(counts), dtype=np.float32)
    coo = membership.tocoo()
    matched = counts > 0
    if not matched.any():
        return out
    group_max = np.zeros(membership.shape[1], dtype=np.float32)
    np.maximum.at(group_max, coo.col, counts[coo.row])
    share = np.where(group_max[coo.col] > 0, counts[coo.row] / np.maximum(group_max[coo.col], 1e-9), 0.0)
    np.maximum.at(out, coo.row, share.astype(np.float32))
    no_group = matched & (np.asarray(membership.sum(axis=1)).ravel() == 0)
    out[no_group] = 1.0
    return out
