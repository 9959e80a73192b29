"""The rolling-origin benchmark's own logic (benchmarks/rolling.py): parts, scoring, summary, cache keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.harness.data import Doc
from benchmarks.harness.measure import StepFailed
from benchmarks.rolling import fingerprint, parse_args, score, summarise, unseen_per_year_lines, year_parts


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


def test_bootstrap_standard_error_of_a_test_year():
    from benchmarks.rolling import bootstrap_se

    assert bootstrap_se([0.5] * 40) == 0.0
    values = [1.0, 0.0] * 25  # 50 documents, sd 0.5: the SE of the mean is about 0.5 / sqrt(50) = 0.071
    assert bootstrap_se(values) == pytest.approx(0.5 / 50 ** 0.5, rel=0.1)
    assert bootstrap_se([1.0]) is None
    m = score([["a"], ["b"], ["a"]], None, [{"a"}, {"a"}, {"a"}], seen={"a", "b"}, n_candidates=2)
    assert m["ndcg@5_per_doc"] == [1.0, 0.0, 1.0]
    assert 0.1 < m["ndcg@5_se"] < 0.4


def test_forward_chaining_estimate_is_the_previous_step_and_stays_out_of_the_means():
    def row(system, ndcg, est):
        m = {"ndcg@5": ndcg, "precision@1": ndcg, "f1": ndcg, "lrap": ndcg, "unseen_at_rank": [[0, 0]] * 5,
             "ndcg@5_se": 0.02}
        return {"system": system, "metrics": m, "cv_estimate": {"ndcg@5": est, "precision@1": est, "f1": est}}

    per_year = {2008: [row("Fahras", 0.80, 0.9)], 2009: [row("Fahras", 0.90, 0.9)],
                2010: [row("Fahras", 0.70, 0.9)]}
    s = summarise(per_year, [2009, 2010])["Fahras"]
    assert s["years"] == [2009, 2010]
    assert s["ndcg@5"]["mean"] == pytest.approx(0.8)  # 2008 (the warm-up step) is left out
    # forward estimate of 2009's result: 2008's (0.80); of 2010's: 2009's (0.90)
    assert s["forward_gap_ndcg@5"]["min"] == pytest.approx(-0.1)
    assert s["forward_gap_ndcg@5"]["max"] == pytest.approx(0.2)
    assert s["cv_gap_ndcg@5"]["mean"] == pytest.approx(0.1)
    assert s["mixed_gap_ndcg@5"]["mean"] == pytest.approx(((0.85 - 0.9) + (0.9 - 0.7)) / 2)
    assert s["ndcg@5_se"]["mean"] == pytest.approx(0.02)
    # without the warm-up step the first year has no forward estimate
    assert summarise({2009: per_year[2009], 2010: per_year[2010]})["Fahras"]["forward_estimate"].keys() == {"2010"}


def test_unseen_subjects_are_reported_per_test_year_with_how_fahras_scored_them():
    from fahras.models.ensemble import MIN_NOVEL_RIGHT

    def row(system, unseen, gold_unseen, training=None):
        return {"system": system, "metrics": {"unseen_at_rank": unseen, "gold_unseen": gold_unseen},
                **({"training": training} if training is not None else {})}

    per_year = {
        2009: [row("Fahras", [[2, 1], [3, 0], [0, 0], [1, 0], [0, 0]], 4,
                   {"novel_pairs": 6776, "novel_right": MIN_NOVEL_RIGHT - 1}),
               row("Annif mllm", [[0, 0], [5, 1], [0, 0], [0, 0], [0, 0]], 4)],
        2010: [row("Fahras", [[1, 1], [0, 0], [0, 0], [0, 0], [4, 0]], 19,
                   {"novel_pairs": 8111, "novel_right": MIN_NOVEL_RIGHT})],
    }
    lines = unseen_per_year_lines(per_year, [2009, 2010])
    rows = [line for line in lines if line.startswith("| 20")]
    assert rows == [
        f"| 2010 | Fahras | 1/2 | 0/3 | 0/0 | 0/1 | 0/0 | 4 | fallback head ({MIN_NOVEL_RIGHT - 1} right of 6,776 "
        "held-out pairs new to their fold) |",
        "| 2010 | Annif mllm | 0/0 | 1/5 | 0/0 | 0/0 | 0/0 | 4 |  |",
        f"| 2011 | Fahras | 1/1 | 0/0 | 0/0 | 0/0 | 0/4 | 19 | full novel head ({MIN_NOVEL_RIGHT} right of 8,111 "
        "held-out pairs new to their fold) |",
    ]
