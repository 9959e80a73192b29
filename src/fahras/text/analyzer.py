"""Analyzers turn text into index terms, keeping offsets into the original text.

An analyzer is named by a spec string such as ``"en"``, ``"ar"``, ``"zh"``,
``"auto"`` or ``"snowball:fr"``; ``analyzer_from_config(a.config())`` rebuilds
the same analyzer, which is how models store their analyzer settings.

A bare language code picks that language's default analyzer:

=========  ==========================================================
``en``     :class:`SnowballAnalyzer` (unchanged: models depend on it)
``fr``,    :class:`fahras.text.stemming.StemAnalyzer` (own stop words,
``es``,    language-aware accent folding)
``ru``
``ar``     :class:`fahras.text.arabic.ArabicAnalyzer`
``zh``     :class:`fahras.text.chinese.ChineseAnalyzer`
``auto``   :class:`fahras.text.auto.AutoAnalyzer` (detects the language)
``fi``,    any other language PyStemmer stems (:func:`snowball_languages`):
``de``...  a plain :class:`SnowballAnalyzer` -- words lower-cased and
           stemmed, no stop words, no accent folding (``ä`` is a letter of
           its own in Finnish), none of the UN languages' extras
=========  ==========================================================
"""

from __future__ import annotations

import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from functools import partial
from itertools import accumulate, compress
from operator import is_not, sub
from typing import Callable, Iterable, Iterator, NamedTuple

from fahras.errors import UsageError
from fahras.text.normalize import CharacterRuns
from fahras.vocab.normalize import strip_accents


class Token(NamedTuple):
    """An index term and where it came from in the original text.

    A named tuple (immutable; ``Token(term, start, end)``): a document has
    thousands and a tuple is built in half the time of a frozen dataclass.
    """

    term: str
    start: int
    end: int


