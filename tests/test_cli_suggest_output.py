"""What ``fahras suggest`` prints: surface-form explanations, file offsets, one JSON shape, local headings."""

from __future__ import annotations

import io
import json
import sys

import pytest

from clirun import run
from conftest import RESOLUTIONS
from fahras.explain import export_header_length, shift_evidence, surface_evidence, surface_form
from fahras.models import Evidence


# ---------------------------------------------------------------- the helpers
def test_surface_form_is_the_most_frequent_spelling_as_written():
    text = "The Organization. organizations, the ORGANIZATION and the Organization"
    spans = [(4, 16), (18, 31), (37, 49), (58, 70)]
    assert surface_form(text, spans) == "Organization"  # 3 of 4 read "organization", first written so
    assert surface_form("in\n  particular", [(0, 15)]) == "in particular"
    assert surface_form("abc", [(5, 9)]) is None


def test_terms_become_surface_forms_merged_case_insensitively():
    text = "UNAMID and the mission. The UNAMID mandate; unamid."
    evidence = [
        Evidence("term", "UNAMID", 1.0, [(0, 6), (28, 34)]),          # the acronyms backend: as written
        Evidence("term", "unamid", 0.112, [(0, 6), (28, 34), (44, 50)]),  # a stem
        Evidence("term", "mission", 0.3, [(15, 22)]),
        Evidence("term", "mandat", 0.5, [(35, 42)]),
    ]
    merged = surface_evidence(text, evidence)
    assert [(e.text, e.weight) for e in merged] == [("UNAMID", 1.0), ("mandate", 0.5), ("mission", 0.3)]
    assert merged[0].spans == [(0, 6), (28, 34), (44, 50)]
    assert evidence[0].spans == [(0, 6), (28, 34)]  # the backends' own items are not changed


def test_passages_and_spanless_terms_are_kept():
    text = "Some passage here."
    evidence = [Evidence("passage", "Some passage here.", 0.4, [(0, 18)]), Evidence("term", "januari", 0.2, [])]
    assert [(e.kind, e.text) for e in surface_evidence(text, evidence)] == [("passage", "Some passage here."),
                                                                            ("term", "januari")]


def test_export_header_length_matches_what_reading_drops():
    from fahras.text import extract_bytes

    for raw in ["%%%A|B|\n\nThe text.", "%%%A|\r\n\r\nThe text.", "%%%A|\nThe text.", "Plain text.\n", "%%%A|"]:
        text = extract_bytes(raw.encode(), "x.txt", strip=False, detect=False).text if raw != "%%%A|" else ""
        offset = export_header_length(raw)
        assert raw[offset:] == text, raw
    assert export_header_length("plain") == 0


def test_shift_evidence():
    ev = [Evidence("term", "a", 1.0, [(1, 2), (5, 6)])]
    assert shift_evidence(ev, 10)[0].spans == [(11, 12), (15, 16)]
    assert shift_evidence(ev, 0)[0] is ev[0]


# ---------------------------------------------------------------- the command
@pytest.fixture(scope="module")
def darfur_file():
    path = RESOLUTIONS / "S_RES_2063_2012_.txt"
    if not path.is_file():
        pytest.skip("shared data not found")
    return path


def _check_evidence_against_file(results, raw: str) -> int:
    checked = 0
    for row in results:
        seen = set()
        for ev in row.get("evidence", []):
            assert ev["text"].casefold() not in seen, f"{ev['text']} twice for {row['label']}"
            seen.add(ev["text"].casefold())
            if ev["kind"] == "term":
                found = {" ".join(raw[start:end].split()).casefold() for start, end in ev["spans"]}
                assert ev["text"].casefold() in found, (ev, [raw[s:e] for s, e in ev["spans"]])
                checked += 1
    return checked


def test_explain_json_words_as_written_at_offsets_into_the_file(capsys, trained_model, darfur_file):
    raw = darfur_file.read_text(encoding="utf-8")
    result = run(capsys, "suggest", trained_model, darfur_file, "--json", "--explain", "--limit", "5")
    assert result.code == 0, result.err
    [line] = result.out.splitlines()
    document = json.loads(line)
    assert document["document"] == str(darfur_file)
    assert _check_evidence_against_file(document["results"], raw) >= 5
    # the offsets count the header line: none points into it
    header = export_header_length(raw)
    assert header > 3
    assert all(s >= header for r in document["results"] for e in r.get("evidence", []) for s, _ in e["spans"])


def test_explain_from_standard_input_counts_the_header_too(capsys, monkeypatch, trained_model, darfur_file):
    raw = darfur_file.read_text(encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw.encode("utf-8"))))
    result = run(capsys, "suggest", trained_model, "--json", "--explain", "--limit", "3")
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["document"] == "-"
    assert _check_evidence_against_file(document["results"], raw) >= 3


def test_explain_text_shows_surface_forms_once(capsys, trained_model, darfur_file):
    raw = darfur_file.read_text(encoding="utf-8")
    result = run(capsys, "suggest", trained_model, darfur_file, "--explain", "--limit", "3")
    assert result.code == 0, result.err
    blocks: list[list[str]] = []
    for line in result.out.splitlines():
        if line.startswith("\t\tterm: "):
            blocks[-1].append(line)
        else:
            blocks.append([])
    assert blocks and any(blocks)
    for block in blocks:
        words = [line.split(": ", 1)[1].rsplit(" (", 1)[0] for line in block]
        assert len({w.casefold() for w in words}) == len(words)
        for line, word in zip(block, words):
            start, end = map(int, line.rsplit(" at ", 1)[1].split(",")[0].rstrip(")").split("-"))
            assert " ".join(raw[start:end].split()) == word


def test_json_has_one_shape_for_one_or_several_documents(capsys, trained_model, darfur_file, tmp_path):
    other = RESOLUTIONS / "S_RES_2035_2012_.txt"
    one = run(capsys, "suggest", trained_model, darfur_file, "--json", "--limit", "2")
    two = run(capsys, "suggest", trained_model, darfur_file, other, "--json", "--limit", "2")
    assert one.code == two.code == 0
    first = [json.loads(line) for line in one.out.splitlines()]
    both = [json.loads(line) for line in two.out.splitlines()]
    assert len(first) == 1 and len(both) == 2
    for document in first + both:
        assert set(document) == {"document", "results"}
        assert all({"uri", "label", "score", "local"} <= set(r) for r in document["results"])
    assert both[0] == first[0]
    assert [d["document"] for d in both] == [str(darfur_file), str(other)]


def test_local_headings_are_marked_and_stay_english(capsys, trained_model, darfur_file):
    result = run(capsys, "suggest", trained_model, darfur_file, "--json", "--label-lang", "ar", "--limit", "60")
    results = json.loads(result.out)["results"]
    local = [r for r in results if r["local"]]
    thesaurus = [r for r in results if not r["local"]]
    assert local and thesaurus
    def arabic(label: str) -> bool:
        return any("\u0600" <= ch <= "\u06ff" for ch in label)

    assert all(r["uri"].startswith("urn:fahras:local:") and not arabic(r["label"]) for r in local)
    assert all(not r["uri"].startswith("urn:fahras:local:") for r in thesaurus)
    assert any(arabic(r["label"]) for r in thesaurus)  # thesaurus concepts do come in Arabic
    text = run(capsys, "suggest", trained_model, darfur_file, "--label-lang", "ar", "--limit", "60").out
    lines = text.splitlines()
    for r in results:
        [line] = [ln for ln in lines if f"<{r['uri']}>" in ln]
        assert line.endswith("[local heading]") == r["local"]
