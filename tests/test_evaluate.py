import math

import numpy as np
import pytest
from sklearn.metrics import label_ranking_average_precision_score

from fahras.evaluate import average_precision, evaluate, ndcg_at


def test_metrics_by_hand():
    # Doc 1: gold {a, c}; ranking a b c d e f.  Doc 2: gold {x}; ranking y x.
    ranked = [["a", "b", "c", "d", "e", "f"], ["y", "x"]]
    gold = [{"a", "c"}, {"x"}]
    decided = [{"a", "b"}, {"y", "x"}]
    r = evaluate(ranked, gold, decided)
    assert r["documents"] == 2
    assert r["precision@1"] == pytest.approx((1 + 0) / 2)
    assert r["precision@3"] == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert r["precision@5"] == pytest.approx((2 / 5 + 1 / 5) / 2)  # textbook: divide by k even if fewer
    assert r["recall@5"] == pytest.approx(1.0)
    f1_doc1 = 2 * (2 / 5) * 1 / (2 / 5 + 1)
    f1_doc2 = 2 * (1 / 5) * 1 / (1 / 5 + 1)
    assert r["f1@5"] == pytest.approx((f1_doc1 + f1_doc2) / 2)
    ndcg1 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    ndcg2 = (1 / math.log2(3)) / 1
    assert r["ndcg@5"] == pytest.approx((ndcg1 + ndcg2) / 2)
    assert r["lrap"] == pytest.approx(((1 + 2 / 3) / 2 + 1 / 2) / 2)
    assert r["precision"] == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert r["recall"] == pytest.approx((1 / 2 + 1) / 2)
    assert r["f1"] == pytest.approx((2 * 1 / 4 + 2 * 1 / 3) / 2)


def test_documents_without_gold_are_skipped():
    r = evaluate([["a"], ["b"]], [set(), {"b"}])
    assert r["documents"] == 1 and r["skipped"] == 1 and r["precision@1"] == 1.0


def test_ndcg_perfect_and_zero():
    assert ndcg_at(["a", "b", "z"], {"a", "b"}, 5) == pytest.approx(1.0)
    assert ndcg_at(["z", "y"], {"a"}, 5) == 0.0


def test_lrap_matches_scikit_learn_including_unranked_gold():
    rng = np.random.default_rng(0)
    labels = [f"s{i}" for i in range(12)]
    for _ in range(30):
        scores = rng.random(12)
        truth = rng.random(12) < 0.25
        truth[rng.integers(12)] = True
        # Fahras sees only the top 8 ranked; the rest count as tied last.
        order = np.argsort(-scores)
        ranked = [labels[i] for i in order[:8]]
        tail = order[8:]
        clipped = scores.copy()
        clipped[tail] = -1.0
        expected = label_ranking_average_precision_score(truth[None, :], clipped[None, :])
        gold = {labels[i] for i in np.flatnonzero(truth)}
        assert average_precision(ranked, gold, n_candidates=12) == pytest.approx(expected)


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError):
        evaluate([["a"]], [{"a"}, {"b"}])
