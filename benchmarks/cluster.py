"""One process, worker processes, and a Dask LocalCluster, side by side (issue #19, docs/scaling.md).

    python -m benchmarks.cluster [--copies 4] [--workers 2] [--out benchmarks/results/cluster-DATE.json]

On the shared Security Council resolutions (../shared/data/unsc-resolutions/train):
trains the default ensemble on 2005-2011 with its worker processes (``--jobs`` automatic)
and with ``--cluster local:N``; indexes the 529 resolutions ``--copies`` times over
(links) with ``--jobs 1``, ``--jobs N`` and ``--cluster local:N``; evaluates on 2012-2013
in one process and with ``--cluster local:N``.  Wall times include starting the
LocalCluster (its N worker processes) and sending it the model.  Checks that the
cluster's index files and metrics equal the one-process ones.  Every command is run
as a subprocess, as a user would run it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESOLUTIONS = DATA / "unsc-resolutions" / "train"
VOCAB = DATA / "unbis" / "all_topics.json"


def fahras(*args) -> float:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "fahras", *map(str, args)], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode not in (0, 65):
        sys.exit(f"fahras {' '.join(map(str, args))} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return seconds


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
    args = parser.parse_args()
    n = args.workers
    rows = []
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

        for label, extra in (("train, worker processes (--jobs auto)", []),
                             (f"train, --cluster local:{n}", ["--cluster", f"local:{n}"])):
            model = tmp / ("model-cluster" if extra else "model")
            seconds = fahras("train", "--vocab", VOCAB, "--out", model, "--quiet", train, *extra)
            rows.append({"task": label, "documents": n_train, "seconds": round(seconds, 1)})
            print(rows[-1], flush=True)
        model = tmp / "model"

        outs = {}
        for label, extra in (("index, one process (--jobs 1)", ["--jobs", "1"]),
                             (f"index, --jobs {n}", ["--jobs", str(n)]),
                             (f"index, --cluster local:{n}", ["--cluster", f"local:{n}"])):
            out = outs[label] = tmp / f"out{len(outs)}"
            seconds = fahras("index", model, docs, "--out", out, "--quiet", *extra)
            rows.append({"task": label, "documents": n_docs, "seconds": round(seconds, 1),
                         "documents_per_second": round(n_docs / seconds, 1)})
            print(rows[-1], flush=True)
        reference = files(next(iter(outs.values())))
        same_index = all(files(out) == reference for out in outs.values())

        metrics = {}
        for label, extra in (("eval, one process", []), (f"eval, --cluster local:{n}", ["--cluster", f"local:{n}"])):
            target = tmp / f"eval{len(metrics)}.json"
            started = time.perf_counter()
            result = subprocess.run([sys.executable, "-m", "fahras", "eval", str(model), str(test), "--json",
                                     "--quiet", *extra], capture_output=True, text=True, check=True)
            seconds = time.perf_counter() - started
            target.write_text(result.stdout)
            metrics[label] = json.loads(result.stdout)
            rows.append({"task": label, "documents": n_test, "seconds": round(seconds, 1)})
            print(rows[-1], flush=True)
        same_eval = len({json.dumps(m, sort_keys=True) for m in metrics.values()}) == 1

    report = {"benchmark": "cluster", "commit": commit(), "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                          "load_average_at_end": os.getloadavg()[0]},
              "workers": n, "rows": rows, "index_files_identical": same_index, "eval_metrics_identical": same_eval}
    print(json.dumps(report, indent=1))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print("\n| task | documents | seconds | documents/s |\n| --- | ---: | ---: | ---: |")
    for row in rows:
        print(f"| {row['task']} | {row['documents']} | {row['seconds']} | {row.get('documents_per_second', '')} |")
    print(f"\nindex files identical: {same_index}; eval metrics identical: {same_eval}")


if __name__ == "__main__":
    main()
