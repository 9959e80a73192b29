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

from fahras.text.analyzer import Analyzer, ThreadStemmers, Tokens, register_analyzer
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

    def tokens(self, text: str) -> Tokens:
        keep = []
        for m in WORD.finditer(text):
            raw = m.group()
            word = normalize_arabic(raw, teh_marbuta=False).lower()
            if len(word) >= self.min_length and word not in self._stop:
                keep.append((raw, word, m.start(), m.end()))
        stems = self._stemmers.get().stemWords([w for _, w, _, _ in keep])
        out = Tokens()
        terms, starts, ends = out.terms, out.starts, out.ends
        for stem, (raw, _, start, end) in zip(stems, keep, strict=True):
            terms.append(stem.replace("ة", "ه"))
            starts.append(start)
            ends.append(end)
            if self.lemmas:
                lemma = _lemma(raw)
                if lemma and lemma != terms[-1] and lemma not in self._stop:
                    terms.append(lemma)
                    starts.append(start)
                    ends.append(end)
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


# -- root skeletons (a weak, derivation-blind matching key) ---------------------------
#
# Arabic derives words from (mostly three-letter) roots by patterns: prefixes
# (م- participles and nouns of place, ت- verbal nouns, است- the tenth form,
# ا- broken plurals such as أفعال / أفعلة), infixed long vowels (فاعل, فعال,
# مفاعيل) and suffixes (ـات, ـون, ـين, ـية).  The Snowball stemmer removes only
# affixes, so مشاورات (consultations), تشاورية (consultative) and استشارية
# (advisory) keep different stems (مشاور / تشاور / استشار) although they share
# the root ش-و-ر.  :func:`arabic_root` strips the commonest patterns and the
# long vowels to reach a *skeleton* of the root.  It is a heuristic, not a
# morphological analyser: a first radical that looks like a pattern letter
# (تجارة -> ج*ر) is lost, and unrelated words can share a skeleton.  That is why
# the label matcher counts root-level matches as a separate, weaker feature.

#: Clitics and the article in front of a word (longest first).
_ROOT_ARTICLES = ("وبال", "وال", "بال", "كال", "فال", "لل", "ال")
#: Derivational prefixes (longest first): تفاعل/تفعيل -> ت, مفعول/مفاعلة -> م,
#: استفعال -> است, مستفعل -> مست, متفاعل -> مت, أفعال/أفعلة/إفعال -> ا, انفعال -> ان.
_ROOT_PREFIXES = ("مست", "است", "مت", "ان", "م", "ت", "ا")
#: Inflectional and relational suffixes (longest first); ``ا`` is what the
#: stemmer leaves of some plurals (مشاورات -> مشاورا).
_ROOT_SUFFIXES = ("يات", "ات", "ون", "ين", "ان", "يه", "ه", "ي", "ا")
#: Long vowels and glides: dropped, or collapsed into one ``*`` when only two
#: other letters remain (hollow and defective roots: شاور / شار -> ش*ر).
_WEAK = frozenset("اويى")
_ARABIC_LETTER = re.compile("[\u0621-\u064A]+")


def _strong(word: str) -> int:
    """Letters of ``word`` that are not long vowels, counting the first letter always."""
    return (1 if word else 0) + sum(ch not in _WEAK for ch in word[1:])


def arabic_root(word: str) -> str | None:
    """A root skeleton of an Arabic word (or of a stem), or None when there is none.

    Steps, on the normalised word (``أ إ آ`` -> ``ا``, ``ة`` -> ``ه``):

    1. an article with its clitics (``ال``, ``وال``, ``بال``, ``لل`` ...) is removed;
    2. suffixes (``ات``, ``ون``, ``ين``, ``ية``, ``ه``, ``ي`` ...) are removed,
       at most two, longest first;
    3. one derivational prefix (``است``, ``مست``, ``مت``, ``ان``, ``م``, ``ت``, ``ا``)
       is removed;
    4. the long vowels ``ا و ي`` after the first letter are dropped.  When only
       two other letters are left the root is hollow or defective, and its
       weak letters collapse into one ``*`` where they stood (``شاور``, ``شار``
       -> ``ش*ر``; ``دعو`` -> ``دع*``).

    Each removal is made only if at least three letters, two of them not long
    vowels, remain.  Words of fewer than three letters (particles), and words
    whose skeleton has fewer than two or more than four letters (names and
    loanwords such as قيرغيزستان) have no root: None.

    >>> arabic_root("المشاورات") == arabic_root("التشاورية") == arabic_root("الاستشارية")
    True
    >>> arabic_root("المسلحة") == arabic_root("الأسلحة") == arabic_root("السلاح") == "سلح"
    True
    """
    word = normalize_arabic(word).lower()
    if len(word) < 3 or not _ARABIC_LETTER.fullmatch(word):
        return None

    def can_keep(rest: str) -> bool:
        return len(rest) >= 3 and _strong(rest) >= 2

    for article in _ROOT_ARTICLES:
        if word.startswith(article) and can_keep(word[len(article):]):
            word = word[len(article):]
            break
    for _ in range(2):
        for suffix in _ROOT_SUFFIXES:
            if word.endswith(suffix) and can_keep(word[:-len(suffix)]):
                word = word[:-len(suffix)]
                break
        else:
            break
    for prefix in _ROOT_PREFIXES:
        if word.startswith(prefix) and can_keep(word[len(prefix):]):
            word = word[len(prefix):]
            break
    strong = word[0] + "".join(ch for ch in word[1:] if ch not in _WEAK)
    if len(strong) >= 3:
        key = strong
    else:
        key, weak = word[0], False
        for ch in word[1:]:
            if ch in _WEAK:
                weak = True
                continue
            key += ("*" if weak else "") + ch
            weak = False
        key += "*" if weak else ""
    if not 2 <= len(key.replace("*", "")) <= 4:
        return None
    return key
