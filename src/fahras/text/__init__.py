"""Text pipeline: language identification, normalisation, analyzers, extraction.

* :mod:`fahras.text.analyzer` -- the :class:`Analyzer` interface, the registry,
  :func:`get_analyzer` (``"en"``, ``"fr"``, ``"es"``, ``"ru"``, ``"ar"``,
  ``"zh"``, ``"auto"``...) and :func:`analyzer_from_config`;
* :mod:`fahras.text.langid` -- :func:`detect_language`,
  :func:`detect_paragraph_languages` (the six UN languages);
* :mod:`fahras.text.normalize` -- :func:`normalize`, :func:`normalize_arabic`;
* :mod:`fahras.text.extract` -- :func:`extract`, :func:`extract_bytes`
  (.txt, UN export, .pdf, .docx, .html);
* :mod:`fahras.text.furniture` -- :func:`strip_furniture` (job numbers, page
  marks, running headers) and document-symbol recognition.

Heavy resources (lingua's detector, jieba's dictionary, sklearn's stop words)
load on first use, so importing this package is cheap.
"""

from fahras.text.analyzer import (
    Analyzer,
    SnowballAnalyzer,
    Token,
    Tokens,
    analyzer_from_config,
    get_analyzer,
    register_analyzer,
)
from fahras.text.languages import ArabicAnalyzer, AutoAnalyzer, ChineseAnalyzer, StemAnalyzer
from fahras.text.auto import analyzers_by_language
from fahras.text.langid import LANGUAGES, detect_language, detect_paragraph_languages
from fahras.text.normalize import normalize, normalize_arabic
from fahras.text.furniture import find_symbol, mask_furniture, strip_furniture
from fahras.text.extract import ExtractedText, extract, extract_bytes
from fahras.text._lazy import Lazy

__all__ = [
    "Analyzer",
    "ArabicAnalyzer",
    "AutoAnalyzer",
    "ChineseAnalyzer",
    "ExtractedText",
    "LANGUAGES",
    "Lazy",
    "SnowballAnalyzer",
    "StemAnalyzer",
    "Token",
    "Tokens",
    "analyzer_from_config",
    "analyzers_by_language",
    "detect_language",
    "detect_paragraph_languages",
    "extract",
    "extract_bytes",
    "find_symbol",
    "get_analyzer",
    "normalize",
    "normalize_arabic",
    "register_analyzer",
    "mask_furniture",
    "strip_furniture",
]
