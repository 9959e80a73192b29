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

    .venv/bin/python -m benchmarks.covered_headings [--seeds 0 1] [--splits time3 time cv5]
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"

from benchmarks.harness.stacking import compare_stackings, ensemble_scores

VARIANTS = {
    "without": lambda run: ensemble_scores(run, None),
    "with": lambda run: ensemble_scores(run, run.inputs.concepts),
}

if __name__ == "__main__":
    compare_stackings(__doc__.split("\n")[0], SHARED, VARIANTS)
