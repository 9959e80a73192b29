"""Arabic analyzer: normalisation, light stemming (Snowball Arabic), stop words, lemmas.

Each word is found in the original text (harakat and tatweel included, so
offsets cover the whole written word), normalised with
:func:`fahras.text.normalize.normalize_arabic` *keeping* ``ة``, checked
against the stop words, stemmed with PyStemmer's Snowball Arabic stemmer
(which uses ``ة`` to recognise the feminine ending: ``المتحدة`` -> ``متحد``),
and any ``ة`` left in the stem is then folded to ``ه``, so no term ever
contains ``ة`` and both spellings of a word ending the stemmer leaves alone
meet.

With ``lemmas=True`` the dictionary lemma from simplemma is added as a second
token at the same offsets when it differs from the stem (``الإنسانية``: stem
``انسان``, lemma ``انساني``).  It helps match thesaurus labels whose words the
stemmer cuts differently.
"""

from __future__ import annotations

import re
import unicodedata

from fahras.text.analyzer import Analyzer, ThreadStemmers, Token, register_analyzer
from fahras.text.normalize import WORD, normalize_arabic
from fahras.text.stopwords import stop_words

_MARKS = re.compile("[\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06DC\u06DF-\u06E8\u06EA-\u06ED\u0640]")


def _unmarked(word: str) -> str:
    """NFKC, harakat and tatweel removed, hamza forms kept: the form simplemma knows."""
    return _MARKS.sub("", unicodedata.normalize("NFKC", word))


@register_analyzer
class ArabicAnalyzer(Analyzer):
    """Normalised, stop-word-filtered, Snowball-stemmed Arabic words (Latin words lower-cased)."""

    name = "arabic"

    def __init__(self, min_length: int = 2, lemmas: bool = False, stop_words: bool = True):
        self.min_length = int(min_length)
        self.lemmas = bool(lemmas)
        self.stop_words = bool(stop_words)
        self._stemmers = ThreadStemmers("arabic")
        self._stop = _stop_set() if self.stop_words else frozenset()

    @classmethod
    def from_spec(cls, arg: str) -> "ArabicAnalyzer":
        """``"arabic:lemmas"`` turns lemmas on."""
        from fahras.errors import UsageError

        if arg != "lemmas":
            raise UsageError(f"unknown option {arg!r} for the Arabic analyzer (try 'arabic:lemmas')")
        return cls(lemmas=True)

    def tokens(self, text: str) -> list[Token]:
        keep = []
        for m in WORD.finditer(text):
            raw = m.group()
            word = normalize_arabic(raw, teh_marbuta=False).lower()
            if len(word) >= self.min_length and word not in self._stop:
                keep.append((raw, word, m.start(), m.end()))
        stems = self._stemmers.get().stemWords([w for _, w, _, _ in keep])
        out = []
        for stem, (raw, _, start, end) in zip(stems, keep, strict=True):
            stem = stem.replace("ة", "ه")
            out.append(Token(stem, start, end))
            if self.lemmas:
                lemma = _lemma(raw)
                if lemma and lemma != stem and lemma not in self._stop:
                    out.append(Token(lemma, start, end))
        return out

    def config(self) -> dict:
        return {"name": self.name, "min_length": self.min_length, "lemmas": self.lemmas,
                "stop_words": self.stop_words}


def _lemma(raw: str) -> str | None:
    """simplemma's Arabic lemma of a word, fully normalised (``ة`` -> ``ه``).

    None for words that are not Arabic or that the dictionary leaves as they are.
    """
    word = _unmarked(raw)
    if not any("\u0621" <= ch <= "\u064A" for ch in word):
        return None
    import simplemma

    lemma = simplemma.lemmatize(word, lang="ar")
    if lemma == word:  # unknown to the dictionary (or already a lemma): the stem says enough
        return None
    return normalize_arabic(lemma).lower()


def _stop_set() -> frozenset[str]:
    return stop_words("ar")
