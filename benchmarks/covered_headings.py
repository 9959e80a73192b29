"""Generated headings whose filler a likely heading already names: discounted or not.

For every run of the splits of ``benchmarks/vs_annif.py`` (``time3``,
``time``, the five folds of ``cv5``; training on the train and validation
parts), the default ensemble's base backends are cross-fitted on 3 folds of
the training documents, as ``Indexer.fit`` does.  The same base scores are
then stacked twice -- with the ensemble's discount of generated headings
(a heading no training document has, such as ``ETHIOPIA SITUATION``, times
one minus the probability of the seen subjects naming its filler, such as
``ERITREA--ETHIOPIA``) and without it -- and each is scored on the test
documents with its own tuned decision rule (expected F1).  Pairing the two
on one cross-fit takes omikuji's unseeded training out of the comparison;
``--seeds`` repeats everything with other fold seeds (another sample of the
same procedure).

Run from the repository root (about 4 minutes per seed on 2 cores)::

    .venv/bin/python benchmarks/covered_headings.py [--seeds 0 1] [--splits time3 time cv5]
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
from harness.stacking import each_run, ensemble_scores, scored_on_test  # noqa: E402

VARIANTS = ("without", "with")


def run_split(run) -> dict[str, tuple[float, float]]:
    """Variant -> (test tuned F1, test nDCG@5) for one cross-fitted run."""
    out = {}
    for variant in VARIANTS:
        oof, scores = ensemble_scores(run, run.inputs.concepts if variant == "with" else None)
        rule, _ = tune_rule(oof, run.inputs.y, kind="expected-f1")
        result = scored_on_test(run, rule, scores)
        out[variant] = (result["f1"], result["ndcg@5"])
    return out


def main() -> None:
    runs = each_run(__doc__.split("\n")[0], SHARED)
    header = "| seed | {} | tuned F1 without | tuned F1 with | nDCG@5 without | nDCG@5 with |"
    print(header.format("run"))
    print("|---:|---|---:|---:|---:|---:|")
    totals: dict[tuple[int, str], list] = {}
    for seed, split, name, run in runs:
        r = run_split(run)
        totals.setdefault((seed, split), []).append(r)
        print(f"| {seed} | {name} | {r['without'][0]:.4f} | {r['with'][0]:.4f} | "
              f"{r['without'][1]:.4f} | {r['with'][1]:.4f} |", flush=True)
    print()
    print(header.format("split"))
    print("|---:|---|---:|---:|---:|---:|")
    for (seed, split), rows in totals.items():
        mean = {v: np.mean([r[v] for r in rows], axis=0) for v in VARIANTS}
        print(f"| {seed} | {split} | {mean['without'][0]:.4f} | {mean['with'][0]:.4f} | "
              f"{mean['without'][1]:.4f} | {mean['with'][1]:.4f} |")


if __name__ == "__main__":
    main()
