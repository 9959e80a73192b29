"""The Arabic root skeleton (:func:`fahras.text.arabic.arabic_root`), a weak matching key."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fahras.text.arabic import arabic_root
from fahras.text.normalize import normalize_arabic


@pytest.mark.parametrize("words", [
    # ش-و-ر: consultations, consultative, advisory, consultation (verbal noun), consultant
    ["المشاورات", "مشاورات", "التشاورية", "الاستشارية", "تشاور", "المستشارون"],
    # س-ل-ح: armed, weapons, arms, armament
    ["المسلحة", "الأسلحة", "السلاح", "التسلح", "مسلح"],
    # ك-ت-ب: books, book, library, writer, offices
    ["الكتب", "كتاب", "مكتبة", "الكاتب", "المكاتب"],
    # ح-ر-ب: war, the wars
    ["حرب", "الحروب"],
])
def test_words_of_one_root_share_a_skeleton(words):
    keys = {arabic_root(w) for w in words}
    assert len(keys) == 1 and None not in keys, {w: arabic_root(w) for w in words}


@pytest.mark.parametrize("a, b", [
    ("المشاورات", "المشاريع"),     # ش-و-ر vs ش-ر-ع (projects)
    ("المشاورات", "المشاركون"),    # ش-و-ر vs ش-ر-ك (participants)
    ("المسلحة", "السلام"),          # س-ل-ح vs س-ل-م (peace)
    ("الكتب", "الكبار"),
])
def test_different_roots_differ(a, b):
    assert arabic_root(a) != arabic_root(b)


def test_hollow_root_keeps_a_placeholder():
    # only two strong letters: the long vowels collapse into one mark where they stood
    assert arabic_root("شاور") == arabic_root("شار") == "ش*ر"
    assert arabic_root("الاستشارية").count("*") == 1


def test_spelling_variants_and_harakat_do_not_matter():
    assert arabic_root("الأَسْلِحَة") == arabic_root("الاسلحه") == arabic_root("الأسلحة")


@pytest.mark.parametrize("word", ["قيرغيزستان", "2010", "consultations", "", "م", "الـ"])
def test_no_root_for_names_numbers_and_other_scripts(word):
    assert arabic_root(word) is None


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ابتثجحخدذرزسشصضطظعغفقكلمنهويىةأإآءؤئ") + ["\u064e", "\u0640"]),
               max_size=12))
def test_skeleton_letters_come_from_the_word_in_order(word):
    key = arabic_root(word)
    if key is None:
        return
    letters = key.replace("*", "")
    assert 2 <= len(letters) <= 4
    rest = iter(normalize_arabic(word))
    assert all(ch in rest for ch in letters)  # a subsequence of the normalised word
