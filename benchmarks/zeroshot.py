"""Zero-shot indexing from the thesaurus alone: ranks, recall and timings.

What it does
------------
1. Fits ``Indexer(backend="zeroshot").fit([], vocab)`` on the UNBIS thesaurus
   (no training document: every concept is a subject) and times it; saves the
   model to a temporary folder and times loading it back.
2. The Arabic example (``examples/000_5a894c35c2768328.txt``, gold ARMED
   INCIDENTS, KYRGYZSTAN, CONSULTATIONS): prints the rank of each gold
   descriptor, the top 10 with scores and the evidence of the top 3, and the
   time of one suggestion after loading (first call, and warm).
3. English Security Council resolutions: recall@10 (and @5, @20, median
   rank) of their gold descriptors that *are* thesaurus preferred labels
   (about 35% of their headings are; the others, e.g. ``SUDAN--POLITICAL
   CONDITIONS``, cannot be suggested by a vocabulary-only model and are left
   out), over ``--resolutions`` documents spread evenly over the folder; and
   the mean rank per gold descriptor.
4. Optionally (``--learned N``), fits the same backend on N other
   resolutions with their thesaurus-label gold (learned feature weights,
   ``subject_space="vocabulary"``) and reports the same recall on the same
   evaluation documents.
5. Optionally (``--annif-mllm``), the same Arabic example through Annif
   1.4.3's ``mllm`` backend with ``analyzer=snowball(arabic)``, installed in
   ``benchmarks/.work/annif-venv`` (see ``harness/annif_runner.py``).  mllm
   learns a classifier and needs training documents, and there is no Arabic
   corpus, so it is trained two ways:

   * ``thesaurus`` (the fair, vocabulary-only setup): a short-text corpus of
     one "document" per concept, its Arabic label, indexed with that concept
     -- mllm then sees only the thesaurus, as the zero-shot model does;
   * ``document`` (an in-sample upper bound, unfair in mllm's favour): the
     example itself with its three gold descriptors.

   The vocabulary is loaded with its Arabic preferred labels (``annif
   load-vocab --language ar``, a TSV written from the UNBIS JSON with
   :mod:`fahras.vocab`); everything lives in ``benchmarks/.work/zeroshot-annif``
   (git-ignored).  mllm only suggests concepts whose labels it finds in the
   text; a gold descriptor it does not suggest has no rank.

Run from the repository root with the project's virtual environment::

    .venv/bin/python -m benchmarks.zeroshot [--resolutions 50] [--learned 200] [--annif-mllm] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


from fahras import Document, Indexer, load_vocabulary
from fahras.corpus.unexport import iter_export_dir, read_export_file


def ranks_of(model: Indexer, text: str, uris: list[str]) -> tuple[list[int], np.ndarray]:
    """Ranks of ``uris`` among the model's thesaurus concepts (local subjects of a trained model left out)."""
    row = model.scores([text])[0].astype(np.float64)
    local = np.array([model.vocab_.get(u).local for u in model.subjects_.uris])
    row[local] = -np.inf
    order = np.argsort(-row, kind="stable")
    rank = np.empty(len(row), dtype=np.int64)
    rank[order] = np.arange(1, len(row) + 1)
    cols = {u: i for i, u in enumerate(model.subjects_.uris)}
    return [int(rank[cols[u]]) for u in uris], order


def evaluate_resolutions(model: Indexer, docs, vocab) -> dict:
    ranks, per_label = [], {}
    started = time.perf_counter()
    for doc in docs:
        gold = [(s, vocab.find(s).uri) for s in doc.subjects if vocab.find(s) is not None]
        r, _ = ranks_of(model, doc.text, [u for _, u in gold])
        ranks.extend(r)
        for (label, _), k in zip(gold, r):
            per_label.setdefault(label, []).append(k)
    seconds = time.perf_counter() - started
    arr = np.array(ranks)
    return {
        "documents": len(docs), "gold_descriptors": int(len(arr)),
        "recall@5": round(float((arr <= 5).mean()), 3), "recall@10": round(float((arr <= 10).mean()), 3),
        "recall@20": round(float((arr <= 20).mean()), 3), "median_rank": float(np.median(arr)),
        "seconds_per_document": round(seconds / max(len(docs), 1), 3),
        "mean_rank_per_descriptor": {k: round(statistics.mean(v), 1) for k, v in
                                     sorted(per_label.items(), key=lambda kv: -len(kv[1]))},
        "count_per_descriptor": {k: len(v) for k, v in per_label.items()},
    }


