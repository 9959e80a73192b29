"""Composite headings: learn heading *patterns* and score their instances, seen or not.

Index-to-Proceedings headings are mostly a thesaurus concept set in a fixed
pattern: ``SUDAN--POLITICAL CONDITIONS``, ``SOMALIA SITUATION``, ``UN MISSION
IN LIBERIA``.  A backend that only learns from the headings it has seen cannot
suggest ``MALI--POLITICAL CONDITIONS`` before the first resolution on Mali is
indexed.  This one learns the patterns instead:

1. :meth:`HeadingsBackend.extra_subjects` splits every training heading (local
   subject or thesaurus concept) at each English label of a thesaurus concept
   it contains, giving a
   *template* (``{X}--POLITICAL CONDITIONS``) and a *filler* (``SUDAN``).  A
   template seen with at least ``min_pattern_count`` distinct fillers of one
   domain (``17`` = geographical descriptors) is kept, and instantiated for
   every concept of its fillers' micro-thesauri (``filler_scope="group"``) or
   of the whole domain (``"domain"``).  The instances are local subjects;
   ``broader`` names the template and its domain
   (``urn:fahras:pattern:17:%7BX%7D%20SITUATION``), ``related`` the filler
   concept.  An instance that is a thesaurus concept already (``SOMALIA
   SITUATION``) is returned as it is.
2. :meth:`HeadingsBackend.fit` finds the templates again in the subject space
   (from those ``broader`` links), parses every subject's English label
   against them, and learns **one** logistic regression over (document,
   instance) pairs from features that say how strongly the filler is present
   in the document -- how often its labels are mentioned, relative to the other
   fillers of its class (domain), how early, whether the template's own words
   occur near the mentions -- and how the pattern, the filler and the instance
   fared in training.  The filler's and the instance's training counts leave
   the pair's own document out; every pair of a known filler is also learnt
   a second time (weight ``novel_weight``) as if its filler had never been
   seen, and the mention and template features have separate weights for
   known and new fillers: that is what lets a new topic's heading (``LIBYA
   SITUATION`` in 2011) outscore the headings of the countries that are
   merely mentioned.
3. Documents are scanned once per filler class: label terms are indexed by
   their first term and matched as phrases against the document's terms
   (longest match first, so "South Sudan" is not a mention of SUDAN);
   derived forms meet as *variants* (``malian``/``mali``, ``lebanes``/``lebanon``,
   ``syria``/``syrian``: a shared prefix of ``variant_prefix`` characters, at
   most ``variant_chars`` more in the document's term and 2 in the label's, 1
   if the document's term is a prefix of the label's; a longer shared prefix
   when both differ), and a term that belongs to a single filler's label and
   is rare in the training documents counts as a *partial* mention of it
   ("Syria" for SYRIAN ARAB REPUBLIC).  Each filler's counts then serve all of
   its instances.

Names are whole (``name_matching`` 2, every model trained since; models saved
before keep what they had, 1): a filler is mentioned only by the whole of one of
its labels, exactly -- no variants (``franchi`` is not FRANCE, "unity of all
States" not UNITED STATES), no single words of a longer name ("zones" is not
PANAMA CANAL ZONE, "English" not ENGLISH-SPEAKING AFRICA).  A label with a
parenthesised qualifier also counts in the official word order and by its
head alone when no other filler has that name: ``IRAN (ISLAMIC REPUBLIC OF)``
is found as "Islamic Republic of Iran" and "Iran".  Version 1 had the
variants and partial mentions described in 3.

Subjects that are not pattern instances score 0: the backend is meant to be
stacked with the others by the ``ensemble`` backend.

Filler labels: the English label comes from the headings themselves; labels in
other languages are used when the filler concept is itself in the subject
space (a ``"vocabulary"`` subject space), as ``fit`` sees no other concepts.

Files: ``headings.json`` (templates, fillers, analysed labels, counts, the
model's coefficients).
"""

from __future__ import annotations

import bisect
import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import compress, count
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from fahras.models import register
from fahras.models.base import AnalyzedText, Backend, Evidence, FitContext, Param
from fahras.models.heading_features import FEATURES, MENTION_FEATURES, Mentions as _Mentions
from fahras.models.linear import LinearHead
from fahras.text.matcher import (NO_TERM, LabelTerms, VariantPolicy, longest_labels, longest_matches, raw_matches,
                                  token_span)
