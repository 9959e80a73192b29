"""Vocabulary files with cycles, missing labels, duplicate URIs, unknown languages, bad values;
and corpus files that used to escape as tracebacks (truncated gzip, deep JSON nesting)."""

from __future__ import annotations

import gzip
import json
import logging

import pytest

from fahras import InputError, load_vocabulary, read_corpus
from fahras.vocab import Concept
from fahras.vocab.checks import hierarchy_cycles


def _topics(tmp_path, topics):
    path = tmp_path / "all_topics.json"
    path.write_text(json.dumps({"topics": topics}))
    return path


def test_unbis_json_warns_about_duplicates_missing_labels_and_other_languages(tmp_path, caplog):
    path = _topics(tmp_path, [
        {"url": "http://x/1", "labels": {"en": "  WATER  ", "de": "WASSER"}},
        {"url": "http://x/1", "labels": {"en": "SECOND"}},
        {"url": "http://x/2", "labels": {"en": ""}},
    ])
    with caplog.at_level(logging.WARNING, logger="fahras.vocab"):
        vocab = load_vocabulary(path)
    assert len(vocab) == 2 and vocab.get("http://x/1").labels == {"en": "WATER"}
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "duplicate URI http://x/1 (the first one is kept)" in text
    assert "http://x/2 has no label" in text
    assert "other than the six UN ones ignored: de" in text
    assert all(str(path) in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("topics, words", [
    ([{"url": "http://x/1", "labels": {"en": 5}}], 'label "en" is not text'),
    ([{"url": "http://x/1", "labels": {"en": "A"}, "related": 7}], '"related" must be a list'),
    ([{"url": "http://x/1", "labels": {"en": "A"}, "identifier": {"a": 1}}], '"identifier" must be text'),
    ([{"url": 3, "labels": {}}], 'topic #1 lacks "url"'),
])
def test_unbis_json_bad_values_are_one_line_errors(tmp_path, topics, words):
    with pytest.raises(InputError, match=words):
        load_vocabulary(_topics(tmp_path, topics))


def test_unbis_json_deep_nesting_and_bad_hierarchy(tmp_path):
    path = tmp_path / "v.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputError, match="v.json"):
        load_vocabulary(path)
    good = _topics(tmp_path, [{"url": "http://x/1", "labels": {"en": "A"}}])
    (tmp_path / "hierarchy.json").write_text(json.dumps({"nodes": [{"attributes": {}}]}))
    with pytest.raises(InputError, match='hierarchy.json: node #1 lacks a "key"'):
        load_vocabulary(good)


def test_table_warns_about_cycles_and_ignores_unknown_language_columns(tmp_path, caplog):
    path = tmp_path / "v.csv"
    path.write_text("uri,label_en,label_xx,broader\n"
                    "http://x/a,A,aa,http://x/b\nhttp://x/b,B,bb,http://x/c\nhttp://x/c,C,cc,http://x/a\n"
                    "http://x/d,D,dd,\nhttp://x/d,D2,,\n")
    with caplog.at_level(logging.WARNING, logger="fahras.vocab"):
        vocab = load_vocabulary(path)
    assert len(vocab) == 4 and vocab.get("http://x/a").labels == {"en": "A"}
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "broader/narrower cycle: http://x/a -> http://x/b -> http://x/c -> http://x/a" in text
    assert "label_xx" in text and "duplicate URI http://x/d" in text


def test_table_field_over_csv_limit_is_an_error_naming_the_line(tmp_path):
    path = tmp_path / "v.csv"
    path.write_bytes(b"uri,label_en\nhttp://x/a,A\nhttp://x/b,\"" + b"B" * 200_000 + b"\"\n")
    with pytest.raises(InputError, match=r"v.csv:3: cannot read the table: field larger than field limit"):
        load_vocabulary(path)


def test_cycles_through_narrower_links_and_deep_chains():
    chain = [Concept(f"u{i}", f"u{i}", {"en": f"L{i}"}, broader=(f"u{i + 1}",)) for i in range(50_000)]
    assert hierarchy_cycles(chain) == []  # no recursion limit
    loop = [Concept("a", "a", {"en": "A"}, narrower=("b",)), Concept("b", "b", {"en": "B"}, narrower=("a",))]
    assert hierarchy_cycles(loop) == [["a", "b", "a"]]


def test_truncated_gzip_corpus_keeps_the_lines_before(tmp_path):
    path = tmp_path / "c.tsv.gz"
    data = gzip.compress("".join(f"text {i}\t<http://x/{i}>\n" for i in range(2000)).encode())
    path.write_bytes(data[: len(data) // 2])  # EOFError escaped as a traceback before
    corpus = read_corpus(path)
    docs = list(corpus)
    assert 0 < len(docs) < 2000 and corpus.skipped == 1
    assert "the rest of the file is left out" in str(corpus.errors[0])
    with pytest.raises(InputError, match="c.tsv.gz"):
        list(read_corpus(path, strict=True))


def test_deeply_nested_jsonl_line_is_skipped(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"text": "one"}\n' + "[" * 100_000 + "]" * 100_000 + '\n{"text": "three"}\n')
    corpus = read_corpus(path)  # RecursionError escaped as a traceback before
    assert [d.text for d in corpus] == ["one", "three"]
    assert "nested too deeply" in str(corpus.errors[0]) and corpus.errors[0].line == 2
