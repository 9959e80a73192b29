"""Concept search: find thesaurus concepts from a few typed letters, in any UN language.

:class:`ConceptSearch` answers "which concepts is the user thinking of?" for
``fahras vocab search``, the "did you mean" of ``fahras vocab show`` and the
service's autocomplete.  It looks at every preferred and alternative label in
the six languages and ranks what matches:

1. the whole label equals the query (``consultations``);
2. the label starts with the query (``consult`` -> ``CONSULTATIONS``);
3. every word of the query is a whole word of the label, in any order
   (``armed women conflicts`` -> ``WOMEN IN ARMED CONFLICTS``);
4. every word of the query starts a word of the label (``wom arm confl``);
5. the label contains the query anywhere (Chinese is written without
   spaces: ``协商`` is found inside ``协商一致``);
6. for a query of several words that no label has all of: the labels with
   most of them (``violence against women`` -> ``WOMEN``, ``VIOLENCE``).

Within a rank, shorter labels come first, then preferred labels before
alternative ones.  Each concept is listed once, under its best-matching label.

Matching ignores case, accents and the usual spelling variants of Arabic
(harakat, tatweel, the hamza forms of alef, ``ى``/``ي``, ``ة``/``ه``); an
Arabic word also matches without its article or a one-letter prefix before
it (``مشاور`` finds ``المشاورات``).  The text layer has richer per-language
normalisation, but the vocabulary layer may not import it (layers import one
way), so the folding needed for matching labels is written out here.

The index is built once in ``__init__`` and never changed afterwards, so one
:class:`ConceptSearch` can serve many threads at once.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass
from typing import Sequence

from fahras.vocab.concept import LANGUAGES, Concept, Vocabulary

__all__ = ["ConceptSearch", "SearchHit", "search_key"]


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One concept found: the label that matched it, in which language, and how well."""

    concept: Concept
    score: float  # higher is better; in (0, 1]
    label: str  # the label that matched, as written in the thesaurus
    lang: str  # the language of that label


