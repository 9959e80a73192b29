"""Property-based fuzzing of every corpus and vocabulary reader Fahras owns.

Whatever the bytes, a reader yields documents or raises one
:class:`~fahras.errors.InputError` naming the file; never another exception.
Read leniently (the default), a corpus skips each bad document with a
warning and goes on: the good ones all come out, the bad ones are counted.

The default run uses the ``fuzz`` profile (few examples); the slow run
``fuzz-long`` (see ``robust_support``).  Both have a fixed seed.
"""

from __future__ import annotations

import gzip
import json
import logging

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from fahras import InputError, read_corpus
from fahras.corpus.unexport import parse_export
from fahras.vocab import load_vocabulary

from robust_support import FUZZ, FUZZ_LONG

# -- strategies --------------------------------------------------------------------------
ENCODINGS = ["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16", "utf-16-le", "utf-16-be"]
label = st.text(alphabet=st.sampled_from("ABCD éÉ-,|\t \u00a0ñ"), max_size=12)
header = st.builds(lambda labels, bars, prefix: prefix + "".join(f"{l}{b}" for l, b in zip(labels, bars)),
                   st.lists(label, max_size=5), st.lists(st.sampled_from(["|", "", "||"]), min_size=5, max_size=5),
                   st.sampled_from(["%%%", "%%", "", " %%%", "%%%%"]))
body = st.text(max_size=200)
export_text = st.builds(lambda h, sep, b: h + sep + b, header,
                        st.sampled_from(["\n\n", "\r\n\r\n", "\n", "\nx\n", ""]), body)
encoded_export = st.builds(lambda text, enc: text.encode(enc, "replace"), export_text, st.sampled_from(ENCODINGS))
any_bytes = st.one_of(st.binary(max_size=300), encoded_export,
                      st.builds(lambda raw, cut: raw[:cut], encoded_export, st.integers(0, 50)))


def _export_outcome(raw: bytes, path) -> str:
    try:
        doc = parse_export(raw, path)
    except InputError as error:
        assert error.path == str(path) and str(path) in str(error)
        return "error"
    assert doc.text.strip() and all(s == s.strip() and s for s in doc.subjects)
    return "ok"


# -- UN export format ------------------------------------------------------------------
@FUZZ
@given(any_bytes)
def test_export_parser_never_crashes(tmp_path_factory, raw):
    _export_outcome(raw, tmp_path_factory.getbasetemp() / "doc.txt")


@pytest.mark.slow
@FUZZ_LONG
@given(any_bytes)
def test_export_parser_never_crashes_long(tmp_path_factory, raw):
    _export_outcome(raw, tmp_path_factory.getbasetemp() / "doc.txt")


def _export_folder_keeps_the_good_ones(tmp_path_factory, files):
    folder = tmp_path_factory.mktemp("export")
    expected_ok = set()
    for i, raw in enumerate(files):
        path = folder / f"d{i:03d}.txt"
        path.write_bytes(raw)
        if _export_outcome(raw, path) == "ok":
            expected_ok.add(path.stem)
    corpus = read_corpus(folder, "un-export")
    ids = {doc.id for doc in corpus}
    assert ids == expected_ok
    assert corpus.skipped == len(files) - len(expected_ok)
    assert all(str(folder) in str(e) for e in corpus.errors)


@FUZZ
@given(st.lists(any_bytes, min_size=1, max_size=6))
def test_export_folder_skips_bad_files_and_reads_the_rest(tmp_path_factory, files):
    _export_folder_keeps_the_good_ones(tmp_path_factory, files)


@pytest.mark.slow
@FUZZ_LONG
@given(st.lists(any_bytes, min_size=1, max_size=6))
def test_export_folder_long(tmp_path_factory, files):
    _export_folder_keeps_the_good_ones(tmp_path_factory, files)


# -- Annif TSV and JSONL ------------------------------------------------------------------
tsv_line = st.one_of(
    st.builds(lambda t, uris: t + "\t" + " ".join(uris), st.text(max_size=40).map(lambda t: t.replace("\n", " ")),
              st.lists(st.sampled_from(["<http://x/1>", "<http://x/2>", "http://x/3", "<>", "<a", ""]), max_size=3)),
    st.text(max_size=40))
json_value = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                              st.sampled_from(["id", "text", "subjects", "uri", "label", "x"]), inner, max_size=4),
                          max_leaves=12)
jsonl_line = st.one_of(json_value.map(json.dumps), st.text(max_size=40).map(lambda t: t.replace("\n", " ")),
                       st.builds(lambda i, t, s: json.dumps({"id": i, "text": t, "subjects": s}),
                                 st.sampled_from(["a", "b", 1, None, ""]), st.text(max_size=20),
                                 st.lists(st.fixed_dictionaries({"uri": st.sampled_from(["http://x/1", "", " "])}),
                                          max_size=2)))


def _line_file(tmp_path_factory, name, lines, encoding, gz, cut):
    data = "\n".join(lines).encode(encoding, "replace")
    if gz:
        data = gzip.compress(data)
    if cut is not None:
        data = data[:cut]
    path = tmp_path_factory.mktemp("lines") / name
    path.write_bytes(data)
    return path


def _read_lines_corpus(path):
    corpus = read_corpus(path)
    docs = list(corpus)  # lenient: never raises for a bad line
    for doc in docs:
        assert doc.text.strip()
    ids = [d.id for d in docs]
    assert len(ids) == len(set(ids))
    for error in corpus.errors:
        assert error.path == str(path)
    try:
        strict_docs = list(read_corpus(path, strict=True))
    except InputError as error:
        assert corpus.skipped >= 1 and error.path == str(path)
    else:
        assert corpus.skipped == 0 and [d.id for d in strict_docs] == ids
    return docs, corpus


