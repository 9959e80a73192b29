"""Find thesaurus labels in a document's terms: a phrase matcher over every concept's labels.

:class:`LabelIndex` analyses every label (preferred and alternative) of every
concept once per language, with the analyzer that the documents of that
language get, and indexes the labels by each of their terms.  Matching a
document is then:

1. its terms are mapped to label terms -- exactly, or (``variant_chars`` > 0)
   as a *variant*: both share a prefix of at least ``min_variant_prefix``
   characters and neither has more than ``variant_chars`` characters beyond it
   (Arabic light stems such as ``مشاورا``/``مشاور`` meet that way; in Arabic,
   whose derived nouns differ at the start, the shared part may also be a
   suffix: ``تشاور``/``مشاور``); Chinese terms (character n-grams) have no
   variants;
2. the inverted index (label term -> labels) counts, per label, how many of
   its distinct terms occur anywhere in the document (one ``bincount``);
3. labels whose terms all occur are checked for *phrase occurrences*: every
   term within a window of ``n_terms + max_gap`` consecutive tokens, in any
   order (``SOMALIA SITUATION`` matches "the situation in Somalia");
4. per concept the best of its labels gives the features listed in
   :data:`FEATURES`;
5. in Arabic (``roots=True``) label terms are also indexed by their root
   skeleton (:func:`fahras.text.arabic.arabic_root`: مشاور, تشاور and استشار
   all give ``ش*ر``; مسلح, اسلح and سلاح give ``سلح``).  Phrase occurrences that
   exist only when terms may meet at that level are counted apart, in
   ``lex_root``: a root is weaker evidence than a stem (unrelated words share
   skeletons), so it never makes ``lex_full`` and gets its own, lower weight.
   Skeletons are taken from the *surface* words (of the document and of the
   labels), not from the Snowball stems: the stemmer sometimes cuts a radical
   (``شارك`` participated -> ``شار``, whose skeleton ``ش*ر`` is that of
   consultation), the surface word keeps it (``شرك``);
6. occurrences that are not the words' own meaning are dropped (:meth:`LabelIndex.match`):

   * *formulas* (:data:`FORMULAS`): fixed phrases of UN documents whose words
     say nothing of the subject -- ``Member States`` / ``الدول الأعضاء``,
     ``Secretary-General``, ``Security Council``, ``agenda item 70`` ... A
     label occurrence that overlaps a formula without covering all of it is
     dropped (MEMBERS, STATES or, through the stem ``دول`` shared by "states"
     and "international", INTERNATIONAL SECURITY in "مجالس أمن الدول
     الأعضاء"); a label covering the whole formula would be kept.  Any UN
     letter or resolution is full of these phrases, so without this rule the
     labels made of their words top every ranking;
   * *words of a name*: an occurrence lying inside a longer occurrence of a
     named entity's label (``names``: places, national groups) is dropped --
     ``الاتحاد الروسي`` (Russian Federation) is neither FEDERALISM nor
     RUSSIANS, ``Democratic Republic of the Congo`` is not REPUBLIC OF THE CONGO;
   * *names are whole* (matching version 2, :data:`MATCHING`): a named
     entity's label counts only as a whole phrase of its exact terms -- no
     variants ("costs" is not COSTA RICA, "European" not EUROPE, "unity of
     all States" not UNITED STATES; Arabic, whose clitics and light stems
     need them, keeps its variants) and no partial cover ("zones" is not
     PANAMA CANAL ZONE); and a document term that is a label term itself
     meets no variants (French "réfugiés" is REFUGIES, not REFUGIEES);

7. ``lex_lead``: where the occurrences are.  A UN letter or report states its
   subject in its opening sentences ("I have the honour to transmit ... on the
   results of the consultative process ... concerning the situation in
   Kyrgyzstan"), a resolution in its first preambular paragraphs; later
   mentions develop it.  Each occurrence counts ``0.5 ** (token / lead_tokens)``
   (half as much ``lead_tokens`` tokens further on), root-level occurrences
   half that, and the feature is ``log(1 + sum)``: unlike ``lex_first``, a
   concept mentioned once early and a concept repeated early differ, and the
   decay is in tokens, not relative to the length (a subject sentence is as
   long in a long document as in a short one).

Label *specificity* is the mean inverse document frequency of the label's
terms over the labels of the same language, scaled to [0, 1]: "SECURITY"
terms are common among labels and weigh less than "KYRGYZSTAN".

The index is saved as one JSON file (terms and labels per language); the
inverted index, the IDFs and the variant keys are rebuilt when loading
(under a second for the whole UNBIS thesaurus in six languages).
"""

