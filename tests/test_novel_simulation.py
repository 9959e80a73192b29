"""Simulated novelty (issue #16): subjects hidden from their cross-fitting fold train the novel head.

Where the training years hold too few right held-out pairs of subjects new to their fold (the Security
Council resolutions up to 2009 or 2010), the novel head was not learned and composed headings kept a raw
score.  ``novel_simulate`` hides a share of the composed headings' fillers from each fold; the held-out pairs
of the hidden headings, scored as new (prior 0, the bases that only score what they were trained on at 0,
the headings backend re-scoring them as new), are the head's extra training pairs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from fahras import Indexer
from fahras.models.ensemble import MIN_NOVEL_RIGHT, NovelSimulation, Stacker
from fahras.models.heading_features import MENTION_FEATURES
from fahras.vocab.concept import local_concept

sys.path.insert(0, str(Path(__file__).parent))
from test_backend_headings import MALI_TEXT, make_documents, make_vocab  # noqa: E402


def _world(seed: int = 0, n_docs: int = 150):
    """Subjects 0-3 ordinary; 4 and 5 composed headings held by documents of *every* fold (so never new to a
    fold) and right exactly where the document names their filler as a whole; 6 a composed heading no
    document has, with a high raw score from the headings-like base (base 1), never right.  Base 0 scores only
    subjects it was trained on (0 on subject 6); base 1 scores headings from mentions."""
    rng = np.random.default_rng(seed)
    n_subjects = 7
    y = np.zeros((n_docs, n_subjects), dtype=np.int8)
    true = rng.integers(0, 4, n_docs)
    y[np.arange(n_docs), true] = 1
    heading = np.where(rng.random(n_docs) < 0.5, 4, 5)
    named = rng.random(n_docs) < 0.5
    y[np.flatnonzero(named), heading[named]] = 1
    a = rng.random((n_docs, n_subjects)) * 0.3
    b = rng.random((n_docs, n_subjects)) * 0.2
    a[np.arange(n_docs), true] += 0.6
    a[np.flatnonzero(named), heading[named]] += 0.5  # the supervised base knows the seen headings
    a[:, 6] = 0.0
    b[np.arange(n_docs), true] += 0.3
    b[np.arange(n_docs), heading] = 0.35  # the same raw score, named or not
    b[:, 6] = 0.9  # the loose composed heading: a high raw score, never right
    docs = np.arange(n_docs)
    rows = np.concatenate([docs, docs[named]])
    cols = np.concatenate([heading, np.full(int(named.sum()), 6)])  # 6 named where the true heading is
    feats = np.zeros((len(rows), len(MENTION_FEATURES)))
    feats[:n_docs, MENTION_FEATURES.index("full")] = np.where(named, np.log(3.0), 0.0)
    feats[:n_docs, MENTION_FEATURES.index("partial")] = np.where(named, 0.0, np.log(2.0))
    feats[n_docs:, MENTION_FEATURES.index("partial")] = np.log(2.0)  # 6: a partial mention only
    fold_of = docs % 3
    folds = [(np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)) for f in range(3)]
    return [a.astype(np.float32), b.astype(np.float32)], sp.csr_matrix(y), (rows, cols, feats), folds


def _simulation(share: float = 0.5, seed: int = 0) -> NovelSimulation:
    groups = np.array([-1, -1, -1, -1, 0, 1, 2])

    def as_new(cols, mention):  # the headings-like base scores a hidden heading as new: from its mention
        return np.where(mention[:, MENTION_FEATURES.index("full")] > 0, 0.5, 0.2).astype(np.float32)

    return NovelSimulation(share, groups, seed, {1: as_new})


def test_hidden_subjects_are_whole_groups_of_seen_subjects_and_seeded():
    groups = np.array([-1, 0, 0, 1, 1, 2, 3, 3, 4, -1])
    seen = np.ones(10, dtype=bool)
    seen[5] = False  # group 2's only subject: not seen, never hidden
    sim = NovelSimulation(0.5, groups, seed=3)
    masks = [sim.hidden(f, seen) for f in range(6)]
    for mask in masks:
        assert not mask[0] and not mask[9] and not mask[5]  # ungrouped or unseen: never hidden
        for g in (0, 1, 3):
            assert len(set(mask[groups == g].tolist())) == 1  # a group is hidden whole
        assert len(np.unique(groups[mask])) == 2  # half of the 4 eligible groups (0, 1, 3, 4)
    assert len({m.tobytes() for m in masks}) > 1  # folds hide different groups
    again = NovelSimulation(0.5, groups, seed=3)
    assert all(np.array_equal(m, again.hidden(f, seen)) for f, m in enumerate(masks))  # seeded
    assert not NovelSimulation(0.0, groups).hidden(0, seen).any()


def test_hidden_columns_are_scored_as_new():
    supervised = np.array([[0.8, 0.7, 0.0], [0.6, 0.5, 0.0]], dtype=np.float32)  # scores only seen 0, 1
    lexical = np.array([[0.1, 0.4, 0.3], [0.2, 0.6, 0.2]], dtype=np.float32)  # scores unseen 2 as well
    headings = np.array([[0.1, 0.9, 0.0], [0.1, 0.9, 0.0]], dtype=np.float32)
    seen = np.array([True, True, False])
    hide = np.array([False, True, False])
    match = (np.array([0]), np.array([1]), np.ones((1, len(MENTION_FEATURES))))
    constant = np.array([[0.9, 0.8, 4.5e-5], [0.7, 0.6, 4.5e-5]], dtype=np.float32)  # tfidf-linear: sigmoid(-10)
    sim = NovelSimulation(0.5, np.array([-1, 0, -1]), rescore={2: lambda cols, m: np.full(len(cols), 0.25)})
    a, b, c, d = sim.as_new([supervised, lexical, headings, constant], hide, seen, match)
    np.testing.assert_allclose(d[:, 1], 4.5e-5)  # what that base gives a subject it has no document of
    np.testing.assert_array_equal(a[:, 1], 0.0)  # a base that scores only its training subjects: as unseen ones
    np.testing.assert_array_equal(a[:, 0], supervised[:, 0])
    np.testing.assert_array_equal(b, lexical)  # a base that proposes unseen subjects keeps its scores
    np.testing.assert_array_equal(c[:, 1], [0.25, 0.0])  # re-scored as new where named, else 0
    assert supervised[0, 1] == pytest.approx(0.7)  # the held-out scores themselves are not changed


def test_simulated_pairs_train_the_novel_head_where_real_ones_are_too_few():
    base, y, match, folds = _world()
    plain = Stacker.for_subjects(2, y, candidates=7)
    oof_plain = plain.held_out_scores(base, y, folds, match, fallback=False)
    assert plain.novel_pairs[1] == 0 and plain.novel is None  # no heading is ever new to its fold: no head
    stacker = Stacker.for_subjects(2, y, candidates=7)
    oof = stacker.held_out_scores(base, y, folds, match, fallback=False, simulation=_simulation())
    n_sim, right_sim = stacker.novel_simulated
    assert right_sim >= MIN_NOVEL_RIGHT and n_sim > right_sim
    assert stacker.novel is not None  # the old code learned no head here and passed the raw score through
    # the seen head never sees the simulated pairs: the held-out scores of seen subjects are unchanged ...
    np.testing.assert_array_equal(oof[:, :6], oof_plain[:, :6])
    # ... and so is the final seen head
    plain.fit(base, y)
    stacker.fit(base, y)
    np.testing.assert_array_equal(stacker.head.coef, plain.head.coef)
    # the composed heading no document has: its raw 0.9 (never right, a partial mention) passed through before;
    # now its held-out probability is below every document's right subject
    assert oof_plain[:, 6].min() == pytest.approx(0.9)
    right = np.asarray(y[:, :4].argmax(axis=1)).ravel()
    assert (oof[:, 6] < oof[np.arange(y.shape[0]), right]).all()
    # a new document naming a new heading's filler as a whole scores it above one that names it in part
    probe = [np.full((2, 7), 0.05, np.float32), np.full((2, 7), 0.05, np.float32)]
    probe[0][:, 6] = 0.0
    probe[1][:, 6] = 0.35
    whole = np.zeros((2, len(MENTION_FEATURES)))
    whole[0, MENTION_FEATURES.index("full")] = np.log(3.0)
    whole[1, MENTION_FEATURES.index("partial")] = np.log(2.0)
    scores = stacker.predict(probe, match=(np.array([0, 1]), np.array([6, 6]), whole))
    assert scores[0, 6] > scores[1, 6] + 0.2


def test_headings_rescore_a_seen_heading_as_a_never_seen_one():
    vocab = make_vocab()
    model = Indexer(backend="headings", analyzer="en", cv_folds=0).fit(make_documents(), vocab)
    backend, index = model.backend_, model.subjects_.index
    docs = [model.analyse(MALI_TEXT), model.analyse("The situation in Somalia. The council welcomes the progress "
                                                    "in Somalia and the efforts of Kenya.")]
    rows, cols, feats = backend.mention_features(docs)
    scores = backend.predict_scores(docs)
    as_new = backend.scores_as_new(cols, feats)
    mali = index[local_concept("MALI SITUATION").uri]
    somalia = index[vocab.find("SOMALIA SITUATION").uri] if vocab.find("SOMALIA SITUATION") else \
        index[local_concept("SOMALIA SITUATION").uri]
    at = {(int(r), int(c)): k for k, (r, c) in enumerate(zip(rows, cols))}
    # Mali has no training heading: scored as new, it scores as it does
    assert as_new[at[0, mali]] == pytest.approx(scores[0, mali], abs=1e-6)
    # Somalia's situation is a training heading: as new, it loses what its training history gave it
    assert as_new[at[1, somalia]] < scores[1, somalia] - 0.05


def test_the_ensemble_learns_a_novel_head_from_simulated_novelty():
    vocab = make_vocab()
    params = {"backends": [{"name": "knn", "params": {"min_df": 1}}, {"name": "headings"}], "cv_folds": 3}
    model = Indexer(backend="ensemble", backend_params={**params, "novel_simulate": 0.5}, analyzer="en",
                    cv_folds=3).fit(make_documents(), vocab)
    stacker = model.backend_.stacker_
    # no held-out heading new to its fold is ever right in this corpus (random folds): without the simulation
    # no head (test_backend_headings.test_in_an_ensemble); with it, one learned from the hidden headings
    assert stacker.novel_pairs[1] == 0
    assert stacker.novel_simulated[1] >= MIN_NOVEL_RIGHT and stacker.novel is not None
    assert model.training_["novel_simulated_right"] == stacker.novel_simulated[1]
    # Mali's composed headings, new, are calibrated and still ranked first for a text about Mali's situation
    top = model.suggest(MALI_TEXT, limit=2)
    assert {s.label for s in top} == {"MALI SITUATION", "MALI--POLITICAL CONDITIONS"}
    text = "The situation in Somalia. The council welcomes the progress in Somalia and the efforts of Kenya."
    assert model.suggest(text, limit=1)[0].label == "SOMALIA SITUATION"


def test_the_monotone_head_keeps_the_proposing_base_s_order():
    """novel_monotone: the novel head reads only the proposing bases' log-odds and ``named``, so among new
    subjects it keeps the order of the base that proposes them (the full head, on every feature, may not)."""
    base, y, match, folds = _world(seed=1)
    stacker = Stacker.for_subjects(2, y, candidates=7)
    sim = _simulation()
    sim.monotone = True
    stacker.held_out_scores(base, y, folds, match, fallback=False, simulation=sim)
    assert stacker.novel is not None
    # base 1 proposes subject 6 (base 0 does not): its log-odds are the only weight
    assert set(np.flatnonzero(stacker.novel.coef)) == set(stacker.monotone_columns([1]).tolist()) == {3 * 1 + 1}
    assert stacker.novel.coef[3 * 1 + 1] > 0
    stacker.fit(base, y)
    probe = [np.full((5, 7), 0.05, np.float32), np.full((5, 7), 0.05, np.float32)]
    raw = np.array([0.1, 0.3, 0.5, 0.7, 0.9], dtype=np.float32)
    probe[0][:, 6], probe[1][:, 6] = 0.0, raw
    mention = np.zeros((5, len(MENTION_FEATURES)))
    mention[:, MENTION_FEATURES.index("full")] = np.log([2.0, 5.0, 1.5, 4.0, 1.0]) + 1e-9  # in no order
    scores = stacker.predict(probe, match=(np.arange(5), np.full(5, 6), mention))[:, 6]
    assert (np.diff(scores) > 0).all()  # the raw order, whatever the mentions say


def test_where_the_real_pairs_suffice_the_simulated_ones_are_left_out():
    """With at least MIN_NOVEL_RIGHT right held-out pairs of subjects new to their fold the novel head learns
    from those alone, as without the simulation (the simulated pairs cost the rolling benchmark's later years
    ranking there: docs/benchmarks.md)."""
    from test_backend_ensemble import _novel_world

    base, y, match, folds = _novel_world(seed=1)
    plain = Stacker.for_subjects(2, y, candidates=7)
    oof_plain = plain.held_out_scores(base, y, folds, match)
    assert plain.novel_pairs[1] >= MIN_NOVEL_RIGHT
    for monotone in (False, True):
        sim = NovelSimulation(0.5, np.array([-1, -1, 0, 1, -1, -1, 2]), rescore={1: lambda c, m: np.full(len(c), 0.3)},
                              monotone=monotone)
        stacker = Stacker.for_subjects(2, y, candidates=7)
        oof = stacker.held_out_scores(base, y, folds, match, simulation=sim)
        assert stacker.novel_simulated[0] > 0  # simulated pairs were made, and left out
        np.testing.assert_array_equal(stacker.novel.coef, plain.novel.coef)
        np.testing.assert_array_equal(oof, oof_plain)
