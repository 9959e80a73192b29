"""Train / suggest / evaluate / save / load on the real shared resolutions."""

import json

import numpy as np
import pytest

from fahras import Document, Indexer, InputError, read_corpus
from fahras.decision import GOLD_OFFSETS, GOLD_SCALES, DecisionRule
from fahras.errors import ModelError, UsageError


@pytest.fixture(scope="module")
def model(trained_model):
    return Indexer.load(trained_model)


def test_training_stats_count_thesaurus_and_local_subjects(model):
    t = model.training_
    assert t["documents"] == 429
    assert t["thesaurus_subjects"] > 10 and t["local_subjects"] > 10
    assert t["thesaurus_occurrences"] + t["local_occurrences"] >= t["documents"]
    # ITP headings are kept as local subjects, thesaurus matches as UNBIS concepts.
    assert model.vocab_.find("SUDAN--POLITICAL CONDITIONS").local
    sudan = model.vocab_.find("SUDAN--POLITICAL CONDITIONS").uri
    assert sudan in model.subjects_.index
    # TERRORISM (10 training resolutions) and NUCLEAR NON-PROLIFERATION (16) are thesaurus concepts.
    for label in ("TERRORISM", "NUCLEAR NON-PROLIFERATION"):
        concept = model.vocab_.find(label)
        assert concept.uri.startswith("http://metadata.un.org/thesaurus/") and not concept.local
        assert concept.uri in model.subjects_.index


def test_held_out_quality(model, time_split):
    result = model.evaluate(read_corpus(time_split[1]))
    assert result["documents"] == 100
    # Measured 2026-12-05 (commit 316f095 plus this branch's test changes), this fixture (default
    # ensemble, cv_folds=3, trained on 2005-2011, evaluated on 2012-2013), two trainings:
    # nDCG@5 0.899 / 0.901, precision@1 0.86 / 0.86, F1 0.843 / 0.845 (omikuji's training is not
    # repeatable, so the figures move a little).  Thresholds sit a little below: a drop of about
    # 0.03 fails.
    assert result["ndcg@5"] > 0.87
    assert result["precision@1"] > 0.80
    assert result["f1"] > 0.81
    rule = DecisionRule.from_dict(result["decision_rule"])  # the default kind, tuned in training
    assert rule.kind == "expected-f1" and rule.gold_scale in GOLD_SCALES and rule.gold_offset in GOLD_OFFSETS


def test_suggestions_on_a_cote_divoire_resolution(model, time_split):
    doc = next(d for d in read_corpus(time_split[1]) if "UN OPERATION IN CÔTE D'IVOIRE" in d.subjects)
    top = model.suggest(doc.text, limit=3)
    assert len(top) == 3
    assert top[0].score >= top[1].score >= top[2].score
    assert "UN OPERATION IN CÔTE D'IVOIRE" in [s.label for s in top]
    assert all(0 <= s.score <= 1 for s in top)


def test_label_language_and_all_labels(model):
    text = "The Security Council decides on the situation in Afghanistan and the Assistance Mission."
    [first] = model.suggest(text, limit=1, label_lang="ar")
    concept = model.vocab_.get(first.uri)
    assert first.label == concept.label("ar")
    assert set(first.to_dict(all_labels=True)["labels"]) == {"ar", "zh", "en", "fr", "ru", "es"}


def test_explain_points_into_the_text(model):
    text = "Recalling its resolutions on Somalia, the Council condemns piracy off the coast of Somalia."
    [first] = model.suggest(text, limit=1, explain=True)
    assert first.evidence
    for ev in first.evidence:
        for start, end in ev.spans:
            assert text[start:end].lower().startswith(ev.text.split()[0][:3].lower())


def test_decision_rule_overrides(model):
    text = "The situation in the Middle East, Lebanon and the Golan."
    assert len(model.suggest(text, limit=7)) == 7
    assert all(s.score >= 0.5 for s in model.suggest(text, threshold=0.5))
    with pytest.raises(UsageError):
        model.suggest(text, threshold=1.5)
    with pytest.raises(UsageError):
        model.suggest(text, label_lang="de")


def test_save_load_round_trip_same_scores(model, tmp_path, time_split):
    texts = [d.text for d in list(read_corpus(time_split[1]))[:5]]
    model.save(tmp_path / "copy")
    again = Indexer.load(tmp_path / "copy")
    np.testing.assert_allclose(again.scores(texts), model.scores(texts), rtol=1e-6)
    manifest = json.loads((tmp_path / "copy" / "manifest.json").read_text())
    assert manifest["decision_rule"] == model.rule_.to_dict()
    assert manifest["versions"]["fahras"]
    assert not any(p.suffix in (".pkl", ".pickle", ".joblib") for p in (tmp_path / "copy").rglob("*"))


def test_save_replaces_a_model_and_refuses_other_folders(model, tmp_path):
    target = tmp_path / "m"
    model.save(target)
    model.save(target)  # replacing a model is fine
    assert (target / "manifest.json").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".m.")]  # no temporary left over
    other = tmp_path / "precious"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(ModelError):
        model.save(other)
    assert (other / "notes.txt").read_text() == "keep me"


def test_load_errors(tmp_path, trained_model):
    with pytest.raises(ModelError, match="not found"):
        Indexer.load(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="missing manifest.json"):
        Indexer.load(tmp_path / "empty")
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(trained_model, broken)
    sorted((broken / "backend").rglob("*.npy"))[0].write_bytes(b"garbage")
    with pytest.raises(ModelError, match="damaged"):
        Indexer.load(broken)


def test_too_few_documents(unbis):
    with pytest.raises(InputError, match="at least 2"):
        Indexer().fit([Document("a", "text", ("IRAQ",))], unbis)


def test_threshold_rules_can_still_be_chosen():
    from test_backend_headings import make_documents, make_vocab

    docs, vocab = make_documents(), make_vocab()
    model = Indexer(backend="tfidf-linear", analyzer="en", decision="threshold").fit(docs, vocab)
    assert model.rule_.kind == "threshold" and model.decision == "threshold"
    with pytest.raises(UsageError, match="decision rule"):
        Indexer(backend="tfidf-linear", analyzer="en", decision="best").fit(docs, vocab)


def test_optimize_retunes_on_held_out_documents(model, time_split):
    import copy

    tuned = copy.copy(model)
    docs = list(read_corpus(time_split[1]))
    result = tuned.optimize(docs[:60])
    assert result["documents"] == 60 and 0 < result["f1"] <= 1
    # The rule it picked is at least as good on those documents as the training rule.
    before = model.evaluate(docs[:60])["f1"]
    after = tuned.evaluate(docs[:60])["f1"]
    assert after >= before - 1e-9 and after == pytest.approx(result["f1"])
    assert tuned.rule_.to_dict() == result["decision_rule"]
    as_threshold = copy.copy(model).optimize(docs[:60], kind="threshold")
    assert as_threshold["decision_rule"]["threshold"] > 0 and "gold_scale" not in as_threshold["decision_rule"]
    with pytest.raises(InputError):
        tuned.optimize([Document("x", "text without subjects")])