from __future__ import annotations

import bisect
import json
import math
import re
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from fahras.models.base import AnalyzedText
from fahras.text.matcher import LabelTerms, Occurrence, VariantPolicy, concept_labels, occurrences, window_matches

LABEL_INDEX_FILE = "labels.json"
#: The matching rules of new indexes: 1 = variants for every term and partial names (indexes
#: saved without a ``"matching"`` entry, which keep it); 2 = names whole, exact terms first.
MATCHING = 2

#: Names of the per (document, concept) features :meth:`LabelIndex.features` returns, in column order.
FEATURES = (
    "lex_full",     # 1 when a whole label occurs as a phrase, else 0
    "lex_count",    # log(1 + number of phrase occurrences of the best label)
    "lex_tf",       # occurrences / occurrences of the most frequent matched concept in the document
    "lex_cover",    # share of the best label's term weight (IDF) found anywhere in the document
    "lex_first",    # 1 - relative position of the first occurrence (1 = at the start); 0 if none
    "lex_spread",   # (last - first occurrence) / document length in tokens; 0 if none
    "lex_spec",     # specificity of the best label: mean IDF of its terms, scaled to [0, 1]
    "lex_words",    # number of terms of the best label, / 4, capped at 1
    "lex_root",     # log(1 + phrase occurrences found only by Arabic root skeleton) + log(distinct words so met)
    "lex_lead",     # log(1 + sum of 0.5 ** (position / lead_tokens) over the occurrences; root ones count half)
)

#: Fixed phrases of UN documents (per language, regular expressions over the original
#: text, case-insensitive, ending a word; except in Arabic and Chinese also starting one) whose words are not the document's subject: the Member
#: States, the Organization's principal organs and officers, the agenda item line and
#: the permanent representative of the letter heading.  A label occurrence overlapping
#: one of them without covering it is not counted (see the module docstring).  Kept
#: short on purpose: only phrases that occur in most UN documents whatever their subject.
FORMULAS: dict[str, tuple[str, ...]] = {
    "en": (r"member\s+states?", r"secretary[-\s]general", r"security\s+council", r"general\s+assembly",
           r"united\s+nations", r"permanent\s+(?:representative|mission)s?", r"agenda\s+items?\s+\d+",
           r"items?\s+\d+\s+of\s+the\s+(?:provisional\s+)?agenda"),
    "fr": (r"[ée]tats?\s+membres?", r"secr[ée]taire\s+g[ée]n[ée]ral", r"conseil\s+de\s+s[ée]curit[ée]",
           r"assembl[ée]e\s+g[ée]n[ée]rale", r"nations\s+unies", r"(?:repr[ée]sentant|mission)\s+permanente?",
           r"points?\s+\d+\s+de\s+l.ordre\s+du\s+jour"),
    "es": (r"estados\s+miembros?", r"secretari[oa]\s+general", r"consejo\s+de\s+seguridad",
           r"asamblea\s+general", r"naciones\s+unidas", r"(?:representante|misi[óo]n)\s+permanente",
           r"temas?\s+\d+\s+del\s+programa"),
    "ru": (r"государств\w*[-\s]+член\w*", r"генеральн\w+\s+секретар\w+", r"совет\w*\s+безопасности",
           r"генеральн\w+\s+ассамбле\w+", r"объединенных\s+наций", r"постоянн\w+\s+(?:представител|представительств)\w*",
           r"пункт\w*\s+\d+\s+повестки\s+дня"),
    "zh": (r"会员国", r"秘书长", r"安全理事会", r"安理会", r"联合国", r"常驻代表", r"议程项目\s*\d+"),
    # Arabic: matched at the end of a word only (clitics such as و، ل، ب may precede)
    "ar": (r"دول\s+(?:ال)?[أا]عضاء", r"[أا]مين\s+(?:ال)?عام", r"مجلس\s+(?:ال)?[أا]من",
           r"جمعية\s+(?:ال)?عامة", r"[أا]مم\s+(?:ال)?متحدة", r"(?:ممثل|بعثة)\s+(?:ال)?دائمة?",
           r"بند\s+\d+\s+من\s+جدول\s+(?:ال)?[أا]عمال"),
}

