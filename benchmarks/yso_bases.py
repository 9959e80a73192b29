"""Fahras's single backends on yso-finna-en, each fitted on all N training titles and scored on the test titles:
``python -m benchmarks.yso_bases N N_TEST SPEC [SPEC ...]``, each SPEC a JSON ``{"name": ..., "params": {...}}``.

The training titles are the first N of ``train.tsv.gz`` (``benchmarks.scale`` writes them as
``<work>/scale/data/train-N.tsv.gz``; ``--train`` gives another file).  The subject space is what the first
SPEC's backend makes it (``labels`` widens it to the vocabulary when the training titles use enough of it).
Prints one JSON line per SPEC: nDCG@5 over the first N_TEST test titles (gold subjects outside the subject
space count as misses), fit seconds and the process's peak RSS.  For diagnosing the ensemble's bases
(docs/benchmarks.md, "Default ensemble on yso-finna-en").
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "yso-finna-en"


def main(argv: list[str] | None = None) -> int:
    from fahras.corpus import read_corpus
    from fahras.evaluate import ndcg_at
    from fahras.indexer import Indexer
    from fahras.models import create_backend
    from fahras.subjects import resolve_all
    from fahras.vocab import load_vocabulary

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="training titles (the first N)")
    parser.add_argument("n_test", type=int, help="test titles (the first N_TEST of test.tsv.gz)")
    parser.add_argument("specs", nargs="+", help='backends as JSON, e.g. \'{"name": "labels"}\'')
    parser.add_argument("--train", type=Path, default=None,
                        help="training file (default: benchmarks/.work/scale/data/train-N.tsv.gz)")
    parser.add_argument("--data", type=Path, default=DATA, help="the yso-finna-en folder")
    args = parser.parse_args(argv)
    specs = [json.loads(s) for s in args.specs]
    train_file = args.train or Path(__file__).parent / ".work" / "scale" / "data" / f"train-{args.n}.tsv.gz"
    started = time.time()
    vocab = load_vocabulary(args.data / "yso-en.tsv")
    train = list(read_corpus(train_file))[:args.n]
    test = list(read_corpus(args.data / "test.tsv.gz"))[:args.n_test]
    indexer = Indexer(analyzer="en", backend=specs[0]["name"], backend_params=specs[0].get("params"))
    data = indexer.training_set(train, vocab)
    uris = indexer.subjects_.uris
    analysed = [indexer.analyse(d.text) for d in test]
    gold = [set(resolve_all(d.subjects, vocab)) for d in test]
    print(f"setup {time.time() - started:.0f}s, {len(data.analysed)} documents, {len(uris)} subjects", flush=True)
    for spec in specs:
        started = time.time()
        backend = create_backend(spec["name"], spec.get("params"))
        backend.fit(data.analysed, data.targets, context=data.context)
        fit_s = time.time() - started
        top = np.argsort(-backend.predict_scores(analysed), axis=1)[:, :5]
        ndcg = np.mean([ndcg_at([uris[j] for j in row], g, 5) for row, g in zip(top, gold)])
        print(json.dumps({"n": args.n, "test": args.n_test, "spec": spec, "ndcg5": round(float(ndcg), 4),
                          "fit_s": round(fit_s), "total_s": round(time.time() - started),
                          "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
