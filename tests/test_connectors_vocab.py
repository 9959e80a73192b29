"""The official UNBIS SKOS dump: every label kind, hierarchy, micro-thesaurus and domain, cache, diff, tree."""

from __future__ import annotations

import json
import shutil

import pytest

from connectors_support import FIXTURES, fahras
from fahras.errors import InputError
from fahras.vocab import Concept, Vocabulary, load_vocabulary
from fahras.vocab import skos
from fahras.vocab.diff import diff_vocabularies
from fahras.vocab.tree import broader_chain, hierarchy_lines

T = "http://metadata.un.org/thesaurus/"
NEW = "unbist-20240301.ttl"
OLD = "unbist-2012-old.ttl"


@pytest.fixture
def ttl(tmp_path, monkeypatch):
    """Copy a fixture dump into a fresh folder (the cache is written next to it)."""
    monkeypatch.setenv("FAHRAS_CACHE_DIR", str(tmp_path / "user-cache"))

    def copy(name: str = NEW):
        target = tmp_path / name
        shutil.copy(FIXTURES / name, target)
        return target
    return copy


def test_every_label_kind_and_relation(ttl):
    vocab = load_vocabulary(ttl())
    assert len(vocab) == 6  # micro-thesauri and domains are groups, not concepts
    pko = vocab.get(T + "1000544")
    assert pko.identifier == "1000544" and pko.notation == "T0000544"
    assert set(pko.labels) == {"ar", "zh", "en", "fr", "ru", "es"}
    assert pko.labels["zh"] == "维持和平行动"
    assert pko.alt_labels == {"en": ("PEACE-KEEPING OPERATIONS",), "fr": ("CASQUES BLEUS",)}
    assert pko.hidden_labels == {"en": ("PEACEKEEPING OPERATONS",)}
    assert pko.scope_notes["fr"] == ("Opérations déployées par l'ONU.",)
    assert pko.broader == (T + "1000100",) and pko.narrower == (T + "1000545",)
    assert pko.related == (T + "1000700",)
    assert pko.micro_thesaurus == T + "020100" and pko.domain == T + "02"
    assert set(pko.groups) == {T + "020100", T + "02"}
    assert vocab.groups[T + "02"]["ar"] == "العلاقات الدولية"
    assert vocab.groups[T + "180100"]["en"] == "AFRICA"
    assert vocab.get(T + "1001200").domain == T + "18"
    assert vocab.version == "2024-03-01" and len(vocab.checksum) == 64


def test_hidden_alt_and_tcode_lookup(ttl):
    vocab = load_vocabulary(ttl())
    assert vocab.find("peacekeeping operatons").uri == T + "1000544"      # hidden label, case ignored
    assert vocab.find("Soudan (République du)").uri == T + "1001200"      # hidden label, accents ignored
    assert vocab.find("casques bleus").uri == T + "1000544"               # alternative label
    assert vocab.find("T0000700").uri == T + "1000700"                    # T-code
    assert vocab.find("1000545").uri == T + "1000545"                     # 7-digit id
    kinds = {(lang, kind) for lang, _, kind in vocab.get(T + "1000544").matching_labels()}
    assert ("en", "hidden") in kinds and ("fr", "alt") in kinds and ("zh", "pref") in kinds
    assert [label for _, label, _ in vocab.get(T + "1000544").matching_labels("en")] == [
        "PEACEKEEPING OPERATIONS", "PEACE-KEEPING OPERATIONS", "PEACEKEEPING OPERATONS"]


def test_pref_labels_win_over_hidden_labels_of_other_concepts():
    a = Concept(uri="u:a", identifier="a", labels={"en": "ALPHA"}, hidden_labels={"en": ("BETA",)})
    b = Concept(uri="u:b", identifier="b", labels={"en": "BETA"})
    assert Vocabulary([a, b]).find("beta").uri == "u:b"
    assert Vocabulary([b, a]).find("beta").uri == "u:b"