_NO_VARIANTS = frozenset({"zh"})  # languages whose terms are character n-grams: no variants
#: Languages whose derived words differ at the start (Arabic verbal nouns and
#: participles: مشاورة / تشاور): there a variant may also drop up to
#: ``variant_chars`` leading characters, the rest being equal.
_LEADING_VARIANTS = frozenset({"ar"})
#: Languages whose terms are also matched by root skeleton (``roots=True``).
_ROOT_LANGS = frozenset({"ar"})


@dataclass
class _LangIndex:
    """The analysed labels of one language."""

    terms: list[str]
    label_concept: np.ndarray     # label -> concept column
    label_ptr: np.ndarray         # label -> slice of label_terms
    label_terms: np.ndarray       # term ids of every label, in label order
    term_id: dict[str, int] = field(init=False)
    idf: np.ndarray = field(init=False)
    uniq: list[np.ndarray] = field(init=False)      # distinct term ids per label
    n_uniq: np.ndarray = field(init=False)
    idf_sum: np.ndarray = field(init=False)
    spec: np.ndarray = field(init=False)
    inv_ptr: np.ndarray = field(init=False)         # term -> slice of inv_labels
    inv_labels: np.ndarray = field(init=False)
    #: per term, the root skeletons of the label words it was analysed from (Arabic; None = of the term)
    surface_roots: list[list[str]] | None = None
    matcher: LabelTerms = field(init=False)             # the terms with their variant index
    roots: dict[str, list[int]] = field(init=False)     # root skeleton -> term ids (Arabic)

    def build(self, variant_chars: int, min_prefix: int, lang: str, roots: bool = False,
              matching: int = MATCHING) -> "_LangIndex":
        policy = VariantPolicy("keys", 0 if lang in _NO_VARIANTS else variant_chars, min_prefix,
                               leading=lang in _LEADING_VARIANTS,
                               exact_first=matching >= 2 and lang not in _LEADING_VARIANTS)
        self.matcher = LabelTerms(self.terms, policy)
        self.term_id = self.matcher.term_id
        n_labels, n_terms = len(self.label_concept), len(self.terms)
        self.uniq = [np.unique(self.label_terms[self.label_ptr[i]:self.label_ptr[i + 1]]) for i in range(n_labels)]
        self.n_uniq = np.array([len(u) for u in self.uniq], dtype=np.int32)
        df = np.zeros(n_terms, dtype=np.float64)
        for u in self.uniq:
            df[u] += 1
        self.idf = np.log((n_labels + 1) / (df + 1)) + 1.0
        self.idf_sum = np.array([self.idf[u].sum() for u in self.uniq])
        top = math.log(n_labels + 1) + 1.0
        self.spec = np.array([self.idf[u].mean() / top if len(u) else 0.0 for u in self.uniq])
        pairs = sorted((t, i) for i, u in enumerate(self.uniq) for t in u.tolist())
        self.inv_labels = np.array([i for _, i in pairs], dtype=np.int32)
        counts = np.bincount(np.array([t for t, _ in pairs], dtype=np.int64), minlength=n_terms)
        self.inv_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.roots = {}
        if roots and lang in _ROOT_LANGS:
            for tid, term in enumerate(self.terms):
                keys = self.surface_roots[tid] if self.surface_roots is not None else [_root_key(term)]
                for key in keys:
                    if key is not None:
                        self.roots.setdefault(key, []).append(tid)
        return self

    def label_term_list(self, label: int) -> np.ndarray:
        return self.label_terms[self.label_ptr[label]:self.label_ptr[label + 1]]


def _exact_positions(terms: Sequence[str], term_id: dict[str, int]) -> dict[int, list[int]]:
    """Label term id -> the positions of ``terms`` that are exactly that label term."""
    out: dict[int, list[int]] = {}
    for pos, tid in enumerate(map(term_id.get, terms)):
        if tid is not None:
            out.setdefault(tid, []).append(pos)
    return out


def _root_key(term: str) -> str | None:
    from fahras.text.arabic import arabic_root

    return None if term.isdigit() else arabic_root(term)


@dataclass
class LexicalMatches:
    """What the matcher found in one document (one language's labels)."""

    features: np.ndarray                          # concepts x len(FEATURES)
    occurrences: dict[int, list[Occurrence]]      # concept -> phrase occurrences of its labels
    partial: dict[int, list[tuple[int, int]]]     # concept -> spans of matched terms of partial labels
    root: dict[int, list[Occurrence]] = field(default_factory=dict)  # concept -> occurrences found only by root


