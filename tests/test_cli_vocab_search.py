"""``fahras vocab search`` and the "did you mean" of ``fahras vocab show``."""

from __future__ import annotations

import json

from clirun import run
from conftest import UNBIS_JSON, requires_shared

CONSULTATIONS = "http://metadata.un.org/thesaurus/1001256"


def test_search_in_three_scripts_finds_consultations(capsys):
    requires_shared()
    for query in ("مشاور", "consult", "协商"):
        result = run(capsys, "vocab", "search", query, "--vocab", UNBIS_JSON)
        assert result.code == 0, result.err
        assert f"<{CONSULTATIONS}>" in result.out, query


def test_search_text_shows_the_matched_label_and_json_shape(capsys):
    requires_shared()
    result = run(capsys, "vocab", "search", "مشاور", "--vocab", UNBIS_JSON, "--limit", "3")
    first = result.out.splitlines()[0]
    assert "CONSULTATIONS" in first and "matched ar: المشاورات" in first
    result = run(capsys, "vocab", "search", "协商", "--vocab", UNBIS_JSON, "--limit", "2", "--json")
    data = json.loads(result.out)
    assert len(data["results"]) == 2
    top = data["results"][0]
    assert top["uri"] == CONSULTATIONS and top["label"] == "CONSULTATIONS"
    assert (top["matched"], top["matched_language"]) == ("协商", "zh")
    assert top["labels"]["ar"] == "المشاورات" and top["local"] is False
    assert top["score"] > data["results"][1]["score"]


def test_search_lang_restricts_matches_and_labels(capsys):
    requires_shared()
    result = run(capsys, "vocab", "search", "consultations", "--vocab", UNBIS_JSON, "--lang", "fr", "--json")
    results = json.loads(result.out)["results"]
    assert results and all(r["matched_language"] == "fr" for r in results)
    result = run(capsys, "vocab", "search", "协商", "--vocab", UNBIS_JSON, "--lang", "en")
    assert result.code == 0 and result.out == "" and "no concept matches" in result.err


def test_search_a_models_snapshot_finds_local_headings(capsys, trained_model):
    result = run(capsys, "vocab", "search", "sudan polit", "--model", trained_model, "--json")
    assert result.code == 0, result.err
    results = json.loads(result.out)["results"]
    local = [r for r in results if r["local"]]
    assert any(r["label"] == "SUDAN--POLITICAL CONDITIONS" for r in local)
    text = run(capsys, "vocab", "search", "sudan polit", "--model", trained_model).out
    assert "[local]" in text


def test_search_needs_exactly_one_source(capsys, tmp_path):
    assert run(capsys, "vocab", "search", "x").code == 64
    requires_shared()
    assert run(capsys, "vocab", "search", "x", "--vocab", UNBIS_JSON, "--model", tmp_path).code == 64
    result = run(capsys, "vocab", "search", "x", "--model", tmp_path / "none")
    assert result.code == 66 and "not found" in result.err
    result = run(capsys, "vocab", "search", "x", "--model", tmp_path)
    assert result.code == 66 and "not a Fahras model" in result.err


def test_show_without_exact_match_suggests_close_concepts(capsys):
    requires_shared()
    result = run(capsys, "vocab", "show", UNBIS_JSON, "VIOLENCE AGAINST WOMEN")
    assert result.code == 65
    assert "no concept 'VIOLENCE AGAINST WOMEN'" in result.err and "did you mean" in result.err
    assert "WOMEN" in result.err.split("did you mean", 1)[1]
    assert len(result.err.strip().splitlines()) == 1
    result = run(capsys, "vocab", "show", UNBIS_JSON, "xqzxqz")
    assert result.code == 65 and "did you mean" not in result.err
