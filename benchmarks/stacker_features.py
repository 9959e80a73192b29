"""Which features the ensemble's stacker needs: an ablation on the year splits.

For each split (``time``: train 2005-2011, test 2012-2013; ``time3``: train
2005-2012, test 2013) and each number of folds, the default base backends
are cross-fitted once (``fahras.models.crossfit``); then stackers that see
different feature sets are trained on the same held-out base scores, their
decision rule tuned on their own held-out (cross-fitted) scores as
``Indexer.fit`` does, and scored on the test documents:

* ``v1``: per base backend its score, log-odds and reciprocal rank, plus the
  subject's training frequency (the stacker of the first release);
* ``v2``: ``v1`` plus each base's score relative to its best score for the
  document, the share of backends ranking the subject in their top 3, and
  the reciprocal rank by the backends' mean score (the current stacker);
* ``v2+cooc``: ``v2`` plus how often the subject co-occurs, in the training
  documents, with the document's 5 best subjects by mean base score
  (P(subject | other), weighted by the other's mean score);
* ``v2, banded rule``: ``v2`` with one threshold per band of training
  frequency (1-2, 3-10, more documents; subjects without training documents
  keep the global threshold), tuned on the same held-out scores by
  coordinate ascent from the global rule.

Run from the repository root (about 5 minutes on 2 cores)::

    .venv/bin/python -m benchmarks.stacker_features [--folds 3 5] [--bases tfidf-linear,knn,headings]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"

from fahras import load_vocabulary
from fahras.corpus.unexport import iter_export_dir
from fahras.decision import tune_rule
from fahras.evaluate import evaluate
from fahras.models.crossfit import cross_fit
from fahras.models.ensemble import DEFAULT_BASES, Stacker
from fahras.subjects import resolve_all
from fahras.text import get_analyzer
from benchmarks.harness.stacking import stacking_inputs

SPLITS = {"time": (range(2005, 2012), range(2012, 2014)), "time3": (range(2005, 2013), range(2013, 2014))}


class FirstStacker(Stacker):
    """The stacker of the first release: its features are the first 3 x bases + 1 columns."""

    @property
    def n_features(self) -> int:
        return 3 * self.n_bases + 1

    def features(self, base_scores):
        rows, cols, x = super().features(base_scores)
        return rows, cols, x[:, : 3 * len(base_scores) + 1]


class CooccurrenceStacker(Stacker):
    """``v2`` plus a co-occurrence feature learned from the stacker's training documents."""

    def fit(self, base_scores, y):
        counts = (y.T @ y).toarray().astype(np.float64)
        self.cooc_ = counts / np.maximum(np.diag(counts), 1.0)[:, None]  # row t: P(column | t)
        return super().fit(base_scores, y)

    def clone(self):
        copy = super().clone()
        copy.cooc_ = getattr(self, "cooc_", None)
        return copy

    @property
    def n_features(self) -> int:
        return super().n_features + 1

    def features(self, base_scores):
        rows, cols, x = super().features(base_scores)
        mean = np.mean(base_scores, axis=0)
        top = np.argsort(-mean, axis=1, kind="stable")[:, :5]
        weight = np.take_along_axis(mean, top, axis=1)
        context = np.zeros(len(rows))
        for j in range(top.shape[1]):
            other = top[rows, j]
            context += self.cooc_[other, cols] * weight[rows, j] * (other != cols)
        return rows, cols, np.column_stack([x, context / np.maximum(weight.sum(axis=1)[rows], 1e-6)])


BAND_EDGES = (1, 3, 11)  # band 0: no training document; 1: 1-2; 2: 3-10; 3: more


def _banded_f1(order, top, hits, n_gold, bands, thresholds) -> tuple[float, list[np.ndarray]]:
    """Mean F1 when each of the top-``limit`` subjects is kept if it passes its band's threshold (at least one)."""
    keep = top >= thresholds[bands[order]]
    keep[:, 0] |= ~keep.any(axis=1)
    k, h = keep.sum(axis=1), (keep & hits).sum(axis=1)
    return float(np.mean(np.where(h > 0, 2 * h / (k + n_gold), 0.0))), keep


