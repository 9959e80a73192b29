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

    .venv/bin/python benchmarks/stacker_model.py [--seeds 0 1] [--splits time3 time cv5]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from fahras.decision import tune_rule  # noqa: E402
from fahras.models.ensemble import DEFAULT_BASES, EnsembleBackend  # noqa: E402
from harness.stacking import each_run, scored_on_test  # noqa: E402


class WithInteractions(EnsembleBackend):
    """Plus each pair's product of base scores, and the best base score."""

    def _features(self, base_scores):
        rows, cols, x = super()._features(base_scores)
        s = [b[rows, cols] for b in base_scores]
        extra = [s[i] * s[j] for i in range(len(s)) for j in range(i + 1, len(s))] + [np.max(s, axis=0)]
        return rows, cols, np.column_stack([x, *extra])


class WithDocumentConfidence(EnsembleBackend):
    """Plus the document's two best mean base scores and the candidate's mean score relative to the best."""

    def _features(self, base_scores):
        rows, cols, x = super()._features(base_scores)
        mean = np.mean(base_scores, axis=0)
        top = -np.sort(-mean, axis=1)[:, :2]
        best = np.maximum(top[rows, 0], 1e-6)
        return rows, cols, np.column_stack([x, top[rows, 0], top[rows, 1], mean[rows, cols] / best])


class Boosted(EnsembleBackend):
    """Gradient-boosted trees in place of the logistic regression (``blend``: the mean of both)."""

    blend = False

    def _fit_stacker(self, base_scores, y):
        from sklearn.ensemble import HistGradientBoostingClassifier

        rows, cols, x = self._features(base_scores)
        target = np.asarray(y[rows, cols]).ravel() > 0
        trees = HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, max_leaf_nodes=15,
                                               min_samples_leaf=20, l2_regularization=1.0,
                                               early_stopping=False, random_state=0).fit(x, target)
        return trees, (super()._fit_stacker(base_scores, y) if self.blend else None)

    def _stack(self, stacker, base_scores):
        trees, linear = stacker
        rows, cols, x = self._features(base_scores)
        p = trees.predict_proba(x)[:, 1]
        if linear is not None:
            coef, intercept = linear
            p = (p + 1.0 / (1.0 + np.exp(-np.clip(x @ coef + intercept, -50, 50)))) / 2
        out = np.zeros(base_scores[0].shape, dtype=np.float32)
        out[rows, cols] = p
        return out


class Blended(Boosted):
    blend = True


VARIANTS = {
    "lr": (EnsembleBackend, {}),
    "C0.3": (EnsembleBackend, {"C": 0.3}),
    "C3": (EnsembleBackend, {"C": 3.0}),
    "cand10": (EnsembleBackend, {"candidates": 10}),
    "cand40": (EnsembleBackend, {"candidates": 40}),
    "inter": (WithInteractions, {}),
    "docconf": (WithDocumentConfidence, {}),
    "hgb": (Boosted, {}),
    "blend": (Blended, {}),
}


def variant_scores(cls, params: dict, run) -> tuple[np.ndarray, np.ndarray]:
    """(held-out ensemble scores of the training documents, test scores) of one stacker variant."""
    y = run.inputs.y
    stacker = cls(DEFAULT_BASES, **params)
    stacker.learn_subjects(y, run.inputs.concepts)
    oof = stacker.held_out_scores(run.base_oof, y, run.folds)
    fitted = stacker._fit_stacker(run.base_oof, y)
    test = stacker._stack(fitted, run.test_base)
    stacker._unseen_scores(test, run.test_base, stacker.prior_ > 0)
    return oof, test


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
