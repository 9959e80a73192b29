"""One process, worker processes, and a Dask LocalCluster, side by side (issue #19, docs/scaling.md).

    python -m benchmarks.cluster [--copies 4] [--workers 2] [--only train] [--out benchmarks/results/cluster-DATE.json]

On the shared Security Council resolutions (../shared/data/unsc-resolutions/train):
trains the default ensemble on 2005-2011 with its worker processes (``--jobs`` automatic)
and with ``--cluster local:N``; indexes the 529 resolutions ``--copies`` times over
(links) with ``--jobs 1``, ``--jobs N`` and ``--cluster local:N``; evaluates on 2012-2013
in one process and with ``--cluster local:N``.  Wall times include starting the
LocalCluster (its N worker processes) and sending it the model.  Checks that the
cluster's index files and metrics equal the one-process ones.  Every command is run
as a subprocess, as a user would run it; each row has its wall clock, the CPU seconds of
the command's whole process tree (the LocalCluster's workers included) and the tree's
peak RSS (sampled every 0.2 s, ``benchmarks.scale.run_tree``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESOLUTIONS = DATA / "unsc-resolutions" / "train"
VOCAB = DATA / "unbis" / "all_topics.json"


def fahras(*args) -> dict:
    """Run ``fahras ARGS``; its wall clock, CPU seconds and peak RSS (the whole process tree) and stdout."""
    from benchmarks.scale import run_tree

    with tempfile.NamedTemporaryFile(suffix=".log") as log:
        run = run_tree([sys.executable, "-m", "fahras", *map(str, args)], log_file=Path(log.name), check=False)
        if run.returncode not in (0, 65):
            sys.exit(f"fahras {' '.join(map(str, args))} failed ({run.returncode}):\n"
                     f"{Path(log.name).read_text(errors='replace')[-3000:]}")
    return {"seconds": round(run.seconds, 1), "cpu_seconds": round(run.cpu_seconds, 1),
            "peak_rss_mb": round(run.peak_rss_mb), "stdout": run.stdout}


def without_stdout(run: dict) -> dict:
    return {k: v for k, v in run.items() if k != "stdout"}


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")}


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=4, help="times the 529 resolutions are indexed over")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (--jobs N, local:N)")
    parser.add_argument("--out", type=Path, default=None, help="JSON file for the figures")
    parser.add_argument("--only", choices=("train", "index", "eval"), action="append", default=[],
                        help="run only these parts (repeatable; default all); index and eval train a model first")
    parser.add_argument("--train-corpus", type=Path, default=None,
                        help="train on this corpus instead of the resolutions of 2005-2011 (e.g. a TSV slice of "
                             "yso-finna-en); with --only train")
    parser.add_argument("--vocab", type=Path, default=VOCAB, help="the vocabulary for --train-corpus")
    parser.add_argument("--lang", default=None, help="--lang for fahras train (e.g. en for yso-finna-en)")
    args = parser.parse_args()
    parts = set(args.only or ("train", "index", "eval"))
    if args.train_corpus and parts != {"train"}:
        parser.error("--train-corpus goes with --only train")
    n = args.workers
    rows = []
    load_at_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="fahras-cluster-bench-") as tmp:
        tmp = Path(tmp)
        train, test, docs = tmp / "train", tmp / "test", tmp / "docs"
        for folder in (train, test, docs):
            folder.mkdir()
        for path in sorted(RESOLUTIONS.glob("*.txt")):
            year = int(re.search(r"_(\d{4})_\.txt$", path.name).group(1))
            (train if year <= 2011 else test).joinpath(path.name).symlink_to(path)
            for copy in range(args.copies):
                (docs / f"{copy}_{path.name}").symlink_to(path)
        n_train, n_test, n_docs = (len(list(f.iterdir())) for f in (train, test, docs))
        vocab, lang = VOCAB, []
        if args.train_corpus:
            train, vocab = args.train_corpus.resolve(), args.vocab.resolve()
            lang = ["--lang", args.lang] if args.lang else []
            n_train = sum(1 for _ in gzip.open(train, "rt") if _.strip()) if train.suffix == ".gz" else None

        trainings = [("train, worker processes (--jobs auto)", [])]
        if "train" in parts:
            trainings.append((f"train, --cluster local:{n}", ["--cluster", f"local:{n}"]))
        for label, extra in trainings:
            model = tmp / ("model-cluster" if extra else "model")
            run = fahras("train", "--vocab", vocab, *lang, "--out", model, "--quiet", train, *extra)
            rows.append({"task": label, "documents": n_train, **without_stdout(run)})
            print(rows[-1], flush=True)
        model = tmp / "model"

        outs, same_index = {}, None
        for label, extra in (("index, one process (--jobs 1)", ["--jobs", "1"]),
                             (f"index, --jobs {n}", ["--jobs", str(n)]),
                             (f"index, --cluster local:{n}", ["--cluster", f"local:{n}"])):
            if "index" not in parts:
                break
            out = outs[label] = tmp / f"out{len(outs)}"
            run = fahras("index", model, docs, "--out", out, "--quiet", *extra)
            rows.append({"task": label, "documents": n_docs, **without_stdout(run),
                         "documents_per_second": round(n_docs / run["seconds"], 1)})
            print(rows[-1], flush=True)
        if outs:
            reference = files(next(iter(outs.values())))
            same_index = all(files(out) == reference for out in outs.values())

        metrics, same_eval = {}, None
        for label, extra in (("eval, one process", []), (f"eval, --cluster local:{n}", ["--cluster", f"local:{n}"])):
            if "eval" not in parts:
                break
            run = fahras("eval", model, test, "--json", "--quiet", *extra)
            metrics[label] = json.loads(run["stdout"])
            rows.append({"task": label, "documents": n_test, **without_stdout(run)})
            print(rows[-1], flush=True)
        if metrics:
            same_eval = len({json.dumps(m, sort_keys=True) for m in metrics.values()}) == 1

    report = {"benchmark": "cluster", "commit": commit(), "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                          "load_average_at_end": os.getloadavg()[0]},
              "train_corpus": str(args.train_corpus) if args.train_corpus else "unsc-resolutions 2005-2011",
              "load_average_at_start": load_at_start, "workers": n, "rows": rows, "index_files_identical": same_index, "eval_metrics_identical": same_eval}
    print(json.dumps(report, indent=1))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print("\n| task | documents | wall s | CPU s | peak RSS MB | documents/s |\n| --- | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(f"| {row['task']} | {row['documents']} | {row['seconds']} | {row['cpu_seconds']} | {row['peak_rss_mb']} "
              f"| {row.get('documents_per_second', '')} |")
    print(f"\nindex files identical: {same_index}; eval metrics identical: {same_eval}")


if __name__ == "__main__":
    main()
