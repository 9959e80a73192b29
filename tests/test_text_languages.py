"""Languages beyond the six (any language Snowball stems), and models that know their training languages.

``--lang fi`` (de, sv, ...) trains with a plain Snowball analyzer; the tiny
Finnish and German corpora of tests/fixtures/snowball are written so that the
test documents share stems, not word forms, with the training documents.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import run
from synthetic import corpus_documents

from fahras import Indexer
from fahras.text import SnowballAnalyzer, analyzer_from_config, get_analyzer
from fahras.text.analyzer import snowball_languages

FIXTURES = Path(__file__).parent / "fixtures" / "snowball"
VOCAB = FIXTURES / "vocab.tsv"
UN = ("ar", "zh", "en", "fr", "ru", "es")


def test_every_language_pystemmer_offers_has_a_plain_analyzer():
    import Stemmer

    codes = snowball_languages()
    assert set(codes.values()) >= set(Stemmer.algorithms()) - {"porter", "dutch_porter"}
    for code in set(codes) - set(UN):
        analyzer = get_analyzer(code)
        assert type(analyzer) is SnowballAnalyzer and analyzer.lang == code
        assert analyzer.fold_accents is False  # no UN-language extras: letters such as ä stay
        assert analyzer_from_config(analyzer.config()).config() == analyzer.config()


@pytest.mark.parametrize("lang, forms, stem", [
    ("fi", "kalastajat kalastajien kalastajan", "kalastaj"),
    ("de", "Fischer Fischern Fischers", "fisch"),
    ("sv", "fiskare fiskarna fiskarens", "fisk"),
])
def test_plain_snowball_stems_inflected_forms_alike(lang, forms, stem):
    assert get_analyzer(lang).terms(forms) == [stem] * 3


def test_plain_snowball_keeps_accents_and_has_no_stop_words():
    assert get_analyzer("fi").terms("järvi ja metsä") == ["järv", "ja", "mets"]
    assert get_analyzer("de").terms("die Wälder") == ["die", "wald"]


def test_unknown_language_is_refused_with_the_choices():
    from fahras.errors import UsageError

    with pytest.raises(UsageError, match="fi"):
        get_analyzer("xx")


@pytest.mark.parametrize("lang, corpus, text, expected", [
    ("fi", "fi.jsonl", "Kalastajien veneet lähtivät järvelle; kalastuksesta saatiin hyvä saalis.", "kalastus"),
    ("fi", "fi.jsonl", "Opettajien mukaan koulutukseen tarvitaan lisää rahaa kouluille.", "koulutus"),
    ("de", "de.jsonl", "Die Fischer des Dorfes verlangen neue Fangquoten für die Fischerei.", "fischerei"),
    ("de", "de.jsonl", "Die Lehrer und Schüler der Schulen fordern mehr Unterricht.", "schulen"),
])
def test_train_suggest_eval_index_in_another_language(capsys, tmp_path, lang, corpus, text, expected):
    model = tmp_path / "model"
    trained = run(capsys, "train", "--vocab", VOCAB, "--out", model, "--lang", lang, "--quiet",
                  FIXTURES / corpus)
    assert trained.code == 0, trained.err
    manifest = json.loads((model / "manifest.json").read_text(encoding="utf-8"))
    assert json.dumps(manifest).count(f'"lang": "{lang}"') >= 1
    doc = tmp_path / "doc.txt"
    doc.write_text(text, encoding="utf-8")
    # without --lang: the model's language (detection knows only the six)
    for extra in ((), ("--lang", lang)):
        out = run(capsys, "suggest", model, doc, "--limit", "1", "--json", *extra)
        assert out.code == 0, out.err
        line = json.loads(out.out)
        assert line["results"][0]["uri"].endswith("/" + expected)
        assert "warning" not in line
    evaluated = run(capsys, "eval", model, FIXTURES / corpus, "--json", "--quiet")
    assert evaluated.code == 0, evaluated.err
    assert json.loads(evaluated.out)["precision@1"] == 1.0
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "doc.txt").write_text(text, encoding="utf-8")
    indexed = run(capsys, "index", model, folder, "--out", tmp_path / "out", "--limit", "1", "--quiet")
    assert indexed.code == 0, indexed.err
    assert (tmp_path / "out" / "doc.annif").read_text(encoding="utf-8").startswith(f"<http://example.org/s/{expected}>")


def test_help_lists_the_snowball_languages(capsys):
    for command in ("train", "suggest", "index"):
        out = run(capsys, command, "--help")
        assert out.code == 0 and "fi" in out.out and "Snowball" in out.out, command


# -- training languages ---------------------------------------------------------------------

FRENCH = ("Le Conseil note le rapport du comité sur les écoles, les enseignants et les élèves, et "
          "se félicite des efforts des États membres pour l'alphabétisation.")


@pytest.fixture(scope="module")
def english_model() -> Indexer:
    documents, vocab = corpus_documents()
    return Indexer(backend="tfidf-linear", cv_folds=0).fit(documents, vocab)


def test_model_records_its_training_languages(english_model):
    assert english_model.training_["languages"] == {"en": len(corpus_documents()[0])}


def test_a_document_in_another_language_gets_a_warning(english_model):
    [french] = english_model.suggest_batch([FRENCH], limit=3)
    assert french and all("French (fr)" in s.warning and "en" in s.warning for s in french)
    [english] = english_model.suggest_batch(["The school teachers and pupils of the university."], limit=3)
    assert english and all(s.warning == "" for s in english)
    # the JSON of a suggestion is unchanged
    assert set(french[0].to_dict()) == {"uri", "label", "score"}


def test_models_that_do_not_know_their_languages_give_no_warning(english_model):
    saved = dict(english_model.training_)
    try:
        del english_model.training_["languages"]  # a model saved before they were recorded
        assert english_model.language_warning(english_model.analyse(FRENCH)) == ""
    finally:
        english_model.training_ = saved


def test_cli_warns_on_stderr_and_in_the_json_line(capsys, tmp_path, english_model):
    model = tmp_path / "model"
    english_model.save(model)
    doc = tmp_path / "fr.txt"
    doc.write_text(FRENCH, encoding="utf-8")
    out = run(capsys, "suggest", model, doc, "--json", "--limit", "2")
    assert out.code == 0, out.err
    line = json.loads(out.out)
    assert "French (fr)" in line["warning"] and line["results"]
    assert "warning" in out.err and "French" in out.err
    plain = run(capsys, "suggest", model, doc, "--limit", "2")
    assert plain.code == 0 and "not calibrated" in plain.err
    english = tmp_path / "en.txt"
    english.write_text("The school teachers and pupils of the university.", encoding="utf-8")
    quiet = run(capsys, "suggest", model, english, "--json", "--limit", "2")
    assert "warning" not in json.loads(quiet.out) and "warning" not in quiet.err


def test_another_snowball_language_needs_a_model_of_it(capsys, tmp_path, english_model):
    from fahras.errors import UsageError

    with pytest.raises(UsageError, match="document language 'de'"):
        english_model.suggest_batch(["Die Schulen"], lang="de")
    model = tmp_path / "fi"
    assert run(capsys, "train", "--vocab", VOCAB, "--out", model, "--lang", "fi", "--quiet",
               FIXTURES / "fi.jsonl").code == 0
    doc = tmp_path / "doc.txt"
    doc.write_text("Die Fischer fordern Fangquoten.", encoding="utf-8")
    refused = run(capsys, "suggest", model, doc, "--lang", "de")
    assert refused.code == 2 and "--lang" in refused.err and "fi" in refused.err
