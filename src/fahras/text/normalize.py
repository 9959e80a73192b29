"""Character-level normalisation for the six UN languages.

These functions may change the length of a string.  Analyzers therefore find
words in the *original* text first and normalise each word on its own, so
token offsets always point into the text they were given.

Choices, per language:

* Arabic (:func:`normalize_arabic`): compatibility forms (the presentation
  forms PDF extraction produces) are unfolded (NFKC); harakat, Quranic marks,
  the superscript alef and tatweel are removed; ``أ إ آ ٱ`` become ``ا``;
  ``ى`` and Persian ``ی`` become ``ي``; Persian ``ک`` becomes ``ك``;
  Arabic-Indic and Persian digits become ASCII digits; ``ة`` (teh marbuta)
  becomes ``ه``.  Folding ``ة`` into ``ه`` is the usual choice of Arabic
  search engines: a word spelt either way meets.  Hamza on ``و`` and ``ي``
  (``ؤ ئ``) is kept: folding it merges unrelated words.
* French, English: lower case, all diacritics removed.
* Spanish: lower case, diacritics removed except the tilde of ``ñ``
  (``año`` and ``ano`` are different words).
* Russian: lower case, ``ё`` becomes ``е``, stress marks are removed; ``й``
  is kept (it is a letter, not ``и`` with an accent).
* Chinese: NFKC (full-width Latin letters and digits become ASCII), lower case.
"""

from __future__ import annotations

import re
import unicodedata

from fahras.vocab.normalize import strip_accents

#: Combining marks that can occur inside a word of one of the six languages:
#: Latin/Cyrillic combining diacritics and Arabic harakat and Quranic marks.
COMBINING_MARKS = ("\u0300-\u036F\u0483-\u0489\u0610-\u061A\u064B-\u065F\u0670"
                   "\u06D6-\u06DC\u06DF-\u06E4\u06E7\u06E8\u06EA-\u06ED\u1AB0-\u1AFF"
                   "\u1DC0-\u1DFF\u20D0-\u20FF\uFE20-\uFE2F")

#: A word: a letter or digit followed by letters, digits or combining marks
#: (``\\w`` alone would cut ``مُحَمَّد`` or a decomposed ``é`` apart).  No ``_``.
#: Runs of each, possessively (``*+``): with one group iteration per character
#: ``re`` kept a backtracking entry per character, ~140 bytes each (a 5 MB
#: "word" took 700 MB); the matches are the same.
WORD = re.compile(rf"[^\W_](?:[^\W_]+|[{COMBINING_MARKS}]+)*+")

_ARABIC_MARKS = re.compile("[\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06DC\u06DF-\u06E8\u06EA-\u06ED\u0640]")

_ARABIC_LETTERS = {
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا",
    "ى": "ي", "ی": "ي", "ک": "ك",
}
_ARABIC_DIGITS = {chr(0x0660 + i): str(i) for i in range(10)} | {chr(0x06F0 + i): str(i) for i in range(10)}
_ARABIC_TABLE = str.maketrans(_ARABIC_LETTERS | _ARABIC_DIGITS)
_ARABIC_TABLE_TEH = str.maketrans(_ARABIC_LETTERS | _ARABIC_DIGITS | {"ة": "ه"})


def normalize_arabic(text: str, *, teh_marbuta: bool = True) -> str:
    """Normalise Arabic spelling (see the module docstring for every rule).

    ``teh_marbuta=False`` keeps ``ة`` (the Arabic analyzer stems with it
    kept, because the Snowball stemmer uses it to find the feminine ending,
    and folds it afterwards).
    """
    text = unicodedata.normalize("NFKC", text)
    text = _ARABIC_MARKS.sub("", text)
    return text.translate(_ARABIC_TABLE_TEH if teh_marbuta else _ARABIC_TABLE)


def strip_diacritics(text: str, keep: str = "") -> str:
    """Remove combining diacritics, except from the (precomposed) characters in ``keep``."""
    if text.isascii():
        return text
    if keep:
        parts = re.split(f"([{re.escape(keep)}])", text)
        return "".join(part if i % 2 else strip_diacritics(part) for i, part in enumerate(parts))
    return unicodedata.normalize("NFC", strip_accents(text))


_RUSSIAN_STRESS = re.compile("[\u0300\u0301]")


def fold_russian(text: str) -> str:
    """``ё`` -> ``е`` and stress marks removed; ``й`` stays (input must be NFC, lower case)."""
    return _RUSSIAN_STRESS.sub("", text).replace("ё", "е")


def fold(text: str, lang: str | None) -> str:
    """The accent folding of a language, applied to lower-case NFC text."""
    if lang == "ru":
        return fold_russian(text)
    if lang == "es":
        return strip_diacritics(text, keep="ñ")
    if lang in ("en", "fr"):
        return strip_diacritics(text)
    return text


def normalize(text: str, lang: str | None) -> str:
    """Normalise ``text`` as the analyzer of ``lang`` compares words.

    ``lang`` is one of ``ar zh en fr ru es``; anything else (or ``None``)
    gets NFKC and lower case only.
    """
    if lang == "ar":
        return normalize_arabic(text).lower()
    if lang in ("en", "fr", "es", "ru"):
        return fold(unicodedata.normalize("NFC", text).lower(), lang)
    return unicodedata.normalize("NFKC", text).lower()


#: Every character ``str.split()`` splits at (``str.isspace``).
WHITE_SPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + \
    "\u2028\u2029\u202f\u205f\u3000"


_ASCII_BYTES = bytes(range(128))


def non_ascii_characters(text: str) -> set[str]:
    """The distinct characters of ``text`` outside ASCII.

    In UTF-8 every ASCII byte is a whole character and no other character
    has one, so deleting them (one ``bytes.translate``) leaves exactly the
    other characters' bytes: eight times faster than ``set(text)`` on a
    resolution.
    """
    if text.isascii():
        return set()
    rest = text.encode("utf-8", "surrogatepass").translate(None, _ASCII_BYTES)
    return set(rest.decode("utf-8", "surrogatepass"))


class CharacterRuns:
    """``re.findall(f"{char}+", text)`` for a one-character class ``char``, fast on mostly-ASCII text.

    Each distinct non-ASCII character outside the class becomes a space;
    then, in UTF-8, every ASCII byte outside it does (one
    ``bytes.translate``), and the text splits at the spaces.  The bytes left
    of non-ASCII characters all belong to characters in the class, and no
    character in it is a space, so the runs are exactly the regular
    expression's, at a third of its cost on an English resolution.
    """

    def __init__(self, char: str):
        self._char = re.compile(char)
        if any(self._char.fullmatch(c) for c in WHITE_SPACE):
            raise ValueError(f"{char!r} matches white space: its runs cannot be split at spaces")
        self._ascii_table = bytes(b if b >= 128 or self._char.fullmatch(chr(b)) else 32 for b in range(256))

    def __call__(self, text: str) -> list[str]:
        if not text.isascii():
            for char in non_ascii_characters(text):
                if not self._char.fullmatch(char):
                    text = text.replace(char, " ")
        return text.encode("utf-8", "surrogatepass").translate(self._ascii_table).decode(
            "utf-8", "surrogatepass").split()