class LabelIndex:
    """Every concept's labels, analysed per language, indexed for phrase matching.

    Parameters
    ----------
    max_gap : extra tokens allowed inside a phrase occurrence (0 = the label's
        terms must be adjacent; stop words are already gone).
    variant_chars : a document term also matches a label term when both share a
        prefix of ``min_variant_prefix`` characters or more and neither has more
        than this many characters beyond it (0 = exact terms only).
    min_variant_prefix : shortest shared prefix for a variant match.
    variant_weight : weight of a term matched only as a variant (vs 1 for an exact match).
    roots : in Arabic, also find label phrases whose terms meet only by root
        skeleton (feature ``lex_root``; False = that feature is always 0).
    lead_tokens : half-life, in tokens from the start, of an occurrence's weight in ``lex_lead``.
    """

    def __init__(self, max_gap: int = 1, variant_chars: int = 2, min_variant_prefix: int = 4,
                 variant_weight: float = 0.8, roots: bool = True, lead_tokens: float = 100.0):
        self.max_gap = max_gap
        self.variant_chars = variant_chars
        self.min_variant_prefix = min_variant_prefix
        self.variant_weight = variant_weight
        self.roots = roots
        self.lead_tokens = lead_tokens
        self.matching = MATCHING  # a loaded index: the version it was built with
        self.n_concepts = 0
        self.langs: dict[str, _LangIndex] = {}

    # -- building ------------------------------------------------------------------
    def build(self, concepts: Sequence, analyzer_for: Callable[[str], object], langs: Sequence[str]) -> "LabelIndex":
        """Analyse the labels of ``concepts`` (column order) in each of ``langs``.

        ``analyzer_for(lang)`` returns the analyzer for that language's labels.
        Concepts without a label in a language are not matched in it (no fallback:
        an English label is not looked for in an Arabic text).
        """
        self.n_concepts = len(concepts)
        for lang in langs:
            analyzer = analyzer_for(lang)
            terms: dict[str, int] = {}
            owner, ptr, flat = [], [0], []
            with_roots = bool(self.roots) and lang in _ROOT_LANGS
            roots_of: dict[int, set[str]] = {}
            for col, concept in enumerate(concepts):
                if concept is None:
                    continue
                for label in concept_labels(concept, lang):
                    tokens = analyzer.tokens(label)
                    ids = [terms.setdefault(t.term, len(terms)) for t in tokens]
                    if not ids:
                        continue
                    if with_roots:
                        for t, tid in zip(tokens, ids):
                            key = _root_key(label[t.start:t.end])
                            if key is not None:
                                roots_of.setdefault(tid, set()).add(key)
                    owner.append(col)
                    flat.extend(ids)
                    ptr.append(len(flat))
            self.langs[lang] = _LangIndex(
                terms=list(terms), label_concept=np.array(owner, dtype=np.int32),
                label_ptr=np.array(ptr, dtype=np.int64), label_terms=np.array(flat, dtype=np.int32),
                surface_roots=[sorted(roots_of.get(i, ())) for i in range(len(terms))] if with_roots else None,
            ).build(self.variant_chars, self.min_variant_prefix, lang, bool(self.roots), self.matching)
        return self

    # -- saving --------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"n_concepts": self.n_concepts, "matching": self.matching, "langs": {
            lang: {"terms": idx.terms, "concept": idx.label_concept.tolist(),
                   "ptr": idx.label_ptr.tolist(), "label_terms": idx.label_terms.tolist(),
                   **({"roots": idx.surface_roots} if idx.surface_roots is not None else {})}
            for lang, idx in self.langs.items()}}

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")), encoding="utf-8")

    def load_dict(self, data: dict) -> "LabelIndex":
        self.n_concepts = int(data["n_concepts"])
        self.matching = int(data.get("matching", 1))
        self.langs = {}
        for lang, d in data["langs"].items():
            self.langs[lang] = _LangIndex(
                terms=list(d["terms"]), label_concept=np.array(d["concept"], dtype=np.int32),
                label_ptr=np.array(d["ptr"], dtype=np.int64), label_terms=np.array(d["label_terms"], dtype=np.int32),
                surface_roots=d.get("roots"),
            ).build(self.variant_chars, self.min_variant_prefix, lang, bool(self.roots), self.matching)
        return self

    def load(self, path: Path) -> "LabelIndex":
        return self.load_dict(json.loads(path.read_text(encoding="utf-8")))

    # -- matching ------------------------------------------------------------------
    def languages_of(self, doc: AnalyzedText) -> list[str]:
        """The indexed languages whose labels are looked for in ``doc``: its own language;
        every indexed one when its language is unknown (an analyser that mixes languages)."""
        if doc.lang in self.langs:
            return [doc.lang]
        if doc.lang is None or len(self.langs) == 1:
            return list(self.langs)
        return ["en"] if "en" in self.langs else []

    def match(self, doc: AnalyzedText, names: np.ndarray | None = None) -> LexicalMatches:
        """Features (concepts x :data:`FEATURES`) and occurrences of the labels in ``doc``.

        ``names`` (concepts, bool): the named entities, whose label occurrences
        take the words inside them (see the module docstring); None = none.
        """
        result = LexicalMatches(np.zeros((self.n_concepts, len(FEATURES)), dtype=np.float32), {}, {})
        if not doc.tokens:
            return result
        for k, lang in enumerate(self.languages_of(doc)):
            found = self._match_lang(doc, lang, names)
            if k == 0:
                result = found
                continue
            np.maximum(result.features, found.features, out=result.features)
            for col, occ in found.occurrences.items():
                result.occurrences.setdefault(col, []).extend(occ)
            for col, spans in found.partial.items():
                result.partial.setdefault(col, []).extend(spans)
            for col, occ in found.root.items():
                result.root.setdefault(col, []).extend(occ)
        return result

    def _match_lang(self, doc: AnalyzedText, lang: str, names: np.ndarray | None = None) -> LexicalMatches:
        feats = np.zeros((self.n_concepts, len(FEATURES)), dtype=np.float32)
        idx = self.langs[lang]
        n_tokens = len(doc.tokens)

        # 1. document positions of each label term (exact, or as a variant)
        positions, weight = idx.matcher.positions(doc.tokens.terms, self.variant_weight)
        # document positions of label terms met only by root skeleton (Arabic), the
        # skeletons taken from the surface words
        root_positions: dict[int, list[int]] = {}
        if idx.roots:
            by_root: dict[str, list[int]] = {}
            for pos, tok in enumerate(doc.tokens):
                key = _root_key(doc.text[tok.start:tok.end])
                if key is not None:
                    by_root.setdefault(key, []).append(pos)
            for key, pos_list in by_root.items():
                for rid in idx.roots.get(key, ()):
                    root_positions.setdefault(rid, []).extend(pos_list)
            for rid in list(root_positions):
                extra = set(root_positions[rid]) - set(positions.get(rid, ()))
                if extra:
                    root_positions[rid] = sorted(extra)
                else:
                    del root_positions[rid]
        if not positions and not root_positions:
            return LexicalMatches(feats, {}, {})
        for pos_list in root_positions.values():
            pos_list.sort()

        # 2. distinct matched terms per label
        tids = np.fromiter(positions, dtype=np.int64, count=len(positions))
        chunks = [idx.inv_labels[idx.inv_ptr[t]:idx.inv_ptr[t + 1]] for t in tids]
        hit_labels = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int32)
        n_hit = np.bincount(hit_labels, minlength=len(idx.label_concept))
        candidates = np.flatnonzero(n_hit)

        # 3. phrase occurrences per label, less those inside formulas; then the
        #    names' occurrences take the words inside them
        formulas = _Spans(formula_spans(doc, lang))
        # names whole (matching 2): a name's label only as a phrase of its exact terms
        whole_names = names if self.matching >= 2 and names is not None else None
        exact_names = whole_names is not None and lang not in _LEADING_VARIANTS
        exact: dict[int, list[int]] | None = None
        raw: dict[int, list[Occurrence]] = {}
        for label in candidates.tolist():
            uniq = idx.uniq[label]
            if n_hit[label] == len(uniq):
                pos_lists = [positions[int(t)] for t in uniq]
                if exact_names and whole_names[int(idx.label_concept[label])]:
                    if exact is None:
                        exact = _exact_positions(doc.tokens.terms, idx.term_id)
                    if any(int(t) not in exact for t in uniq):
                        continue
                    pos_lists = [exact[int(t)] for t in uniq]
                occ = self._phrases(label, pos_lists, len(idx.label_term_list(label)), doc)
                raw[label] = [o for o in occ if _outside_formulas(o, formulas)]
        name_spans: list[tuple[int, int, int]] = _Spans()
        if names is not None:
            for label, occ in raw.items():
                col = int(idx.label_concept[label])
                if names[col]:
                    name_spans.extend((o.first, o.last, col) for o in occ if o.last > o.first)
        blocked = {p for lo, hi in formulas for p in range(lo, hi + 1)}

        best: dict[int, tuple] = {}
        occurrences: dict[int, list[Occurrence]] = {}
        partial: dict[int, list[tuple[int, int]]] = {}
        for label in candidates.tolist():
            uniq = idx.uniq[label]
            col = int(idx.label_concept[label])
            occ = [o for o in raw.get(label, ()) if _outside_names(o, col, name_spans)]
            if not occ and whole_names is not None and whole_names[col]:
                continue  # words of a name are not the name
            if occ:
                cover = sum(idx.idf[t] * weight.get(int(t), 0.0) for t in uniq) / idx.idf_sum[label]
            else:  # terms found only inside formulas do not count (inside names they do: partial evidence)
                cover = sum(idx.idf[t] * weight.get(int(t), 0.0) for t in uniq
                            if any(p not in blocked for p in positions.get(int(t), ()))) / idx.idf_sum[label]
            key = (1 if occ else 0, len(occ), cover, float(idx.spec[label]))
            if cover <= 0:
                continue
            if col not in best or key > best[col][0]:
                best[col] = (key, label)
            if occ:
                occurrences.setdefault(col, []).extend(occ)
            else:
                spans = partial.setdefault(col, [])
                for t in uniq:
                    for p in islice((p for p in positions.get(int(t), ()) if p not in blocked), 3):
                        spans.append((doc.tokens[p].start, doc.tokens[p].end))
        root_count = self._root_phrases(idx, doc, positions, root_positions, n_hit,
                                        lambda o, col: _outside_formulas(o, formulas)
                                        and _outside_names(o, col, name_spans))

        max_count = max((len(v) for v in occurrences.values()), default=0)
        root_occ: dict[int, list[Occurrence]] = {}
        lead = np.zeros(self.n_concepts, dtype=np.float64)
        half = float(self.lead_tokens)
        for col, (count, occ) in root_count.items():
            # distinct words (stems) of the root-level and stem-level occurrences: one derived
            # form sharing a skeleton may be a coincidence (مجلس council / جلسات sessions), the
            # label's root in several derivations of one document (مشاورات, التشاورية,
            # الاستشارية) hardly is
            forms = {doc.tokens[p].term for o in occ + occurrences.get(col, [])
                     for p in range(o.first, o.last + 1)}
            feats[col, 8] = math.log1p(count) + math.log(max(len(forms), 1))
            root_occ[col] = occ
            lead[col] += 0.5 * sum(0.5 ** (o.first / half) for o in occ)
        for col, occ in occurrences.items():
            lead[col] += sum(0.5 ** (first / half) for first in {o.first for o in occ})
        feats[:, 9] = np.log1p(lead)
        for col, ((full, count, cover, spec), label) in best.items():
            row = feats[col]
            row[0] = full
            row[1] = math.log1p(count)
            row[2] = count / max_count if max_count else 0.0
            row[3] = min(cover, 1.0)
            if full:
                occ = occurrences[col]
                first = min(o.first for o in occ)
                last = max(o.last for o in occ)
                row[4] = 1.0 - first / n_tokens
                row[5] = (last - first) / n_tokens
            row[6] = spec
            row[7] = min(len(idx.label_term_list(label)) / 4.0, 1.0)
        return LexicalMatches(feats, occurrences, partial, root_occ)

    def _root_phrases(self, idx: _LangIndex, doc: AnalyzedText, positions: dict[int, list[int]],
                      root_positions: dict[int, list[int]], n_hit: np.ndarray, keep=None
                      ) -> dict[int, tuple[int, list[Occurrence]]]:
        """Per concept, its best label's phrase occurrences that need a root-level term match.

        Labels with a term met only by root are checked for phrase occurrences
        over the stem and root positions together; an occurrence that is not
        also a stem-level occurrence counts (and passes ``keep(occurrence, concept)``).
        """
        if not root_positions:
            return {}
        rids = np.fromiter(root_positions, dtype=np.int64, count=len(root_positions))
        chunks = [idx.inv_labels[idx.inv_ptr[t]:idx.inv_ptr[t + 1]] for t in rids]
        labels = np.unique(np.concatenate(chunks)) if chunks else np.zeros(0, dtype=np.int32)
        out: dict[int, tuple[int, list[Occurrence]]] = {}
        for label in labels.tolist():
            uniq = idx.uniq[label]
            if any(int(t) not in positions and int(t) not in root_positions for t in uniq):
                continue
            n_terms = len(idx.label_term_list(label))
            both = [sorted(set(positions.get(int(t), ())) | set(root_positions.get(int(t), ()))) for t in uniq]
            occ = self._phrases(label, both, n_terms, doc)
            if n_hit[label] == len(uniq):
                stem_level = {(o.first, o.last) for o in
                              self._phrases(label, [positions[int(t)] for t in uniq], n_terms, doc)}
                occ = [o for o in occ if (o.first, o.last) not in stem_level]
            col = int(idx.label_concept[label])
            if keep is not None:
                occ = [o for o in occ if keep(o, col)]
            if occ and len(occ) > out.get(col, (0, []))[0]:
                out[col] = (len(occ), occ)
        return out

    def _phrases(self, label: int, pos_lists: list[list[int]], n_terms: int, doc: AnalyzedText) -> list[Occurrence]:
        """Non-overlapping windows of at most ``n_terms + max_gap`` tokens holding every term."""
        return occurrences(label, window_matches(pos_lists, n_terms, self.max_gap), doc.tokens.starts,
                           doc.tokens.ends)


