"""Snowball analyzers for the Latin- and Cyrillic-script UN languages (fr, es, ru, en).

Differences from :class:`fahras.text.analyzer.SnowballAnalyzer` (which stays
the English default because trained models depend on it): words keep their
combining marks (a decomposed ``é`` is not split), each language has its own
stop words, and accent folding follows the language (see
:mod:`fahras.text.normalize`: Spanish keeps ``ñ``, Russian folds only ``ё``).
"""

from __future__ import annotations

import unicodedata

from fahras.errors import UsageError
from fahras.text.analyzer import (
    Analyzer,
    ThreadStemmers,
    Tokens,
    distinct,
    register_analyzer,
    splitter,
    tokens_from_terms,
    words_with_ends,
)
from fahras.text.normalize import WORD, fold, fold_russian
from fahras.text.stopwords import stop_words

_WORD_SPLIT = splitter(WORD)
_ALGORITHMS = {"en": "english", "fr": "french", "es": "spanish", "ru": "russian"}


@register_analyzer
class StemAnalyzer(Analyzer):
    """Words, lower-cased, stop words dropped, Snowball-stemmed, accents folded.

    ``min_length`` drops shorter words; ``fold_accents`` applies the
    language's folding to the stems and, with ``fold_before_stem`` (the
    default), to the words before stemming too: UNBIS writes its French and
    Spanish labels without accents (``REFUGIES``, ``PIRATERIA``), and the
    stemmer cuts an accented word elsewhere than its unaccented spelling
    (``réfugiés`` -> ``réfugi``, ``refugies`` -> ``refug``), so only words
    folded first meet their labels.  Models saved before this setting
    existed fold the stems only (see :attr:`Analyzer.legacy_settings`).
    ``stop_words`` drops the language's function words (compared before
    folding: the lists are spelt with accents).
    """

    name = "stem"
    legacy_settings = {"fold_before_stem": False}

    def __init__(self, lang: str = "fr", min_length: int = 2, fold_accents: bool = True,
                 stop_words: bool = True, fold_before_stem: bool = True):
        if lang not in _ALGORITHMS:
            raise UsageError(f"no stemming analyzer for language {lang!r}; "
                             f"choose one of {', '.join(sorted(_ALGORITHMS))}")
        self.lang = lang
        self.min_length = int(min_length)
        self.fold_accents = bool(fold_accents)
        self.stop_words = bool(stop_words)
        self.fold_before_stem = bool(fold_before_stem)
        self._stemmers = ThreadStemmers(_ALGORITHMS[lang])
        self._stop = _stop_set(lang) if self.stop_words else frozenset()

    def _surface(self, word: str) -> str:
        word = unicodedata.normalize("NFC", word).lower()
        return fold_russian(word) if self.lang == "ru" else word

    def tokens(self, text: str) -> Tokens:
        # Each distinct word is normalised, filtered and stemmed once per call.
        words, ends = words_with_ends(_WORD_SPLIT, text)
        keep, surfaces = [], []
        for raw in distinct(words):
            word = self._surface(raw)
            if len(word) >= self.min_length and word not in self._stop:
                keep.append(raw)
                surfaces.append(word)
        if self.fold_accents and self.fold_before_stem:
            surfaces = [fold(w, self.lang) for w in surfaces]
        stems = self._stemmers.get().stemWords(surfaces)
        if self.fold_accents:
            stems = [fold(s, self.lang) for s in stems]
        return tokens_from_terms(words, ends, dict(zip(keep, stems, strict=True)))

    def config(self) -> dict:
        return {"name": self.name, "lang": self.lang, "min_length": self.min_length,
                "fold_accents": self.fold_accents, "stop_words": self.stop_words,
                "fold_before_stem": self.fold_before_stem}


def _stop_set(lang: str) -> frozenset[str]:
    words = stop_words(lang)
    return frozenset(fold_russian(w) for w in words) if lang == "ru" else words
