"""Learning from indexers' decisions, replayed: Fahras ``learn`` and Annif ``nn_ensemble`` side by side.

The Security Council resolutions of 2005-2010 train a model; those of
2011-2013 then arrive one after the other in date order (year, then
resolution number), as a stream of indexers' decisions: the model suggests
descriptors for each document, the indexer's decision (the library's own
descriptors) is learned, and the next document comes.  Quality is measured
on each document *before* it is learned, so it shows how learning the
earlier ones helps the following ones, against the same model never
learning (static).

* Fahras: the default ensemble, trained with ``fahras train``'s defaults.
  It learns document by document (:class:`fahras.learning.Learner`, in
  memory, as the service's ``/learn`` does on disk), and, for the
  comparison with Annif at the same grain, in batches of ``--batch``.
* Annif 1.4.3 (``benchmarks/harness/annif_runner.py``'s installation, in
  ``--work``): ``nn_ensemble`` -- Annif's only backend that learns --
  over ``tfidf`` and ``omikuji`` (Parabel settings) trained on 2005-2009,
  the neural network trained on 2010 (Annif's advice: train it on documents
  its sources did not see), learning with ``annif learn`` in batches of
  ``--batch`` documents (one ``annif index`` and one ``annif learn`` per
  batch: each call loads TensorFlow and the models, so per-document calls
  would take an hour).  The Annif vocabulary holds every thesaurus concept
  plus every local heading of 2005-2013, so ``nn_ensemble`` could learn new
  headings as outputs; its sources cannot propose them.

Metrics are document-averaged (``fahras.evaluate``): nDCG@5, precision@1,
recall@5, F1@5 of the top 5 and, for Fahras, F1 of the decision rule; per
year of the stream and overall; and how many of the stream's gold subjects
that no training document had were ranked in the top 5.

    nice -n 10 python -m benchmarks.learning [--batch 10] [--skip-annif]
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.harness import data as corpus_data

from fahras import Indexer
from fahras.corpus import Document
from fahras.evaluate import evaluate
from fahras.learning import Learner

REPO = Path(__file__).resolve().parent.parent
TRAIN_YEARS = range(2005, 2011)
STREAM_YEARS = range(2011, 2014)
ANNIF_BASES = ("tfidf", "omikuji-parabel")
METRICS = ("ndcg@5", "precision@1", "recall@5", "f1@5", "f1")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def resolution_number(doc: corpus_data.Doc) -> int:
    match = re.search(r"S_RES_(\d+)_", doc.path.name)
    return int(match.group(1)) if match else 0


def as_document(doc: corpus_data.Doc) -> Document:
    return Document(doc.id, doc.text, tuple(sorted(doc.gold)))


# -- Fahras ------------------------------------------------------------------------------
def fahras_rankings(indexer: Indexer, texts: list[str]) -> tuple[list[list[str]], list[set[str]]]:
    rule = indexer.rule_
    ranked, decided = [], []
    for row in indexer.scores(texts):
        order = np.argsort(-row, kind="stable")[:10]
        uris = [indexer.subjects_.uris[j] for j in order]
        kept = rule.select(row[order[: rule.limit]], total=float(row.sum(dtype=np.float64)))
        ranked.append(uris)
        decided.append(set(uris[:kept]))
    return ranked, decided


def fahras_stream(model: Path, stream: list[corpus_data.Doc], batch: int, **options) -> tuple[list, list, float, list]:
    """Suggest, then learn, ``batch`` documents at a time; returns rankings, decisions, learning seconds."""
    learner = Learner.load(model, **options)
    ranked, decided, learning, rules = [], [], 0.0, []
    for start in range(0, len(stream), batch):
        chunk = stream[start:start + batch]
        r, d = fahras_rankings(learner.indexer, [doc.text for doc in chunk])
        ranked += r
        decided += d
        began = time.perf_counter()
        learner.learn([as_document(doc) for doc in chunk])
        learning += time.perf_counter() - began
        rules.append(learner.indexer.rule_.describe())
    return ranked, decided, learning, rules


# -- Annif -------------------------------------------------------------------------------
def annif_stream(work: Path, vocab, docs: list[corpus_data.Doc], train: list[corpus_data.Doc],
                 stream: list[corpus_data.Doc], batch: int) -> dict:
    from benchmarks.harness.annif_runner import ANNIF_VERSION, Annif

    annif = Annif(work)
    broken = annif.install([*ANNIF_BASES, "nn_ensemble"], log)
    if broken:
        raise SystemExit(f"Annif cannot run: {broken}")
    corpus_data.write_annif_vocabulary(vocab, docs, work / "annif" / "vocab.csv")
    annif.load_vocab(work / "annif" / "vocab.csv")
    base_train = [d for d in train if d.year < TRAIN_YEARS[-1]]
    nn_train = [d for d in train if d.year == TRAIN_YEARS[-1]]
    corpora = work / "annif" / "corpora"
    base_dir = corpus_data.write_annif_folder(base_train, corpora / "base-train")
    nn_dir = corpus_data.write_annif_folder(nn_train, corpora / "nn-train")
    stream_dir = corpus_data.write_annif_folder(stream, corpora / "stream")
    started = time.perf_counter()
    for backend in ANNIF_BASES:
        project = annif.add_project(backend, "learning", {})
        log(f"annif train {project} on {len(base_train)} documents")
        annif.train(project, base_dir)
    nn = annif.add_project("nn_ensemble", "learning", {"nn_ensemble": {"allow_learn": "True"}},
                           sources=list(ANNIF_BASES))
    log(f"annif train {nn} on {len(nn_train)} documents")
    annif.train(nn, nn_dir)
    training = time.perf_counter() - started
    log("annif index (static) on the whole stream")
    annif.index(nn, stream_dir, limit=10)
    static = corpus_data_rankings(stream_dir, stream)
    ranked, learning = [], 0.0
    for start in range(0, len(stream), batch):
        chunk = stream[start:start + batch]
        folder = corpus_data.write_annif_folder(chunk, corpora / "stream-batch")
        annif.index(nn, folder, limit=10)
        ranked += corpus_data_rankings(folder, chunk)
        began = time.perf_counter()
        annif._call(["learn", nn, str(folder)], f"annif learn {nn}", f"learn-{nn}")
        learning += time.perf_counter() - began
        log(f"annif: {start + len(chunk)}/{len(stream)} documents suggested and learned")
    return {"version": ANNIF_VERSION, "static": static, "learning": ranked, "learn_seconds": learning,
            "train_seconds": training, "base_train": len(base_train), "nn_train": len(nn_train)}


def corpus_data_rankings(folder: Path, docs: list[corpus_data.Doc]) -> list[list[str]]:
    from benchmarks.harness.annif_runner import read_rankings

    return [[uri for uri, _ in r] for r in read_rankings(folder, [d.id for d in docs])]


# -- report ------------------------------------------------------------------------------
def scores(ranked, gold, decided=None) -> dict:
    result = evaluate(ranked, gold, decided)
    return {k: round(result[k], 4) for k in METRICS if k in result}


def new_subject_hits(ranked, stream, seen: set[str]) -> tuple[int, int]:
    """(gold subjects unseen in training ranked in the top 5, all such gold subjects)."""
    hits = total = 0
    for ranking, doc in zip(ranked, stream):
        for uri in doc.gold - seen:
            total += 1
            hits += uri in ranking[:5]
    return hits, total


def table(rows: dict[str, dict], stream, seen) -> list[str]:
    years = sorted({d.year for d in stream})
    head = ["system", *[f"nDCG@5 {y}" for y in years], "nDCG@5 all", "P@1", "R@5", "F1@5", "F1 (rule)",
            "unseen subjects in top 5"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    gold = [d.gold for d in stream]
    for name, row in rows.items():
        ranked, decided = row["ranked"], row.get("decided")
        per_year = []
        for y in years:
            idx = [i for i, d in enumerate(stream) if d.year == y]
            per_year.append(scores([ranked[i] for i in idx], [gold[i] for i in idx])["ndcg@5"])
        overall = scores(ranked, gold, decided)
        hits, total = new_subject_hits(ranked, stream, seen)
        row["metrics"] = {"overall": overall, "ndcg@5_by_year": dict(zip(years, per_year)),
                          "unseen_in_top5": [hits, total]}
        f1 = f"{overall['f1']:.3f}" if "f1" in overall else "–"
        lines.append("| " + " | ".join([name, *(f"{v:.3f}" for v in per_year), f"{overall['ndcg@5']:.3f}",
                                        f"{overall['precision@1']:.3f}", f"{overall['recall@5']:.3f}",
                                        f"{overall['f1@5']:.3f}", f1, f"{hits}/{total}"]) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data",
                        help="The shared data folder (default: ../shared/data).")
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / ".work" / "learning",
                        help="Working folder (models, Annif installation); default benchmarks/.work/learning.")
    parser.add_argument("--batch", type=int, default=10, help="Documents per learning batch (Annif, and Fahras's "
                                                                 "batched run); Fahras also learns one by one.")
    parser.add_argument("--skip-annif", action="store_true", help="Fahras only.")
    parser.add_argument("--no-ablation", dest="ablation", action="store_false",
                        help="Skip the run that learns with the stacker and decision rule frozen.")
    parser.add_argument("--retrain", action="store_true", help="Retrain the Fahras model even if it exists.")
    parser.add_argument("--static-only", action="store_true",
                        help="Only the static model's rows (no learning runs): to compare trained models quickly.")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=JSON",
                        help="A parameter of the Fahras ensemble, as 'fahras train --param' takes it (repeatable; "
                             "e.g. novel_simulate=0.2); the model is kept in its own folder under --work.")
    args = parser.parse_args()
    params = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--param {item!r}: expected KEY=VALUE")
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    vocab = corpus_data.load_vocabulary(args.data / "unbis" / "all_topics.json")
    docs = corpus_data.read_documents(args.data / "unsc-resolutions" / "train", vocab)
    train = [d for d in docs if d.year in TRAIN_YEARS]
    stream = sorted((d for d in docs if d.year in STREAM_YEARS), key=lambda d: (d.year, resolution_number(d)))
    seen = set().union(*(d.gold for d in train))
    log(f"{len(train)} training documents ({TRAIN_YEARS[0]}-{TRAIN_YEARS[-1]}), {len(stream)} in the stream; "
        f"{sum(len(d.gold - seen) for d in stream)} stream subjects unseen in training")

    model = work / ("fahras-2005-2010" + "".join(f"-{k}={v}" for k, v in sorted(params.items())))
    train_seconds = None
    if args.retrain or not (model / "manifest.json").is_file():
        log("fahras: training the ensemble")
        began = time.perf_counter()
        Indexer(backend_params=params or None).fit([as_document(d) for d in train], vocab).save(model)
        train_seconds = time.perf_counter() - began
    static = Indexer.load(model)
    rows: dict[str, dict] = {}
    ranked, decided = fahras_rankings(static, [d.text for d in stream])
    rows["Fahras, static"] = {"ranked": ranked, "decided": decided}
    if args.static_only:
        args.ablation, args.batch, args.skip_annif = False, 1, True
    else:
        log("fahras: suggest + learn, one document at a time")
        began = time.perf_counter()
        ranked, decided, learning, rules = fahras_stream(model, stream, 1)
        rows["Fahras, learns each document"] = {"ranked": ranked, "decided": decided, "learn_seconds": learning,
                                                "seconds": time.perf_counter() - began, "final_rule": rules[-1]}
    if args.ablation:
        log("fahras: ablation: knn memory and new subjects only (stacker and rule frozen)")
        ranked, decided, learning, rules = fahras_stream(model, stream, 1, prior_weight=1e9,
                                                         min_rule_documents=10**9)
        rows["Fahras, learns each document, stacker and rule frozen"] = {
            "ranked": ranked, "decided": decided, "learn_seconds": learning}
    if args.batch > 1:
        log(f"fahras: suggest + learn, {args.batch} documents at a time")
        ranked, decided, learning, rules = fahras_stream(model, stream, args.batch)
        rows[f"Fahras, learns batches of {args.batch}"] = {"ranked": ranked, "decided": decided,
                                                           "learn_seconds": learning}
    annif = None
    if not args.skip_annif:
        annif = annif_stream(work, vocab, docs, train, stream, args.batch)
        rows[f"Annif {annif['version']} nn_ensemble, static"] = {"ranked": annif["static"]}
        rows[f"Annif {annif['version']} nn_ensemble, learns batches of {args.batch}"] = {
            "ranked": annif["learning"], "learn_seconds": annif["learn_seconds"]}
    lines = table(rows, stream, seen)
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    summary = {"commit": commit, "params": params, "python": platform.python_version(), "train_documents": len(train),
               "stream_documents": len(stream), "fahras_train_seconds": train_seconds,
               "rows": {name: {k: v for k, v in row.items() if k not in ("ranked", "decided")}
                        for name, row in rows.items()}}
    if annif:
        summary["annif"] = {k: annif[k] for k in ("version", "train_seconds", "base_train", "nn_train",
                                                  "learn_seconds")}
    (work / "results.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    print("\n".join(lines))
    print(json.dumps(summary["rows"], indent=1))


if __name__ == "__main__":
    main()
