"""Chinese: jieba segmentation with offsets, CJK bigrams, stop words."""

from __future__ import annotations

from fahras.text import ChineseAnalyzer, Token
from fahras.text.chinese import cjk_bigrams, segment

TEXT = "联合国安全理事会决定延长特派团的任务期限。"


def test_segmentation_uses_the_bundled_dictionary_and_keeps_offsets():
    words = segment(TEXT)
    assert [w for w, _, _ in words] == ["联合国安全理事会", "决定", "延长", "特派团", "的", "任务", "期限", "。"]
    assert all(TEXT[start:end] == word for word, start, end in words)


def test_bigrams_of_cjk_runs_only():
    assert cjk_bigrams("安理会 UN 决议") == [("安理", 0, 2), ("理会", 1, 3), ("决议", 7, 9)]
    assert cjk_bigrams("中") == []


def test_words_plus_bigrams_without_duplicating_two_character_words():
    tokens = ChineseAnalyzer().tokens("决定延长任务期限")
    assert tokens == [
        Token("决定", 0, 2), Token("定延", 1, 3), Token("延长", 2, 4), Token("长任", 3, 5),
        Token("任务", 4, 6), Token("务期", 5, 7), Token("期限", 6, 8)]


def test_words_only():
    analyzer = ChineseAnalyzer(bigrams=False)
    assert analyzer.terms(TEXT) == ["联合国安全理事会", "决定", "延长", "特派团", "任务", "期限"]


def test_stop_words_punctuation_and_full_width_forms():
    analyzer = ChineseAnalyzer(bigrams=False)
    assert analyzer.terms("我们的，和。") == []
    assert analyzer.terms("第２２５０（２０１５）号决议") == ["第", "2250", "2015", "号", "决议"]
    assert ChineseAnalyzer(bigrams=False, stop_words=False).terms("我们的") == ["我们", "的"]


def test_bigram_is_not_emitted_where_a_stop_word_stood():
    # "我们" is a dropped stop word: its span must not come back as a bigram.
    assert ChineseAnalyzer().terms("我们") == []


def test_empty_and_non_chinese_text():
    assert ChineseAnalyzer().tokens("") == []
    assert ChineseAnalyzer().terms("UN Women 2015") == ["un", "women", "2015"]