def banded_rule(oof, y, bands, rule) -> np.ndarray:
    """Per-band thresholds, from the global rule's, by coordinate ascent on the held-out F1."""
    order = np.argsort(-oof, axis=1, kind="stable")[:, : rule.limit]
    top = np.take_along_axis(oof, order, axis=1)
    hits = np.take_along_axis(y.toarray(), order, axis=1) > 0
    n_gold = np.asarray(y.sum(axis=1)).ravel()
    thresholds = np.full(len(BAND_EDGES) + 1, rule.threshold)
    for _ in range(3):
        for band in range(1, len(thresholds)):
            best = max((_banded_f1(order, top, hits, n_gold, bands, np.r_[thresholds[:band], t,
                                                                              thresholds[band + 1:]])[0], -abs(t - thresholds[band]), t)
                       for t in np.round(np.arange(0, 1, 0.02), 2))
            thresholds[band] = best[2]
    return thresholds


def year(doc) -> int:
    return int(re.search(r"_(\d{4})_$", doc.id).group(1))


def score(kind: type[Stacker], base_oof, base_test, y, folds, test_gold, subjects, concepts,
          banded=False) -> dict:
    """Cross-fitted stacker scores -> tuned rule; full stacker on the test documents -> metrics."""
    stacker = kind.for_subjects(len(base_oof), y, concepts)
    oof = stacker.held_out_scores(base_oof, y, folds)
    rule, _ = tune_rule(oof, y)
    test = stacker.fit(base_oof, y).predict(base_test)
    order = np.argsort(-test, axis=1, kind="stable")
    ranked = [[subjects.uris[j] for j in row[:100]] for row in order]
    decided = [set(r[: rule.select(scores[o[: rule.limit]])]) for r, scores, o in zip(ranked, test, order)]
    result = evaluate(ranked, test_gold, decided, n_candidates=len(subjects))
    scored = {"nDCG@5": result["ndcg@5"], "F1": result["f1"], "rule": f"{rule.limit}, {rule.threshold:.2f}"}
    if not banded:
        return scored
    bands = np.digitize(np.asarray(y.sum(axis=0)).ravel(), BAND_EDGES)
    thresholds = banded_rule(oof, y, bands, rule)
    top = np.take_along_axis(test, order[:, : rule.limit], axis=1)
    keep = top >= thresholds[bands[order[:, : rule.limit]]]
    keep[:, 0] |= ~keep.any(axis=1)
    decided = [{r[i] for i in np.flatnonzero(k)} for r, k in zip(ranked, keep)]
    result = evaluate(ranked, test_gold, decided, n_candidates=len(subjects))
    return {**scored, "F1": result["f1"],
            "rule": f"{rule.limit}, " + "/".join(f"{t:.2f}" for t in thresholds) + " (bands 0/1-2/3-10/11+)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folds", type=int, nargs="+", default=[3, 5])
    parser.add_argument("--bases", default=",".join(b["name"] for b in DEFAULT_BASES),
                        help="comma-separated base backends (default: the ensemble's default bases)")
    args = parser.parse_args()
    bases_spec = [{"name": name} for name in args.bases.split(",")]
    vocab = load_vocabulary(SHARED / "unbis" / "all_topics.json")
    documents = list(iter_export_dir(SHARED / "unsc-resolutions" / "train"))
    print("| split | folds | stacker | nDCG@5 | F1 (tuned rule) | rule (limit, threshold) |")
    print("|---|---:|---|---:|---:|---|")
    for split, (train_years, test_years) in SPLITS.items():
        train = [d for d in documents if year(d) in train_years]
        test = [d for d in documents if year(d) in test_years]
        inputs = stacking_inputs(train, vocab)
        model, subjects, concepts, y, analysed = (inputs.model, inputs.subjects, inputs.concepts, inputs.y,
                                                  inputs.analysed)
        analyzer = get_analyzer("auto")
        test_analysed = [model.analyse(d.text) for d in test]
        test_gold = [resolve_all(d.subjects, model.vocab_) for d in test]
        from sklearn.model_selection import KFold

        for n_folds in args.folds:
            folds = list(KFold(n_folds, shuffle=True, random_state=0).split(analysed))
            bases, base_oof = cross_fit(bases_spec, analysed, y, analyzer, folds, concepts=concepts, n_jobs=0)
            base_test = [b.predict_scores(test_analysed) for b in bases]
            for name, stacker, banded in (("v1", FirstStacker, False),
                                          ("v2", Stacker, False),
                                          ("v2+cooc", CooccurrenceStacker, False),
                                          ("v2, banded rule", Stacker, True)):
                r = score(stacker, base_oof, base_test, y, folds, test_gold, subjects, concepts, banded)
                print(f"| {split} | {n_folds} | {name} | {r['nDCG@5']:.3f} | {r['F1']:.3f} | {r['rule']} |",
                      flush=True)


if __name__ == "__main__":
    main()