from fahras.text import Analyzer
from fahras.vocab.concept import LANGUAGES
from fahras.vocab.headings import SLOT, heading_patterns, pattern_instances

_STATE = "headings.json"
_FORMAT = 1
#: How fillers are found (see the module docstring): 2 = whole names, exact terms; 1 = with variants
#: and partial mentions (models saved without a ``"name_matching"`` entry).
NAME_MATCHING = 2
_QUALIFIED = re.compile(r"^(?P<head>[^()]+?)\s*\((?P<qualifier>[^()]+)\)$")
_ANY_LANG = "*"          # analysed labels used for every document (a single-language analyzer)
_RAW_LANGS = frozenset({"zh"})  # overlapping n-gram terms: labels are found in the raw text instead
_NO_WORDS: frozenset = frozenset()

# ---------------------------------------------------------------------------------- matching
@dataclass
class _LangIndex:
    """Analysed filler labels of one language: the :mod:`fahras.text.matcher` indexes over them."""

    terms: dict[str, int]                       # label term -> id
    labels: list[tuple[int, tuple[int, ...]]]   # (filler, term ids)
    raw: list[tuple[int, str]]                  # (filler, casefolded label) for raw-text languages
    key_terms: dict[int, int] = field(default_factory=dict)  # term id -> filler (partial mentions)
    #: first term id -> (filler, term ids, length) of the labels starting with it, longest first
    by_first: dict[int, list[tuple[int, tuple[int, ...], int]]] = field(default_factory=dict)
    #: the label terms with their "nearest" variant policy
    matcher: LabelTerms | None = None
    #: term ids a mention can start with: labels' first terms and key terms (see :meth:`index_starters`)
    starters: frozenset[int] = frozenset()
    #: (variant_prefix, variant_chars) -> document term -> :meth:`term_id`: what
    #: :meth:`known_ids` remembers (not saved, not pickled)
    _known: dict = field(default_factory=dict, repr=False, compare=False)

    def build(self, variant_prefix: int, variant_chars: int) -> "_LangIndex":
        self.by_first = longest_labels(self.labels)
        self.matcher = LabelTerms(sorted(self.terms, key=self.terms.get),
                                  VariantPolicy("nearest", variant_chars, variant_prefix))
        return self.index_starters()

    def index_starters(self) -> "_LangIndex":
        """Recompute :attr:`starters` (after ``by_first`` or ``key_terms`` changed)."""
        self.starters = frozenset(self.by_first) | frozenset(self.key_terms)
        return self

    def term_ids(self, terms: Sequence[str], variant_prefix: int, variant_chars: int) -> dict[str, int]:
        """:meth:`term_id` of each distinct term (looked up once each)."""
        return {t: self.term_id(t, variant_prefix, variant_chars) for t in set(terms)}

    def known_ids(self, terms: set[str], variant_prefix: int, variant_chars: int) -> dict[str, int]:
        """A dict that holds the :meth:`term_id` of at least every one of ``terms``.

        A term's id depends on the term and the index alone, so the index
        remembers them from call to call (up to :data:`TERM_MEMO_SIZE` terms,
        then it starts afresh): a new document's terms are mostly known, and
        finding a variant costs many times a look-up.  Safe to share between
        threads: a memo only grows, and a full one is replaced, not cleared.
        """
        key = (variant_prefix, variant_chars)
        memo = self._known.get(key)
        new = terms if memo is None else terms.difference(memo)
        if memo is None or len(memo) + len(new) > TERM_MEMO_SIZE:
            memo, new = {}, terms
            self._known[key] = memo
        if new:
            memo.update(self.term_ids(new, variant_prefix, variant_chars))
        return memo

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_known": {}}

    def term_id(self, term: str, variant_prefix: int, variant_chars: int) -> int:
        """The id of the label term ``term`` is, or is a variant of (:meth:`LabelTerms.lookup`, whose
        policy holds the model's ``variant_prefix`` and ``variant_chars``); -1 if none."""
        return self.matcher.lookup(term)

    def to_dict(self) -> dict:
        names = sorted(self.terms, key=self.terms.get)
        return {"terms": names, "labels": [[f, list(ids)] for f, ids in self.labels],
                "raw": [[f, text] for f, text in self.raw],
                "key_terms": [[t, f] for t, f in sorted(self.key_terms.items())]}

    @classmethod
    def from_dict(cls, data: dict, variant_prefix: int, variant_chars: int) -> "_LangIndex":
        index = cls(terms={t: i for i, t in enumerate(data["terms"])},
                    labels=[(int(f), tuple(int(i) for i in ids)) for f, ids in data["labels"]],
                    raw=[(int(f), str(text)) for f, text in data["raw"]],
                    key_terms={int(t): int(f) for t, f in data["key_terms"]})
        return index.build(variant_prefix, variant_chars)


