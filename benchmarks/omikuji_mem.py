"""omikuji's training worker alone, as ``fahras train`` runs it on a large corpus: ``python -m benchmarks.omikuji_mem``.

``prepare`` reads the first N yso-finna-en titles and the 10,000 test titles,
analyses them as the default ensemble does, and writes the TF-IDF rows that
omikuji's cross-fitting worker learns from (the default ensemble's omikuji
features: unigrams, min_df 1) with the subject matrix and the test rows, into
a folder.  ``run`` then fits omikuji with the default ensemble's large-corpus
settings (``DEFAULT_OMIKUJI`` + ``LARGE_OMIKUJI``) on those rows in a spawned
process, exactly as the worker does (``fit_features(..., save_to=)``, the
rows memory-mapped), samples that process's resident memory (and its
children's) every 0.1 s, and prints its peak (and the kernel's high-water
mark), its CPU seconds, its wall time and, from the saved flat forest, the
test titles' nDCG@5 and P@1 of omikuji alone (#19, omikuji-mem)::

    nice -n 10 python -m benchmarks.omikuji_mem prepare --docs 200000 --out /tmp/omimem/x200k
    nice -n 10 python -m benchmarks.omikuji_mem run /tmp/omimem/x200k --json benchmarks/results/omikuji-mem/x.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from benchmarks.scale import DATA, REPO, _rss_kb, json_params, subset, tree_rss_kb


# -- prepare ------------------------------------------------------------------------------------------
def prepare(n_docs: int, out: Path, work: Path) -> None:
    from fahras import Indexer, load_vocabulary, read_corpus
    from fahras.models import create_backend
    from fahras.models.crossfit import _save_matrix
    from fahras.models.ensemble import DEFAULT_OMIKUJI, LARGE_OMIKUJI
    from fahras.models.features import TfidfFeatures
    from fahras.subjects import resolve_all

    started = time.perf_counter()
    vocab = load_vocabulary(DATA / "yso-en.tsv")
    indexer = Indexer(backend="omikuji", backend_params={**DEFAULT_OMIKUJI, **LARGE_OMIKUJI}, analyzer="en")
    data = indexer.training_set(read_corpus(subset(work / "scale", n_docs)), vocab)
    params = create_backend("omikuji", {**DEFAULT_OMIKUJI, **LARGE_OMIKUJI}).get_params()
    features = TfidfFeatures(int(params["ngram_max"]), int(params["min_df"]), params["max_features"])
    x = features.fit_transform(data.analysed)
    out.mkdir(parents=True, exist_ok=True)
    features.save(out)
    _save_matrix(out, "x", x)
    sp.save_npz(out / "y.npz", sp.csr_matrix(data.targets), compressed=False)
    del x, data
    test = list(read_corpus(DATA / "test.tsv.gz"))
    analyzed = [indexer.analyse(doc.text, deferred_offsets=False) for doc in test]
    _save_matrix(out, "test", features.transform(analyzed))
    gold = [sorted(resolve_all(doc.subjects, vocab)) for doc in test]
    (out / "meta.json").write_text(json.dumps({"docs": n_docs, "subjects": list(indexer.subjects_.uris),
                                               "test_gold": gold, "params": params}), encoding="utf-8")
    print(f"prepared {n_docs} titles in {time.perf_counter() - started:.0f} s into {out}")


# -- run ------------------------------------------------------------------------------------------------
def _fit(folder: str, save_to: str, params: dict, result: str) -> None:
    """The worker's task (``crossfit._run_task`` for omikuji on all rows), in this spawned process."""
    from fahras.models import create_backend
    from fahras.models.crossfit import _load_matrix
    from fahras.models.features import TfidfFeatures

    started = time.perf_counter()
    features = TfidfFeatures.load(Path(folder), int(params["ngram_max"]))
    x = _load_matrix(Path(folder), "x")
    y = sp.load_npz(Path(folder) / "y.npz").tocsr()
    base = create_backend("omikuji", params)
    base.fit_features(features, x, y, save_to=Path(save_to))
    wall = time.perf_counter() - started
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    with open("/proc/self/status") as handle:
        hwm = next(int(line.split()[1]) for line in handle if line.startswith("VmHWM:"))
    Path(result).write_text(json.dumps({
        "wall_s": round(wall, 1), "cpu_s": round(own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime, 1),
        "hwm_mb": round(hwm / 1024, 1), "children_max_rss_mb": round(kids.ru_maxrss / 1024, 1)}))


