"""`fahras eval` keeps each document's top subjects and its gold subjects' places, not its whole ranking
(issue 19): the metrics must be those of the whole rankings, to the last bit."""

from __future__ import annotations

import random

import numpy as np

from fahras.evaluate import TOP_KEPT, TopRanking, average_precision, evaluate


def test_compact_rankings_give_the_same_metrics_as_whole_ones():
    rng = random.Random(7)
    subjects = [f"s{i}" for i in range(300)]
    ranked, gold, decided = [], [], []
    for n in range(200):
        length = rng.choice([0, 3, 9, 10, 11, 50, 300])
        ranking = rng.sample(subjects, length)
        if n % 11 == 0 and ranking:  # a subject ranked twice counts at its last place
            ranking.append(ranking[0])
        truth = set(rng.sample(subjects, rng.randint(0, 6)))
        if n % 5 == 0 and ranking:
            truth.add(ranking[0])
        ranked.append(ranking)
        gold.append(truth)
        decided.append(set(ranking[: rng.randint(0, 4)]))
    for n_candidates in (None, 300, 400):
        whole = evaluate(ranked, gold, decided, n_candidates=n_candidates)
        compact = evaluate([TopRanking.of(r, g) for r, g in zip(ranked, gold)], gold, decided,
                           n_candidates=n_candidates)
        assert whole == compact
        assert whole["lrap"] > 0 and whole["ndcg@10"] > 0
    for r, g in zip(ranked, gold):
        if g:
            top = TopRanking.of(r, g)
            assert len(top.top) == min(TOP_KEPT, len(r))
            assert average_precision(r, g, 300) == average_precision(list(r), g, 300)


def test_indexer_evaluate_equals_the_whole_ranking_computation(trained_model, time_split):
    """Indexer.evaluate (top subjects and gold places from the sparse scores) against the metrics of
    every document's whole ranking, a stable argsort of its dense scores, as evaluate computed them before."""
    from fahras import Indexer, read_corpus
    from fahras.subjects import resolve_all

    indexer = Indexer.load(trained_model)
    documents = list(read_corpus(time_split[1]))[:40]
    got = indexer.evaluate(documents)
    scores = indexer.scores([d.text for d in documents])
    uris = indexer.subjects_.uris
    rule = indexer.rule()
    ranked = [[uris[j] for j in np.argsort(-row, kind="stable")] for row in scores]
    gold = [resolve_all(d.subjects, indexer.vocab_) for d in documents]
    decided = [{uris[j] for j in rule.apply(row)} for row in scores]
    want = evaluate(ranked, gold, decided, n_candidates=len(uris))
    assert {k: got[k] for k in want} == want
    assert got["documents"] == 40 and got["lrap"] > 0