_FORMULA_RES: dict[str, re.Pattern | None] = {}


def _formula_re(lang: str) -> re.Pattern | None:
    if lang not in _FORMULA_RES:
        patterns = FORMULAS.get(lang)
        if not patterns:
            _FORMULA_RES[lang] = None
        else:
            start = "" if lang in ("ar", "zh") else r"(?<!\w)"
            end = "" if lang == "zh" else r"(?!\w)"
            _FORMULA_RES[lang] = re.compile(f"{start}(?:{'|'.join(patterns)}){end}", re.IGNORECASE)
    return _FORMULA_RES[lang]


def formula_spans(doc: AnalyzedText, lang: str) -> list[tuple[int, int]]:
    """Token ranges (first, last) of the :data:`FORMULAS` of ``lang`` in ``doc``: the
    tokens overlapping each formula's characters."""
    pattern = _formula_re(lang)
    if pattern is None or not doc.tokens:
        return []
    starts, ends = doc.tokens.starts, doc.tokens.ends
    spans = []
    for m in pattern.finditer(doc.text):
        lo = bisect.bisect_right(ends, m.start())
        hi = bisect.bisect_left(starts, m.end()) - 1
        if lo <= hi:
            spans.append((lo, hi))
    return spans


def _outside_formulas(o: Occurrence, formulas: list[tuple[int, int]]) -> bool:
    """False when the occurrence overlaps a formula without covering all of it."""
    return not any(o.first <= hi and o.last >= lo and not (o.first <= lo and o.last >= hi)
                   for lo, hi in _near(formulas, o))


