"""Learning from indexers' decisions: new subjects, knn memory, stacker, decision rule, atomic writes."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fahras import Indexer
from fahras.corpus import Document
from fahras.learning import Learner, LearnReport, decision_documents, learn
from fahras.vocab import Concept, Vocabulary

TOPICS = {
    "WATER": "river irrigation drought reservoir rainfall aquifer flooding wells",
    "HEALTH": "vaccine hospital malaria clinic nurses epidemic medicine cholera",
    "EDUCATION": "school teachers pupils curriculum literacy classroom textbooks university",
    "MINING": "mine copper diamonds quarry miners gold excavation mineral",
    "FISHERIES": "fishing trawlers tuna fishermen nets harbour catch quotas",  # in no training document
}
FILLER = "the council notes the report of the committee and welcomes the efforts of member states".split()
URI = {name: f"http://metadata.un.org/thesaurus/{1000 + n}" for n, name in enumerate(TOPICS)}
VOCAB = Vocabulary([Concept(URI[name], str(1000 + n), {"en": name, "fr": name.lower()})
                    for n, name in enumerate(TOPICS)])
TRAINED = ["WATER", "HEALTH", "EDUCATION", "MINING"]
FISH_PROBE = "The fishermen and their trawlers in the harbour asked for tuna quotas and new nets."


def text_of(topics: list[str], rng: random.Random) -> str:
    words = rng.sample(FILLER, 8)
    for topic in topics:
        words += rng.sample(TOPICS[topic].split(), 4)
    rng.shuffle(words)
    return " ".join(words) + "."


def training_documents(n: int = 60, seed: int = 3) -> list[Document]:
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        topics = [TRAINED[i % 4]] + ([TRAINED[(i + 1) % 4]] if i % 5 == 0 else [])
        text = text_of(topics, rng)
        if i % 3 == 0:  # the fisheries words occur in training, never as the subject
            text += " " + " ".join(rng.sample(TOPICS["FISHERIES"].split(), 2)) + "."
        docs.append(Document(f"train-{i}", text, tuple(topics)))
    return docs


def decided(n: int, topics_of, seed: int = 5, prefix: str = "decided") -> list[Document]:
    """Documents as the feedback store gives them: subjects as URIs."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        topics = topics_of(i)
        out.append(Document(f"{prefix}-{i}", text_of(topics, rng), tuple(URI[t] for t in topics)))
    return out


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("learning") / "model"
    backend_params = {"backends": [{"name": "tfidf-linear"}, {"name": "knn", "params": {"min_df": 1}}],
                      "n_jobs": 1}
    Indexer(backend="ensemble", backend_params=backend_params, analyzer="en", cv_folds=3).fit(
        training_documents(), VOCAB).save(folder)
    return folder


