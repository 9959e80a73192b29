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

    .venv/bin/python benchmarks/decision_rules.py [--seeds 0 1] [--splits time3 time cv5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from fahras import load_vocabulary  # noqa: E402
from fahras.corpus.unexport import read_export_file  # noqa: E402
from fahras.decision import RULE_KINDS, tune_rule  # noqa: E402
from fahras.evaluate import evaluate  # noqa: E402
from fahras.models.crossfit import cross_fit  # noqa: E402
from fahras.models.ensemble import DEFAULT_BASES, EnsembleBackend  # noqa: E402
from fahras.subjects import resolve_all  # noqa: E402
from fahras.text import get_analyzer  # noqa: E402
from harness.data import make_runs, read_documents  # noqa: E402
from harness.stacking import stacking_inputs  # noqa: E402


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


def run_split(name: str, parts: dict, vocab, seed: int) -> dict[str, tuple[float, float]]:
    """Rule kind -> (held-out F1, test F1) for one run."""
    from sklearn.model_selection import KFold

    train = [read_export_file(d.path) for d in parts["train"] + parts.get("validate", [])]
    test = [read_export_file(d.path) for d in parts["test"]]
    inputs = stacking_inputs(train, vocab)
    model, subjects, y = inputs.model, inputs.subjects, inputs.y
    folds = list(KFold(3, shuffle=True, random_state=seed).split(inputs.analysed))
    bases, base_oof = cross_fit(list(DEFAULT_BASES), inputs.analysed, y, get_analyzer("auto"), folds,
                                concepts=inputs.concepts, n_jobs=0)
    stacker = EnsembleBackend(DEFAULT_BASES)
    stacker.learn_subjects(y, inputs.concepts)
    oof = stacker.held_out_scores(base_oof, y, folds)
    stacker.coef_, stacker.intercept_ = stacker._fit_stacker(base_oof, y)
    scores = stacker.combine([b.predict_scores([model.analyse(d.text) for d in test]) for b in bases])
    test_gold = [set(resolve_all(d.subjects, model.vocab_)) for d in test]
    order = np.argsort(-scores, axis=1, kind="stable")
    ranked = [[subjects.uris[j] for j in row[:100]] for row in order]
    out = {}
    for kind in RULE_KINDS:
        rule, _ = tune_rule(oof, y, kind=kind)
        decided = [set(r[: rule.select(s[o[: rule.limit]], total=float(s.sum(dtype=np.float64)))])
                   for r, s, o in zip(ranked, scores, order)]
        result = evaluate(ranked, test_gold, decided, n_candidates=len(subjects))
        out[kind] = (held_out_f1(rule, oof, y), result["f1"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--splits", nargs="+", default=["time3", "time", "cv5"])
    args = parser.parse_args()
    vocab = load_vocabulary(SHARED / "unbis" / "all_topics.json")
    docs = read_documents(SHARED / "unsc-resolutions" / "train", vocab)
    print("| seed | run | held-out F1, threshold | held-out F1, expected-F1 | test F1, threshold | "
          "test F1, expected-F1 |")
    print("|---:|---|---:|---:|---:|---:|")
    totals: dict[tuple[int, str], list] = {}
    for seed in args.seeds:
        for split in args.splits:
            for name, parts in make_runs(docs, split):
                r = run_split(name, parts, vocab, seed)
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
