"""Which decision rule the ensemble should tune: one score threshold, or the best expected F1.

For every run of the splits of ``benchmarks/vs_annif.py`` (``time3``,
``time``, the five folds of ``cv5``; training on the train and validation
parts, as Fahras does there), the default ensemble's base backends are
cross-fitted on 3 folds of the training documents, exactly as
``Indexer.fit`` does, and the stacker is fitted.  Both kinds of rule
(:mod:`fahras.decision`) are then tuned on the same held-out (cross-fitted)
ensemble scores and scored twice: on those held-out scores (what training
can see) and on the run's test documents.  ``--seeds`` repeats everything
with other fold seeds; omikuji's training is not reproducible anyway, so
each seed is another sample of the same procedure.

Run from the repository root (about 4 minutes per seed on 2 cores)::

    .venv/bin/python -m benchmarks.decision_rules [--seeds 0 1] [--splits time3 time cv5]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"

from fahras.decision import RULE_KINDS, tune_rule
from benchmarks.harness.stacking import each_run, ensemble_scores, scored_on_test


def held_out_f1(rule, scores: np.ndarray, y: sp.csr_matrix) -> float:
    """Mean F1 of ``rule`` on held-out scores (gold: the rows of ``y``)."""
    f1 = []
    for row, gold in zip(scores, (set(r.indices) for r in sp.csr_matrix(y))):
        if not gold:
            continue
        order = np.argsort(-row, kind="stable")[: rule.limit]
        kept = set(order[: rule.select(row[order], total=float(row.sum(dtype=np.float64)))].tolist())
        f1.append(2 * len(kept & gold) / (len(kept) + len(gold)))
    return float(np.mean(f1))


def run_split(run) -> dict[str, tuple[float, float]]:
    """Rule kind -> (held-out F1, test F1) for one cross-fitted run."""
    oof, scores = ensemble_scores(run, run.inputs.concepts)
    out = {}
    for kind in RULE_KINDS:
        rule, _ = tune_rule(oof, run.inputs.y, kind=kind)
        out[kind] = (held_out_f1(rule, oof, run.inputs.y), scored_on_test(run, rule, scores)["f1"])
    return out


def main() -> None:
    runs = each_run(__doc__.split("\n")[0], SHARED)
    print("| seed | run | held-out F1, threshold | held-out F1, expected-F1 | test F1, threshold | "
          "test F1, expected-F1 |")
    print("|---:|---|---:|---:|---:|---:|")
    totals: dict[tuple[int, str], list] = {}
    for seed, split, name, run in runs:
        r = run_split(run)
        totals.setdefault((seed, split), []).append(r)
        print(f"| {seed} | {name} | {r['threshold'][0]:.4f} | {r['expected-f1'][0]:.4f} | "
              f"{r['threshold'][1]:.4f} | {r['expected-f1'][1]:.4f} |", flush=True)
    print()
    print("| seed | split | test F1, threshold | test F1, expected-F1 |")
    print("|---:|---|---:|---:|")
    for (seed, split), rows in totals.items():
        print(f"| {seed} | {split} | {np.mean([r['threshold'][1] for r in rows]):.4f} | "
              f"{np.mean([r['expected-f1'][1] for r in rows]):.4f} |")


if __name__ == "__main__":
    main()
