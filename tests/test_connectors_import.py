"""Corpora from MARCXML files and texts on disk, and "from nothing to a model" without a network."""

from __future__ import annotations

import json
import shutil

import pytest

from connectors_support import FIXTURES, fahras, make_pdf, marc_page, marc_record
from fahras.connectors.build import import_marcxml, safe_name
from fahras.corpus import read_corpus
from fahras.errors import InputError
from fahras.vocab import load_vocabulary

T = "http://metadata.un.org/thesaurus/"


@pytest.fixture
def vocab_path(tmp_path, monkeypatch):
    monkeypatch.setenv("FAHRAS_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "unbist.ttl"
    shutil.copy(FIXTURES / "unbist-20240301.ttl", path)
    return path


@pytest.fixture
def texts(tmp_path):
    folder = tmp_path / "pdfs"
    folder.mkdir()
    (folder / "S_RES_2532(2020)-EN.pdf").write_bytes(make_pdf([
        "The Security Council,", "Recalling its resolutions on peacekeeping operations in the Sudan,",
        "Demands a ceasefire.", "20-08631 (E)"]))
    (folder / "s_res_2532(2020)-fr.PDF").write_bytes(make_pdf(["Le Conseil de securite exige un cessez-le-feu."]))
    (folder / "S_RES_2532(2020)-AR.pdf").write_bytes(b"%PDF-1.4 this file is damaged")
    (folder / "A_RES_75_1-EN.txt").write_text("We, the Heads of State, reaffirm international security.",
                                              encoding="utf-8")
    return folder


@pytest.mark.parametrize("symbol, name", [
    ("S/RES/2532 (2020)", "S_RES_2532_(2020)"),
    ("../../etc/passwd", "etc_passwd"),
    ("..", "record"),
    ("CON", "_CON"),
    ("nul.txt", "_nul.txt"),
    ("A/HRC/RES/45/1\x00", "A_HRC_RES_45_1"),
    ("E/CN.4/2005/L.10/Add.1", "E_CN.4_2005_L.10_Add.1"),
    ("А/RES/1 (русский)", "RES_1_(_)"),  # non-ASCII letters become _
])
def test_safe_names(symbol, name):
    assert safe_name(symbol) == name


def test_long_symbols_are_cut_with_a_hash():
    a, b = safe_name("A/" + "X" * 300), safe_name("A/" + "X" * 299 + "Y")
    assert len(a) <= 100 and len(b) <= 100 and a != b and "/" not in a


def test_import_with_texts_authorities_and_labels(tmp_path, vocab_path, texts):
    out = tmp_path / "corpus"
    summary = import_marcxml([FIXTURES / "records.xml", FIXTURES / "records-prefixed.xml"], out, texts=texts,
                             vocab=load_vocabulary(vocab_path))
    assert summary.records_read == 6 and summary.authority_records == 2
    assert summary.records_without_subjects == 1
    # 3870001 (EN and FR texts; AR damaged), 3870002 (title), 3870010 (EN text; ES missing), 3870011 (title)
    assert summary.records_written == 4 and summary.title_documents == 2
    assert summary.subjects_by_authority == 2 and summary.subjects_by_uri == 1
    assert summary.subjects_by_label == 4 and summary.subjects_local == 1
    assert summary.texts_missing == 2 and summary.texts_unreadable == 1
    names = sorted(p.name for p in (out / "documents").iterdir())
    assert names == ["A_RES_75_1-EN.txt", "S_RES_2532_(2020)-EN.txt", "S_RES_2532_(2020)-FR.txt",
                     "S_RES_2533_(2020).txt", "a_res_75_1-3870011.txt"]  # symbols equal but for case
    docs = {d.id: d for d in read_corpus(out / "documents")}
    first = docs["S_RES_2532_(2020)-EN"]
    assert first.subjects == (T + "1000544", T + "1000700", T + "1001200", "SUDAN--POLITICAL CONDITIONS")
    assert "Demands a ceasefire." in first.text and "20-08631" not in first.text
    assert docs["S_RES_2533_(2020)"].text.strip() == "Resolution 2533 (2020) on ceasefires in Côte d'Ivoire"
    assert docs["S_RES_2533_(2020)"].subjects == (T + "1000700", T + "1001300")
    assert docs["A_RES_75_1-EN"].subjects == (T + "1000100",)
    log = {e["record_id"]: e for e in map(json.loads, (out / "records.jsonl").read_text().splitlines())}
    assert set(log) == {"3870001", "3870002", "3870003", "3870004", "3870010", "3870011"}
    statuses = {f["lang"]: f["status"] for f in log["3870001"]["files"]}
    assert statuses["en"] == "extracted from S_RES_2532(2020)-EN.pdf"
    assert statuses["fr"] == "extracted from s_res_2532(2020)-fr.PDF"
    assert statuses["ar"].startswith("unreadable: cannot read PDF")
    assert log["3870004"]["status"] == "skipped: no text and no title"
    assert log["3870004"]["subjects"][0]["matched"] == "label"  # the hidden label matched


def test_require_text_and_language_choice(tmp_path, vocab_path, texts):
    out = tmp_path / "corpus"
    summary = import_marcxml([FIXTURES / "records.xml"], out, texts=texts, vocab=load_vocabulary(vocab_path),
                             langs=("fr",), require_text=True)
    assert summary.records_written == 1 and summary.records_without_text == 2
    assert sorted(p.name for p in (out / "documents").iterdir()) == ["S_RES_2532_(2020)-FR.txt"]


def test_without_a_thesaurus_headings_are_kept_and_authority_uris_used(tmp_path, texts):
    out = tmp_path / "corpus"
    import_marcxml([FIXTURES / "records.xml"], out, texts=texts)
    doc = next(d for d in read_corpus(out / "documents") if d.id == "S_RES_2532_(2020)-EN")
    assert doc.subjects == (T + "1000544", "ceasefires", "SOUDAN", "SUDAN--POLITICAL CONDITIONS")


def test_rerun_skips_what_is_done(tmp_path, vocab_path, texts):
    out = tmp_path / "corpus"
    vocab = load_vocabulary(vocab_path)
    import_marcxml([FIXTURES / "records.xml"], out, texts=texts, vocab=vocab)
    again = import_marcxml([FIXTURES / "records.xml"], out, texts=texts, vocab=vocab)
    assert again.records_already_done == 4 and again.records_written == 0
    assert len((out / "records.jsonl").read_text().splitlines()) == 4


def test_import_errors(tmp_path, texts):
    with pytest.raises(InputError, match="malformed XML"):
        import_marcxml([FIXTURES / "malformed.xml"], tmp_path / "c")
    with pytest.raises(InputError, match="--texts: not a folder"):
        import_marcxml([FIXTURES / "records.xml"], tmp_path / "c", texts=texts / "S_RES_2532(2020)-EN.pdf")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="cannot create the corpus folder"):
        import_marcxml([FIXTURES / "records.xml"], blocker / "corpus")


