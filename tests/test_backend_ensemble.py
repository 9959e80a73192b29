"""The stacked ensemble on the synthetic corpus."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from fahras.errors import UsageError
from fahras.models import create_backend, FitContext, load_backend
from fahras.models.ensemble import Stacker
from fahras.models.heading_features import MENTION_FEATURES
from synthetic import ANALYZER, NAMES, PROBES, analyse, analysed_corpus

BASES = [{"name": "tfidf-linear"}, {"name": "knn", "params": {"k": 5}}]


@pytest.fixture(scope="module")
def corpus():
    return analysed_corpus(60, seed=3)


def _always_novel():
    """A context in which the novel head is learned however few held-out pairs new to their fold are right
    (ensemble.MIN_NOVEL_RIGHT): the synthetic corpus falls back to random folds, where none is."""
    from fahras.models import ensemble as ensemble_module

    patch = pytest.MonkeyPatch()
    patch.setattr(ensemble_module, "MIN_NOVEL_RIGHT", 0)
    return _Undo(patch)


class _Undo:
    def __init__(self, patch):
        self.patch = patch

    def __enter__(self):
        return self.patch

    def __exit__(self, *exc):
        self.patch.undo()


@pytest.fixture(scope="module")
def fitted(corpus):
    docs, y = corpus
    params = {"backends": BASES, "cv_folds": 3, "calibrate_new": True}
    with _always_novel():
        return create_backend("ensemble", params).fit(docs, y, context=FitContext(ANALYZER))


def test_ranks_the_right_subject_first_with_probabilities(fitted):
    scores = fitted.predict_scores(analyse([text for text, _ in PROBES]))
    assert scores.shape == (len(PROBES), len(NAMES))
    assert list(scores.argmax(axis=1)) == [subject for _, subject in PROBES]
    assert np.all((scores >= 0) & (scores <= 1))
    assert scores.max(axis=1).min() > 0.5  # calibrated: the right subject is likely


def test_out_of_fold_scores_cover_every_document(corpus):
    from sklearn.model_selection import KFold

    docs, y = corpus
    folds = list(KFold(3, shuffle=True, random_state=0).split(docs))
    backend = create_backend("ensemble", {"backends": BASES})
    oof = backend.fit_out_of_fold(docs, y, folds, context=FitContext(ANALYZER))
    assert oof.shape == y.shape
    # Held-out predictions are informative: the gold subject outranks the others on average.
    gold = y.toarray() > 0
    assert oof[gold].mean() > oof[~gold].mean() + 0.3
    assert len(backend.bases_) == 2


def test_subjects_without_training_documents_get_the_novel_heads_probability(corpus):
    docs, y = corpus
    # A fifth subject nobody has: in cross-fitting it is new to every fold and never right, so the
    # novel head gives it a small calibrated probability, whatever the bases' raw scores.
    wider = sp.hstack([y, sp.csr_matrix((y.shape[0], 1))]).tocsr()
    params = {"backends": BASES, "cv_folds": 3, "calibrate_new": True}
    with _always_novel():
        backend = create_backend("ensemble", params).fit(docs, wider, context=FitContext(ANALYZER))
    assert backend.stacker_.novel is not None
    probes = analyse([text for text, _ in PROBES])
    scores = backend.predict_scores(probes)
    assert scores[:, 4].max() < 0.05
    assert (scores[:, 4] < scores.max(axis=1)).all()


# ---------------------------------------------------------------- one calibrated scale (the Stacker alone)
def _novel_world(seed: int = 0, n_docs: int = 120):
    """Base scores, targets and mention features where subjects 0-3 are ordinary seen subjects, subjects 4
    and 5 are headings each held by the documents of one fold only (so new to that fold) and right exactly
    where the document names them as a whole, and subject 6 is a composed heading no document has, with a
    high raw score from the second base."""
    rng = np.random.default_rng(seed)
    n_subjects = 7
    y = np.zeros((n_docs, n_subjects), dtype=np.int8)
    true = rng.integers(0, 4, n_docs)
    y[np.arange(n_docs), true] = 1
    fold_of = np.arange(n_docs) % 3
    named = rng.random(n_docs) < 0.5
    for heading, fold in ((4, 0), (5, 1)):
        where = (fold_of == fold) & named
        y[where, heading] = 1
    a = rng.random((n_docs, n_subjects)) * 0.3
    b = rng.random((n_docs, n_subjects)) * 0.3
    a[np.arange(n_docs), true] += 0.6
    b[np.arange(n_docs), true] += 0.4
    for heading, fold in ((4, 0), (5, 1)):
        b[fold_of == fold, heading] = 0.35  # the same raw score, named or not
    b[:, 6] = 0.9  # the loose composed heading: a high raw score, never right
    rows = np.array([d for d in range(n_docs) if named[d] and fold_of[d] < 2])
    cols = np.where(fold_of[rows] == 0, 4, 5)
    feats = np.zeros((len(rows), len(MENTION_FEATURES)))
    feats[:, MENTION_FEATURES.index("full")] = np.log(3.0)
    folds = [(np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)) for f in range(3)]
    return [a.astype(np.float32), b.astype(np.float32)], sp.csr_matrix(y), (rows, cols, feats), folds


def test_composed_headings_no_longer_outrank_with_a_raw_score():
    base, y, match, folds = _novel_world()
    seen_everywhere = y.copy()
    stacker = Stacker.for_subjects(2, seen_everywhere, candidates=7)
    stacker.prior[4:] = 0  # 4, 5 and 6 count as never seen at prediction time (no training document)
    oof = stacker.held_out_scores(base, y, folds, match)
    stacker.fit(base, y)
    assert stacker.novel is not None
    # held-out: the never-right composed heading scores below the right seen subject in every document
    right = np.asarray(y[:, :4].argmax(axis=1)).ravel()
    assert (oof[:, 6] < oof[np.arange(y.shape[0]), right]).all()
    # a new document: right subject 2 scored 0.6 / 0.5 by the bases, the composed heading 0.9 by one base
    probe = [np.full((1, 7), 0.05, np.float32), np.full((1, 7), 0.05, np.float32)]
    probe[0][0, 2], probe[1][0, 2], probe[1][0, 6] = 0.6, 0.5, 0.9
    scores = stacker.predict(probe)
    assert scores[0].argmax() == 2
    assert scores[0, 6] < 0.2 < scores[0, 2]
    # without the novel head (a model saved before it) the raw score passes through and wins: the test can fail
    stacker.novel = None
    old = stacker.predict(probe)[0]
    assert old[6] == pytest.approx(0.9)
    assert np.argsort(-old)[1] == 6  # second, above every other seen subject


def test_novel_head_learns_from_whole_name_mentions():
    base, y, match, folds = _novel_world(seed=1)
    stacker = Stacker.for_subjects(2, y, candidates=7)
    stacker.prior[4:] = 0
    stacker.held_out_scores(base, y, folds, match)
    stacker.fit(base, y)
    probe = [np.full((2, 7), 0.05, np.float32), np.full((2, 7), 0.05, np.float32)]
    probe[1][:, 4] = 0.35
    named = (np.array([0]), np.array([4]), match[2][:1])  # document 0 names heading 4 as a whole
    scores = stacker.predict(probe, match=named)
    assert scores[0, 4] > scores[1, 4] + 0.2  # same raw score, only the mention differs
    assert scores[0, 4] > 0.5


def test_models_without_a_novel_head_load_and_score_as_before(fitted, tmp_path):
    fitted.save(tmp_path / "e")
    found = list((tmp_path / "e").rglob("novel.json"))
    assert found, "the novel head is saved"
    for path in found:
        path.unlink()
    old = load_backend(tmp_path / "e")
    assert old.stacker_.novel is None
    probes = analyse([text for text, _ in PROBES])
    np.testing.assert_allclose(old.predict_scores(probes), fitted.predict_scores(probes), rtol=1e-5, atol=1e-6)


def test_save_load_round_trip(fitted, tmp_path):
    fitted.save(tmp_path / "e")
    loaded = load_backend(tmp_path / "e")
    probes = analyse([text for text, _ in PROBES])
    np.testing.assert_allclose(loaded.predict_scores(probes), fitted.predict_scores(probes), rtol=1e-6)
    assert not [p for p in (tmp_path / "e").rglob("*") if p.suffix in (".pkl", ".pickle", ".joblib")]
    assert loaded.get_params()["backends"] == BASES


def test_explain_merges_base_evidence(fitted):
    text = PROBES[3][0]
    evidence = fitted.explain(analyse([text])[0], 3, top=3)
    assert evidence and all(text[s:e] for ev in evidence for s, e in ev.spans)
    assert evidence == sorted(evidence, key=lambda ev: -ev.weight)


def test_empty_ensemble_is_refused(corpus):
    docs, y = corpus
    with pytest.raises(UsageError):
        create_backend("ensemble", {"backends": []}).fit(docs, y, context=FitContext(ANALYZER))


def test_a_stacker_of_another_shape_is_refused_when_loading(fitted, tmp_path):
    import json

    from fahras.errors import ModelError

    fitted.save(tmp_path / "e")
    stacker = tmp_path / "e" / "stacker.json"
    data = json.loads(stacker.read_text(encoding="utf-8"))
    data["coef"] = data["coef"][:-1]  # e.g. a model saved by a version with fewer stacker features
    stacker.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelError, match="retrain"):
        load_backend(tmp_path / "e")


def test_stacker_sees_consensus_and_relative_scores(fitted):
    """Feature columns: 4 per base backend, then frequency, top-3 agreement and consensus rank."""
    probes = analyse([text for text, _ in PROBES])
    base = [b.predict_scores(probes) for b in fitted.bases_]
    rows, cols, x = fitted.stacker_.features(base)
    assert x.shape == (len(rows), fitted.stacker_.n_features)
    n = len(base)
    relative = x[:, 3 * n + 2: 4 * n + 2]
    assert (relative <= 1 + 1e-9).all() and np.isclose(relative.max(axis=0), 1).all()
    agreement, consensus = x[:, 3 * n + 1], x[:, -1]
    assert ((agreement >= 0) & (agreement <= 1)).all()
    # each probe's consensus winner (reciprocal rank 1) is one of its candidates
    for doc in range(len(probes)):
        assert np.isclose(consensus[rows == doc].max(), 1.0)


def test_the_stacker_refits_on_base_scores_without_refitting_the_bases(fitted, corpus):
    """What learning from new documents does: base scores of the documents -> a new stacker, same bases."""
    from fahras.models.ensemble import Stacker

    docs, y = corpus
    bases = list(fitted.bases_)
    base = fitted.base_scores(docs)
    alone = Stacker.for_subjects(len(base), y).fit(base, y)
    stacker = fitted.refit_stacker(base, y)
    assert fitted.bases_ == bases and fitted.stacker_ is stacker
    np.testing.assert_array_equal(stacker.head.coef, alone.head.coef)
    probes = analyse([text for text, _ in PROBES])
    np.testing.assert_array_equal(fitted.predict_scores(probes), alone.predict(fitted.base_scores(probes)))
    assert stacker.features(base)[2].shape[1] == stacker.n_features


def test_the_stacker_state_under_its_former_names(fitted):
    """coef_, intercept_, prior_, cover_ and candidate_features read and write the Stacker (fahras.learning)."""
    import copy

    ensemble = copy.deepcopy(fitted)
    assert ensemble.coef_ is ensemble.stacker_.head.coef and ensemble.intercept_ == ensemble.stacker_.head.intercept
    ensemble.coef_, ensemble.intercept_ = np.zeros_like(ensemble.coef_), -3.0
    assert not ensemble.stacker_.head.coef.any() and ensemble.stacker_.head.intercept == -3.0
    ensemble.prior_ = np.zeros_like(ensemble.prior_)
    assert not ensemble.stacker_.prior.any()
    probes = analyse([text for text, _ in PROBES])
    rows, cols, x = ensemble.candidate_features(ensemble.base_scores(probes))
    assert x.shape == (len(rows), ensemble.stacker_.n_features)


def test_bases_with_nothing_to_learn_are_left_out_and_logged(corpus, tmp_path, caplog):
    import logging

    from fahras.vocab import local_concept

    docs, y = corpus
    concepts = [local_concept(name) for name in NAMES]  # no heading pattern, no acronym anywhere
    params = {"backends": [*BASES, {"name": "headings"}, {"name": "acronyms"}], "cv_folds": 3}
    with caplog.at_level(logging.INFO, logger="fahras.models.ensemble"):
        backend = create_backend("ensemble", params).fit(docs, y, context=FitContext(ANALYZER, concepts))
    assert list(backend.base_specs_) == BASES  # the fitted choice; the parameter stays as given
    assert list(backend.get_params()["backends"]) == params["backends"]
    assert len(backend.bases_) == 2
    assert "headings" in caplog.text and "acronyms" in caplog.text
    backend.save(tmp_path / "e")
    again = load_backend(tmp_path / "e")
    probes = analyse([text for text, _ in PROBES])
    np.testing.assert_allclose(again.predict_scores(probes), backend.predict_scores(probes), rtol=1e-6)


def test_headings_are_kept_where_the_subjects_hold_patterns():
    from fahras.models.ensemble import _nothing_to_learn
    from fahras.vocab import local_concept
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_backend_headings import make_documents, make_vocab

    from fahras import Indexer

    ix = Indexer(backend="ensemble", analyzer="en")
    data = ix.training_set(make_documents(), make_vocab())
    assert _nothing_to_learn({"name": "headings"}, data.analysed, data.targets, data.context) == ""
    plain = FitContext(data.context.analyzer, [local_concept(f"TOPIC {i}") for i in range(len(data.context.concepts))])
    assert _nothing_to_learn({"name": "headings"}, data.analysed, data.targets, plain) != ""


def test_without_calibration_new_subjects_take_the_best_base_score(corpus):
    docs, y = corpus
    # calibrate_new=false: a subject nobody has gets the best base score, as before the novel head
    wider = sp.hstack([y, sp.csr_matrix((y.shape[0], 1))]).tocsr()
    params = {"backends": BASES, "cv_folds": 3, "calibrate_new": False}
    backend = create_backend("ensemble", params).fit(docs, wider, context=FitContext(ANALYZER))
    assert backend.stacker_.novel is None
    probes = analyse([text for text, _ in PROBES])
    scores = backend.predict_scores(probes)
    base_best = np.max([b.predict_scores(probes)[:, 4] for b in backend.bases_], axis=0)
    np.testing.assert_allclose(scores[:, 4], base_best)


@pytest.mark.parametrize("learn_novel", [False, True])
def test_held_out_scores_do_not_count_the_held_out_documents_subjects(learn_novel):
    """A held-out document's own subjects must not reach its held-out score through the subject frequencies
    (the leak: each fold's stacker counted them over every document, its held-out ones included)."""
    base, y, match, folds = _novel_world(seed=2)
    train0, held0 = folds[0]
    # the same documents, but fold 0's held-out ones carry seen subject 3 as well: only held-out labels change
    changed = y.tolil()
    for r in held0[::2]:
        changed[r, 3] = 1
    changed = changed.tocsr()
    scores = []
    for targets in (y, changed):
        stacker = Stacker.for_subjects(2, targets, candidates=7)
        kwargs = {"match": match} if learn_novel else {"learn_novel": False}
        scores.append(stacker.held_out_scores(base, targets, folds, **kwargs)[held0])
    seen = np.asarray(y[train0].sum(axis=0)).ravel() > 0  # subjects scored by the main head in fold 0
    assert seen[3]
    np.testing.assert_array_equal(scores[0][:, seen], scores[1][:, seen])
    # and the subject frequencies do matter to the scores, so the comparison above can fail
    stacker = Stacker.for_subjects(2, y, candidates=7)
    stacker.prior = stacker.prior * 0 + np.log1p(50.0)
    stacker.fit(base, y)
    other = Stacker.for_subjects(2, y, candidates=7)
    other.fit(base, y)
    assert not np.allclose(stacker.predict(base)[:, :4], other.predict(base)[:, :4])


def _too_few_right(y, keep: int):
    """``y`` with the headings new to their fold (4, 5) right in only ``keep`` documents (all of subject 4)."""
    few = y.tolil()
    few[:, 4:6] = 0
    for r in np.flatnonzero(np.asarray(y[:, 4].todense()).ravel())[:keep]:
        few[r, 4] = 1
    return few.tocsr()


def test_too_few_right_new_subjects_get_the_fallback_heads_probabilities():
    """Below ensemble.MIN_NOVEL_RIGHT right held-out pairs of subjects new to their fold, the full novel head is
    not learned, but such subjects still get a held-out-calibrated probability (the fallback head, on four
    features), in the held-out scores as at prediction time: never their raw base score (the old pass-through)."""
    from fahras.models.ensemble import FALLBACK_FEATURES, MIN_NOVEL_RIGHT

    base, y, match, folds = _novel_world(seed=3)
    assert int(y[:, 4:6].sum()) >= MIN_NOVEL_RIGHT  # enough right pairs of headings new to their fold: full head
    learned = Stacker.for_subjects(2, y, candidates=7)
    learned.held_out_scores(base, y, folds, match)
    assert len(np.flatnonzero(learned.novel.coef)) > len(FALLBACK_FEATURES)
    few = _too_few_right(y, MIN_NOVEL_RIGHT - 1)  # one right pair fewer than the full head needs
    stacker = Stacker.for_subjects(2, few, candidates=7)
    oof = stacker.held_out_scores(base, few, folds, match)
    assert stacker.novel is not None  # the old code learned no head here and passed the raw scores through
    assert stacker.novel_pairs[1] == MIN_NOVEL_RIGHT - 1 and learned.novel_pairs[1] >= MIN_NOVEL_RIGHT
    assert set(np.flatnonzero(stacker.novel.coef)) <= set(stacker.fallback_columns().tolist())
    plain = Stacker.for_subjects(2, few, candidates=7).held_out_scores(base, few, folds, learn_novel=False)
    assert plain[:, 6].min() == pytest.approx(0.9)  # the composed heading no document has: its raw score ...
    assert oof[:, 6].max() < 0.1  # ... and its held-out probability (never right) now
    stacker.fit(base, few)
    seen = stacker.prior > 0
    assert not seen[5] and not seen[6]
    scores = stacker.predict(base, match=match)
    _, (rows, cols, x) = Stacker._split_predict(stacker, base, seen, match)
    assert set(cols.tolist()) == {5, 6}
    np.testing.assert_allclose(scores[rows, cols], stacker.novel.predict(x), rtol=1e-6)  # the fallback's
    assert scores[:, 6].max() < 0.1
    right = np.asarray(few[:, :4].argmax(axis=1)).ravel()
    assert (scores[:, 6] < scores[np.arange(few.shape[0]), right]).all()


def test_no_right_new_subject_gives_the_smoothed_base_rate():
    """With no right held-out pair new to its fold, every new subject's probability is the same smoothed base
    rate, below one over the number of such pairs (not 0, not the raw scores)."""
    base, y, match, folds = _novel_world(seed=4)
    none = _too_few_right(y, 0)
    stacker = Stacker.for_subjects(2, none, candidates=7)
    oof = stacker.held_out_scores(base, none, folds, match)
    stacker.fit(base, none)
    scores = stacker.predict(base, match=match)
    new = scores[:, 4:]
    assert np.ptp(new) < 1e-6 and np.ptp(oof[:, 4:]) < 1e-6  # one rate, mentions or raw scores aside
    n_pairs = none.shape[0] * 3  # subjects 4-6 are candidates of every document (7 candidates of 7)
    assert 0 < new.max() < 1.0 / n_pairs
    assert oof[:, 4:].max() < 0.01


def test_fallback_head_with_no_pair_at_all_is_the_candidates_precision():
    stacker = Stacker.for_subjects(2, sp.csr_matrix(np.eye(3)), candidates=3)
    head = stacker.fit_novel_fallback(np.zeros((0, stacker.n_novel_features)), np.zeros(0, bool), 0.2)
    assert head.predict(np.random.default_rng(0).random((4, stacker.n_novel_features))) == pytest.approx(0.2, rel=1e-3)


def test_subjects_added_after_training_keep_the_best_base_score_under_a_novel_head():
    """fahras.learning adds subjects the indexers decided after training (prior 0, knn has their votes): with
    ``grown_from`` they keep the pass-through (knn's vote), not the novel head's probability, which is
    calibrated for subjects the bases could only compose; the other unseen subjects keep the novel head."""
    base, y, match, folds = _novel_world(seed=5)
    stacker = Stacker.for_subjects(2, y, candidates=7)
    stacker.prior[4:] = 0
    stacker.held_out_scores(base, y, folds, match)
    stacker.fit(base, y)
    calibrated = stacker.predict(base, match=match)
    assert calibrated[:, 6].max() < 0.2  # the novel head's
    stacker.grown_from = 6  # subject 6 added after training
    grown = stacker.predict(base, match=match)
    np.testing.assert_allclose(grown[:, 6], np.maximum(base[0][:, 6], base[1][:, 6]))  # 0.9: the raw vote
    np.testing.assert_array_equal(grown[:, :6], calibrated[:, :6])  # 4 and 5 (unseen too) keep the head


def test_without_the_fallback_too_few_right_new_subjects_keep_their_raw_score():
    """novel_fallback=false (the ensemble's parameter): below MIN_NOVEL_RIGHT no head at all, as before the
    fallback, in the held-out scores as at prediction time."""
    from fahras.models.ensemble import MIN_NOVEL_RIGHT

    base, y, match, folds = _novel_world(seed=3)
    few = _too_few_right(y, MIN_NOVEL_RIGHT - 1)
    stacker = Stacker.for_subjects(2, few, candidates=7)
    oof = stacker.held_out_scores(base, few, folds, match, fallback=False)
    assert stacker.novel is None
    plain = Stacker.for_subjects(2, few, candidates=7).held_out_scores(base, few, folds, learn_novel=False)
    np.testing.assert_array_equal(oof, plain)
    assert oof[:, 6].min() == pytest.approx(0.9)
    with_fallback = Stacker.for_subjects(2, few, candidates=7)
    with_fallback.held_out_scores(base, few, folds, match)
    assert with_fallback.novel is not None
    assert create_backend("ensemble").get_params()["novel_fallback"] is False  # off by default (benchmarks.md)
