"""Matching keys for descriptor labels: case, accents and spacing do not count."""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")
# Typographic apostrophes and dashes that indexers and exports use interchangeably.
_FOLD = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2013": "-", "\u2014": "-", "\u2010": "-"})


def strip_accents(text: str) -> str:
    """``text`` without combining marks (accents, Arabic harakat), after NFKD decomposition.

    The one accent folding of Fahras: label keys, analyzers and the text
    normaliser all use it.
    """
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def label_key(label: str) -> str:
    """Return the key under which a label is matched.

    ``CÔTE D'IVOIRE``, ``Cote d’Ivoire`` and ``cote  d'ivoire`` share one key.
    Arabic, Chinese and Cyrillic letters are kept (only combining marks go),
    so labels in every UN language can be matched the same way.
    """
    text = strip_accents(label.translate(_FOLD))
    return _SPACE.sub(" ", text).strip().casefold()
