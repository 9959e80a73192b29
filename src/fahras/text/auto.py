"""An analyzer that detects each text's language and hands it to that language's analyzer.

``mode="document"`` (the default) judges the whole text once;
``mode="paragraph"`` splits it with
:func:`fahras.text.langid.detect_paragraph_languages` and analyses every span
with its own language's analyzer (a letter in English with an annex in
French).  Text whose language cannot be told (no letters) goes to the
``fallback`` language's analyzer.  Offsets always point into the text given.
"""

from __future__ import annotations

from fahras.errors import UsageError
from fahras.text.analyzer import Analyzer, Tokens, analyzer_from_config, get_analyzer, register_analyzer
from fahras.text.langid import LANGUAGES, detect_language, detect_paragraph_languages

MODES = ("document", "paragraph")


def analyzers_by_language(analyzer: Analyzer) -> dict[str, Analyzer]:
    """Language -> the analyzer of that language's labels: the six UN languages for an analyzer that
    picks one per language (``analyzer_for``), else the analyzer's own language (English if it has none)."""
    if hasattr(analyzer, "analyzer_for"):
        return {lang: analyzer.analyzer_for(lang) for lang in LANGUAGES}
    return {getattr(analyzer, "lang", None) or "en": analyzer}


@register_analyzer
class AutoAnalyzer(Analyzer):
    """Language detection, then the detected language's analyzer.

    ``analyzers`` maps language codes to analyzer settings (as
    :meth:`Analyzer.config` returns them) or to analyzers; languages left out
    get their default analyzer (``get_analyzer(code)``).
    """

    name = "auto"

    def __init__(self, mode: str = "document", fallback: str = "en",
                 analyzers: dict | None = None):
        if mode not in MODES:
            raise UsageError(f"unknown mode {mode!r} for the auto analyzer; choose one of {', '.join(MODES)}")
        if fallback not in LANGUAGES:
            raise UsageError(f"unknown fallback language {fallback!r}; choose one of {', '.join(LANGUAGES)}")
        unknown = sorted(set(analyzers or {}) - set(LANGUAGES))
        if unknown:
            raise UsageError(f"no language {', '.join(map(repr, unknown))}; choose among {', '.join(LANGUAGES)}")
        self.mode = mode
        self.fallback = fallback
        self._analyzers: dict[str, Analyzer] = {}
        for lang in LANGUAGES:
            given = (analyzers or {}).get(lang)
            if given is None:
                self._analyzers[lang] = get_analyzer(lang)
            elif isinstance(given, Analyzer):
                self._analyzers[lang] = given
            else:
                self._analyzers[lang] = analyzer_from_config(given)

    @classmethod
    def from_spec(cls, arg: str) -> "AutoAnalyzer":
        """``"auto:paragraph"`` or ``"auto:document"``."""
        return cls(mode=arg)

    def analyzer_for(self, lang: str | None) -> Analyzer:
        """The analyzer used for ``lang`` (the fallback's for None)."""
        return self._analyzers[lang if lang in self._analyzers else self.fallback]

    def detect(self, text: str) -> str:
        """The language this analyzer would use for the whole of ``text``."""
        return detect_language(text) or self.fallback

    def tokens(self, text: str) -> Tokens:
        if self.mode == "document":
            return self.analyzer_for(self.detect(text)).tokens(text)
        out = Tokens()
        for start, end, lang in detect_paragraph_languages(text):
            out.extend(self.analyzer_for(lang).tokens(text[start:end]).shifted(start))
        return out

    def deferred_tokens(self, text: str) -> Tokens:
        if self.mode == "document":
            return self.analyzer_for(self.detect(text)).deferred_tokens(text)
        return self.tokens(text)

    def config(self) -> dict:
        return {"name": self.name, "mode": self.mode, "fallback": self.fallback,
                "analyzers": {lang: a.config() for lang, a in self._analyzers.items()}}