line_files = dict(encoding=st.sampled_from(ENCODINGS[:4]), gz=st.booleans(),
                  cut=st.one_of(st.none(), st.integers(0, 400)))


@FUZZ
@given(lines=st.lists(tsv_line, max_size=8), **line_files)
def test_annif_tsv_reader_never_crashes(tmp_path_factory, lines, encoding, gz, cut):
    _read_lines_corpus(_line_file(tmp_path_factory, "c.tsv.gz" if gz else "c.tsv", lines, encoding, gz, cut))


@FUZZ
@given(lines=st.lists(jsonl_line, max_size=8), **line_files)
def test_jsonl_reader_never_crashes(tmp_path_factory, lines, encoding, gz, cut):
    _read_lines_corpus(_line_file(tmp_path_factory, "c.jsonl.gz" if gz else "c.jsonl", lines, encoding, gz, cut))


@pytest.mark.slow
@FUZZ_LONG
@given(tsv=st.lists(tsv_line, max_size=8), jsonl=st.lists(jsonl_line, max_size=8), **line_files)
def test_line_readers_long(tmp_path_factory, tsv, jsonl, encoding, gz, cut):
    _read_lines_corpus(_line_file(tmp_path_factory, "c.tsv.gz" if gz else "c.tsv", tsv, encoding, gz, cut))
    _read_lines_corpus(_line_file(tmp_path_factory, "c.jsonl.gz" if gz else "c.jsonl", jsonl, encoding, gz, cut))


def _annif_dir(tmp_path_factory, docs):
    folder = tmp_path_factory.mktemp("docdir")
    for i, (text, subjects, kind) in enumerate(docs):
        (folder / f"d{i}.txt").write_bytes(text)
        if kind:
            (folder / f"d{i}.{kind}").write_bytes(subjects)
    (folder / "anchor.txt").write_text("Anchor text")
    (folder / "anchor.key").write_text("IRAQ\n")
    corpus = read_corpus(folder)
    docs_read = list(corpus)
    assert "anchor" in {d.id for d in docs_read}
    assert len(docs_read) + corpus.skipped == len(docs) + 1


@FUZZ
@given(st.lists(st.tuples(any_bytes, any_bytes, st.sampled_from(["tsv", "key", None])), max_size=4))
def test_annif_dir_reader_never_crashes(tmp_path_factory, docs):
    _annif_dir(tmp_path_factory, docs)


@pytest.mark.slow
@FUZZ_LONG
@given(st.lists(st.tuples(any_bytes, any_bytes, st.sampled_from(["tsv", "key", None])), max_size=4))
def test_annif_dir_reader_long(tmp_path_factory, docs):
    _annif_dir(tmp_path_factory, docs)


# -- vocabularies --------------------------------------------------------------------------
topic = st.fixed_dictionaries(
    {"url": st.sampled_from(["http://x/1", "http://x/2", "http://x/2", "", " http://x/3 "])},
    optional={"labels": st.one_of(json_value, st.dictionaries(st.sampled_from(["en", "fr", "de", "xx", "zh"]),
                                                                st.one_of(st.text(max_size=8), st.none(), st.integers()),
                                                                max_size=3)),
              "related": st.one_of(json_value, st.lists(st.sampled_from(["1", "010101", 3]), max_size=3)),
              "identifier": json_value})
vocab_json = st.one_of(json_value, st.builds(lambda ts: {"topics": ts}, st.lists(topic, max_size=5)))


def _load(path):
    try:
        vocab = load_vocabulary(path)
    except InputError as error:
        assert error.path == str(path)
        return None
    for concept in vocab:
        assert concept.uri == concept.uri.strip() and concept.uri
        assert all(isinstance(v, str) and v == v.strip() and v for v in concept.labels.values())
    return vocab


@FUZZ
@given(st.one_of(vocab_json.map(lambda v: json.dumps(v).encode()), any_bytes))
def test_unbis_json_reader_never_crashes(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("vocab") / "v.json"
    path.write_bytes(raw)
    _load(path)


table_cell = st.sampled_from(["uri", "label_en", "label_fr", "label_de", "identifier", "broader",
                              "http://x/1", "http://x/2", "<http://x/1>", " IRAQ ", "", "x", "\x00", '"'])
table = st.lists(st.lists(table_cell, max_size=5), max_size=6)


@FUZZ
@given(table, st.sampled_from([",", "\t"]), st.sampled_from(ENCODINGS[:3]))
def test_table_reader_never_crashes(tmp_path_factory, rows, sep, encoding):
    path = tmp_path_factory.mktemp("vocab") / ("v.csv" if sep == "," else "v.tsv")
    path.write_bytes("\n".join(sep.join(r) for r in rows).encode(encoding))
    _load(path)


@pytest.mark.slow
@FUZZ_LONG
@given(st.one_of(vocab_json.map(lambda v: json.dumps(v).encode()), any_bytes), table)
def test_vocab_readers_long(tmp_path_factory, raw, rows):
    folder = tmp_path_factory.mktemp("vocab")
    (folder / "v.json").write_bytes(raw)
    _load(folder / "v.json")
    (folder / "v.csv").write_text("\n".join(",".join(r) for r in rows))
    _load(folder / "v.csv")