#: How many document terms a :class:`_LangIndex` remembers the ids of (a few MB at most).
TERM_MEMO_SIZE = 1 << 17


# ---------------------------------------------------------------------------------- backend
@register
class HeadingsBackend(Backend):
    """Pattern headings (``{X} SITUATION``) scored for the fillers a document mentions.

    Parameters
    ----------
    min_pattern_count : a template is kept when seen with at least this many
        distinct fillers of one domain in the training headings.
    filler_scope : ``"group"`` instantiates a template for every concept of its
        fillers' micro-thesauri, ``"domain"`` for every concept of their domain.
    max_instances : at most this many instances are generated (templates with
        more distinct fillers first).
    variant_prefix, variant_chars : a document term and a label term are
        variants when they share the first ``variant_prefix`` characters and
        the document's term has at most ``variant_chars`` characters beyond
        their common prefix (the label's term at most 2, see above; 0 = exact
        terms only).
    key_max_df : a term unique to one filler's label counts as a partial mention
        of it only if at most this share of the training documents has it.
    window : terms either side of a mention searched for the template's words.
    novel_weight : weight of a second copy of the training pairs in which the
        filler counts as never seen in training (0 = no copy): what teaches the
        model to suggest headings on new topics.
    C : inverse regularisation of the logistic regression.
    unknown_fillers : also treat subjects that fit a template around text that
        is not a known filler (``FORMER YUGOSLAVIA SITUATION``) as instances.
    """

    name = "headings"
    params = {
        "min_pattern_count": Param(2, "a template is kept when seen with at least this many distinct fillers of "
                                   "one domain", low=1),
        "filler_scope": Param("domain", "instantiate a template for every concept of its fillers' 'group' "
                              "(micro-thesauri) or 'domain'", choices=("group", "domain")),
        "max_instances": Param(3000, "at most this many instances are generated", low=0),
        "variant_prefix": Param(4, "a document term and a label term sharing this many first characters may "
                                "be variants (0: exact terms only)", low=0),
        "variant_chars": Param(3, "at most this many characters of a variant document term beyond the "
                               "common prefix", low=0),
        "key_max_df": Param(0.2, "a term unique to one filler's label counts as a partial mention if at most "
                            "this share of training documents has it", low=0, high=1),
        "window": Param(5, "terms either side of a mention searched for the template's words", low=0),
        "novel_weight": Param(1.0, "weight of the training pairs repeated as if their filler were new "
                              "(0: none)", low=0),
        "C": Param(1.0, "inverse regularisation of the logistic regression", low=0, low_open=True),
        "unknown_fillers": Param(False, "also treat subjects that fit a template around unknown text as "
                                 "instances"),
    }

    # -- patterns ---------------------------------------------------------------
    def extra_subjects(self, vocab, gold: Sequence[set[str]]) -> list:
        """Instances of the templates learned from the training documents' headings
        (:func:`fahras.vocab.headings.heading_patterns`)."""
        return heading_patterns(vocab, gold, int(self.min_pattern_count), self.filler_scope, int(self.max_instances))

    # -- fitting ---------------------------------------------------------------
    def fit(self, docs: Sequence[AnalyzedText], y: sp.csr_matrix, *,
            context: FitContext | None = None) -> "HeadingsBackend":
        context = context or FitContext()
        concepts = context.require_concepts(self.name, y.shape[1])
        analyzer = context.analyzer
        y = sp.csr_matrix(y)
        self.n_subjects_ = int(y.shape[1])
        self.n_docs_ = int(y.shape[0])
        self.name_matching_ = NAME_MATCHING
        self._learn_instances(concepts)
        self._learn_labels(concepts, analyzer)
        scanned = [self._scan(doc, partial=False) for doc in docs]
        self._learn_key_terms(scanned)
        scanned = [self._scan(doc) for doc in docs]  # again, now with partial mentions
        self._learn_counts(y)
        rows, mention = self._mentions(scanned)
        target = (np.asarray(y[rows[:, 0], self.instance_col_[rows[:, 1]]]).ravel() > 0
                  if len(rows) else np.zeros(0, dtype=bool))
        x = self._features(rows, mention, y)
        parts, targets, weights = [x], [target], [np.ones(len(target))]
        again = x[:, FEATURES.index("new_filler")] == 0
        if self.novel_weight > 0 and again.any():  # the pairs of known fillers, as if never seen
            parts.append(self._features(rows[again], mention[again], y, novel=True))
            targets.append(target[again])
            weights.append(np.full(int(again.sum()), float(self.novel_weight)))
        x, target, weight = np.vstack(parts), np.concatenate(targets), np.concatenate(weights)
        self.head_ = LinearHead.fit(x, target, C=float(self.C), max_iter=5000, sample_weight=weight,
                                    standardise=True)
        del self._doc_instances, self._doc_fillers  # the training documents' headings: not kept
        return self

    def _learn_instances(self, concepts: Sequence) -> None:
        """Templates, fillers (with their class: the domain they come from) and the instance columns."""
        self.templates_, fillers, parsed = pattern_instances(concepts, bool(self.unknown_fillers))
        keys = sorted({part for _, _, part in parsed})
        # Fillers of unknown text (``unknown_fillers``) form a class of their own.
        self.fillers_ = [{"key": k, **fillers.get(k, {"uri": "", "class": ""})} for k in keys]
        index = {k: i for i, k in enumerate(keys)}
        self.instance_col_ = np.asarray([col for col, _, _ in parsed], dtype=np.int64)
        self.instance_template_ = np.asarray([t for _, t, _ in parsed], dtype=np.int64)
        self.instance_filler_ = np.asarray([index[part] for _, _, part in parsed], dtype=np.int64)
        self._index_instances()

    def _template_words(self, lang: str) -> frozenset:
        """Every template word of ``lang`` (as :meth:`_mentions` picks the language's templates)."""
        words = self._near_words_.get(lang)
        if words is None:
            lists = self.template_terms_.get(lang) or next(iter(self.template_terms_.values()), [])
            words = frozenset(word for ws in lists for word in ws)
        return words

    def _index_template_words(self) -> None:
        self._near_words_ = {lang: frozenset(word for ws in lists for word in ws)
                             for lang, lists in self.template_terms_.items() if lists}

    def _index_instances(self) -> None:
        self.by_filler_ = defaultdict(list)
        for n, f in enumerate(self.instance_filler_):
            self.by_filler_[int(f)].append(n)
        self.col_instance_ = {int(c): n for n, c in enumerate(self.instance_col_)}
        self.classes_ = sorted({f["class"] for f in self.fillers_})

    def _learn_labels(self, concepts: Sequence, analyzer: Analyzer) -> None:
        """Analyse every filler's labels (and the templates' words) once per language.

        Fillers of different classes do not compete for the same words
        ("Syrian" names the country for geographical fillers, and the people
        for fillers that are population groups): each class has its own index.
        """
        by_uri = {c.uri: c for c in concepts if c is not None}
        self.langs_ = {}
        self.template_terms_ = {}
        heads = self._unique_heads(by_uri, _analyzers(analyzer)) if self._whole_names() else {}
        for lang, lang_analyzer in _analyzers(analyzer).items():
            for cls in self.classes_:
                terms: dict[str, int] = {}
                labels_out, raw = [], []
                for f, filler in enumerate(self.fillers_):
                    if filler["class"] != cls:
                        continue
                    own = by_uri.get(filler["uri"])
                    texts = [own.labels[lang]] if own is not None and own.labels.get(lang) else []
                    texts = texts + [filler["key"]]
                    if self._whole_names():
                        texts += [form for t in texts for form in _name_forms(t, heads.get(lang, {}))]
                    for text in dict.fromkeys(texts):
                        if lang in _RAW_LANGS:
                            raw.append((f, text.casefold()))
                            continue
                        ids = tuple(terms.setdefault(t, len(terms)) for t in lang_analyzer.terms(text))
                        if ids and (f, ids) not in labels_out:
                            labels_out.append((f, ids))
                self.langs_[_index_key(lang, cls)] = _LangIndex(terms, labels_out, raw).build(
                    int(self.variant_prefix), self._variant_chars())
            # distinct words, sorted: _mentions counts a window's share of them
            self.template_terms_[lang] = [sorted(set(lang_analyzer.terms(t.replace(SLOT, " "))))
                                          for t in self.templates_]
        self._index_template_words()

    def _whole_names(self) -> bool:
        return getattr(self, "name_matching_", 1) >= 2

    def _variant_chars(self) -> int:
        """The variant characters the label indexes use: none where names are whole."""
        return 0 if self._whole_names() else int(self.variant_chars)

    def _unique_heads(self, by_uri: dict, analyzers: dict) -> dict[str, dict[str, int]]:
        """Per language: the head of a qualified label (IRAN of ``IRAN (ISLAMIC REPUBLIC OF)``) -> how
        many fillers' labels (qualified or not) that head names; :func:`_name_forms` uses a head only once."""
        out: dict[str, dict[str, int]] = {}
        for lang in analyzers:
            counts: dict[str, int] = defaultdict(int)
            for filler in self.fillers_:
                own = by_uri.get(filler["uri"])
                texts = [own.labels[lang]] if own is not None and own.labels.get(lang) else []
                names = set()
                for text in texts + [filler["key"]]:
                    found = _QUALIFIED.match(text.strip())
                    names.add(heading_words_key(found.group("head") if found else text))
                for name in names:
                    counts[name] += 1
            out[lang] = dict(counts)
        return out

    def _learn_key_terms(self, scanned: list) -> None:
        """Terms of a single filler's label (in its class), rare in the training documents: partial mentions
        (none where names are whole)."""
        if self._whole_names():
            for index in self.langs_.values():
                index.key_terms = {}
                index.index_starters()
            return
        for name, index in self.langs_.items():
            owners: dict[int, set[int]] = defaultdict(set)
            for f, ids in index.labels:
                for t in ids:
                    owners[t].add(f)
            df = np.zeros(len(index.terms), dtype=np.int64)
            n = 0
            for _, _, present, doc_lang in scanned:
                if doc_lang != name.split("|")[0]:
                    continue
                n += 1
                for t in present.get(name, ()):
                    df[t] += 1
            index.key_terms = {}
            for f, ids in index.labels:
                if len(ids) < 2:
                    continue
                for t in ids:
                    if len(owners[t]) == 1 and (n == 0 or df[t] <= float(self.key_max_df) * n):
                        index.key_terms[t] = f
            index.index_starters()

    def _learn_counts(self, y: sp.csr_matrix) -> None:
        """How often each instance, template and filler was a training heading."""
        n_inst = len(self.instance_col_)
        sub = sp.csr_matrix(y[:, self.instance_col_]) if n_inst else sp.csr_matrix((y.shape[0], 0))
        sub.data = (sub.data > 0).astype(np.float64)
        self.instance_count_ = np.asarray(sub.sum(axis=0)).ravel().astype(np.int64)
        to_template = sp.csr_matrix((np.ones(n_inst), (np.arange(n_inst), self.instance_template_)),
                                    shape=(n_inst, len(self.templates_)))
        to_filler = sp.csr_matrix((np.ones(n_inst), (np.arange(n_inst), self.instance_filler_)),
                                  shape=(n_inst, len(self.fillers_)))
        self._doc_fillers = sp.csr_matrix((sub @ to_filler) > 0, dtype=np.float64)
        self.template_docs_ = np.asarray(((sub @ to_template) > 0).sum(axis=0)).ravel().astype(np.int64)
        self.filler_docs_ = np.asarray(self._doc_fillers.sum(axis=0)).ravel().astype(np.int64)
        self.template_fillers_ = np.zeros(len(self.templates_), dtype=np.int64)
        for n in np.nonzero(self.instance_count_)[0]:
            self.template_fillers_[self.instance_template_[n]] += 1
        self._doc_instances = sub

    # -- features ---------------------------------------------------------------
    def _scan(self, doc: AnalyzedText, partial: bool = True
              ) -> tuple[dict[int, _Mentions], int, dict[str, set[int]], str]:
        """Mentions per filler, the number of tokens, the label terms present per index, the language.

        The label terms present are found only by a scan without partial
        mentions (the first of training, which learns the key terms from them).
        """
        lang = _lang_of(doc, self.template_terms_)
        tokens = doc.tokens
        terms = tokens.terms
        found: dict[int, _Mentions] = {}
        present: dict[str, set[int]] = {}
        w = int(self.window)
        distinct = None  # the document's distinct terms, once needed
        # Where the template words are: a mention's window keeps only those (the
        # same "near" features as all of its terms, without a set of them each).
        near_words = self._template_words(lang)
        word_at = list(compress(count(), map(near_words.__contains__, terms)))
        word_of = list(map(terms.__getitem__, word_at))

        def near(first: int, last: int) -> frozenset:
            # the template words of tokens first - w .. last + w
            a, b = bisect.bisect_left(word_at, first - w), bisect.bisect_right(word_at, last + w)
            return frozenset(word_of[a:b]) if a < b else _NO_WORDS

        def add_raw(f: int, first: int, last: int, span: tuple[int, int]) -> None:
            # a whole-label mention found in the raw text: its characters, and tokens first..last
            m = found.get(f)
            if m is None:
                m = found[f] = _Mentions()
            m.full += 1
            if m.first < 0 or first < m.first:
                m.first = first
            m.spans.append(span)
            if len(m.windows) < 64:
                m.windows.append(near(first, last))

        for cls in self.classes_:
            name = _index_key(lang, cls)
            index = self.langs_[name]
            if lang in _RAW_LANGS:
                if not tokens:
                    continue
                for f, start, end in raw_matches(doc.text.casefold(), index.raw):
                    add_raw(f, *token_span(tokens.starts, start, end), (start, end))
                continue
            if distinct is None:
                distinct = set(terms)
            memo = index.known_ids(distinct, int(self.variant_prefix), int(self.variant_chars))
            ids = tuple(map(memo.__getitem__, terms))
            if not partial:  # the label terms present: what _learn_key_terms counts
                present[name] = set(ids)
                present[name].discard(NO_TERM)
            matches = (longest_matches(ids, index.by_first, index.key_terms, index.starters) if partial
                       else longest_matches(ids, index.by_first, None, index.by_first.keys()))
            for i, last, f, whole in matches:
                m = found.get(f)
                if m is None:
                    m = found[f] = _Mentions(token_positions=True)
                if whole:
                    m.full += 1
                else:
                    m.partial += 1
                if m.first < 0:  # positions only grow within a class; classes have their own fillers
                    m.first = i
                m.spans.append((i, last))
                if len(m.windows) < 64:
                    m.windows.append(near(i, last))
        return found, len(tokens), present, lang

    def _mentions(self, scanned: list) -> tuple[np.ndarray, np.ndarray]:
        """(document, instance) rows for every instance of a mentioned filler, and their mention features."""
        rows, feats = [], []
        for d, (found, n_tokens, _, lang) in enumerate(scanned):
            mentioned = [(f, m) for f, m in found.items() if m.count > 0 and f in self.by_filler_]
            if not mentioned:
                continue
            top: dict[str, int] = defaultdict(int)
            first_rank: dict[int, int] = {}
            rank_in: dict[str, int] = defaultdict(int)
            for f, m in sorted(mentioned, key=lambda fm: (fm[1].first, fm[0])):
                cls = self.fillers_[f]["class"]
                top[cls] = max(top[cls], m.count)
                first_rank[f] = rank_in[cls]
                rank_in[cls] += 1
            words_of = self.template_terms_.get(lang) or next(iter(self.template_terms_.values()))
            for f, m in sorted(mentioned):
                best = top[self.fillers_[f]["class"]]
                base = (math.log1p(m.full), math.log1p(m.partial), m.count / best, float(m.count == best),
                        1.0 - m.first / max(n_tokens, 1), 1.0 / (1.0 + first_rank[f]))
                for inst in self.by_filler_[f]:
                    words = words_of[int(self.instance_template_[inst])]
                    near, near_count = 0.0, 0
                    if words and m.windows:
                        # how many of the template's (distinct) words each window holds
                        hits = [len(window.intersection(words)) for window in m.windows]
                        near, near_count = max(hits) / len(words), hits.count(len(words))
                    rows.append((d, inst))
                    feats.append(base + (near, math.log1p(near_count)))
        if not rows:
            return np.zeros((0, 2), dtype=np.int64), np.zeros((0, len(MENTION_FEATURES)))
        return np.asarray(rows, dtype=np.int64), np.asarray(feats, dtype=np.float64)

    def _features(self, rows: np.ndarray, mention: np.ndarray, loo: sp.csr_matrix | None = None,
                  novel: bool = False) -> np.ndarray:
        """The model's features of (document, instance) rows.

        With ``loo`` (the training documents' subjects) the instance's and the
        filler's training counts leave the row's own document out; with
        ``novel``, the filler and the instance count as never seen.
        The templates' counts stay whole: leaving the document (or the
        filler) out of them would make the right template look rarer than
        the others, a bias the model would learn.
        """
        if not len(rows):
            return np.zeros((0, len(FEATURES)))
        d, inst = rows[:, 0], rows[:, 1]
        tpl, fil = self.instance_template_[inst], self.instance_filler_[inst]
        inst_count = self.instance_count_[inst].astype(np.float64)
        tmpl_docs = self.template_docs_[tpl].astype(np.float64)
        tmpl_fillers = self.template_fillers_[tpl].astype(np.float64)
        fill_docs = self.filler_docs_[fil].astype(np.float64)
        n_docs = self.n_docs_
        if loo is not None:
            n_docs = loo.shape[0]
            inst_count -= np.asarray(self._doc_instances[d, inst]).ravel()
            fill_docs -= np.asarray(self._doc_fillers[d, fil]).ravel()
        if novel:
            inst_count = np.zeros_like(inst_count)
            fill_docs = np.zeros_like(fill_docs)
        log_n = math.log1p(max(n_docs, 1))
        known = (fill_docs > 0).astype(np.float64)[:, None]
        pattern = np.column_stack([np.log1p(tmpl_docs) / log_n, np.log1p(tmpl_fillers) / log_n])
        history = np.column_stack([(inst_count > 0).astype(np.float64), np.log1p(inst_count) / log_n,
                                   np.log1p(fill_docs) / log_n])
        return np.hstack([mention * known, mention * (1 - known), pattern, pattern * (1 - known), history,
                          1 - known])

    # -- prediction ------------------------------------------------------------
    def _score_pairs(self, x: np.ndarray) -> np.ndarray:
        return self.head_.predict(x)

    def predict_scores(self, docs: Sequence[AnalyzedText]) -> np.ndarray:
        out = np.zeros((len(docs), self.n_subjects_), dtype=np.float32)
        if not len(self.instance_col_):
            return out
        rows, mention = self._mentions([self._scan(doc) for doc in docs])
        if len(rows):
            out[rows[:, 0], self.instance_col_[rows[:, 1]]] = self._score_pairs(self._features(rows, mention))
        return np.clip(out, 0.0, 1.0)

    def scores_as_new(self, cols: np.ndarray, mention: np.ndarray) -> np.ndarray:
        """Scores of instance columns ``cols`` with mention features ``mention`` (rows of
        :meth:`mention_features`) as if their filler and the instance had no training document (the ensemble's
        simulated novelty: a heading hidden from a cross-fitting fold is scored as the fold's bases would have
        scored it).  The template's counts stay whole, as for the training pairs repeated as new."""
        cols = np.asarray(cols, dtype=np.int64)
        if not len(cols):
            return np.zeros(0, dtype=np.float32)
        inst = np.asarray([self.col_instance_[int(c)] for c in cols], dtype=np.int64)
        rows = np.column_stack([np.zeros(len(inst), dtype=np.int64), inst])
        x = self._features(rows, np.asarray(mention, dtype=np.float64), novel=True)
        return np.clip(self._score_pairs(x), 0.0, 1.0).astype(np.float32)

    def mention_features(self, docs: Sequence[AnalyzedText]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """How each document names the fillers of the pattern instances: ``(documents, subject columns,
        features)`` for every (document, instance) pair whose filler is mentioned, the features being
        :data:`~fahras.models.heading_features.MENTION_FEATURES` (whole-label and partial mention counts,
        share, first position, ...).  For the ensemble's calibration of subjects no training document has."""
        if not len(getattr(self, "instance_col_", ())):
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, len(MENTION_FEATURES)))
        rows, mention = self._mentions([self._scan(doc) for doc in docs])
        if not len(rows):
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, len(MENTION_FEATURES)))
        return rows[:, 0], np.asarray(self.instance_col_[rows[:, 1]], dtype=np.int64), mention

    def explain(self, doc: AnalyzedText, subject: int, top: int = 5) -> list[Evidence]:
        """The mentions of the subject's filler, grouped by their wording."""
        inst = self.col_instance_.get(int(subject))
        if inst is None:
            return []
        found = self._scan(doc)[0]
        m = found.get(int(self.instance_filler_[inst]))
        if m is None or m.count == 0:
            return []
        groups: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for start, end in m.char_spans(doc):
            groups[" ".join(doc.text[start:end].split())].append((start, end))
        total = sum(len(s) for s in groups.values())
        ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[1][0]))
        return [Evidence("term", text, len(spans) / total, spans) for text, spans in ranked[:top]]

    # -- persistence -----------------------------------------------------------
    def save_state(self, folder: Path) -> None:
        state = {
            "format": _FORMAT,
            "n_subjects": self.n_subjects_,
            "n_docs": self.n_docs_,
            "templates": self.templates_,
            "fillers": self.fillers_,
            "instances": {"column": self.instance_col_.tolist(), "template": self.instance_template_.tolist(),
                          "filler": self.instance_filler_.tolist(), "count": self.instance_count_.tolist()},
            "template_docs": self.template_docs_.tolist(),
            "template_fillers": self.template_fillers_.tolist(),
            "filler_docs": self.filler_docs_.tolist(),
            "languages": {lang: index.to_dict() for lang, index in sorted(self.langs_.items())},
            "template_terms": self.template_terms_,
            "features": list(FEATURES),
            "name_matching": self.name_matching_,
            **self.head_.to_dict(),
        }
        (folder / _STATE).write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")

    def load_state(self, folder: Path) -> None:
        state = json.loads((folder / _STATE).read_text(encoding="utf-8"))
        if state.get("format") != _FORMAT or state.get("features") != list(FEATURES):
            raise ValueError("headings model written by another version")
        self.n_subjects_ = int(state["n_subjects"])
        self.n_docs_ = int(state["n_docs"])
        self.name_matching_ = int(state.get("name_matching", 1))
        self.templates_ = list(state["templates"])
        self.fillers_ = [dict(f) for f in state["fillers"]]
        inst = state["instances"]
        self.instance_col_ = np.asarray(inst["column"], dtype=np.int64)
        self.instance_template_ = np.asarray(inst["template"], dtype=np.int64)
        self.instance_filler_ = np.asarray(inst["filler"], dtype=np.int64)
        self.instance_count_ = np.asarray(inst["count"], dtype=np.int64)
        self.template_docs_ = np.asarray(state["template_docs"], dtype=np.int64)
        self.template_fillers_ = np.asarray(state["template_fillers"], dtype=np.int64)
        self.filler_docs_ = np.asarray(state["filler_docs"], dtype=np.int64)
        self.langs_ = {lang: _LangIndex.from_dict(d, int(self.variant_prefix), self._variant_chars())
                       for lang, d in state["languages"].items()}
        self.template_terms_ = {lang: [sorted(set(t)) for t in ts] for lang, ts in state["template_terms"].items()}
        self._index_template_words()
        self.head_ = LinearHead.from_dict(state, len(FEATURES))
        if self.head_.mean is None or self.instance_col_.size and self.instance_col_.max() >= self.n_subjects_:
            raise ValueError("inconsistent headings model")
        self._index_instances()