def _sample(pid: int, samples: list, done: threading.Event, started: float) -> None:
    while not done.is_set():
        tree = tree_rss_kb(pid)
        samples.append((round(time.perf_counter() - started, 2), round(_rss_kb(pid) / 1024, 1), round(tree / 1024, 1)))
        done.wait(0.1)


def quality(folder: Path, model: Path, top_k: int = 50, beam_size: int = 10) -> dict:
    """omikuji's own nDCG@5 and P@1 on the test titles, from the saved flat forest."""
    from fahras.evaluate import ndcg_at, precision_at
    from fahras.models.crossfit import _load_matrix
    from fahras.models.omikuji_fast import FlatForest

    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    uris = meta["subjects"]
    forest = FlatForest.load(model / "flat")
    x = _load_matrix(folder, "test")
    labels, _, counts = forest.predict(x, beam_size, top_k)
    ndcg, p1 = [], []
    for row, gold in enumerate(meta["test_gold"]):
        ranked = [uris[int(label)] for label in labels[row, :counts[row]] if label < len(uris)]
        ndcg.append(ndcg_at(ranked, set(gold), 5))
        p1.append(precision_at(ranked, set(gold), 1))
    return {"ndcg@5": round(float(np.mean(ndcg)), 4), "p@1": round(float(np.mean(p1)), 4)}


def run(folder: Path, keep: Path | None, overrides: dict) -> dict:
    from fahras.models.ensemble import DEFAULT_OMIKUJI, LARGE_OMIKUJI

    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    params = {**DEFAULT_OMIKUJI, **LARGE_OMIKUJI, **overrides}
    scratch = Path(tempfile.mkdtemp(prefix="omimem-"))
    save_to = keep if keep is not None else scratch / "model"
    if save_to.exists():
        shutil.rmtree(save_to)
    result = scratch / "result.json"
    context = multiprocessing.get_context("spawn")
    process = context.Process(target=_fit, args=(str(folder), str(save_to), params, str(result)))
    samples: list = []
    done = threading.Event()
    started = time.perf_counter()
    process.start()
    sampler = threading.Thread(target=_sample, args=(process.pid, samples, done, started), daemon=True)
    sampler.start()
    process.join()
    done.set()
    sampler.join()
    if process.exitcode != 0:
        raise SystemExit(f"omikuji's fit failed (exit {process.exitcode})")
    figures = json.loads(result.read_text())
    peak = max(samples, key=lambda s: s[2]) if samples else (0, 0, 0)
    figures.update({"docs": meta["docs"], "params": params, "sampled_peak_mb": peak[2], "sampled_peak_at_s": peak[0],
                    "outer_wall_s": round(time.perf_counter() - started, 1),
                    "loadavg": os.getloadavg(), "model_mb": round(sum(p.stat().st_size for p in save_to.rglob("*")
                                                                     if p.is_file()) / 2**20, 1)})
    figures.update(quality(folder, save_to, int(params.get("top_k", 50)), int(params.get("beam_size", 10))))
    figures["samples"] = samples[::5]
    shutil.rmtree(scratch, ignore_errors=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.omikuji_mem", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="write the worker's TF-IDF rows of the first N titles and the test rows")
    p.add_argument("--docs", type=int, default=200_000, help="training titles (the first N of train.tsv.gz)")
    p.add_argument("--out", type=Path, required=True, help="folder to write")
    p.add_argument("--work", type=Path, default=REPO / "benchmarks" / ".work",
                   help="work folder (the subsets are in <work>/scale/data)")
    r = sub.add_parser("run", help="fit omikuji on prepared rows as the worker does; print peak RSS, CPU, quality")
    r.add_argument("folder", type=Path, help="a folder `prepare` wrote")
    r.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="an omikuji parameter over the default ensemble's (JSON value), repeatable")
    r.add_argument("--keep", type=Path, help="save the fitted backend here (default: a scratch folder, removed)")
    r.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    if args.command == "prepare":
        prepare(args.docs, args.out, args.work)
        return 0
    figures = run(args.folder, args.keep, json_params(args.param))
    shown = {k: v for k, v in figures.items() if k != "samples"}
    print(json.dumps(shown, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
