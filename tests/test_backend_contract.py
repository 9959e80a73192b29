"""One contract, every registered backend: parameters, saving, explanations, odd documents, bad values.

Each backend is fitted once on a small world that gives every kind of
backend something to find: four topics told by their words, three
``{X} SITUATION`` headings on countries the documents name, and a mission
named by its acronym.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import scipy.sparse as sp

from fahras.errors import ModelError, UsageError
from fahras.models import AnalyzedText, FitContext, backend_class, backend_names, create_backend, load_backend
from fahras.models.base import Param
from fahras.text import Tokens, get_analyzer
from fahras.vocab.concept import Concept
from fahras.vocab.headings import pattern_uri

from synthetic import SUBJECTS, assert_no_pickles

ANALYZER = get_analyzer("en")
COUNTRIES = ["Mali", "Chad", "Niger"]
TOPICS = list(SUBJECTS)
MISSION = "UN MISSION IN LIBERIA"
SITUATION = pattern_uri("{X} SITUATION", "17")


def _concepts() -> list[Concept]:
    topics = [Concept(f"http://example.org/{t.lower()}", t.lower(), {"en": t}) for t in TOPICS]
    headings = [Concept(f"urn:fahras:local:{c.upper()}%20SITUATION", f"{c} situation", {"en": f"{c.upper()} SITUATION"},
                        broader=(SITUATION,), related=(f"http://example.org/{c.lower()}",)) for c in COUNTRIES]
    mission = [Concept("http://example.org/unmil", "unmil", {"en": MISSION})]
    return topics + headings + mission


def _world(n_docs: int = 36, seed: int = 3) -> tuple[list[AnalyzedText], sp.csr_matrix]:
    rng = random.Random(seed)
    texts, rows = [], []
    for i in range(n_docs):
        topic = i % len(TOPICS)
        country = (i // len(TOPICS)) % len(COUNTRIES)
        words = rng.sample(SUBJECTS[TOPICS[topic]].split(), 5)
        text = (f"The council considered the situation in {COUNTRIES[country]} and {' '.join(words)}. "
                f"{COUNTRIES[country]} must act.")
        subjects = [topic, len(TOPICS) + country]
        if i % 3 == 0:
            text += " It thanks the United Nations Mission in Liberia (UNMIL); UNMIL shall continue."
            subjects.append(len(TOPICS) + len(COUNTRIES))
        texts.append(text)
        rows.append(subjects)
    y = np.zeros((n_docs, len(_concepts())), dtype=np.float32)
    for i, subjects in enumerate(rows):
        y[i, subjects] = 1
    return [AnalyzedText(t, ANALYZER.tokens(t), "en") for t in texts], sp.csr_matrix(y)


#: Parameters that keep each backend small and quick here (defaults otherwise).
QUICK = {
    "omikuji": {"n_threads": 1, "min_df": 1},
    "tfidf-linear": {"min_df": 1},
    "knn": {"min_df": 1, "k": 5},
    "zeroshot": {"semantic": False},
    "ensemble": {"backends": [{"name": "tfidf-linear", "params": {"min_df": 1}},
                              {"name": "omikuji", "params": {"n_threads": 1, "min_df": 1}},
                              {"name": "headings"}, {"name": "acronyms"}],
                 "cv_folds": 2, "n_jobs": 1},
}
PROBES = ["The situation in Chad worsened; Chad asks for help with the copper mine and the miners.",
          "Renewing the United Nations Mission in Liberia (UNMIL), UNMIL and the vaccine clinic."]


@pytest.fixture(scope="module", params=backend_names())
def fitted(request):
    docs, y = _world()
    if not backend_class(request.param).trainable:  # a wrapper (grown): made from a trained backend
        inner = create_backend("knn", QUICK["knn"]).fit(docs, y[:, :-2], context=FitContext(ANALYZER))
        with pytest.raises(UsageError):
            create_backend(request.param).fit(docs, y, context=FitContext(ANALYZER, _concepts()))
        return backend_class(request.param).wrap(inner, y.shape[1], y.shape[1] - 2)
    backend = create_backend(request.param, QUICK.get(request.param, {}))
    return backend.fit(docs, y, context=FitContext(ANALYZER, _concepts()))


def _probes() -> list[AnalyzedText]:
    return [AnalyzedText(t, ANALYZER.tokens(t), "en") for t in PROBES]


def _json(value):
    return json.loads(json.dumps(value))


def test_every_parameter_is_declared_with_a_description():
    for name in backend_names():
        cls = backend_class(name)
        assert cls.params, name
        for pname, spec in cls.params.items():
            assert isinstance(spec, Param)
            assert spec.description and "\n" not in spec.description, (name, pname)
            spec.check(name, pname, spec.default)  # every default is an allowed value


def test_parameters_round_trip(fitted):
    params = fitted.get_params()
    assert create_backend(fitted.name, params).get_params() == params
    # and through JSON, as a saved model holds them
    assert _json(create_backend(fitted.name, _json(params)).get_params()) == _json(params)
    assert set(params) == set(type(fitted).params)


def test_saving_keeps_the_scores_and_writes_no_pickle(fitted, tmp_path):
    fitted.save(tmp_path / "b")
    assert_no_pickles(tmp_path / "b")
    for path in (tmp_path / "b").rglob("*"):
        if path.suffix in (".npy", ".npz"):
            np.load(path, allow_pickle=False)
        elif path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
    loaded = load_backend(tmp_path / "b")
    assert type(loaded) is type(fitted)
    assert _json(loaded.get_params()) == _json(fitted.get_params())
    probes = _probes()
    np.testing.assert_array_equal(loaded.predict_scores(probes), fitted.predict_scores(probes))


def test_a_positive_score_is_explained(fitted):
    probes = _probes()
    scores = fitted.predict_scores(probes)
    assert scores.shape == (len(probes), len(_concepts()))
    assert np.isfinite(scores).all() and (scores >= 0).all() and (scores <= 1).all()
    doc, subject = np.unravel_index(np.argmax(scores), scores.shape)
    assert scores[doc, subject] > 0
    evidence = fitted.explain(probes[doc], int(subject))
    assert evidence, f"{fitted.name}: no explanation of its best score"
    text = probes[doc].text
    for e in evidence:
        assert e.weight > 0 and e.text
        assert all(0 <= a < b <= len(text) for a, b in e.spans)


@pytest.mark.parametrize("text", ["", "zzz qqq", "12 34."])
def test_a_document_without_features_scores(fitted, text):
    doc = AnalyzedText(text, ANALYZER.tokens(text), "en")
    scores = fitted.predict_scores([doc])
    assert scores.shape == (1, len(_concepts()))
    assert np.isfinite(scores).all() and (scores >= 0).all() and (scores <= 1).all()
    empty = AnalyzedText("", Tokens([], [], []), None)
    assert fitted.predict_scores([empty]).shape == (1, len(_concepts()))


def _bad_values(spec: Param) -> list:
    bad = []
    kind = spec.type
    if kind in (int, float):
        bad.append("many")
        if spec.low is not None:
            bad.append(spec.low if spec.low_open else spec.low - 1)
        if spec.high is not None:
            bad.append(spec.high + 1)
    elif kind is bool:
        bad.append("yes")
    elif kind is str:
        bad.append(3)
    if spec.choices is not None:
        bad.append("no such choice")
    if not spec.optional and spec.default is not None:
        bad.append(None)
    return bad


@pytest.mark.parametrize("name", backend_names())
def test_bad_parameter_values_give_a_clear_error(name):
    cls = backend_class(name)
    checked = 0
    for pname, spec in cls.params.items():
        for value in _bad_values(spec):
            with pytest.raises(UsageError, match=f"'{pname}' parameter") as caught:
                create_backend(name, {pname: value})
            assert name in str(caught.value)
            checked += 1
    assert checked
    with pytest.raises(UsageError, match="no parameter 'nonsense'"):
        create_backend(name, {"nonsense": 1})


def test_a_saved_backend_with_bad_parameters_is_refused(tmp_path):
    docs, y = _world(12)
    create_backend("knn", {"min_df": 1}).fit(docs, y, context=FitContext(ANALYZER)).save(tmp_path / "k")
    meta = json.loads((tmp_path / "k" / "params.json").read_text(encoding="utf-8"))
    meta["params"]["k"] = 0
    (tmp_path / "k" / "params.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelError, match="'k' parameter"):
        load_backend(tmp_path / "k")


def test_backends_that_need_concepts_say_so():
    docs, y = _world(6)
    for name in ("headings", "acronyms", "zeroshot"):
        with pytest.raises(UsageError, match="concepts"):
            create_backend(name, QUICK.get(name, {})).fit(docs, y, context=FitContext(ANALYZER))


def test_capabilities_are_declared_on_the_class():
    assert backend_class("zeroshot").zero_shot
    assert not any(backend_class(n).zero_shot for n in backend_names() if n != "zeroshot")


def test_the_ensemble_keeps_its_parameter_as_given():
    bases = ({"name": "knn"},)
    ensemble = create_backend("ensemble", {"backends": bases})
    assert ensemble.backends is bases