@pytest.fixture
def copy(model, tmp_path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(model, target)
    return target


def uris_of(suggestions) -> list[str]:
    return [s.uri for s in suggestions]


def test_a_subject_indexers_added_becomes_proposable(copy, tmp_path):
    before = Indexer.load(copy)
    assert URI["FISHERIES"] not in before.subjects_.index
    docs = decided(6, lambda i: ["FISHERIES"] + ([TRAINED[i % 4]] if i % 2 else []))
    report = learn(copy, docs, out=tmp_path / "learned")
    assert report.new_subjects == [URI["FISHERIES"]]
    assert report.documents == 6 and report.knn_documents == 60 + 6
    after = Indexer.load(tmp_path / "learned")
    assert after.subjects_.uris[:-1] == before.subjects_.uris  # existing columns keep their place
    top = after.suggest(FISH_PROBE, limit=3)
    assert top[0].uri == URI["FISHERIES"] and top[0].label == "FISHERIES"
    assert URI["FISHERIES"] not in uris_of(before.suggest(FISH_PROBE, limit=10))
    # the old model is untouched when writing elsewhere; the trained subjects still work
    assert Indexer.load(copy).subjects_.uris == before.subjects_.uris
    water = "The drought emptied the reservoir; irrigation wells and the aquifer need rainfall."
    assert after.suggest(water, limit=1)[0].uri == URI["WATER"]


def test_the_stacker_and_the_decision_rule_learn(copy):
    learner = Learner.load(copy, min_rule_documents=20)
    coef = np.append(learner.indexer.backend_.coef_, learner.indexer.backend_.intercept_)
    rule = learner.indexer.rule_
    # The indexers now give every document three subjects, where training documents had one or two.
    docs = decided(40, lambda i: [TRAINED[i % 4], TRAINED[(i + 1) % 4], TRAINED[(i + 2) % 4]])
    probe = docs[0].text
    kept_before = len(learner.indexer.suggest(probe))
    report = learner.learn(docs)
    after = np.append(learner.indexer.backend_.coef_, learner.indexer.backend_.intercept_)
    assert report.stacker_change == pytest.approx(float(np.max(np.abs(after - coef))))
    assert report.stacker_change > 0.05
    assert report.rule_before == rule.to_dict() and report.rule_after != report.rule_before
    assert len(learner.indexer.suggest(probe)) > kept_before  # the rule now keeps more descriptors
    learner.save(copy)
    reloaded = Indexer.load(copy)
    stacker = json.loads((copy / "backend" / "stacker.json").read_text())
    assert np.allclose(stacker["coef"], after[:-1]) and stacker["intercept"] == pytest.approx(after[-1])
    assert reloaded.rule_.to_dict() == report.rule_after
    assert reloaded.training_["learning"]["documents"] == 40


def test_few_decisions_keep_the_trained_rule_but_move_the_stacker_a_little(copy):
    learner = Learner.load(copy, min_rule_documents=20)
    rule = learner.indexer.rule_
    few = learner.learn(decided(2, lambda i: [TRAINED[i], TRAINED[i + 1], TRAINED[i + 2]]))
    assert learner.indexer.rule_ == rule
    more = Learner.load(copy, min_rule_documents=20).learn(
        decided(30, lambda i: [TRAINED[i % 4], TRAINED[(i + 1) % 4], TRAINED[(i + 2) % 4]]))
    assert 0 < few.stacker_change < more.stacker_change


def test_learning_again_skips_what_was_learned_and_replaces_changed_decisions(copy):
    docs = decided(5, lambda i: [TRAINED[i % 4]])
    first = learn(copy, docs)
    assert (first.documents, first.unchanged, first.relabelled) == (5, 0, 0)
    created = json.loads((copy / "manifest.json").read_text())["created"]
    again = learn(copy, docs)
    assert (again.documents, again.unchanged, again.relabelled) == (0, 5, 0)
    assert first.written and not again.written  # nothing new: the folder is left as it was
    assert json.loads((copy / "manifest.json").read_text())["created"] == created
    assert again.knn_documents == first.knn_documents == 65
    changed = Document(docs[0].id, docs[0].text, (URI["FISHERIES"],))
    third = learn(copy, [changed])
    assert (third.documents, third.relabelled, third.new_subjects) == (0, 1, [URI["FISHERIES"]])
    model = Indexer.load(copy)
    knn = model.backend_.bases_[1]
    row = knn.labels_[60].toarray().ravel()  # the first learned document's row in the memory
    assert row[model.subjects_.index[URI["FISHERIES"]]] == 1 and row[model.subjects_.index[URI[TRAINED[0]]]] == 0


def test_documents_without_text_or_subjects_are_skipped(copy):
    report = learn(copy, [Document("a", "  ", (URI["WATER"],)), Document("b", "river wells", ())])
    assert (report.documents, report.skipped) == (0, 2)


def test_a_failure_midway_leaves_the_old_model_whole(copy, monkeypatch):
    from fahras import learning

    before = (copy / "manifest.json").read_text()

    def broken(self, folder):
        folder.mkdir()
        (folder / "half-written").write_text("x")
        raise OSError("disk full")

    monkeypatch.setattr(learning._Memory, "save", broken)
    with pytest.raises(OSError, match="disk full"):
        learn(copy, decided(3, lambda i: ["FISHERIES"]))
    assert (copy / "manifest.json").read_text() == before
    model = Indexer.load(copy)
    assert URI["FISHERIES"] not in model.subjects_.index
    assert model.suggest(FISH_PROBE, limit=1)
    assert sorted(p.name for p in copy.parent.iterdir()) == [".model.learn.lock", "model"]  # no temporary folder


def test_learning_replaces_the_model_folder_atomically(copy):
    created = json.loads((copy / "manifest.json").read_text())["created"]
    report = learn(copy, decided(3, lambda i: ["FISHERIES"]))
    assert report.model == copy
    assert sorted(p.name for p in copy.parent.iterdir()) == [".model.learn.lock", "model"]
    assert (copy / "learning" / "state.json").is_file()
    manifest = json.loads((copy / "manifest.json").read_text())
    assert manifest["training"]["learning"]["documents"] == 3
    assert manifest["created"] >= created


@pytest.mark.parametrize("backend", ["knn", "tfidf-linear"])
def test_single_backends(backend, tmp_path):
    params = {"min_df": 1} if backend == "knn" else None
    Indexer(backend=backend, backend_params=params, analyzer="en", cv_folds=3).fit(
        training_documents(), VOCAB).save(tmp_path / "m")
    docs = decided(25, lambda i: ["FISHERIES", TRAINED[i % 4]])
    report = learn(tmp_path / "m", docs)
    assert report.new_subjects == [URI["FISHERIES"]] and report.stacker_change is None
    model = Indexer.load(tmp_path / "m")
    assert model.scores([FISH_PROBE]).shape == (1, 5)
    ranked = uris_of(model.suggest(FISH_PROBE, limit=5))
    if backend == "knn":  # the memory learns the new subject
        assert ranked[0] == URI["FISHERIES"]
    else:  # a linear model waits for a full train: the new column scores 0
        assert model.backend_.name == "grown"
        assert model.scores([FISH_PROBE])[0, model.subjects_.index[URI["FISHERIES"]]] == 0
    assert report.rule_after["gold_scale"] is not None  # an expected-F1 rule, re-tuned on 25 documents


def test_subjects_as_labels_and_unknown_uris(copy):
    unknown = "http://metadata.un.org/thesaurus/9999999"
    doc = Document("x", FISH_PROBE, ("fisheries", unknown, "SUDAN--POLITICAL CONDITIONS"),
                   metadata={"labels": {unknown: "DEEP SEA FISHING"}})
    report = learn(copy, [doc])
    assert report.new_subjects[0] == URI["FISHERIES"] and report.new_subjects[1] == unknown
    model = Indexer.load(copy)
    assert model.vocab_.get(unknown).label("en") == "DEEP SEA FISHING"
    assert model.vocab_.get(report.new_subjects[2]).label("en") == "SUDAN--POLITICAL CONDITIONS"


def test_cli_learns_from_the_feedback_database(copy, tmp_path):
    from fahras.feedback import Decision, FeedbackStore

    url = f"sqlite:///{tmp_path / 'f.db'}"
    with FeedbackStore(url) as store:
        for doc in decided(4, lambda i: ["FISHERIES"]):
            store.add(Decision("p", doc.id, "en", accepted=[], rejected=[URI["WATER"]], added=list(doc.subjects),
                               text=doc.text, labels={URI["FISHERIES"]: "FISHERIES"}))
        store.add(Decision("p", "no-text", "en", [URI["WATER"]], [], []))
        documents, without_text = decision_documents(store)
        assert len(documents) == 4 and without_text == 1
    result = subprocess.run([sys.executable, "-m", "fahras", "learn", str(copy), "--db", url, "--out",
                             str(tmp_path / "out"), "--json", "--quiet"], capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr.decode()
    data = json.loads(result.stdout)
    assert data["documents"] == 4 and data["new_subjects"] == [URI["FISHERIES"]] and data["without_text"] == 1
    assert Indexer.load(tmp_path / "out").suggest(FISH_PROBE, limit=1)[0].uri == URI["FISHERIES"]
    result = subprocess.run([sys.executable, "-m", "fahras", "learn", str(tmp_path / "nothing"), "--db", url],
                            capture_output=True, timeout=300)
    assert result.returncode == 66 and "Traceback" not in result.stderr.decode()


def test_report_is_json_ready(copy):
    report = learn(copy, decided(1, lambda i: ["WATER"]))
    assert isinstance(report, LearnReport)
    assert json.loads(json.dumps(report.to_dict()))["documents"] == 1


def test_the_grown_backend_is_not_trained_directly():
    from fahras.errors import UsageError
    from fahras.models import create_backend

    with pytest.raises(UsageError, match="fahras learn"):
        create_backend("grown").fit([], None)


def test_a_damaged_learning_memory_is_a_model_error(copy):
    from fahras.errors import ModelError

    learn(copy, decided(2, lambda i: ["WATER"]))
    (copy / "learning" / "state.json").write_text("{not json", encoding="utf-8")
    # The checksums catch it first, naming the file ...
    with pytest.raises(ModelError, match=r"learning/state\.json: size .* the model is damaged"):
        learn(copy, decided(1, lambda i: ["HEALTH"], prefix="more"))
    # ... and a model saved before checksums existed still gets the memory's own check.
    (copy / "checksums.json").unlink()
    with pytest.raises(ModelError, match="damaged learning memory"):
        learn(copy, decided(1, lambda i: ["HEALTH"], prefix="more"))
