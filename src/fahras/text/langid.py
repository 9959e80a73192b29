"""Which of the six UN languages (ar, zh, en, fr, ru, es) a text is written in.

Arabic, Chinese and Russian are the only ones of the six written in the
Arabic, Han and Cyrillic scripts, so counting letters per script settles them
exactly.  Text mostly in Latin letters goes to lingua-language-detector,
restricted to the six languages (its models ship inside its wheel: nothing is
downloaded).  The detector is built once, lazily and thread-safely, in
high-accuracy mode.  Measured with ``benchmarks/text_throughput.py`` on this
project's six-language sample: low-accuracy mode gets 79% of single words
and 98.6% of three- and five-word snippets right against 93% and 100%; it is
faster on a sentence (about 0.04 ms against 0.3 ms) but not on a whole
document, so the accuracy is worth it.

Lingua's time grows with the text (about 0.4 ms per 1,000 characters), so a
long document's scripts are counted on up to 4,000 characters but lingua
judges only :data:`LINGUA_MAX_CHARS` of them, taken from four places too.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from functools import lru_cache
from typing import NamedTuple

from fahras.text._lazy import Lazy
from fahras.text.normalize import CharacterRuns, non_ascii_characters
from fahras.vocab.concept import LANGUAGES  # noqa: F401  (fahras.text.LANGUAGES)


_SCRIPTS = {
    "ar": re.compile("[\u0620-\u064A\u066E-\u06D3\u06D5\u06FA-\u06FF\u0750-\u077F\u08A0-\u08FF"
                     "\uFB50-\uFDFF\uFE70-\uFEFC]"),
    "zh": re.compile("[\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF\U00020000-\U0002FFFF]"),
    "ru": re.compile("[\u0400-\u04FF]"),
    "latin": re.compile("[A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F]"),
}
#: A Han character carries about as much as a word's worth of Latin letters.
_WEIGHTS = {"ar": 1.0, "zh": 3.0, "ru": 1.0, "latin": 1.0}

#: Fewer Latin letters than this cannot be told apart reliably between
#: English, French and Spanish (``detect_paragraph_languages`` lets such
#: lines take their neighbours' language).
MIN_LATIN_LETTERS = 12


def _build_detector():
    from lingua import Language, LanguageDetectorBuilder

    six = (Language.ARABIC, Language.CHINESE, Language.ENGLISH,
           Language.FRENCH, Language.RUSSIAN, Language.SPANISH)
    return LanguageDetectorBuilder.from_languages(*six).build()


DETECTOR = Lazy(_build_detector)


#: How many characters of a long Latin-script text lingua judges (4 pieces of 300).
LINGUA_MAX_CHARS = 1200

#: UTF-8 bytes that are not ASCII letters (deleted to count the ASCII letters of any text).
_NOT_ASCII_LETTER_BYTES = bytes(b for b in range(256) if not (b < 128 and chr(b).isalpha()))
#: Up to this many distinct non-ASCII characters, counting each one (``str.count``)
#: is faster than a regular expression per script.
_FEW_DISTINCT = 48


def warm_up() -> None:
    """Build the detector and load its models now (they load on first use otherwise).

    Worth calling before forking worker processes, which then share them.
    """
    DETECTOR.get().detect_language_of("The Council decided to renew the mandate of the mission.")


def script_counts(text: str) -> dict[str, int]:
    """Letters per script: ``ar`` (Arabic), ``zh`` (Han), ``ru`` (Cyrillic), ``latin``."""
    distinct = non_ascii_characters(text)
    if len(distinct) > _FEW_DISTINCT:
        return {name: len(pattern.findall(text)) for name, pattern in _SCRIPTS.items()}
    # Text in ASCII, or Latin text with a few accented letters, dashes or
    # quotes (the usual cases): the ASCII letters in one C call, then each
    # distinct other character (the scripts' classes are single characters
    # and do not overlap).
    counts = {"ar": 0, "zh": 0, "ru": 0,
              "latin": len(text.encode("utf-8", "surrogatepass").translate(None, _NOT_ASCII_LETTER_BYTES))}
    for char in distinct:
        for name, pattern in _SCRIPTS.items():
            if pattern.match(char):
                counts[name] += text.count(char)
                break
    return counts


#: The runs of letters of a text (``re.findall(r"[^\W\d_]+", text)``; see
#: :class:`~fahras.text.normalize.CharacterRuns`).
letter_words = CharacterRuns(r"[^\W\d_]")


def _sample(text: str, max_chars: int) -> str:
    """At most ``max_chars`` characters taken from four places spread over the text."""
    if len(text) <= max_chars:
        return text
    piece = max_chars // 4
    step = (len(text) - piece) // 3
    return "\n".join(text[i * step:i * step + piece] for i in range(4))


def _by_script(counts: dict[str, int]) -> str | None:
    """``ar``/``zh``/``ru`` when that script dominates, ``latin`` when Latin does, None if no letters."""
    weighted = {name: n * _WEIGHTS[name] for name, n in counts.items()}
    best = max(weighted, key=weighted.get)
    return best if weighted[best] > 0 else None


def _lingua(text: str) -> str | None:
    found = DETECTOR.get().detect_language_of(text)
    return found.iso_code_639_1.name.lower() if found is not None else None


def detect_language(text: str, max_chars: int = 4000) -> str | None:
    """The language of ``text`` as ``ar zh en fr ru es``, or None (no letters, or undecidable).

    Long texts are judged on ``max_chars`` characters sampled from four
    places.  Latin script is settled by the function words of English,
    French and Spanish where they leave no doubt (:func:`_by_function_words`:
    the usual case for a whole document), else by lingua on at most
    :data:`LINGUA_MAX_CHARS` characters.  A sentence is enough for a
    reliable answer.
    """
    return _detect(text, max_chars)[0]


def _detect(text: str, max_chars: int = 4000) -> tuple[str | None, "Markers | None"]:
    """(language, the sample's :class:`Markers`, or None where they were not needed)."""
    sample = _sample(text, max_chars)
    script = _by_script(script_counts(sample))
    if script is None or script != "latin":
        return script, None
    markers = Markers.of(letter_words(sample.lower()))
    return _by_function_words(markers) or _lingua(_sample(text, min(max_chars, LINGUA_MAX_CHARS))), markers


#: :func:`_by_function_words` decides only on a sample of at least this many
#: words, where the leading language's exclusive function words are at least
#: this share of them and this many times the runner-up's.  Measured on the
#: 529 Security Council resolutions: English's share is 0.16-0.62 (median
#: 0.41), at least 5.75 times French's or Spanish's; on this project's French
#: and Spanish samples French and Spanish have 0.28 and 0.20, the others none.
FUNCTION_WORDS_MIN_WORDS = 40
FUNCTION_WORDS_MIN_SHARE = 0.12
FUNCTION_WORDS_MIN_MARGIN = 4


@lru_cache(maxsize=None)
def _exclusive_function_words() -> dict[str, frozenset[str]]:
    """English, French and Spanish function words that the other two lists lack (constant tables)."""
    from fahras.text.stopwords import stop_words

    lists = {lang: stop_words(lang) for lang in ("en", "fr", "es")}
    return {lang: words.difference(*(other for code, other in lists.items() if code != lang))
            for lang, words in lists.items()}


@lru_cache(maxsize=None)
def _marker_lists() -> dict[str, tuple[str, ...]]:
    """Word -> the names of the word lists it is in (a constant table).

    The lists: ``only:en``, ``only:fr``, ``only:es`` (:func:`_exclusive_function_words`),
    ``stop:en``, ``stop:fr``, ``stop:es`` (the stop words), ``Spanish``
    (:data:`_SPANISH_ONLY`), ``Italian`` and ``Portuguese`` (:data:`_NEIGHBOURS`).
    """
    from fahras.text.stopwords import stop_words

    lists = {f"only:{lang}": words for lang, words in _exclusive_function_words().items()}
    lists |= {f"stop:{lang}": stop_words(lang) for lang in ("en", "fr", "es")}
    lists |= {"Spanish": _SPANISH_ONLY, **_NEIGHBOURS}
    table: dict[str, tuple[str, ...]] = defaultdict(tuple)
    for name, words in lists.items():
        for word in words:
            table[word] += (name,)
    return dict(table)


class Markers(NamedTuple):
    """How many words a sample has, and how many of them are in each of :func:`_marker_lists`."""

    n_words: int
    counts: Counter

    @classmethod
    def of(cls, words: list[str]) -> "Markers":
        """Count ``words`` (lower case) in every list at once: one look-up per word, not one per list."""
        by_lists = Counter(filter(None, map(_marker_lists().get, words)))
        counts: Counter = Counter()
        for names, n in by_lists.items():
            for name in names:
                counts[name] += n
        return cls(len(words), counts)


def _by_function_words(words: "list[str] | Markers") -> str | None:
    """``en``, ``fr`` or ``es`` when the words' exclusive function words leave no doubt, else None.

    Lingua's time grows with the text; counting function words takes a few
    set look-ups per word, and on a page of prose one of the three languages
    leads by far.  Undecided (None, for lingua to judge): short samples, a
    weak or close lead, and text with many Italian or Portuguese function
    words (which lingua, restricted to the six languages, calls Spanish, for
    :func:`unsupported_reason` to refuse).
    """
    markers = words if isinstance(words, Markers) else Markers.of(words)
    if markers.n_words < FUNCTION_WORDS_MIN_WORDS:
        return None
    counts = sorted(((markers.counts[f"only:{lang}"], lang) for lang in ("en", "fr", "es")), reverse=True)
    (best, lang), (runner_up, _) = counts[0], counts[1]
    if best < FUNCTION_WORDS_MIN_SHARE * markers.n_words or best < FUNCTION_WORDS_MIN_MARGIN * runner_up:
        return None
    if any(2 * markers.counts[name] >= best for name in _NEIGHBOURS):
        return None
    return lang


#: A line of Latin script switches language only when lingua is at least
#: this confident; a less certain line ("Public information", a list of
#: names) keeps the language of the lines around it.
MIN_LINE_CONFIDENCE = 0.9


def _line_language(line: str) -> tuple[str | None, bool]:
    """``(language, sure)`` of one line; not sure when short or ambiguous Latin.

    A long line is judged on samples, like a whole text (:func:`_sample`):
    lingua took 137 s on a line of 200,000 letters.
    """
    counts = script_counts(_sample(line, 4000))
    script = _by_script(counts)
    if script != "latin":
        return script, script is not None
    if counts["latin"] < MIN_LATIN_LETTERS:
        return None, False
    values = DETECTOR.get().compute_language_confidence_values(_sample(line, LINGUA_MAX_CHARS))
    if not values:
        return None, False
    best = values[0]
    return best.language.iso_code_639_1.name.lower(), best.value >= MIN_LINE_CONFIDENCE


_LINE = re.compile(r"[^\n]*\S[^\n]*")


def detect_paragraph_languages(text: str) -> list[tuple[int, int, str | None]]:
    """Split a document that mixes languages into ``(start, end, lang)`` spans.

    Every non-blank line is judged on its own.  A line judged with
    confidence (any line in Arabic, Han or Cyrillic script; a Latin one
    lingua is sure of) sets the language; the others (page numbers, a
    heading of two words, a list of names) keep the language of the line
    before them (at the start: of the first line judged with confidence, or
    failing that of the whole text).
    Consecutive lines of one language form one span, from the start of its
    first line to the end of its last; the whitespace between spans belongs
    to none.  ``lang`` is None only where nothing before could be judged and
    the whole text cannot be either.
    """
    lines = [(m.start(), m.end(), *_line_language(m.group())) for m in _LINE.finditer(text)]
    if not lines:
        return []
    sure_langs = [lang for _, _, lang, sure in lines if sure]
    current = sure_langs[0] if sure_langs else detect_language(text)
    spans: list[list] = []
    for start, end, lang, sure in lines:
        if sure or current is None:
            current = lang if lang is not None else current
        if spans and spans[-1][2] == current:
            spans[-1][1] = end
        else:
            spans.append([start, end, current])
    return [(start, end, lang) for start, end, lang in spans]


#: A text in English, French or Spanish has at least this share of the
#: language's function words (measured: 0.46-0.55 on UN prose); German
#: prose judged "English" has about 0.03.
MIN_FUNCTION_WORD_SHARE = 0.08

#: Frequent words of Spanish and of its close neighbours that the other two do
#: not use (or hardly): lingua, restricted to the six UN languages, calls
#: Italian and Portuguese Spanish, and they share many of Spanish's function
#: words.  A "Spanish" text with more than twice as many Italian (or
#: Portuguese) markers as Spanish ones, at least 3% of its words, is refused.
_SPANISH_ONLY = frozenset("el los las y sus pero muy hay también cuando donde según sin ni aunque ello esto "
                          "estos estas dicho dicha".split())
_NEIGHBOURS = {
    "Italian": frozenset("il gli della delle degli dello che di è nel nella nei negli alla alle agli sono anche "
                         "questo questa questi ed non dei per dal dalla sul sulla hanno essere".split()),
    "Portuguese": frozenset("não uma um os das dos ao aos às em é do da com são pelo pela pelos pelas também "
                            "seu sua seus suas ou foi já mais".split()),
}
MIN_NEIGHBOUR_SHARE = 0.03


def unsupported_language(text: str, lang: str | None = None) -> str | None:
    """Why ``text`` is not in one of the six UN languages, or None if it may well be.

    ``lang`` is the language it would be analysed in (detected if None).
    Script-based languages are trusted; Latin-script text of 20 words or more
    must contain the detected language's function words, which catches e.g.
    German or Dutch; "Spanish" with more Italian or Portuguese function words
    than Spanish ones is refused too.
    """
    return unsupported_reason(text, lang or detect_language(text))


def detect_supported_language(text: str) -> tuple[str | None, str | None]:
    """``(detect_language(text), unsupported_reason(text, that language))``, the text sampled once."""
    lang, markers = _detect(text)
    return lang, unsupported_reason(text, lang, markers)


def unsupported_reason(text: str, lang: str | None, markers: Markers | None = None) -> str | None:
    """:func:`unsupported_language` given the language already detected (None: no letters).

    ``markers``: :class:`Markers` of the lower-case letter words of ``_sample(text, 4000)``, if known.
    """
    if lang is None:
        return "no words in any of the six UN languages (ar, zh, en, fr, ru, es)"
    if lang not in ("en", "fr", "es"):
        return None
    if markers is None:
        markers = Markers.of(letter_words(_sample(text, 4000).lower()))
    if markers.n_words < 20:
        return None
    share = markers.counts[f"stop:{lang}"] / markers.n_words
    if share < MIN_FUNCTION_WORD_SHARE:
        return (f"the text does not look like any of the six UN languages (closest: {lang}, but only "
                f"{share:.0%} of its words are {lang} function words); pass --lang to force one")
    if lang == "es":
        spanish = markers.counts["Spanish"]
        for name in _NEIGHBOURS:
            found = markers.counts[name]
            if found > 2 * spanish and found >= MIN_NEIGHBOUR_SHARE * markers.n_words:
                return (f"the text looks like {name}, not one of the six UN languages ({found} {name} "
                        f"function words, {spanish} Spanish ones); pass --lang to force one")
    return None
