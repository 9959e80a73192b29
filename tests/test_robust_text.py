"""Regression tests: extremely long tokens do not blow up analysis (memory and time)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fahras.text.normalize import COMBINING_MARKS, WORD

from robust_support import FUZZ, run_measured

_OLD_WORD = re.compile(rf"[^\W_](?:[^\W_]|[{COMBINING_MARKS}])*")


@FUZZ
@given(st.text(alphabet=st.sampled_from("aé\u0301\u064e\u0645 _-1.٣\n"), max_size=60))
def test_word_pattern_matches_as_before(text):
    # The possessive, run-wise WORD finds exactly the words the per-character one found.
    assert [m.span() for m in WORD.finditer(text)] == [m.span() for m in _OLD_WORD.finditer(text)]


def _long_word_peak(lang: str, mb: int) -> dict:
    result = run_measured(f"""
        from fahras.text import get_analyzer
        text = "a" * ({mb} * 2**20)
        _result["terms"] = len(get_analyzer({lang!r}).tokens(text))
    """)
    assert result["terms"] <= 1
    return result


def test_long_word_takes_bounded_memory():
    # 2 MB: about 300 MB before the fix (140 bytes per character), about 60 MB now.
    result = _long_word_peak("fr", 2)
    assert result["peak_mb"] < 150, result


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["fr", "ar", "auto", "en", "ru"])
def test_five_mb_word_takes_bounded_memory(lang):
    # Was 739 MB (fr), 670 MB (ar), 753 MB (auto) peak: re kept a backtracking entry per character.
    result = _long_word_peak(lang, 5)
    assert result["peak_mb"] < 200, result


def test_chinese_pieces_keep_the_segmentation():
    from fahras.text.chinese import MAX_PIECE, SEGMENTER, segment

    sentence = "安全理事会决定延长联合国特派团的任务期限，并请秘书长提交报告。UN-2015 mission\r\n"
    text = sentence * (2 * MAX_PIECE // len(sentence) + 1)
    whole = [(text[s:e], s, e) for _, s, e in SEGMENTER.get().tokenize(text)]
    assert segment(text) == whole


@pytest.mark.slow
def test_chinese_long_run_is_segmented_in_bounded_time():
    # A 1 MB run of Latin letters took over two minutes in jieba (its time grows faster than the run).
    result = run_measured("""
        from fahras.text import get_analyzer
        _result["terms"] = len(get_analyzer("zh").tokens("a" * 2**20))
    """)
    assert result["terms"] >= 1
    assert result["seconds"] < 60, result


def test_paragraph_detection_judges_a_long_line_on_samples():
    # A line of 200,000 letters took 137 s in lingua (auto:paragraph); now its samples, about a second.
    result = run_measured("""
        from fahras.text.langid import detect_paragraph_languages
        text = "Le Conseil de sécurité décide de proroger le mandat. " + "a" * 2**20
        _result["spans"] = [list(s) for s in detect_paragraph_languages(text)]
    """)
    assert result["spans"] == [[0, 2**20 + 53, result["spans"][0][2]]]
    assert result["seconds"] < 60, result