def _analyzers(analyzer: Analyzer) -> dict[str, Analyzer]:
    """Language -> analyzer: every UN language for an auto analyzer, else one for all documents."""
    from fahras.text import AutoAnalyzer

    if isinstance(analyzer, AutoAnalyzer):
        return {lang: analyzer.analyzer_for(lang) for lang in LANGUAGES}
    return {_ANY_LANG: analyzer}


def _lang_of(doc: AnalyzedText, langs: dict) -> str:
    """The language whose analysed labels a document is matched against."""
    if doc.lang in langs:
        return doc.lang
    if _ANY_LANG in langs:
        return _ANY_LANG
    return "en" if "en" in langs else next(iter(langs))


def heading_words_key(text: str) -> str:
    """A name compared case- and punctuation-blind (its words, upper case, single spaces)."""
    return " ".join(re.findall(r"\w+", text.upper()))


def _name_forms(label: str, heads: dict[str, int]) -> list[str]:
    """Other whole forms of a qualified name: ``IRAN (ISLAMIC REPUBLIC OF)`` -> ``ISLAMIC REPUBLIC OF
    IRAN`` and, if ``heads`` says no other filler has that name, ``IRAN``."""
    found = _QUALIFIED.match(label.strip())
    if not found:
        return []
    head, qualifier = found.group("head").strip(), found.group("qualifier").strip()
    forms = [f"{qualifier} {head}"]
    if heads.get(heading_words_key(head), 0) <= 1:
        forms.append(head)
    return forms


def _index_key(lang: str, cls: str) -> str:
    return f"{lang}|{cls}"
