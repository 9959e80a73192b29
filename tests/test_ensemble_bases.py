"""The ensemble's bases: chosen at fit time into ``base_specs_`` (the ``backends`` parameter stays as given),
saved with the model, and models saved before that (``backends`` rewritten to the chosen bases) still load;
the ``labels`` base (label matching calibrated on the training documents) in and out of the ensemble."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fahras.models import FitContext, create_backend, load_backend
from fahras.models.ensemble import DEFAULT_BASES
from fahras.vocab import Concept, Vocabulary
from synthetic import ANALYZER, NAMES, PROBES, analyse, analysed_corpus, indicator


def _concepts(extra: dict[str, str] | None = None) -> list[Concept]:
    labels = {"WATER": "drought", "HEALTH": "malaria", "EDUCATION": "literacy", "MINING": "copper mine"}
    labels.update(extra or {})
    return [Concept(f"http://x/{name}", name, {"en": label}) for name, label in labels.items()]


@pytest.fixture(scope="module")
def corpus():
    return analysed_corpus(48, seed=3)


def test_the_chosen_bases_are_a_fitted_attribute(corpus, tmp_path):
    docs, y = corpus
    given = ({"name": "knn"}, {"name": "headings"}, {"name": "labels"})
    ensemble = create_backend("ensemble", {"backends": given, "cv_folds": 2})
    ensemble.fit(docs, y, context=FitContext(ANALYZER, _concepts()))
    # headings has no pattern to learn on these concepts: left out of the fitted bases, not of the parameter
    assert ensemble.backends is given
    assert [b["name"] for b in ensemble.base_specs_] == ["knn", "labels"]
    assert len(ensemble.bases_) == 2 and ensemble.stacker_.n_bases == 2
    ensemble.save(tmp_path / "m")
    saved = json.loads((tmp_path / "m" / "params.json").read_text(encoding="utf-8"))
    assert [b["name"] for b in saved["params"]["backends"]] == ["knn", "headings", "labels"]
    again = load_backend(tmp_path / "m")
    assert [b["name"] for b in again.base_specs_] == ["knn", "labels"]
    probes = analyse([text for text, _ in PROBES])
    np.testing.assert_array_equal(again.predict_scores(probes), ensemble.predict_scores(probes))
    # without concepts there are no labels to match: the label matcher is left out too
    given = ({"name": "knn"}, {"name": "labels"})
    bare = create_backend("ensemble", {"backends": given, "cv_folds": 2}).fit(docs, y, context=FitContext(ANALYZER))
    assert [b["name"] for b in bare.base_specs_] == ["knn"] and bare.backends is given


def test_a_model_saved_before_base_specs_loads(corpus, tmp_path):
    """Models saved before ``bases.json``: their ``backends`` parameter held the chosen bases."""
    docs, y = corpus
    ensemble = create_backend("ensemble", {"backends": ({"name": "knn"}, {"name": "headings"}), "cv_folds": 2})
    ensemble.fit(docs, y, context=FitContext(ANALYZER, _concepts()))
    folder = tmp_path / "old"
    ensemble.save(folder)
    (folder / "bases.json").unlink()
    (folder / "checksums.json").unlink(missing_ok=True)
    meta = json.loads((folder / "params.json").read_text(encoding="utf-8"))
    meta["params"]["backends"] = [{"name": "knn"}]
    (folder / "params.json").write_text(json.dumps(meta), encoding="utf-8")
    old = load_backend(folder)
    assert [b["name"] for b in old.base_specs_] == ["knn"]
    probes = analyse([text for text, _ in PROBES])
    np.testing.assert_array_equal(old.predict_scores(probes), ensemble.predict_scores(probes))


def test_the_default_bases_include_a_label_matcher():
    assert "labels" in [b["name"] for b in DEFAULT_BASES]


def test_labels_ranks_a_concept_no_training_document_has(corpus, tmp_path):
    docs, y = corpus
    # a fifth concept, in the subject space but never assigned: only its label can bring it up
    # (and a sixth, COMMITTEES, whose label many training documents use without being indexed with it)
    concepts = _concepts({"FISHERIES": "fishing boats", "COMMITTEES": "committee"})
    y5 = indicator([[int(c) for c in row.indices] for row in y]).toarray()
    y5 = np.hstack([y5, np.zeros((y5.shape[0], 2), dtype=y5.dtype)])
    import scipy.sparse as sp

    backend = create_backend("labels").fit(docs, sp.csr_matrix(y5), context=FitContext(ANALYZER, concepts))
    probe = analyse(["The fishing boats came back.", "Copper is mined here; the copper mine closed.",
                     "Nothing to see."])
    scores = backend.predict_scores(probe)
    assert scores[0, 4] > 0 and scores[0, 4] == scores[0].max()
    assert scores[1, NAMES.index("MINING")] > 0
    assert not scores[2].any()  # no label, no score
    # a concept whose label training documents use without it ranks below one they use it for, or a new one
    trained = analyse(["a drought and a fishing boats show to the committee"])
    s = backend.predict_scores(trained)[0]
    assert min(s[NAMES.index("WATER")], s[4]) > s[5] > 0
    evidence = backend.explain(probe[1], NAMES.index("MINING"))
    assert evidence and all(e.kind == "term" for e in evidence)
    backend.save(tmp_path / "l")
    again = load_backend(tmp_path / "l")
    np.testing.assert_array_equal(again.predict_scores(probe), scores)


def test_labels_widens_the_subject_space_only_for_a_well_used_vocabulary():
    vocab = Vocabulary(_concepts({"FISHERIES": "fishing boats"}))
    backend = create_backend("labels", {"vocabulary_share": 0.5})
    used = [{"http://x/WATER", "http://x/HEALTH"}, {"http://x/EDUCATION"}]
    assert len(backend.extra_subjects(vocab, used)) == 5  # 3 of 5 used
    assert backend.extra_subjects(vocab, [{"http://x/WATER"}]) == []  # 1 of 5
    assert create_backend("labels", {"vocabulary_share": 1.0}).extra_subjects(vocab, used) == []


def test_the_default_ensemble_matches_labels_only_for_many_subjects(caplog):
    import logging

    from fahras.models.ensemble import LABELS_MIN_SUBJECTS, default_labels

    with caplog.at_level(logging.INFO, logger="fahras.models.ensemble"):
        few = default_labels(DEFAULT_BASES, LABELS_MIN_SUBJECTS - 1)
    assert "labels" not in [b["name"] for b in few] and len(few) == len(DEFAULT_BASES) - 1
    assert "'labels' left out" in caplog.text
    assert default_labels(DEFAULT_BASES, LABELS_MIN_SUBJECTS) == tuple(DEFAULT_BASES)


def test_the_default_ensemble_counts_subjects_with_training_documents(corpus):
    """Subjects without documents (composed headings, the widened vocabulary) do not count: 4 subjects with
    documents in a space of 4 + 2,000 leave the label matcher out."""
    import scipy.sparse as sp

    docs, y = corpus
    wide = sp.hstack([y, sp.csr_matrix((y.shape[0], 2000), dtype=y.dtype)]).tocsr()
    concepts = _concepts() + [Concept(f"http://x/c{i}", f"c{i}", {"en": f"unused{i}"}) for i in range(2000)]
    ensemble = create_backend("ensemble", {"cv_folds": 2})
    ensemble.fit(docs, wide, context=FitContext(ANALYZER, concepts))
    assert "labels" not in [b["name"] for b in ensemble.base_specs_]
    assert ensemble.backends == DEFAULT_BASES
