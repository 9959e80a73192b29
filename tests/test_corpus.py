import gzip
import json

import pytest

from fahras import InputError, read_corpus
from fahras.corpus import detect_format
from fahras.corpus.unexport import parse_export, write_export
from fahras.corpus.document import Document

from conftest import RESOLUTIONS, requires_shared


def write(path, data: bytes | str):
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


# -- UN library export format ------------------------------------------------------
def test_export_file_parsed(tmp_path):
    write(tmp_path / "A_64_842.txt", "%%%ARMED INCIDENTS|KYRGYZSTAN|\n\nThe text.\nSecond line.")
    [doc] = read_corpus(tmp_path)
    assert doc.id == "A_64_842"
    assert doc.subjects == ("ARMED INCIDENTS", "KYRGYZSTAN")
    assert doc.text == "The text.\nSecond line."


def test_export_tolerates_crlf_bom_and_missing_final_bar(tmp_path):
    write(tmp_path / "d.txt", b"\xef\xbb\xbf%%%TERRORISM|IRAQ\r\n\r\nText.")
    [doc] = read_corpus(tmp_path)
    assert doc.subjects == ("TERRORISM", "IRAQ")
    assert doc.text.strip() == "Text."


@pytest.mark.parametrize("content, line, words", [
    ("ARMED INCIDENTS|\n\nText", 1, "%%%"),
    ("%%%ARMED INCIDENTS|\nText starts too early\nmore", 2, "line 2 must be empty"),
    ("%%%ARMED INCIDENTS|\n\n   \n", 3, "empty text"),
    ("%%%ARMED INCIDENTS|\n", 3, "empty text"),
])
def test_export_errors_name_file_and_line(tmp_path, content, line, words):
    path = write(tmp_path / "bad.txt", content)
    with pytest.raises(InputError) as info:
        list(read_corpus(tmp_path, "un-export", strict=True))
    assert info.value.path == str(path) and info.value.line == line
    assert words in str(info.value) and str(path) in str(info.value)


def test_export_invalid_utf8_names_line(tmp_path):
    path = write(tmp_path / "bad.txt", b"%%%IRAQ|\n\nline three\nline \xff four")
    with pytest.raises(InputError) as info:
        list(read_corpus(tmp_path, strict=True))
    assert info.value.line == 4 and "UTF-8" in str(info.value) and info.value.path == str(path)


def test_export_reader_streams(tmp_path):
    write(tmp_path / "a.txt", "%%%IRAQ|\n\nfine")
    write(tmp_path / "b.txt", "no header")
    docs = read_corpus(tmp_path, "un-export", strict=True)
    assert next(docs).id == "a"  # the bad file is only met when reached
    with pytest.raises(InputError):
        next(docs)


def test_write_export_round_trip(tmp_path):
    doc = Document("x", "Body text\nwith lines", ("A", "B--C"))
    path = write_export(doc, tmp_path)
    assert parse_export(path.read_bytes(), path) == doc


def test_real_resolutions_read():
    requires_shared()
    docs = list(read_corpus(RESOLUTIONS))
    assert len(docs) == 529
    first = docs[0]
    assert first.id == "S_RES_1581_2005_"
    assert "FORMER YUGOSLAVIA SITUATION" in first.subjects
    assert first.text.lstrip().startswith("United Nations")


# -- Annif formats ---------------------------------------------------------------------
def test_annif_dir_with_tsv_and_key(tmp_path):
    write(tmp_path / "one.txt", "First document")
    write(tmp_path / "one.tsv", "<http://x/1>\tONE\n<http://x/2>\tTWO\n")
    write(tmp_path / "two.txt", "Second document")
    write(tmp_path / "two.key", "IRAQ\nTERRORISM\n")
    assert detect_format(tmp_path) == "annif-dir"
    docs = {d.id: d for d in read_corpus(tmp_path)}
    assert docs["one"].subjects == ("http://x/1", "http://x/2")
    assert docs["two"].subjects == ("IRAQ", "TERRORISM")


def test_annif_dir_missing_subject_file(tmp_path):
    write(tmp_path / "one.txt", "First")
    write(tmp_path / "one.tsv", "<http://x/1>\tONE\n")
    write(tmp_path / "two.txt", "Second")
    with pytest.raises(InputError, match="two.txt: no subject file"):
        list(read_corpus(tmp_path, "annif-dir", strict=True))


def test_annif_tsv(tmp_path):
    path = write(tmp_path / "c.tsv", "Short text one\t<http://x/1> <http://x/2>\n\nAnother\t<http://x/3>\n")
    docs = list(read_corpus(path))
    assert [d.subjects for d in docs] == [("http://x/1", "http://x/2"), ("http://x/3",)]
    assert docs[1].metadata["line"] == 3


def test_annif_tsv_gzip(tmp_path):
    path = tmp_path / "c.tsv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("Gzipped text\t<http://x/1>\n")
    assert [d.text for d in read_corpus(path)] == ["Gzipped text"]


@pytest.mark.parametrize("line, words", [
    ("no tab here", "no tab"),
    ("text\thttp://x/1", "not a <uri>"),
    ("\t<http://x/1>", "empty text"),
])
def test_annif_tsv_errors(tmp_path, line, words):
    path = write(tmp_path / "c.tsv", "Good\t<http://x/1>\n" + line + "\n")
    with pytest.raises(InputError) as info:
        list(read_corpus(path, strict=True))
    assert info.value.line == 2 and words in str(info.value)


def test_jsonl(tmp_path):
    records = [{"id": "d1", "text": "Text one", "subjects": [{"uri": "http://x/1"}, {"label": "IRAQ"}]},
               {"text": "Text two", "subjects": []}]
    path = write(tmp_path / "c.jsonl", "\n".join(json.dumps(r) for r in records))
    docs = list(read_corpus(path))
    assert docs[0].id == "d1" and docs[0].subjects == ("http://x/1", "IRAQ")
    assert docs[1].id == "c:2" and docs[1].subjects == ()


@pytest.mark.parametrize("line, words", [
    ("{not json", "invalid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"subjects": []}', '"text"'),
    ('{"text": "t", "subjects": [{"note": "x"}]}', '"uri" or a "label"'),
    ('{"text": "t", "subjects": "IRAQ"}', "must be a list"),
])
def test_jsonl_errors(tmp_path, line, words):
    path = write(tmp_path / "c.jsonl", '{"text": "ok"}\n' + line + "\n")
    with pytest.raises(InputError) as info:
        list(read_corpus(path, strict=True))
    assert info.value.line == 2 and words in str(info.value)


def test_unknown_corpus(tmp_path):
    with pytest.raises(InputError, match="corpus not found"):
        read_corpus(tmp_path / "missing")
    path = write(tmp_path / "plain.csv", "a,b")
    with pytest.raises(InputError, match="cannot tell the corpus format"):
        read_corpus(path)
