"""CPU time of each scoring stage per document, for one model: ``python -m benchmarks.score_stages MODEL``.

Loads the model (CPU seconds, checksums not counted), warms the compiled
kernels on a few titles, then scores the first ``--docs`` yso-finna-en test
titles in batches of 256: each base backend's ``predict_sparse``, the
stacker and the decision rule, timed separately, and then
``Indexer.sparse_scores`` on the texts (analysis included).  Prints one JSON
object.  To compare with an older tree, run the same command with that
tree's ``src`` first on ``PYTHONPATH`` (e.g. from ``git archive``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "yso-finna-en" / "test.tsv.gz"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.score_stages", description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="a trained Fahras model folder (an ensemble)")
    parser.add_argument("--docs", type=int, default=3000, help="test titles scored")
    parser.add_argument("--data", type=Path, default=DATA, help="an Annif TSV of test documents (gzip)")
    parser.add_argument("--lang", default="en", help="the documents' language")
    args = parser.parse_args(argv)

    import fahras.store.model as stored
    from fahras.indexer import Indexer, _decided_sparse

    stored.verify_checksums = lambda path: True  # the stages, not the hashing (store has its own tests)
    start = time.process_time()
    indexer = Indexer.load(args.model)
    load = time.process_time() - start
    texts = []
    with gzip.open(args.data, "rt", encoding="utf-8") as handle:
        for line in handle:
            texts.append(line.split("\t")[0])
            if len(texts) >= args.docs:
                break
    indexer.sparse_scores(texts[:300], lang=args.lang)  # compiled kernels loaded
    docs = [indexer.analyse(text, args.lang) for text in texts]
    backend = indexer.backend_
    spent: dict[str, float] = {}

    def timed(name, call):
        began = time.process_time()
        out = call()
        spent[name] = spent.get(name, 0.0) + time.process_time() - began
        return out

    for first in range(0, len(docs), 256):
        chunk = docs[first:first + 256]
        parts = [timed(base.name, lambda b=base: b.predict_sparse(chunk)) for base in backend.bases_]
        scores = timed("stacker", lambda: backend.stacker_.predict_sparse(parts))
        timed("decide", lambda: _decided_sparse(scores, indexer.rule_))
    began = time.process_time()
    indexer.sparse_scores(texts, lang=args.lang)
    whole = time.process_time() - began
    n = max(len(docs), 1)
    print(json.dumps({"model": str(args.model), "docs": len(docs), "load_cpu_s": round(load, 2),
                      "ms_per_doc": {k: round(1000 * v / n, 3) for k, v in spent.items()},
                      "sparse_scores_ms_per_doc": round(1000 * whole / n, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
