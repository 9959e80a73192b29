"""Character normalisation: Arabic spelling variants, digits, per-language folding."""

from __future__ import annotations

import pytest

from fahras.text import normalize, normalize_arabic
from fahras.text.normalize import WORD


@pytest.mark.parametrize("raw, expected", [
    ("مُحَمَّدٌ", "محمد"),                       # harakat
    ("الـــمتحـدة", "المتحده"),                   # tatweel; teh marbuta -> heh
    ("أحمد إبراهيم آمنة ٱلله", "احمد ابراهيم امنه الله"),  # alef variants
    ("مستشفى على", "مستشفي علي"),                 # alef maksura -> yeh
    ("٢٠١٠ و۱۳۲۵", "2010 و1325"),                 # Arabic-Indic and Persian digits
    ("کتاب فارسی", "كتاب فارسي"),                 # Persian kaf and yeh
    ("هٰذا", "هذا"),                              # superscript alef
    ("ﻻ ﺍﻟﺴﻼﻡ", "لا السلام"),                      # presentation forms from PDF extraction
    ("مسؤول رئيس", "مسؤول رئيس"),                 # hamza on waw / yeh is kept
    ("S/2010/334 UN", "S/2010/334 UN"),           # Latin text untouched
])
def test_normalize_arabic(raw, expected):
    assert normalize_arabic(raw) == expected


def test_decomposed_hamza_composes_like_the_precomposed_letter():
    assert normalize_arabic("و\u0654") == normalize_arabic("ؤ") == "ؤ"
    assert normalize_arabic("ا\u0654") == normalize_arabic("أ") == "ا"


def test_teh_marbuta_can_be_kept():
    assert normalize_arabic("المساعدة", teh_marbuta=False) == "المساعدة"
    assert normalize_arabic("المساعدة") == normalize_arabic("المساعده") == "المساعده"


@pytest.mark.parametrize("lang, raw, expected", [
    ("ar", "الأمم المتحدة", "الامم المتحده"),
    ("fr", "Sécurité, ÉTATS, Noël, cœur", "securite, etats, noel, cœur"),
    ("en", "Côte d'Ivoire", "cote d'ivoire"),
    ("es", "Año, Niñas, situación", "año, niñas, situacion"),
    ("ru", "Объединённых ЙЕМЕН", "объединенных йемен"),
    ("ru", "мо\u0301ре", "море"),  # stress mark removed
    ("zh", "ＵＮ安理会２０１５", "un安理会2015"),
    (None, "ＡＢＣ", "abc"),
])
def test_normalize_by_language(lang, raw, expected):
    assert normalize(raw, lang) == expected


def test_word_pattern_keeps_marks_inside_words():
    assert WORD.findall("مُحَمَّد se\u0301curite\u0301 snake_case l'ONU") == [
        "مُحَمَّد", "se\u0301curite\u0301", "snake", "case", "l", "ONU"]
