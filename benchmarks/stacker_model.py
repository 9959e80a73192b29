"""The ensemble's stacker: its model and settings, on the same cross-fitted base scores.

For every run of the splits of ``benchmarks/vs_annif.py`` (``time3``,
``time``, the five folds of ``cv5``; training on the train and validation
parts), the default ensemble's base backends are cross-fitted on 3 folds of
the training documents, as ``Indexer.fit`` does.  Each variant below then
stacks the same base scores, its decision rule (expected F1) is tuned on
its own held-out ensemble scores, and it is scored on the test documents:

* ``lr``: the current stacker (logistic regression, ``C`` 1, the top 20
  candidates of each base backend);
* ``C0.3``, ``C3``: other regularisation;
* ``cand10``, ``cand40``: other numbers of candidates;
* ``inter``: plus the products of each pair of base scores and the best
  base score;
* ``docconf``: plus the document's two best mean base scores and the
  candidate's mean base score relative to the best;
* ``hgb``: scikit-learn's ``HistGradientBoostingClassifier`` (100
  iterations, 15 leaves, at least 20 pairs a leaf, L2 1.0) instead of the
  logistic regression, on the same features;
* ``blend``: the mean of ``hgb``'s and ``lr``'s probabilities.

Pairing the variants on one cross-fit takes omikuji's unseeded training
out of the comparison; ``--seeds`` repeats everything with other fold
seeds.  Run from the repository root (about 6 minutes for two seeds on 2
cores)::

    .venv/bin/python -m benchmarks.stacker_model [--seeds 0 1] [--splits time3 time cv5]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"

from fahras.decision import tune_rule
from fahras.models.ensemble import DEFAULT_BASES, Stacker
from fahras.models.linear import sigmoid
from benchmarks.harness.stacking import each_run, scored_on_test


class WithInteractions(Stacker):
    """Plus each pair's product of base scores, and the best base score."""

    def features(self, base_scores):
        rows, cols, x = super().features(base_scores)
        s = [b[rows, cols] for b in base_scores]
        extra = [s[i] * s[j] for i in range(len(s)) for j in range(i + 1, len(s))] + [np.max(s, axis=0)]
        return rows, cols, np.column_stack([x, *extra])


class WithDocumentConfidence(Stacker):
    """Plus the document's two best mean base scores and the candidate's mean score relative to the best."""

    def features(self, base_scores):
        rows, cols, x = super().features(base_scores)
        mean = np.mean(base_scores, axis=0)
        top = -np.sort(-mean, axis=1)[:, :2]
        best = np.maximum(top[rows, 0], 1e-6)
        return rows, cols, np.column_stack([x, top[rows, 0], top[rows, 1], mean[rows, cols] / best])


class Boosted(Stacker):
    """Gradient-boosted trees in place of the logistic regression (``blend``: the mean of both)."""

    blend = False

    def fit(self, base_scores, y):
        from sklearn.ensemble import HistGradientBoostingClassifier

        rows, cols, x = self.features(base_scores)
        target = np.asarray(y[rows, cols]).ravel() > 0
        self.trees = HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, max_leaf_nodes=15,
                                                    min_samples_leaf=20, l2_regularization=1.0,
                                                    early_stopping=False, random_state=0).fit(x, target)
        if self.blend:
            super().fit(base_scores, y)
        return self

    def stack(self, base_scores):
        rows, cols, x = self.features(base_scores)
        p = self.trees.predict_proba(x)[:, 1]
        if self.blend:
            p = (p + sigmoid(self.head.logits(x))) / 2
        out = np.zeros(base_scores[0].shape, dtype=np.float32)
        out[rows, cols] = p
        return out


class Blended(Boosted):
    blend = True


VARIANTS = {
    "lr": (Stacker, {}),
    "C0.3": (Stacker, {"C": 0.3}),
    "C3": (Stacker, {"C": 3.0}),
    "cand10": (Stacker, {"candidates": 10}),
    "cand40": (Stacker, {"candidates": 40}),
    "inter": (WithInteractions, {}),
    "docconf": (WithDocumentConfidence, {}),
    "hgb": (Boosted, {}),
    "blend": (Blended, {}),
}


def variant_scores(cls, params: dict, run) -> tuple[np.ndarray, np.ndarray]:
    """(held-out ensemble scores of the training documents, test scores) of one stacker variant."""
    y = run.inputs.y
    stacker = cls.for_subjects(len(DEFAULT_BASES), y, run.inputs.concepts, **params)
    oof = stacker.held_out_scores(run.base_oof, y, run.folds)
    return oof, stacker.fit(run.base_oof, y).predict(run.test_base)


def main() -> None:
    runs = each_run(__doc__.split("\n")[0], SHARED)
    print("| seed | run | " + " | ".join(VARIANTS) + " |")
    print("|---:|---|" + "---:|" * len(VARIANTS))
    totals: dict[tuple[int, str], dict[str, list]] = {}
    for seed, split, name, run in runs:
        cells = []
        for variant, (cls, params) in VARIANTS.items():
            oof, test = variant_scores(cls, params, run)
            rule, _ = tune_rule(oof, run.inputs.y, kind="expected-f1")
            result = scored_on_test(run, rule, test)
            totals.setdefault((seed, split), {}).setdefault(variant, []).append((result["f1"], result["ndcg@5"]))
            cells.append(f"{result['f1']:.4f} / {result['ndcg@5']:.4f}")
        print(f"| {seed} | {name} | " + " | ".join(cells) + " |", flush=True)
    print()
    print("Mean over each split's runs (tuned F1 / nDCG@5), and each variant's mean difference from `lr`:")
    print()
    keys = list(totals)
    print("| variant | " + " | ".join(f"{seed} {split}" for seed, split in keys) + " | mean dF1 | mean dnDCG@5 |")
    print("|---|" + "---:|" * (len(keys) + 2))
    base = {k: np.mean(totals[k]["lr"], axis=0) for k in keys}
    for variant in VARIANTS:
        means = {k: np.mean(totals[k][variant], axis=0) for k in keys}
        diff = np.mean([means[k] - base[k] for k in keys], axis=0)
        print(f"| {variant} | " + " | ".join(f"{means[k][0]:.4f} / {means[k][1]:.4f}" for k in keys)
              + f" | {diff[0]:+.4f} | {diff[1]:+.4f} |")


if __name__ == "__main__":
    main()
