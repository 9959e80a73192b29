"""Cross-validation folds that do not leak (fahras.models.folds) and their use by the Indexer and ensemble."""

from __future__ import annotations

import random

import numpy as np
import pytest

from fahras.models.folds import DEFAULT_FOLDS, FOLD_KINDS, grouped_folds, make_folds, time_keys


def _check_partition(folds, n_docs):
    held = np.concatenate([h for _, h in folds])
    assert sorted(held.tolist()) == list(range(n_docs))  # every document held out exactly once
    for train, h in folds:
        assert not set(train.tolist()) & set(h.tolist())
        assert sorted(train.tolist() + h.tolist()) == list(range(n_docs))


def _corpus(n_docs=60, n_series=9, seed=3):
    rng = random.Random(seed)
    series = [rng.randrange(n_series) for _ in range(n_docs)]
    # every series shares its main subject with one other series and two subjects with more (as UN series share
    # broad headings), so grouping is not degenerate: 4-10% of the held-out assignments are new to their fold,
    # as on the UNSC corpus (see test_grouped_folds_fall_back_to_random_when_groups_are_whole_subjects)
    subjects = [[f"S{s // 2}", "COMMON", f"T{s % 3}"] if s % 2 else [f"S{s // 2}", f"T{s % 3}", f"U{s % 2}"]
                for s in series]
    return series, subjects


@pytest.mark.parametrize("kind", FOLD_KINDS)
def test_every_kind_is_a_partition_and_deterministic(kind):
    series, subjects = _corpus()
    ids = [f"S_RES_{1800 + i}_{2005 + i // 10}_" for i in range(len(subjects))]
    a = make_folds(3, kind, subjects=subjects, ids=ids, random_state=7)
    b = make_folds(3, kind, subjects=subjects, ids=ids, random_state=7)
    _check_partition(a, len(subjects))
    assert len(a) == 3
    assert all(np.array_equal(x[1], y[1]) for x, y in zip(a, b))


def test_grouped_never_splits_a_heading_set():
    series, subjects = _corpus()
    folds = make_folds(3, "grouped", subjects=subjects, random_state=1)
    _check_partition(folds, len(subjects))
    fold_of = {}
    for f, (_, held) in enumerate(folds):
        for i in held:
            fold_of[i] = f
    by_set = {}
    for i, subj in enumerate(subjects):
        by_set.setdefault(frozenset(subj), set()).add(fold_of[i])
    assert all(len(f) == 1 for f in by_set.values())
    # the random kind does split them on the same data: the property is not an accident of the data
    rnd = make_folds(3, "random", subjects=subjects, random_state=1)
    rnd_of = {int(i): f for f, (_, held) in enumerate(rnd) for i in held}
    assert any(len({rnd_of[i] for i, s in enumerate(subjects) if frozenset(s) == key}) > 1 for key in by_set)


def test_grouped_uses_series_over_subjects_and_balances():
    series, subjects = _corpus(90, 12)
    folds = make_folds(3, "grouped", subjects=[["X"]] * 90, series=series, random_state=0)
    for _, held in folds:
        for other_train, other_held in folds:
            if other_held is not held:
                assert not {series[i] for i in held} & {series[i] for i in other_held}
    sizes = [len(h) for _, h in folds]
    biggest = max(series.count(s) for s in set(series))
    assert max(sizes) - min(sizes) <= biggest  # greedy balancing: within one group of each other


def test_grouped_seed_changes_the_assignment_and_falls_back_to_random():
    subjects = [[f"S{i % 12}"] for i in range(60)]
    a = grouped_folds([frozenset(s) for s in subjects], 3, random_state=0)
    b = grouped_folds([frozenset(s) for s in subjects], 3, random_state=5)
    assert any(not np.array_equal(x[1], y[1]) for x, y in zip(a, b))
    few = [["A"]] * 10 + [["B"]] * 10  # two groups cannot make three folds
    folds = make_folds(3, "grouped", subjects=few, random_state=0)
    _check_partition(folds, 20)
    assert all(len(h) for _, h in folds)