class Tokens(Sequence):
    """A text's tokens as three parallel lists: ``terms``, ``starts`` and ``ends``.

    What analyzers return.  Scoring reads ``terms`` (and the offsets where it
    needs them) straight from the lists, without one object per token;
    indexing and iteration give :class:`Token` tuples, slicing gives
    ``Tokens``, and equality holds with any sequence of the same tokens.
    The lists are taken as given (not copied): do not change them afterwards.

    :meth:`deferred` makes tokens whose offsets are found only when first
    asked for (``starts``, ``ends``, indexing, iteration...): most scoring
    reads the terms alone, and finding offsets costs more than the terms.
    """

    __slots__ = ("terms", "_spans", "_locate")

    def __init__(self, terms: list[str] | None = None, starts: list[int] | None = None,
                 ends: list[int] | None = None):
        self.terms = [] if terms is None else terms
        self._spans = ([] if starts is None else starts, [] if ends is None else ends)
        self._locate = None
        if not len(self.terms) == len(self._spans[0]) == len(self._spans[1]):
            raise ValueError(f"Tokens: {len(self.terms)} terms, {len(self._spans[0])} starts, "
                             f"{len(self._spans[1])} ends")

    @classmethod
    def deferred(cls, terms: list[str], locate: "Callable[[], Tokens]") -> "Tokens":
        """Tokens of ``terms`` whose offsets ``locate()`` (the same tokens, offsets found) gives on first use."""
        tokens = cls.__new__(cls)
        tokens.terms, tokens._spans, tokens._locate = terms, None, locate
        return tokens

    @property
    def starts(self) -> list[int]:
        return self._offsets()[0]

    @property
    def ends(self) -> list[int]:
        return self._offsets()[1]

    def _offsets(self) -> tuple[list[int], list[int]]:
        # _locate is read before _spans and cleared after it is set: a thread that
        # finds no _locate finds the offsets another thread found.
        locate = self._locate
        spans = self._spans
        if spans is None:
            located = locate()
            if located.terms != self.terms:
                raise RuntimeError("the deferred offsets were found for other terms")
            spans = self._spans = located._offsets()
            self._locate = None
        return spans

    @classmethod
    def of(cls, tokens: "Iterable[Token | tuple[str, int, int]] | Tokens") -> "Tokens":
        """``tokens`` as :class:`Tokens` (itself if it is one already)."""
        if isinstance(tokens, Tokens):
            return tokens
        triples = list(tokens)
        return cls([t[0] for t in triples], [t[1] for t in triples], [t[2] for t in triples])

    def shifted(self, offset: int) -> "Tokens":
        """The same terms, their offsets moved by ``offset`` characters."""
        return Tokens(list(self.terms), [s + offset for s in self.starts], [e + offset for e in self.ends])

    def extend(self, other: "Tokens") -> None:
        starts, ends = self._offsets()
        starts.extend(other.starts)
        ends.extend(other.ends)
        self.terms.extend(other.terms)

    def __len__(self) -> int:
        return len(self.terms)

    def __getitem__(self, index):
        starts, ends = self._offsets()
        if isinstance(index, slice):
            return Tokens(self.terms[index], starts[index], ends[index])
        return Token(self.terms[index], starts[index], ends[index])

    def __iter__(self) -> Iterator[Token]:
        return map(Token._make, zip(self.terms, *self._offsets()))

    def __eq__(self, other) -> bool:
        if isinstance(other, Tokens):
            return self.terms == other.terms and self._offsets() == other._offsets()
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(self) == len(other) and all(a == tuple(b) for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # mutable lists inside

    def __repr__(self) -> str:
        shown = ", ".join(repr(tuple(t)) for t in self[:5])
        return f"Tokens([{shown}{', ...' if len(self) > 5 else ''}], n={len(self)})"


class Analyzer(ABC):
    """Text -> index terms.  Stateless after construction, safe to share between threads."""

    name: str = ""
    #: Settings added after models were first saved, with the value that reproduces the old
    #: behaviour: :func:`analyzer_from_config` uses them when a stored config lacks them, so a
    #: model saved before a setting existed analyses (and scores) exactly as it did.
    legacy_settings: dict = {}

    @abstractmethod
    def tokens(self, text: str) -> Tokens:
        """Index terms with character offsets into ``text``."""

    def terms(self, text: str) -> list[str]:
        return self.tokens(text).terms

    def deferred_tokens(self, text: str) -> Tokens:
        """:meth:`tokens`, possibly with offsets found only when first asked for (see :meth:`Tokens.deferred`).

        The suggestion path uses this: scoring reads the terms, explanations the
        offsets.  Analyzers with a faster way to the terms alone override it.
        """
        return self.tokens(text)

    @abstractmethod
    def config(self) -> dict:
        """JSON-serialisable settings; :func:`analyzer_from_config` rebuilds the analyzer."""

    def __reduce_ex__(self, protocol):
        # Stemmers and thread-local caches do not pickle: a registered analyzer
        # is rebuilt from its settings instead.
        if _REGISTRY.get(self.name) is type(self):
            return analyzer_from_config, (self.config(),)
        return super().__reduce_ex__(protocol)

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({settings})"


_WORD = re.compile(r"\w+", re.UNICODE)


def splitter(pattern: re.Pattern) -> re.Pattern:
    """``pattern`` (which must have no groups of its own) inside one capturing group, for :func:`words_with_ends`."""
    return re.compile(f"({pattern.pattern})", pattern.flags)


def words_with_ends(split: re.Pattern, text: str) -> tuple[list[str], list[int]]:
    """The words ``split`` (made by :func:`splitter`) finds in ``text``, and the offset where each ends.

    The same as ``[(m.group(), m.end()) for m in pattern.finditer(text)]``
    (a word starts at ``end - len(word)``), without a match object per word:
    ``re.split`` cuts the text into separators and words, and the ends are
    running sums of the pieces' lengths.  About four times faster on long
    documents.
    """
    parts = split.split(text)
    return parts[1::2], list(accumulate(map(len, parts)))[1::2]


def tokens_from_terms(words: list[str], ends: list[int], term_of: dict[str, str]) -> Tokens:
    """Tokens of the ``words`` (ending at ``ends``) that ``term_of`` maps to a term, in text order.

    Built with C-level iterators (``map``, ``compress``), no Python code per
    word: three times faster than a comprehension on a resolution.
    """
    mapped = list(map(term_of.get, words))
    kept = list(map(_IS_TERM, mapped))
    kept_ends = list(compress(ends, kept))
    return Tokens(list(compress(mapped, kept)), list(map(sub, kept_ends, map(len, compress(words, kept)))),
                  kept_ends)


_IS_TERM = partial(is_not, None)


def distinct(words: Iterable[str]) -> list[str]:
    """The words in order of first occurrence, each once."""
    return list(dict.fromkeys(words))


_SNOWBALL_NAMES = {"en": "english", "fr": "french", "es": "spanish", "ru": "russian", "ar": "arabic"}
#: ISO 639-1 code -> Snowball algorithm, for the languages the plain analyzer may offer (those
#: the installed PyStemmer has: :func:`snowball_languages`).
_SNOWBALL_CODES = {
    "ar": "arabic", "ca": "catalan", "cs": "czech", "da": "danish", "de": "german", "el": "greek",
    "en": "english", "eo": "esperanto", "es": "spanish", "et": "estonian", "eu": "basque",
    "fa": "persian", "fi": "finnish", "fr": "french", "ga": "irish", "hi": "hindi", "hu": "hungarian",
    "hy": "armenian", "id": "indonesian", "it": "italian", "lt": "lithuanian", "ne": "nepali",
    "nl": "dutch", "no": "norwegian", "pl": "polish", "pt": "portuguese", "ro": "romanian",
    "ru": "russian", "sr": "serbian", "st": "sesotho", "sv": "swedish", "ta": "tamil", "tr": "turkish",
    "yi": "yiddish",
}


def snowball_languages() -> dict[str, str]:
    """Language code -> Snowball algorithm, for every language the installed PyStemmer stems."""
    import Stemmer

    offered = set(Stemmer.algorithms())
    return {code: name for code, name in sorted(_SNOWBALL_CODES.items()) if name in offered}


def _stop_words(lang: str) -> frozenset[str]:
    from fahras.text.stopwords import stop_words

    return stop_words(lang)


class ThreadStemmers:
    """One PyStemmer stemmer per thread: a ``Stemmer`` must not be used concurrently."""

    def __init__(self, algorithm: str):
        import Stemmer

        self.algorithm = algorithm
        self._local = threading.local()
        Stemmer.Stemmer(algorithm)  # fail now, not on first use, if the algorithm is unknown

    def get(self):
        stemmer = getattr(self._local, "stemmer", None)
        if stemmer is None:
            import Stemmer

            stemmer = self._local.stemmer = Stemmer.Stemmer(self.algorithm)
        return stemmer


_WORD_SPLIT = splitter(_WORD)
#: How many words' terms a :class:`SnowballAnalyzer` remembers (at most ~20 MB; the resolutions use ~30,000).
TERM_CACHE_SIZE = 1 << 17
#: Lower-cases to σ or ς depending on the letters around it (str.lower's one context rule).
_CAPITAL_SIGMA = "\u03a3"
#: ``_WORD.findall``, faster (see :class:`~fahras.text.normalize.CharacterRuns`).
words_of = CharacterRuns(r"\w")


def _keeps_offsets(text: str, lowered: str) -> bool:
    """Whether ``lowered`` (``text.lower()``) has every character where ``text`` has it, a word
    character where it has one.

    Lower-casing maps each character to one or more (never none), so equal
    lengths mean one each; a capital sigma lowers by context (σ or ς), which
    word-by-word lowering would not reproduce.  No character changes from
    word to non-word character by lowering (checked over all of Unicode).
    """
    return len(lowered) == len(text) and _CAPITAL_SIGMA not in text


class SnowballAnalyzer(Analyzer):
    """Word tokens, lower-cased, stop words dropped, Snowball-stemmed (PyStemmer).

    ``lang``: any code of :func:`snowball_languages`.  Outside the UN
    languages there are no stop words, and accents are kept unless
    ``fold_accents`` says otherwise.

    ``min_length`` drops shorter tokens; ``fold_accents`` removes diacritics
    so that ``Côte`` and ``Cote`` meet: from the word before stemming
    (``fold_before_stem``, the default) as well as from the stem.  Models
    saved before ``fold_before_stem`` existed fold the stem only (see
    :attr:`Analyzer.legacy_settings`).
    """

    name = "snowball"
    legacy_settings = {"fold_before_stem": False}

    def __init__(self, lang: str = "en", min_length: int = 2, fold_accents: bool | None = None,
                 fold_before_stem: bool = True):
        algorithms = snowball_languages()
        if lang not in algorithms:
            raise UsageError(f"no Snowball stemmer for language {lang!r}; "
                             f"choose one of {', '.join(algorithms)}")
        self.lang = lang
        self.min_length = min_length
        self.fold_accents = lang in _SNOWBALL_NAMES if fold_accents is None else bool(fold_accents)
        self.fold_before_stem = bool(fold_before_stem)
        self._stemmers = ThreadStemmers(algorithms[lang])
        self._stop = _stop_words(lang)
        self._terms: dict[str, str | None] = {}  # see _term_map

    def tokens(self, text: str) -> Tokens:
        # Each distinct word is lower-cased, filtered and stemmed once per call.
        lowered = text.lower()
        if _keeps_offsets(text, lowered):
            # The words of the lowered text are the lowered words, at the same
            # offsets: cheaper than lowering each word (one call, and fewer
            # distinct words to filter).
            words, ends = words_with_ends(_WORD_SPLIT, lowered)
            return tokens_from_terms(words, ends, self._term_map(words))
        words, ends = words_with_ends(_WORD_SPLIT, text)
        keep, lowered_keep = [], []
        for word in distinct(words):
            w = word.lower()
            if len(w) >= self.min_length and w not in self._stop and "_" not in w:
                keep.append(word)
                lowered_keep.append(w)
        return tokens_from_terms(words, ends, {word: stem or None
                                               for word, stem in zip(keep, self._stems(lowered_keep))})

    def deferred_tokens(self, text: str) -> Tokens:
        # The terms from the lowered words alone; offsets, if asked for, by tokens().
        lowered = text.lower()
        if not _keeps_offsets(text, lowered):
            return self.tokens(text)
        words = words_of(lowered)
        terms = list(filter(None, map(self._term_map(words).get, words)))  # (no term is empty)
        return Tokens.deferred(terms, partial(self.tokens, text))

    def _term_map(self, lowered_words: list[str]) -> dict[str, str | None]:
        """Lower-case word -> its term (None: it makes none), for at least every one of ``lowered_words``.

        A word's term depends on the word alone, so the analyzer remembers
        them from call to call (up to :data:`TERM_CACHE_SIZE` words, then it
        starts afresh): a new document's words are mostly known, and
        looking a word up costs a fraction of filtering and stemming it.
        """
        cache = self._terms
        new = set(lowered_words).difference(cache)
        if new:
            if len(cache) + len(new) > TERM_CACHE_SIZE:
                # a new dict, not cleared: a call in another thread keeps the one it holds
                cache = self._terms = {}
            keep = [w for w in new.difference(self._stop) if len(w) >= self.min_length and "_" not in w]
            found: dict[str, str | None] = dict.fromkeys(new)
            found.update((word, stem or None) for word, stem in zip(keep, self._stems(keep)))
            cache.update(found)
        return cache

    def _stems(self, lowered_words: list[str]) -> list[str]:
        if self.fold_accents and self.fold_before_stem:
            lowered_words = [w if w.isascii() else strip_accents(w) for w in lowered_words]
        stems = self._stemmers.get().stemWords(lowered_words)
        return [s if s.isascii() else strip_accents(s) for s in stems] if self.fold_accents else stems

    def config(self) -> dict:
        return {"name": self.name, "lang": self.lang, "min_length": self.min_length,
                "fold_accents": self.fold_accents, "fold_before_stem": self.fold_before_stem}


_REGISTRY: dict[str, type[Analyzer]] = {SnowballAnalyzer.name: SnowballAnalyzer}

#: Default analyzer of each language code (and ``auto``); filled by :func:`_load_builtins`.
_LANGUAGE_DEFAULTS: dict[str, Callable[[], Analyzer]] = {"en": lambda: SnowballAnalyzer("en")}

_BUILTINS_LOCK = threading.RLock()
_builtins_loaded = False


def _load_builtins() -> None:
    """Import the modules that register the language analyzers (once, thread-safe)."""
    global _builtins_loaded
    if _builtins_loaded:
        return
    with _BUILTINS_LOCK:
        if not _builtins_loaded:
            import fahras.text.languages  # noqa: F401  (registers analyzers on import)
            _builtins_loaded = True


def register_analyzer(cls: type[Analyzer]) -> type[Analyzer]:
    _REGISTRY[cls.name] = cls
    return cls


def register_language_default(code: str, factory: Callable[[], Analyzer]) -> None:
    """Make ``get_analyzer(code)`` return ``factory()``."""
    _LANGUAGE_DEFAULTS[code] = factory


def get_analyzer(spec: str = "en") -> Analyzer:
    """Build an analyzer from a spec.

    ``"en"``, ``"fr"``, ``"es"``, ``"ru"``, ``"ar"``, ``"zh"``: the language's
    default analyzer; any other code of :func:`snowball_languages` (``"fi"``,
    ``"de"``...): the plain Snowball analyzer of that language;
    ``"auto"``: detect each text's language and dispatch;
    ``"snowball:fr"``: the plain Snowball analyzer; ``"NAME:ARG"``: the
    registered analyzer ``NAME`` built from ``ARG`` (for example
    ``"stem:ru"``, ``"arabic:lemmas"``, ``"auto:paragraph"``).
    """
    _load_builtins()
    name, _, arg = spec.partition(":")
    if not arg and name in _LANGUAGE_DEFAULTS:
        return _LANGUAGE_DEFAULTS[name]()
    if not arg and name in snowball_languages():
        return SnowballAnalyzer(name)
    if name not in _REGISTRY:
        choices = sorted(set(_LANGUAGE_DEFAULTS) | set(_REGISTRY))
        raise UsageError(f"unknown analyzer {spec!r}; choose one of {', '.join(choices)}, or a language "
                         f"Snowball stems: {', '.join(sorted(set(snowball_languages()) - set(choices)))}")
    cls = _REGISTRY[name]
    if not arg:
        return cls()
    from_spec = getattr(cls, "from_spec", None)
    return from_spec(arg) if from_spec is not None else cls(arg)


def analyzer_from_config(config: dict) -> Analyzer:
    _load_builtins()
    settings = dict(config)
    name = settings.pop("name", None)
    if name not in _REGISTRY:
        raise UsageError(f"unknown analyzer {name!r} in model settings")
    for key, old in _REGISTRY[name].legacy_settings.items():
        settings.setdefault(key, old)  # saved before the setting existed: the behaviour it had then
    try:
        return _REGISTRY[name](**settings)
    except TypeError as exc:
        raise UsageError(f"bad settings for analyzer {name!r}: {exc}") from None
