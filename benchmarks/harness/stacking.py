"""What the ensemble's stacker is trained from, built as ``Indexer.fit`` builds it.

The benchmarks that study the stacker or the decision rule cross-fit the
base backends themselves; this gives them the same subject space, concepts,
subject matrix and analysed documents as a real training run.
"""

from __future__ import annotations

from dataclasses import dataclass

import scipy.sparse as sp

from fahras import Indexer
from fahras.models.ensemble import Stacker
from fahras.subjects import SubjectSpace, resolve_all


@dataclass
class StackingInputs:
    model: Indexer            # an ensemble Indexer prepared on the documents: its vocabulary and analysis
    subjects: SubjectSpace    # the ensemble's subject space (training subjects and composed headings)
    concepts: list            # the concept of each subject, in column order
    y: sp.csr_matrix          # documents x subjects
    analysed: list            # the documents analysed, offsets found (as in training)


def stacking_inputs(train, vocab) -> StackingInputs:
    """:class:`StackingInputs` of the training documents ``train`` (``fahras.corpus.Document``)."""
    model = Indexer(backend="ensemble")
    data = model.training_set(train, vocab)  # the subject space, concepts and analysis Indexer.fit uses
    return StackingInputs(model, model.subjects_, list(data.context.concepts), data.targets, data.analysed)


@dataclass
class CrossFittedRun:
    """One run of a split with the default ensemble's base backends cross-fitted, as ``Indexer.fit`` does."""

    inputs: StackingInputs
    folds: list                # the 3 (train, held-out) folds of the training documents
    base_oof: list             # each base backend's held-out scores of the training documents
    test_base: list            # each base backend (fitted on all training documents) on the test documents
    test_gold: list            # the test documents' gold URIs


def cross_fitted_run(parts: dict, vocab, seed: int) -> CrossFittedRun:
    """Cross-fit the default base backends on a run's train (+ validate) part; score its test part."""
    from sklearn.model_selection import KFold

    from fahras.corpus.unexport import read_export_file
    from fahras.models.crossfit import cross_fit
    from fahras.models.ensemble import DEFAULT_BASES
    from fahras.text import get_analyzer

    train = [read_export_file(d.path) for d in parts["train"] + parts.get("validate", [])]
    test = [read_export_file(d.path) for d in parts["test"]]
    inputs = stacking_inputs(train, vocab)
    folds = list(KFold(3, shuffle=True, random_state=seed).split(inputs.analysed))
    bases, base_oof = cross_fit(list(DEFAULT_BASES), inputs.analysed, inputs.y, get_analyzer("auto"), folds,
                                concepts=inputs.concepts, n_jobs=0)
    analysed = [inputs.model.analyse(d.text) for d in test]
    return CrossFittedRun(inputs, folds, base_oof, [b.predict_scores(analysed) for b in bases],
                          [set(resolve_all(d.subjects, inputs.model.vocab_)) for d in test])


def ensemble_scores(run: CrossFittedRun, concepts=None, without=()) -> tuple:
    """(held-out ensemble scores of the training documents, ensemble scores of the test documents).

    ``concepts`` (the run's subject concepts) lets the ensemble discount
    generated headings whose filler a seen subject names; None leaves them be.
    ``without`` names base backends to leave out of the stack.
    """
    from fahras.models.ensemble import DEFAULT_BASES

    kept = [n for n, spec in enumerate(DEFAULT_BASES) if spec["name"] not in without]
    base_oof, test_base = [run.base_oof[n] for n in kept], [run.test_base[n] for n in kept]
    y = run.inputs.y
    stacker = Stacker.for_subjects(len(kept), y, concepts)
    oof = stacker.held_out_scores(base_oof, y, run.folds)
    return oof, stacker.fit(base_oof, y).predict(test_base)


def scored_on_test(run: CrossFittedRun, rule, scores) -> dict:
    """``fahras.evaluate.evaluate`` of the test documents' ensemble ``scores`` under decision ``rule``."""
    import numpy as np

    from fahras.evaluate import evaluate

    uris = run.inputs.subjects.uris
    order = np.argsort(-scores, axis=1, kind="stable")
    ranked = [[uris[j] for j in row[:100]] for row in order]
    decided = [{uris[j] for j in rule.apply(s)} for s in scores]
    return evaluate(ranked, run.test_gold, decided, n_candidates=len(uris))


def each_run(description: str, shared, argv=None):
    """Parse ``--seeds`` and ``--splits`` now; return an iterator of ``(seed, split, run name, CrossFittedRun)``.

    ``shared`` is the shared data folder (holding ``unbis/`` and ``unsc-resolutions/``).
    Each run is cross-fitted when the iterator reaches it.
    """
    import argparse

    from fahras import load_vocabulary
    from benchmarks.harness.data import make_runs, read_documents

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="fold seeds (default: 0 1)")
    parser.add_argument("--splits", nargs="+", default=["time3", "time", "cv5"],
                        help="splits of benchmarks/vs_annif.py (default: time3 time cv5)")
    args = parser.parse_args(argv)
    vocab = load_vocabulary(shared / "unbis" / "all_topics.json")
    docs = read_documents(shared / "unsc-resolutions" / "train", vocab)
    return ((seed, split, name, cross_fitted_run(parts, vocab, seed))
            for seed in args.seeds for split in args.splits for name, parts in make_runs(docs, split))


def compare_stackings(description: str, shared, variants: dict) -> None:
    """Print, per run and per split, test tuned F1 and nDCG@5 of each way of stacking one cross-fit.

    ``variants`` maps a name to a function of a :class:`CrossFittedRun`
    returning ``(held-out scores, test scores)`` like :func:`ensemble_scores`;
    each variant gets its own decision rule (expected F1), tuned on its
    held-out scores.  Pairing the variants on one cross-fit takes omikuji's
    unseeded training out of the comparison.
    """
    import numpy as np

    from fahras.decision import tune_rule

    names = list(variants)
    header = ("| seed | {} | " + " | ".join(f"tuned F1 {n}" for n in names) + " | "
              + " | ".join(f"nDCG@5 {n}" for n in names) + " |")
    rule_line = "|---:|---|" + "---:|" * (2 * len(names))

    def cells(result: dict) -> str:
        return " | ".join([f"{result[n][0]:.4f}" for n in names] + [f"{result[n][1]:.4f}" for n in names])

    print(header.format("run"))
    print(rule_line)
    totals: dict[tuple[int, str], list] = {}
    for seed, split, name, run in each_run(description, shared):
        result = {}
        for variant, stack in variants.items():
            oof, scores = stack(run)
            rule, _ = tune_rule(oof, run.inputs.y, kind="expected-f1")
            scored = scored_on_test(run, rule, scores)
            result[variant] = (scored["f1"], scored["ndcg@5"])
        totals.setdefault((seed, split), []).append(result)
        print(f"| {seed} | {name} | {cells(result)} |", flush=True)
    print()
    print(header.format("split"))
    print(rule_line)
    for (seed, split), rows in totals.items():
        print(f"| {seed} | {split} | {cells({n: np.mean([r[n] for r in rows], axis=0) for n in names})} |")
