"""Matching keys for descriptor labels: case, accents and spacing do not count."""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")
# Typographic apostrophes and dashes that indexers and exports use interchangeably.
_FOLD = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2013": "-", "\u2014": "-", "\u2010": "-"})


def label_key(label: str) -> str:
    """Return the key under which a label is matched.

    ``CÔTE D'IVOIRE``, ``Cote d’Ivoire`` and ``cote  d'ivoire`` share one key.
    Arabic, Chinese and Cyrillic letters are kept (only combining marks go),
    so labels in every UN language can be matched the same way.
    """
    text = label.translate(_FOLD)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _SPACE.sub(" ", text).strip().casefold()