def test_time_folds_are_contiguous_periods_in_date_order():
    rng = random.Random(0)
    years = [2005 + i // 8 for i in range(48)]
    ids = [f"S_RES_{2000 + i}_{y}_" for i, y in enumerate(years)]  # resolution numbers look like years too
    order = list(range(48))
    rng.shuffle(order)  # corpus order is not time order
    ids = [ids[i] for i in order]
    folds = make_folds(3, "time", ids=ids)
    _check_partition(folds, 48)
    ranges = []
    for _, held in folds:
        ys = [years[order[i]] for i in held]
        ranges.append((min(ys), max(ys)))
    ranges.sort()
    for (lo1, hi1), (lo2, hi2) in zip(ranges, ranges[1:]):
        assert hi1 <= lo2  # held-out blocks follow each other in time
    assert ranges[0][0] == 2005 and ranges[-1][1] == 2010


def test_grouped_keeps_a_heading_set_of_one_year_together_and_splits_years():
    subjects = [[f"S{i % 4}"] for i in range(48)]
    ids = [f"S_RES_{1900 + i}_{2005 + i // 8}_" for i in range(48)]
    folds = make_folds(3, "grouped", subjects=subjects, ids=ids, random_state=2)
    _check_partition(folds, 48)
    fold_of = {int(i): f for f, (_, h) in enumerate(folds) for i in h}
    groups = {}
    for i in range(48):
        groups.setdefault((i % 4, 2005 + i // 8), set()).add(fold_of[i])
    assert all(len(f) == 1 for f in groups.values())
    # No ids: heading sets alone.  Grouping keeps each set whole ...
    from fahras.models.folds import group_keys, random_folds

    whole = grouped_folds(group_keys(subjects), 3, random_state=2)
    fold_of = {int(i): f for f, (_, h) in enumerate(whole) for i in h}
    assert all(len({fold_of[i] for i in range(48) if i % 4 == s}) == 1 for s in range(4))
    # ... which holds out every subject whole, so make_folds uses random folds instead.
    without_years = make_folds(3, "grouped", subjects=subjects, random_state=2)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(without_years, random_folds(48, 3, 2)))


def test_time_keys_fallbacks():
    assert time_keys(["a", "b", "c"], 3) == [0.0, 1.0, 2.0]
    assert time_keys(["x", "doc_2011", "y", "doc_2009"], 4) == [2011.0, 2011.0, 2011.0, 2009.0]
    assert time_keys(None, 3, order=[3, None, 1]) == [3.0, 3.0, 1.0]


def test_bad_requests_are_refused():
    with pytest.raises(ValueError):
        make_folds(3, "alphabetical", n_docs=10)
    with pytest.raises(ValueError):
        make_folds(11, "random", n_docs=10)
    with pytest.raises(ValueError):
        make_folds(3, "grouped", subjects=[["a"]] * 5, ids=["x"] * 6)


def test_random_kind_is_the_old_kfold():
    from sklearn.model_selection import KFold

    old = list(KFold(3, shuffle=True, random_state=0).split(np.zeros(30)))
    new = make_folds(3, "random", n_docs=30, random_state=0)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(old, new))


def test_indexer_uses_its_kind_of_folds_and_refuses_unknown_ones():
    from fahras import Indexer
    from fahras.corpus import Document
    from fahras.errors import UsageError
    from fahras.vocab import Vocabulary

    docs = [Document(id=f"S_RES_{1700 + i}_{2005 + i // 6}_", text=f"text {i}", subjects=(f"H{i % 5}",))
            for i in range(30)]
    gold = [{f"urn:x:{i % 5}"} for i in range(30)]
    ix = Indexer(folds="grouped", cv_folds=3)
    folds = ix.make_folds(docs, gold)
    # the group: the heading set and the year (from the document id)
    key = [(i % 5, 2005 + i // 6) for i in range(30)]
    for _, held in folds:
        for _, other in folds:
            if other is not held:
                assert not {key[i] for i in held} & {key[i] for i in other}
    # a heading set recurs over the years: its years may fall into different folds
    assert any(len({f for f, (_, h) in enumerate(folds) for i in h if i % 5 == s}) > 1 for s in range(5))
    ix_time = Indexer(folds="time", cv_folds=3)
    held_years = [sorted({2005 + i // 6 for i in h}) for _, h in ix_time.make_folds(docs, gold)]
    assert held_years[0][-1] <= held_years[1][0] and held_years[1][-1] <= held_years[2][0]
    with pytest.raises(UsageError):
        Indexer(folds="sideways").fit(docs, Vocabulary([]))


def test_indexer_records_its_folds_and_cv_quality_and_old_manifests_load(tmp_path):
    import json

    from fahras import Indexer
    from fahras.corpus import Document
    from fahras.vocab import Vocabulary
    from synthetic import make_corpus, NAMES

    texts, labels = make_corpus(n_docs=36, seed=5)
    docs = [Document(id=f"S_RES_{1700 + i}_{2005 + i // 6}_", text=t, subjects=tuple(NAMES[j] for j in lab))
            for i, (t, lab) in enumerate(zip(texts, labels))]
    ix = Indexer(backend="tfidf-linear", analyzer="en", folds="time", cv_folds=3).fit(docs, Vocabulary([]))
    t = ix.training_
    assert t["folds"] == "time"
    assert 0.0 <= t["cv_ndcg@5"] <= 1.0 and 0.0 <= t["cv_precision@1"] <= 1.0
    assert t["cv_ndcg@5"] > 0.5  # the synthetic subjects are easy: the held-out ranking is informative
    path = ix.save(tmp_path / "m")
    assert Indexer.load(path).folds == "time"
    manifest = json.loads((path / "manifest.json").read_text())
    del manifest["params"]["folds"]  # a model saved before folds existed
    (path / "manifest.json").write_text(json.dumps(manifest))
    (path / "checksums.json").unlink(missing_ok=True)
    old = Indexer.load(path)
    assert old.folds == DEFAULT_FOLDS  # the default; it only matters when retraining
    assert np.allclose(old.scores(texts[:3]), ix.scores(texts[:3]))


def test_grouped_folds_fall_back_to_random_when_groups_are_whole_subjects():
    """A small corpus whose every subject has one heading set: grouping would hold out each subject whole
    (no training document of it in the fold), so the folds are random instead."""
    from fahras.models.folds import MAX_UNSEEN_SHARE, make_folds, random_folds, unseen_share

    subjects = [["fishing"]] * 3 + [["schools"]] * 3 + [["health"]] * 3
    folds = make_folds(3, "grouped", subjects=subjects, random_state=0)
    expected = random_folds(9, 3, 0)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, expected))
    assert unseen_share(folds, subjects) <= MAX_UNSEEN_SHARE
    # With shared subjects across groups, grouping stays.
    mixed = [["fishing", "lakes"], ["fishing", "boats"], ["fishing"], ["schools", "teachers"], ["schools"],
             ["schools", "money"], ["fishing", "money"], ["schools", "boats"], ["teachers", "lakes"]] * 2
    grouped = make_folds(3, "grouped", subjects=mixed, random_state=0)
    keys = [frozenset(s) for s in mixed]
    for train, held in grouped:
        assert not {keys[i] for i in held} & {keys[i] for i in train}


def test_grouped_folds_fall_back_when_a_quarter_of_the_assignments_are_new_to_their_fold():
    """Four subjects without years (the scale tests' synthetic corpus): grouping by heading set holds most of one
    subject out (48% of the held-out assignments new to their fold; UNSC: 5-7.5%), so the folds are random."""
    from synthetic import corpus_documents

    from fahras.models.folds import MAX_UNSEEN_SHARE, grouped_folds, group_keys, random_folds, unseen_share

    documents, _ = corpus_documents()
    subjects = [sorted(d.subjects) for d in documents]
    grouped = grouped_folds(group_keys(subjects), 3, 0)
    assert unseen_share(grouped, subjects) > MAX_UNSEEN_SHARE  # what grouping would give
    folds = make_folds(3, "grouped", subjects=subjects, ids=[d.id for d in documents])
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, random_folds(len(documents), 3, 0)))