def _outside_names(o: Occurrence, col: int, names: list[tuple[int, int, int]]) -> bool:
    """False when the occurrence lies inside a longer occurrence of another concept's name."""
    return not any(other != col and lo <= o.first and o.last <= hi and hi - lo > o.last - o.first
                   for lo, hi, other in _near(names, o))


class _Spans(list):
    """Token spans ``(lo, hi, ...)`` with an index by ``lo``, built when first asked (after the list
    is complete; rebuilt if it grew): :func:`_near` finds the spans that may meet an occurrence by
    bisection, where a scan of all of them made the lexical features quadratic (a 1 MB document
    has thousands of formulas and name occurrences: minutes instead of seconds)."""

    def near(self, first: int, last: int) -> list:
        """Every span that overlaps tokens ``first..last`` (and a few that do not)."""
        if getattr(self, "_size", -1) != len(self):
            self._order = sorted(self, key=lambda span: span[0])
            self._los = [span[0] for span in self._order]
            self._width = max((span[1] - span[0] for span in self._order), default=0)
            self._size = len(self)
        # lo <= last and hi >= first, with hi <= lo + width
        return self._order[bisect.bisect_left(self._los, first - self._width):bisect.bisect_right(self._los, last)]


def _near(spans: list, o: Occurrence) -> list:
    near = getattr(spans, "near", None)
    return near(o.first, o.last) if near is not None else spans
