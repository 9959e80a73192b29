"""Large documents: refused over the size limit, bounded in memory and time under it."""

from __future__ import annotations

import pytest

from fahras import read_corpus

from robust_support import run_measured


def test_corpus_skips_documents_over_the_limit(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "big.txt").write_bytes(b"%%%IRAQ|\n\n" + b"word " * 400_000)  # 2 MB
    (folder / "small.txt").write_bytes(b"%%%IRAQ|\n\nA small document.")
    corpus = read_corpus(folder, max_document_bytes=2**20)
    assert [d.id for d in corpus] == ["small"]
    assert corpus.skipped == 1 and "big.txt: document of 1.9 MB is larger than the limit of 1.0 MB" in str(
        corpus.errors[0])


@pytest.mark.parametrize("name", ["c.tsv", "c.jsonl"])
def test_line_readers_skip_an_over_long_line_without_holding_it(tmp_path, name):
    path = tmp_path / name
    long_text = "word " * 400_000
    lines = ([f"first\t<http://x/1>", f"{long_text}\t<http://x/1>", "third\t<http://x/2>"] if name.endswith(".tsv")
             else ['{"text": "first"}', '{"text": "%s"}' % long_text, '{"text": "third"}'])
    path.write_text("\n".join(lines) + "\n")
    corpus = read_corpus(path, max_document_bytes=2**20)
    assert [d.text for d in corpus] == ["first", "third"]
    assert corpus.skipped == 1 and corpus.errors[0].line == 2


def _two_hundred_mb_word(tmp_path):
    path = tmp_path / "word200.txt"
    with path.open("wb") as handle:
        for _ in range(200):
            handle.write(b"a" * 2**20)
    return path


@pytest.mark.slow
def test_200_mb_document_is_refused_quickly_in_little_memory(tmp_path):
    path = _two_hundred_mb_word(tmp_path)
    result = run_measured(f"""
        from fahras.errors import InputError
        from fahras.text import extract
        try:
            extract({str(path)!r})
        except InputError as error:
            _result["error"] = str(error)
    """)
    assert "larger than the limit of 50.0 MB" in result["error"]
    assert result["peak_mb"] < 300, result
    assert result["seconds"] < 60, result


@pytest.mark.slow
def test_200_mb_document_under_a_raised_limit_is_bounded(tmp_path):
    # The issue measured 17.6 GB for a 200 MB one-word file with --lang auto.
    path = _two_hundred_mb_word(tmp_path)
    result = run_measured(f"""
        from fahras.text import extract, get_analyzer
        text = extract({str(path)!r}, max_bytes=256 * 2**20).text
        _result["terms"] = len(get_analyzer("auto").tokens(text))
    """, timeout=1800)
    assert result["peak_mb"] < 3000, result
    assert result["seconds"] < 3 * 200, result