def test_old_dump_style(ttl):
    vocab = load_vocabulary(ttl(OLD))
    uris = {c.uri for c in vocab}
    old = "http://metadata.un.org/thesaurus#"
    assert uris == {old + "0000544", old + "0000700", old + "0001200"}  # the place name's own class counts
    sudan = vocab.get(old + "0001200")
    assert sudan.micro_thesaurus == old + "180100" and sudan.domain == old + "18"
    assert vocab.find("peacekeeping").uri == old + "0000544"
    assert vocab.version == "2012-06-30"


def test_saved_concepts_round_trip_and_old_dicts_still_load(ttl):
    vocab = load_vocabulary(ttl())
    again = Vocabulary.from_dict(json.loads(json.dumps(vocab.to_dict())))
    assert again.get(T + "1000544") == vocab.get(T + "1000544")
    assert again.version == vocab.version and again.checksum == vocab.checksum
    legacy = Vocabulary.from_dict({"source": "x", "groups": {}, "concepts": [
        {"uri": "u:1", "identifier": "1", "labels": {"en": "PEACE"}, "alt_labels": {"en": ["CALM"]}}]})
    concept = legacy.get("u:1")
    assert concept.hidden_labels == {} and concept.notation == "" and concept.domain == ""
    assert legacy.version == "" and legacy.find("calm").uri == "u:1"


def test_cache_written_next_to_the_file_and_used(ttl, monkeypatch):
    path = ttl()
    first = load_vocabulary(path)
    cache = path.with_name(path.name + ".fahras-cache.json")
    data = json.loads(cache.read_text(encoding="utf-8"))
    assert data["sha256"] == first.checksum and data["format"] == skos.CACHE_FORMAT

    def no_parse(*args, **kwargs):
        raise AssertionError("the cache should have been used")
    monkeypatch.setattr(skos, "parse_skos", no_parse)
    cached = load_vocabulary(path)
    assert cached.get(T + "1000544") == first.get(T + "1000544")
    assert cached.source == str(path) and cached.version == "2024-03-01"


def test_cache_invalidated_when_the_source_changes(ttl):
    path = ttl()
    load_vocabulary(path)
    path.write_text(path.read_text(encoding="utf-8").replace('"CEASEFIRES"@en', '"CEASE-FIRES"@en'),
                    encoding="utf-8")
    changed = load_vocabulary(path)
    assert changed.get(T + "1000700").labels["en"] == "CEASE-FIRES"
    cache = json.loads(path.with_name(path.name + ".fahras-cache.json").read_text(encoding="utf-8"))
    assert cache["sha256"] == changed.checksum


def test_cache_falls_back_to_the_user_cache_then_to_none(ttl, tmp_path, monkeypatch, caplog):
    path = ttl()
    # A folder where the cache file should go makes that place unwritable (this also works as root).
    path.with_name(path.name + ".fahras-cache.json").mkdir()
    vocab = load_vocabulary(path)
    user = tmp_path / "user-cache" / "vocab" / f"{vocab.checksum}.fahras-cache.json"
    assert user.is_file()
    user.unlink()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("FAHRAS_CACHE_DIR", str(blocker))
    with caplog.at_level("WARNING"):
        assert len(load_vocabulary(path)) == 6
    assert "no writable place for the vocabulary cache" in caplog.text


def test_a_damaged_cache_is_ignored(ttl):
    path = ttl()
    path.with_name(path.name + ".fahras-cache.json").write_text("{not json", encoding="utf-8")
    assert len(load_vocabulary(path)) == 6


def test_parse_errors_name_the_file(tmp_path):
    bad = tmp_path / "unbist-bad.ttl"
    bad.write_text("@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\nthis is not turtle", encoding="utf-8")
    with pytest.raises(InputError, match="cannot parse SKOS") as caught:
        load_vocabulary(bad)
    assert caught.value.path == str(bad)


def _next_edition(ttl, tmp_path):
    text = (FIXTURES / NEW).read_text(encoding="utf-8")
    text = text.replace('"CEASEFIRES"@en', '"CEASE-FIRES"@en').replace('owl:versionInfo "2024-03-01"',
                                                                        'owl:versionInfo "2025-01-15"')
    text = text.replace('unbist:1001300 a skos:Concept', 'unbist:1001400 a skos:Concept').replace(
        '"T0001300"', '"T0001400"')
    path = tmp_path / "unbist-20250115.ttl"
    path.write_text(text, encoding="utf-8")
    return path


