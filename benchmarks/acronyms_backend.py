"""The ensemble with and without the ``acronyms`` base backend, on the same cross-fit.

For every run of the splits of ``benchmarks/vs_annif.py`` (``time3``,
``time``, the five folds of ``cv5``; training on the train and validation
parts), the default ensemble's base backends are cross-fitted on 3 folds of
the training documents, as ``Indexer.fit`` does.  The same base scores are
then stacked twice -- by all default bases, and by all but ``acronyms``
(which counts the acronyms of missions and offices: "UNMIL", "MONUSCO") --
and each is scored on the test documents with its own tuned decision rule
(expected F1).  Pairing the two on one cross-fit takes omikuji's unseeded
training out of the comparison; ``--seeds`` repeats everything with other
fold seeds (another sample of the same procedure).

Run from the repository root (about 3 minutes per seed on 2 cores)::

    .venv/bin/python -m benchmarks.acronyms_backend [--seeds 0 1] [--splits time3 time cv5]
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"

from benchmarks.harness.stacking import compare_stackings, ensemble_scores

VARIANTS = {
    "without": lambda run: ensemble_scores(run, run.inputs.concepts, without=("acronyms",)),
    "with": lambda run: ensemble_scores(run, run.inputs.concepts),
}

if __name__ == "__main__":
    compare_stackings(__doc__.split("\n")[0], SHARED, VARIANTS)