def test_cli_import_summary_and_errors(tmp_path, vocab_path, texts):
    result = fahras("corpus", "import", "marcxml", FIXTURES / "records.xml", "--texts", texts, "--vocab", vocab_path,
                    "--out", tmp_path / "corpus", "--lang", "en,fr", "--quiet",
                    env={"FAHRAS_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stderr
    assert "records written: 2 (3 documents, 1 of them titles only)" in result.stderr
    assert "subjects matched to the thesaurus: 5 (by authority record 2, by URI 0, by label 3)" in result.stderr
    assert "subjects kept as local headings: 1" in result.stderr
    assert "records without subjects (skipped): 1" in result.stderr
    assert "texts missing: 1" in result.stderr
    bad = fahras("corpus", "import", "marcxml", FIXTURES / "malformed.xml", "--out", tmp_path / "c2")
    assert bad.returncode == 65 and "malformed.xml:13: malformed XML" in bad.stderr and "Traceback" not in bad.stderr
    unsafe = fahras("corpus", "import", "marcxml", FIXTURES / "entities.xml", "--out", tmp_path / "c3")
    assert unsafe.returncode == 65 and "DTD or entity" in unsafe.stderr


TOPICS = {
    "CEASEFIRES": ("1000700", ["The parties agreed to a ceasefire along the front line.",
                               "Observers will monitor the ceasefire and report violations of the truce."]),
    "PEACEKEEPING OPERATIONS": ("1000544", ["The Council extends the mandate of the peacekeeping mission.",
                                            "Troop contributors provide peacekeepers and formed police units."]),
    "SUDAN": ("1001200", ["The situation in the Sudan and Darfur remains serious.",
                          "Khartoum and the Sudanese parties must protect civilians in Darfur."]),
}


def test_from_nothing_to_a_model_offline(tmp_path, vocab_path):
    """Import MARCXML records and PDFs from disk, train on the result, suggest for a new text."""
    records, pdfs = [], tmp_path / "pdfs"
    pdfs.mkdir()
    number = 0
    for round_ in range(4):
        for label, (_, lines) in TOPICS.items():
            for other, (_, other_lines) in TOPICS.items():
                if other == label and round_ % 2:
                    continue
                number += 1
                symbol = f"S/RES/{2600 + number} (2021)"
                subjects = [(label, None)] + ([(other, None)] if other != label else [])
                records.append(marc_record(str(5000 + number), symbol, "2021-03-01", subjects))
                stem = symbol.replace("/", "_").replace(" ", "")
                body = lines * (2 + round_) + (other_lines if other != label else [])
                (pdfs / f"{stem}-EN.pdf").write_bytes(make_pdf([f"Resolution {number}"] + body))
    marc = tmp_path / "records.xml"
    marc.write_bytes(marc_page(records, len(records)))
    env = {"FAHRAS_CACHE_DIR": str(tmp_path / "cache")}
    result = fahras("corpus", "import", "marcxml", marc, "--texts", pdfs, "--vocab", vocab_path, "--out",
                    tmp_path / "corpus", "--require-text", "--quiet", env=env)
    assert result.returncode == 0, result.stderr
    assert f"records written: {len(records)} ({len(records)} documents, 0 of them titles only)" in result.stderr
    result = fahras("train", "--vocab", vocab_path, "--out", tmp_path / "model", "--backend", "tfidf-linear",
                    "--cv-folds", "2", "--lang", "en", "--quiet", tmp_path / "corpus" / "documents", env=env)
    assert result.returncode == 0, result.stderr
    new_text = tmp_path / "new.txt"
    new_text.write_text("The parties to the conflict shall respect the ceasefire; observers will monitor the truce.",
                        encoding="utf-8")
    result = fahras("suggest", tmp_path / "model", new_text, "--json", "--limit", "3", "--lang", "en", env=env)
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout)["results"]
    assert results[0]["uri"] == T + "1000700" and results[0]["label"] == "CEASEFIRES"

    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    assert manifest["vocabulary"]["version"] == "2024-03-01" and len(manifest["vocabulary"]["checksum"]) == 64
    same = fahras("info", tmp_path / "model", "--vocab", vocab_path, env=env)
    assert same.returncode == 0 and "same edition" in same.stderr
    newer = tmp_path / "unbist-20250115.ttl"
    newer.write_text(vocab_path.read_text(encoding="utf-8").replace('"2024-03-01"', '"2025-01-15"').replace(
        '"CEASEFIRES"@en', '"CEASE-FIRES"@en'), encoding="utf-8")
    warned = fahras("info", tmp_path / "model", "--vocab", newer, env=env)
    assert warned.returncode == 0, warned.stderr
    assert ("warning: the model was trained on an older thesaurus (2024-03-01) than "
            f"{newer} (2025-01-15): 0 added, 0 removed, 1 relabelled") in warned.stderr