def test_diff_added_removed_relabelled(ttl, tmp_path):
    old = load_vocabulary(ttl())
    new = load_vocabulary(_next_edition(ttl, tmp_path))
    diff = diff_vocabularies(old, new)
    assert [c.uri for c in diff.added] == [T + "1001400"]
    assert [c.uri for c in diff.removed] == [T + "1001300"]
    assert [(r.uri, r.old, r.new) for r in diff.relabelled] == [
        (T + "1000700", {"en": "CEASEFIRES"}, {"en": "CEASE-FIRES"})]
    assert not diff_vocabularies(old, old)


def test_diff_pairs_concepts_by_tcode_when_uris_change():
    a = Vocabulary([Concept(uri="http://x#1", identifier="1", labels={"en": "PEACE"}, notation="T1")])
    b = Vocabulary([Concept(uri="http://x/9", identifier="9", labels={"en": "PEACE AND SECURITY"}, notation="T1")])
    diff = diff_vocabularies(a, b)
    assert not diff.added and not diff.removed
    assert diff.relabelled[0].new == {"en": "PEACE AND SECURITY"}


def test_hierarchy_lines(ttl):
    vocab = load_vocabulary(ttl())
    missions = vocab.get(T + "1000545")
    assert [c.uri for c in broader_chain(vocab, missions)] == [T + "1000100", T + "1000544"]
    lines = hierarchy_lines(vocab, missions, "fr")
    assert lines[0] == "02 RELATIONS INTERNATIONALES  (domain)"
    assert lines[1] == "  020100 SÉCURITÉ INTERNATIONALE  (micro-thesaurus)"
    assert lines[2] == "    SÉCURITÉ INTERNATIONALE  [T0000100]"
    assert lines[3] == "      OPÉRATIONS DE MAINTIEN DE LA PAIX  [T0000544]"
    assert lines[4] == "        * PEACEKEEPING MISSIONS  [T0000545]"
    pko = hierarchy_lines(vocab, vocab.get(T + "1000544"), "en")
    assert "        PEACEKEEPING MISSIONS  [T0000545]" in pko
    assert "related: CEASEFIRES  [T0000700]" in pko
    assert any(line.startswith("scope note: Operations deployed") for line in pko)


def test_cycles_in_broader_do_not_loop():
    a = Concept(uri="u:a", identifier="a", labels={"en": "A"}, broader=("u:b",))
    b = Concept(uri="u:b", identifier="b", labels={"en": "B"}, broader=("u:a",))
    vocab = Vocabulary([a, b])
    assert [c.uri for c in broader_chain(vocab, a)] == ["u:b"]


def test_cli_vocab_show_tree_and_diff(ttl, tmp_path):
    path = ttl()
    result = fahras("vocab", "show", path, "casques bleus", "--tree", env={"FAHRAS_CACHE_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "* PEACEKEEPING OPERATIONS  [T0000544]" in result.stdout
    assert "020100 INTERNATIONAL SECURITY  (micro-thesaurus)" in result.stdout
    newer = _next_edition(ttl, tmp_path)
    result = fahras("vocab", "diff", path, newer)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"+ {T}1001400\tCÔTE D'IVOIRE" in lines
    assert f"- {T}1001300\tCÔTE D'IVOIRE" in lines
    assert f"~ {T}1000700\ten: CEASEFIRES -> CEASE-FIRES" in lines
    assert "2024-03-01 -> 2025-01-15: 1 added, 1 removed, 1 relabelled" in result.stderr
    as_json = json.loads(fahras("vocab", "diff", path, newer, "--json").stdout)
    assert as_json["new"]["version"] == "2025-01-15" and len(as_json["relabelled"]) == 1
    missing = fahras("vocab", "diff", path, tmp_path / "nope.ttl")
    assert missing.returncode == 65 and "Traceback" not in missing.stderr
