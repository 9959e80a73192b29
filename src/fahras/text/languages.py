"""Registers every language analyzer and the default analyzer of each language code.

``get_analyzer("fr")`` and friends resolve through the table filled here;
importing this module is what :func:`fahras.text.analyzer.get_analyzer` does
before its first use.
"""

from __future__ import annotations

from fahras.text.analyzer import SnowballAnalyzer, register_language_default
from fahras.text.arabic import ArabicAnalyzer
from fahras.text.auto import AutoAnalyzer
from fahras.text.chinese import ChineseAnalyzer
from fahras.text.stemming import StemAnalyzer

register_language_default("en", lambda: SnowballAnalyzer("en"))
register_language_default("fr", lambda: StemAnalyzer("fr"))
register_language_default("es", lambda: StemAnalyzer("es"))
register_language_default("ru", lambda: StemAnalyzer("ru"))
register_language_default("ar", ArabicAnalyzer)
register_language_default("zh", ChineseAnalyzer)
register_language_default("auto", AutoAnalyzer)

__all__ = ["ArabicAnalyzer", "AutoAnalyzer", "ChineseAnalyzer", "SnowballAnalyzer", "StemAnalyzer"]