# Characters that exports, keyboards and thesauri use interchangeably.
_FOLD = str.maketrans({
    "\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2013": "-", "\u2014": "-", "\u2010": "-",
    # Arabic: the alef forms without a decomposition, alef maqsura / Persian yeh,
    # Persian kaf, teh marbuta, tatweel.
    "\u0671": "\u0627", "\u0649": "\u064a", "\u06cc": "\u064a", "\u06a9": "\u0643",
    "\u0629": "\u0647", "\u0640": None,
    # Russian
    "\u0451": "\u0435",
})
_WORD = re.compile(r"[^\W_]+")
_CJK = re.compile("[\u2e80-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
# An Arabic word may carry the article, or a conjunction/preposition and the article.
_AR_PREFIXES = ("\u0648\u0627\u0644", "\u0628\u0627\u0644", "\u0643\u0627\u0644", "\u0641\u0627\u0644",
                "\u0644\u0644", "\u0627\u0644")  # وال بال كال فال لل ال
_AR_FIRST = frozenset(p[0] for p in _AR_PREFIXES)

# Ranks (lower is better), see the module docstring.
EXACT, LABEL_PREFIX, WHOLE_WORDS, WORD_PREFIX, SUBSTRING, SOME_WORDS = range(6)
_RANKS = 6


def search_key(text: str) -> str:
    """The form labels and queries are compared in: case, accents, Arabic variants and punctuation folded.

    Words are separated by single spaces; punctuation counts as a space
    (``GENDER-BASED`` -> ``gender based``).
    """
    text = text.casefold()
    if not text.isascii():
        # Dropping the combining marks of the decomposed text removes accents and harakat,
        # and folds ``ё`` to ``е`` and the hamza/madda forms of alef (أ إ آ) to ``ا``.
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
        text = unicodedata.normalize("NFC", text).translate(_FOLD)
    return " ".join(_WORD.findall(text))


def _arabic_variants(word: str) -> tuple[str, ...]:
    """The word, and the word without its article (or a prefix and article), if long enough."""
    if word[:1] not in _AR_FIRST:
        return (word,)
    for prefix in _AR_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 2:
            return (word, word[len(prefix):])
    return (word,)


class ConceptSearch:
    """A read-only search index over the labels of a :class:`~fahras.vocab.Vocabulary`."""

    def __init__(self, vocab: Vocabulary) -> None:
        lang_order = {code: i for i, code in enumerate(LANGUAGES)}
        concepts: list[Concept] = []
        # One entry per (concept, label): concept index, label as written, language,
        # preferred (0) or alternative (1), folded form.
        entries: list[tuple[int, str, str, int, str]] = []
        labels: list[tuple[str, int]] = []  # (folded label or variant, entry)
        words: list[tuple[str, int]] = []  # (folded word or variant, entry)
        seen: set[tuple[int, str]] = set()
        for concept in vocab:
            ci = len(concepts)
            concepts.append(concept)
            pairs = [(lang, label, 0) for lang, label in concept.labels.items()]
            pairs += [(lang, alt, 1) for lang, alts in concept.alt_labels.items() for alt in alts]
            for lang, label, alt in pairs:
                key = search_key(label or "")
                if not key or (ci, key + "\0" + lang) in seen:
                    continue
                seen.add((ci, key + "\0" + lang))
                ei = len(entries)
                entries.append((ci, label, lang, alt, key))
                label_words = key.split(" ")
                variants = {key}
                if lang == "ar" or not label_words[0].isascii():
                    first = _arabic_variants(label_words[0])
                    variants.update(" ".join([v, *label_words[1:]]) for v in first)
                for v in variants:
                    labels.append((v, ei))
                for w in set(label_words):
                    for v in _arabic_variants(w):
                        words.append((v, ei))
        labels.sort()
        words.sort()
        self._concepts = tuple(concepts)
        self._entries = tuple(entries)
        self._label_keys = tuple(k for k, _ in labels)
        self._label_entries = tuple(e for _, e in labels)
        self._word_keys = tuple(k for k, _ in words)
        self._word_entries = tuple(e for _, e in words)
        self._lang_order = lang_order

    def __len__(self) -> int:
        return len(self._concepts)

    # -------------------------------------------------------------- lookups
    def _prefixed(self, keys: Sequence[str], values: Sequence[int], prefix: str) -> list[tuple[str, int]]:
        lo = bisect.bisect_left(keys, prefix)
        hi = bisect.bisect_left(keys, prefix + "\U0010ffff")
        return [(keys[i], values[i]) for i in range(lo, hi)]

    def _word_matches(self, word: str) -> tuple[set[int], set[int]]:
        """Entries with a word equal to ``word``, and entries with a word starting with it."""
        whole, prefix = set(), set()
        for key, entry in self._prefixed(self._word_keys, self._word_entries, word):
            prefix.add(entry)
            if key == word:
                whole.add(entry)
        return whole, prefix

    def search(self, text: str, limit: int = 10, langs: Sequence[str] | None = None) -> list[SearchHit]:
        """The concepts whose labels best match ``text``, best first, at most ``limit``.

        ``langs`` restricts the labels searched (and shown) to those languages.
        """
        query = search_key(text)
        if not query or limit <= 0:
            return []
        allowed = frozenset(langs) if langs else None
        query_words = query.split(" ")
        # concept -> (sort key, entry) of its best label so far
        best: dict[int, tuple[tuple, int]] = {}

        def consider(entry: int, rank: int, matched: int) -> None:
            ci, label, lang, alt, key = self._entries[entry]
            if allowed is not None and lang not in allowed:
                return
            sort_key = (rank, -matched, len(key), alt, self._lang_order.get(lang, len(LANGUAGES)), key, label)
            if ci not in best or sort_key < best[ci][0]:
                best[ci] = (sort_key, entry)

        # The ranks are strict: once ``limit`` concepts are found, later (worse) ranks cannot enter.
        for key, entry in self._prefixed(self._label_keys, self._label_entries, query):
            consider(entry, EXACT if key == query else LABEL_PREFIX, len(query_words))
        if len(best) < limit:
            whole_sets, prefix_sets = zip(*(self._word_matches(word) for word in query_words))
            whole_all = set.intersection(*whole_sets)
            prefix_all = set.intersection(*prefix_sets)
            for entry in whole_all:
                consider(entry, WHOLE_WORDS, len(query_words))
            for entry in prefix_all - whole_all:
                consider(entry, WORD_PREFIX, len(query_words))
            # Substrings: always for Chinese, for other scripts only from three characters on
            # (two letters are inside a third of all labels).
            if len(best) < limit and (_CJK.search(query) or len(query) >= 3):
                for entry, item in enumerate(self._entries):
                    if query in item[4]:
                        consider(entry, SUBSTRING, len(query_words))
            # Several words, not all found in one label: the labels with most of them.
            if len(best) < limit and len(query_words) > 1:
                counts: dict[int, int] = {}
                for word, prefix in zip(query_words, prefix_sets):
                    if len(word) < 2 and not _CJK.match(word):
                        continue  # one letter ("d" of "cote d ivoire") starts too many words
                    for entry in prefix:
                        counts[entry] = counts.get(entry, 0) + 1
                for entry, matched in counts.items():
                    consider(entry, SOME_WORDS, matched)
        ordered = sorted(best.items(), key=lambda item: (item[1][0], self._concepts[item[0]].uri))[:limit]
        hits = []
        n_words = len(query_words)
        for ci, ((rank, matched, length, *_), entry) in ordered:
            _, label, lang, _, _ = self._entries[entry]
            score = (_RANKS - rank - min(length, 200) / 201) / _RANKS
            if rank == SOME_WORDS:
                score *= -matched / n_words
            hits.append(SearchHit(concept=self._concepts[ci], score=round(score, 6), label=label, lang=lang))
        return hits
