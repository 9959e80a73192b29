"""Composed headings never seen in training, in the top 5 (issue #16, "words are not names").

For each fold of a ``benchmarks.vs_annif --split cv5`` run (its models and
split folders under ``--work``), counts the top-5 slots of the test documents
that hold a subject none of the fold's training documents has (a heading the
headings backend composed, or a concept of the zero-shot space), and how many
of those are right, by rank.  Usage::

    python -m benchmarks.text_names WORK [WORK ...]

Each WORK is a ``--work`` folder of a finished cv5 run; one line per folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from fahras import Indexer, read_corpus
from fahras.subjects import resolve_all


def measure(work: Path) -> dict:
    slots = right = docs = 0
    by_rank = np.zeros((5, 2), dtype=np.int64)  # per rank: unseen slots, right ones
    for model_dir in sorted((work / "models").glob("fahras-default-cv5-f*")):
        fold = model_dir.name.rsplit("-", 1)[1]
        split = work / "splits" / f"cv5-{fold}"
        indexer = Indexer.load(model_dir)
        seen = set()
        for part in ("train", "validate"):
            for doc in read_corpus(split / part):
                seen |= resolve_all(doc.subjects, indexer.vocab_)
        test = list(read_corpus(split / "test"))
        scores = indexer.scores([d.text for d in test])
        uris = indexer.subjects_.uris
        for doc, row in zip(test, scores):
            gold = resolve_all(doc.subjects, indexer.vocab_)
            top = np.argsort(-row, kind="stable")[:5]
            docs += 1
            for rank, col in enumerate(top):
                if uris[col] not in seen:
                    slots += 1
                    by_rank[rank, 0] += 1
                    if uris[col] in gold:
                        right += 1
                        by_rank[rank, 1] += 1
    return {"documents": docs, "unseen_top5_slots": slots, "right": right,
            "by_rank": [f"{n}/{r}" for n, r in by_rank.tolist()]}


def main(argv: list[str]) -> None:
    for work in argv or ["benchmarks/.work"]:
        result = measure(Path(work))
        print(f"{work}: {result['documents']} test documents; top-5 slots holding a subject unseen in "
              f"training: {result['unseen_top5_slots']}, right: {result['right']}; by rank 1-5 "
              f"(slots/right): {', '.join(result['by_rank'])}")


if __name__ == "__main__":
    main(sys.argv[1:])
