"""The rolling-origin benchmark's own logic (benchmarks/rolling.py): parts, scoring, summary, cache keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.harness.data import Doc
from benchmarks.harness.measure import StepFailed
from benchmarks.rolling import fingerprint, parse_args, score, summarise, year_parts


def _doc(i: int, year: int, gold=("a",), text="x") -> Doc:
    from fahras.vocab import local_concept

    return Doc(id=f"d{i}", path=Path(f"/nowhere/d{i}"), year=year, text=text,
               subjects=tuple(local_concept(g) for g in gold))


def test_year_parts_train_up_to_y_and_test_the_next_year():
    docs = [_doc(i, 2005 + i % 6) for i in range(30)]
    parts = year_parts(docs, 2008)
    assert {d.year for d in parts["train"]} == {2005, 2006, 2007, 2008}
    assert {d.year for d in parts["test"]} == {2009}
    assert {d.year for d in parts["early"]} == {2005, 2006, 2007}
    assert {d.year for d in parts["validate"]} == {2008}
    with pytest.raises(StepFailed):
        year_parts(docs, 2010)  # no 2011 documents


def test_score_counts_unseen_subjects_by_rank():
    gold = [{"s1", "new1"}, {"s2"}]
    rankings = [["new1", "s1", "new2"], ["new2", "s2", "s1"]]
    m = score(rankings, [{"s1"}, {"s2"}], gold, seen={"s1", "s2"}, n_candidates=5)
    assert m["unseen_at_rank"][0] == [2, 1]  # rank 1: new1 (right), new2 (wrong)
    assert m["unseen_at_rank"][2] == [1, 0]  # rank 3: new2 (wrong)
    assert m["unseen_at_rank"][1] == [0, 0]
    assert m["gold_unseen"] == 1
    assert m["precision@1"] == pytest.approx(0.5)


def test_summary_means_spreads_annif_best_and_cv_gaps():
    def row(system, ndcg, p1, f1, est=None):
        m = {"ndcg@5": ndcg, "precision@1": p1, "f1": f1, "lrap": ndcg, "unseen_at_rank": [[1, 0]] * 5}
        return {"system": system, "metrics": m, **({"cv_estimate": est} if est else {})}

    per_year = {
        2009: [row("Fahras", 0.9, 0.8, 0.7, {"ndcg@5": 0.95, "precision@1": 0.8, "f1": 0.7}),
               row("Annif a", 0.8, 0.9, 0.5), row("Annif b", 0.85, 0.7, 0.6)],
        2010: [row("Fahras", 0.7, 0.6, 0.5, {"ndcg@5": 0.95, "precision@1": 0.8, "f1": 0.7}),
               row("Annif a", 0.6, 0.5, 0.4), row("Annif b", 0.5, 0.6, 0.3)],
    }
    s = summarise(per_year)
    assert s["Fahras"]["ndcg@5"]["mean"] == pytest.approx(0.8)
    assert s["Fahras"]["ndcg@5"]["std"] == pytest.approx(0.1)
    assert (s["Fahras"]["ndcg@5"]["min"], s["Fahras"]["ndcg@5"]["max"]) == (0.7, 0.9)
    # Annif best: per year and metric, the best Annif row
    assert s["Annif best"]["ndcg@5"]["mean"] == pytest.approx((0.85 + 0.6) / 2)
    assert s["Annif best"]["precision@1"]["mean"] == pytest.approx((0.9 + 0.6) / 2)
    assert s["Fahras"]["cv_gap_ndcg@5"]["mean"] == pytest.approx(0.15)
    assert s["Fahras"]["unseen_at_rank"][0] == [2, 0]


def test_cache_key_follows_the_documents_and_the_configuration():
    parts = {"train": [_doc(1, 2005)], "test": [_doc(2, 2006)]}
    key = fingerprint(parts, {"backend": "tfidf"})
    assert key == fingerprint(parts, {"backend": "tfidf"})
    assert key != fingerprint(parts, {"backend": "mllm"})
    changed = {"train": [_doc(1, 2005, text="y")], "test": parts["test"]}
    assert key != fingerprint(changed, {"backend": "tfidf"})
    relabelled = {"train": [_doc(1, 2005, gold=("b",))], "test": parts["test"]}
    assert key != fingerprint(relabelled, {"backend": "tfidf"})


def test_arguments():
    args = parse_args(["--years", "2010-2011", "--fahras", 'time={"folds": "time"}', "--annif-backends",
                       "tfidf,omikuji,ensemble"])
    assert args.year_list == [2010, 2011]
    assert args.configs == [("Fahras time", {"folds": "time"})]
    assert args.backends == ["tfidf", "omikuji-parabel", "omikuji-bonsai", "ensemble"]
    with pytest.raises(SystemExit):
        parse_args(["--annif-backends", "nn_ensemble"])
    with pytest.raises(SystemExit):
        parse_args(["--fahras", "x=[1]"])
