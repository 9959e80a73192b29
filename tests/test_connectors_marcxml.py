"""MARC 21 XML as the UN Digital Library serves it: namespaces, several symbols, missing fields, bad XML."""

from __future__ import annotations

import io

import pytest

from connectors_support import FIXTURES
from fahras.corpus.marcxml import (AuthorityRecord, MarcRecord, ParseInfo, iter_marcxml_bytes,
                                   iter_marcxml_stream, language_of_file, normalize_date, read_marcxml)
from fahras.errors import InputError


def bibs(records):
    return [r for r in records if isinstance(r, MarcRecord)]


def test_default_namespace_records_and_total_comment():
    info = ParseInfo()
    with open(FIXTURES / "records.xml", "rb") as handle:
        records = list(iter_marcxml_stream(handle, "records.xml", info))
    assert info.total == 5 and info.records == 6
    first, second, third, fourth = bibs(records)
    assert first.record_id == "3870001" and first.symbol == "S/RES/2532 (2020)"
    assert first.title == "Resolution 2532 (2020) adopted by the Security Council at its 8742nd meeting, on 1 July 2020"
    assert first.date == "2020-07-01" and first.languages == ("ar", "en", "fr")
    labels = [(s.label, s.authority, s.source, s.tag) for s in first.subjects]
    assert labels == [("PEACE KEEPING OPERATIONS", "274431", "unbist", "650"), ("ceasefires", None, "unbist", "650"),
                      ("SOUDAN", None, "unbist", "651"), ("SUDAN--POLITICAL CONDITIONS", None, "local", "650")]
    assert [(f.lang, f.name, f.size) for f in first.files] == [
        ("ar", "S_RES_2532(2020)-AR.pdf", 2048), ("en", "S_RES_2532(2020)-EN.pdf", 2048),
        ("fr", "S_RES_2532(2020)-FR.pdf", 2048)]
    assert first.files[0].language_name == "العربية"
    assert second.symbols == ("S/RES/2533 (2020)", "S/2020/700")         # several 191 $a
    assert second.title == "Resolution 2533 (2020) on ceasefires in Côte d'Ivoire"
    assert third.subjects == () and third.files == () and third.date == ""
    # No symbol, no title, an empty 650 $a and an 856 without $u: all tolerated.
    assert fourth.symbols == () and fourth.title == "" and len(fourth.subjects) == 1 and fourth.files == ()


def test_authority_records():
    authorities = [r for r in read_marcxml(FIXTURES / "records.xml") if isinstance(r, AuthorityRecord)]
    assert [(a.authority_id, a.uri, a.tcode, a.label) for a in authorities] == [
        ("274431", "http://metadata.un.org/thesaurus/1000544", None, "PEACEKEEPING OPERATIONS"),
        ("274500", None, "T0000700", "CEASEFIRES")]
    assert authorities[0].alt_labels == ("PEACE KEEPING OPERATIONS",)


def test_prefix_on_every_element():
    first, second = bibs(read_marcxml(FIXTURES / "records-prefixed.xml"))
    assert first.symbol == "A/RES/75/1" and first.languages == ("en", "es")
    assert first.subjects[0].uri == "http://metadata.un.org/thesaurus/1000100"
    assert [f.lang for f in first.files] == ["en", "es"] and first.files[1].size is None
    assert second.symbol == "a/res/75/1"


def test_no_namespace_and_api_response_wrapper():
    data = (b"<response><total>1</total><search_id>abc123</search_id><collection>"
            b"<record><controlfield tag='001'>9</controlfield>"
            b"<datafield tag='191' ind1=' ' ind2=' '><subfield code='a'>E/2021/1</subfield></datafield>"
            b"<datafield tag='269' ind1=' ' ind2=' '><subfield code='a'>2021</subfield></datafield>"
            b"</record></collection></response>")
    info = ParseInfo()
    (record,) = list(iter_marcxml_bytes(data, "api", info))
    assert record.symbol == "E/2021/1" and record.date == "2021"
    assert info.total == 1 and info.search_id == "abc123"


def test_records_are_streamed_across_small_chunks():
    data = (FIXTURES / "records.xml").read_bytes()
    records = list(iter_marcxml_stream(io.BytesIO(data), "x", chunk_size=7))
    assert len(records) == 6 and records[0].symbol == "S/RES/2532 (2020)"


def test_malformed_xml_names_file_and_line():
    with pytest.raises(InputError, match="malformed XML") as caught:
        list(read_marcxml(FIXTURES / "malformed.xml"))
    assert caught.value.path.endswith("malformed.xml") and caught.value.line == 13


def test_records_before_the_error_are_still_yielded():
    records = []
    with pytest.raises(InputError):
        for record in read_marcxml(FIXTURES / "malformed.xml"):
            records.append(record)
    assert [r.record_id for r in records] == []  # the first record itself is cut off in this file
    data = (FIXTURES / "records.xml").read_bytes()
    cut = data[: data.index(b"<controlfield tag=\"001\">3870002")] + b"<datafield"
    got = []
    with pytest.raises(InputError):
        for record in iter_marcxml_bytes(cut, "cut.xml"):
            got.append(record.record_id)
    assert got == ["3870001"]


def test_dtd_and_entities_are_refused():
    with pytest.raises(InputError, match="DTD or entity") as caught:
        list(read_marcxml(FIXTURES / "entities.xml"))
    assert caught.value.line == 2
    # Also when the declaration straddles two chunks.
    data = (FIXTURES / "entities.xml").read_bytes()
    with pytest.raises(InputError, match="DTD or entity"):
        list(iter_marcxml_stream(io.BytesIO(data), "x", chunk_size=25))


def test_unbound_prefix_and_empty_file():
    with pytest.raises(InputError, match="malformed XML"):
        list(iter_marcxml_bytes(b"<marc:record><marc:controlfield tag='001'>1</marc:controlfield></marc:record>",
                                "x"))
    with pytest.raises(InputError, match="malformed XML"):
        list(iter_marcxml_bytes(b"", "empty.xml"))


def test_folder_of_files(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "two.xml").write_bytes((FIXTURES / "records-prefixed.xml").read_bytes())
    (tmp_path / "one.XML").write_bytes((FIXTURES / "records.xml").read_bytes())
    (tmp_path / "notes.txt").write_text("not a record")
    ids = [r.record_id for r in bibs(read_marcxml(tmp_path))]
    assert ids == ["3870010", "3870011", "3870001", "3870002", "3870003", "3870004"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no .xml files"):
        list(read_marcxml(empty))
    with pytest.raises(InputError, match="not found"):
        list(read_marcxml(tmp_path / "missing.xml"))


@pytest.mark.parametrize("raw, iso", [("20200701", "2020-07-01"), ("2020-07-01", "2020-07-01"), ("2020", "2020"),
                                      ("202007", "2020-07"), ("July 2020", "July 2020")])
def test_dates(raw, iso):
    assert normalize_date(raw) == iso


@pytest.mark.parametrize("url, name, lang", [
    ("https://x/files/A_RES_75_1-ZH.pdf", None, "zh"), ("https://x/files/a-ru.PDF", None, "ru"),
    ("https://x/files/doc.pdf", "Español", "es"), ("https://x/files/doc.pdf", "Arabic", "ar"),
    ("https://x/files/doc.pdf", None, None), ("https://x/files/A-EN.pdf?version=2", None, "en")])
def test_language_of_file(url, name, lang):
    assert language_of_file(url, name) == lang