ANNIF_WORK = ROOT / "benchmarks" / ".work"
ANNIF_VOCAB = "unbis-ar"


def _tied_rank(score: dict[str, float], uri: str) -> str | None:
    """1 + the number of concepts scored higher ("a-b" when tied: mllm's scores tie often); None if absent."""
    if uri not in score:
        return None
    above = sum(s > score[uri] for s in score.values())
    tied = sum(s == score[uri] for s in score.values())
    return str(above + 1) if tied == 1 else f"{above + 1}-{above + tied}"


def annif_mllm(vocab, doc, gold: list[tuple[str, str]], work: Path = ANNIF_WORK) -> dict:
    """Ranks of the gold descriptors of ``doc`` by Annif mllm (Arabic), trained two ways (see above)."""
    annif = work / "annif-venv" / "bin" / "annif"
    if not annif.exists():
        raise SystemExit(f"{annif} is missing: install Annif 1.4.3 first (benchmarks/vs_annif.py does)")
    home = work / "zeroshot-annif"
    home.mkdir(parents=True, exist_ok=True)
    punkt = work / "nltk_data" / "tokenizers" / "punkt_tab" / "english"  # an untrained Punkt model: see
    punkt.mkdir(parents=True, exist_ok=True)                                # harness/annif_runner.py
    for name in ("collocations.tab", "sent_starters.txt", "abbrev_types.txt", "ortho_context.tab"):
        (punkt / name).touch()
    env = dict(os.environ, NLTK_DATA=str(work / "nltk_data"), ANNIF_PROJECTS=str(home / "projects.cfg"),
               ANNIF_DATADIR=str(home / "data"))
    env.pop("PYTHONPATH", None)

    def run(*args: str, stdin: str | None = None) -> str:
        proc = subprocess.run([str(annif), *args], input=stdin, capture_output=True, text=True, env=env,
                              cwd=home)
        if proc.returncode != 0:
            raise SystemExit(f"annif {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
        return proc.stdout

    def one_line(text: str) -> str:
        return " ".join(text.split())

    concepts = [c for c in vocab if not c.local and c.labels.get("ar")]
    (home / "vocab-ar.tsv").write_text("".join(f"<{c.uri}>\t{one_line(c.labels['ar'])}\n" for c in concepts),
                                       encoding="utf-8")
    (home / "train-thesaurus.tsv").write_text(
        "".join(f"{one_line(c.labels['ar'])}\t<{c.uri}>\n" for c in concepts), encoding="utf-8")
    (home / "train-document.tsv").write_text(
        one_line(doc.text) + "\t" + " ".join(f"<{u}>" for _, u in gold) + "\n", encoding="utf-8")
    projects = {"thesaurus": "mllm-ar-thesaurus", "document": "mllm-ar-document"}
    (home / "projects.cfg").write_text("\n\n".join(
        f"[{pid}]\nname=Annif mllm, Arabic, trained on the {how}\nlanguage=ar\nbackend=mllm\n"
        f"analyzer=snowball(arabic)\nvocab={ANNIF_VOCAB}\nlimit=100\n" for how, pid in projects.items()),
        encoding="utf-8")
    out: dict = {"annif": run("--version").strip(), "vocabulary_concepts": len(concepts)}
    run("load-vocab", "--force", "--language", "ar", ANNIF_VOCAB, str(home / "vocab-ar.tsv"))
    for how, pid in projects.items():
        started = time.perf_counter()
        run("train", pid, str(home / f"train-{how}.tsv"))
        trained = round(time.perf_counter() - started, 1)
        lines = run("suggest", pid, "--limit", str(len(concepts)), "--threshold", "0", stdin=doc.text)
        ranking = []
        for line in lines.splitlines():
            fields = line.split("\t")
            if len(fields) >= 3:
                ranking.append((fields[0].strip().strip("<>"), float(fields[-1])))
        ranking.sort(key=lambda hit: -hit[1])
        score = dict(ranking)
        out[how] = {"train_seconds": trained, "suggested": len(ranking),
                    "ranks": {label: _tied_rank(score, uri) for label, uri in gold},
                    "gold_scores": {label: score.get(uri) for label, uri in gold},
                    "top10": [f"{vocab.get(uri).label('en') if vocab.get(uri) else uri} {s:.3f}"
                              for uri, s in ranking[:10]]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vocab", type=Path, default=SHARED / "unbis" / "all_topics.json")
    parser.add_argument("--example", type=Path, default=SHARED / "examples" / "000_5a894c35c2768328.txt")
    parser.add_argument("--corpus", type=Path, default=SHARED / "unsc-resolutions" / "train")
    parser.add_argument("--resolutions", type=int, default=50, help="evaluation resolutions (0 = skip)")
    parser.add_argument("--learned", type=int, default=0,
                        help="also fit on this many other resolutions (learned weights) and compare")
    parser.add_argument("--params", type=json.loads, default={}, help="backend parameters, as JSON")
    parser.add_argument("--annif-mllm", action="store_true",
                        help="also rank the Arabic example with Annif mllm (snowball(arabic)), trained on the "
                             "thesaurus labels and, as an in-sample upper bound, on the example itself")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    out: dict = {"params": args.params}

    vocab = load_vocabulary(args.vocab)
    started = time.perf_counter()
    model = Indexer(backend="zeroshot", backend_params=args.params or None).fit([], vocab)
    out["fit_seconds"] = round(time.perf_counter() - started, 1)
    print(f"fit with zero documents: {len(model.subjects_)} concepts in {out['fit_seconds']} s")
    with tempfile.TemporaryDirectory() as tmp:
        folder = model.save(Path(tmp) / "model")
        size = sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())
        started = time.perf_counter()
        model = Indexer.load(folder)
        out["load_seconds"] = round(time.perf_counter() - started, 2)
    out["model_mb"] = round(size / 2 ** 20, 1)
    print(f"saved model: {out['model_mb']} MB; load: {out['load_seconds']} s")

    # -- the Arabic example ---------------------------------------------------------
    doc = read_export_file(args.example)
    gold = [(s, vocab.find(s).uri) for s in doc.subjects]
    started = time.perf_counter()
    model.suggest(doc.text, limit=10)
    first = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(3):
        model.suggest(doc.text, limit=10)
    warm = (time.perf_counter() - started) / 3
    new_text = doc.text.replace("2010", "2011")  # same length, not cached: a fresh embedding
    started = time.perf_counter()
    model.suggest(new_text, limit=10)
    fresh = time.perf_counter() - started
    ranks, order = ranks_of(model, doc.text, [u for _, u in gold])
    row = model.scores([doc.text])[0]
    out["arabic_example"] = {"ranks": dict(zip([s for s, _ in gold], ranks)),
                             "top10": [model.vocab_.get(model.subjects_.uris[j]).label("en") for j in order[:10]],
                             "first_suggest_seconds": round(first, 3), "warm_suggest_seconds": round(warm, 3),
                             "uncached_suggest_seconds": round(fresh, 3)}
    print(f"\nArabic example {args.example.name}: gold ranks "
          + ", ".join(f"{s} = {r}" for (s, _), r in zip(gold, ranks)))
    print("top 10:")
    for k, j in enumerate(order[:10], 1):
        concept = model.vocab_.get(model.subjects_.uris[j])
        mark = " *" if concept.uri in {u for _, u in gold} else ""
        print(f"  {k:2d}. {concept.label('en')} ({concept.label('ar')}) {row[j]:.3f}{mark}")
    print(f"suggest: first call after load {first:.3f} s (passages embedded), "
          f"repeated {warm:.3f} s (passages cached), another text {fresh:.3f} s")
    print("evidence of the top 3:")
    for s in model.suggest(doc.text, limit=3, explain=True):
        print(f"  {s.label}:")
        for e in s.evidence[:4]:
            print(f"    {e.kind:7s} {e.weight:.3f} {e.spans[:3]} {e.text[:70]!r}")

    if args.annif_mllm:
        result = annif_mllm(vocab, doc, gold)
        out["annif_mllm"] = result
        print(f"\n{result['annif']} mllm, analyzer snowball(arabic), Arabic labels of "
              f"{result['vocabulary_concepts']} concepts:")
        for how in ("thesaurus", "document"):
            r = result[how]
            print(f"  trained on the {how} ({r['train_seconds']} s): gold ranks "
                  + ", ".join(f"{s} = {k if k else 'not suggested'}" for s, k in r["ranks"].items())
                  + f" (of {r['suggested']} suggested)")
            print(f"    top 10: {', '.join(r['top10'])}")
        print("  Fahras zero-shot on the same document: "
              + ", ".join(f"{s} = {r}" for (s, _), r in zip(gold, ranks)))

    # -- English resolutions ----------------------------------------------------------
    if args.resolutions:
        everything = list(iter_export_dir(args.corpus))
        labelled = [d for d in everything if any(vocab.find(s) is not None for s in d.subjects)]
        step = max(1, len(labelled) // args.resolutions)
        evaluation = labelled[::step][:args.resolutions]
        result = evaluate_resolutions(model, evaluation, vocab)
        out["resolutions_zero_shot"] = result
        print(f"\nEnglish resolutions, vocabulary-only model: {result['documents']} documents, "
              f"{result['gold_descriptors']} gold descriptors that are thesaurus labels")
        print(f"  recall@5 {result['recall@5']}  recall@10 {result['recall@10']}  recall@20 {result['recall@20']}"
              f"  median rank {result['median_rank']}  ({result['seconds_per_document']} s per document)")
        print("  mean rank per descriptor: " + ", ".join(
            f"{k} {v} (n={result['count_per_descriptor'][k]})"
            for k, v in result["mean_rank_per_descriptor"].items()))
        if args.learned:
            ids = {d.id for d in evaluation}
            # learn from the thesaurus-label gold only (the ITP headings are not in the subject space
            # a vocabulary-only comparison ranks)
            train = [Document(d.id, d.text, tuple(s for s in d.subjects if vocab.find(s) is not None))
                     for d in everything if d.id not in ids]
            train = [d for d in train if d.subjects][:args.learned]
            started = time.perf_counter()
            learned = Indexer(backend="zeroshot", backend_params=args.params or None,
                              subject_space="vocabulary", cv_folds=0).fit(train, vocab)
            seconds = round(time.perf_counter() - started, 1)
            result = evaluate_resolutions(learned, evaluation, vocab)
            result["fit_seconds"] = seconds
            result["training_documents"] = len(train)
            out["resolutions_learned"] = result
            print(f"\nSame documents, weights learned from {len(train)} other resolutions (fit {seconds} s):")
            print(f"  recall@5 {result['recall@5']}  recall@10 {result['recall@10']}  recall@20 {result['recall@20']}"
                  f"  median rank {result['median_rank']}")
            ranks, _ = ranks_of(learned, doc.text, [u for _, u in gold])
            out["arabic_example_learned_ranks"] = dict(zip([s for s, _ in gold], ranks))
            print("  Arabic example with the learned weights: "
                  + ", ".join(f"{s} = {r}" for (s, _), r in zip(gold, ranks)))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
