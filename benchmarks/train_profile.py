"""Where training time and memory go: ``python -m benchmarks.train_profile``.

Trains the default ensemble (or ``--backend``) on the first N titles of
yso-finna-en (``benchmarks/scale.py``'s subsets) in this process, and
samples every 0.2 s the resident memory (RSS) of this process and of each
of its children (the cross-fitting workers), tagging each sample with the
training stage that the progress callback last reported.  Prints, per
stage: its wall time, the peak RSS of the main process, of the largest
worker, and of the process tree (their sum), and writes the samples as
JSON lines (``--samples``) for a closer look.  With ``--tracemalloc`` the
main process's Python allocations at their peak are listed by line (slow:
about 2x the time).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from pathlib import Path

from benchmarks.scale import DATA, REPO, _children, _rss_kb, json_params, subset


def _cpu_s(pid: int, reaped: bool = False) -> float:
    """User + system CPU seconds of ``pid`` (with ``reaped``, also of its waited-for children)."""
    import os

    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if reaped else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def _tree_cpu_s(pid: int, kids) -> float:
    """CPU seconds of this process, its finished children and its live descendants."""
    return _cpu_s(pid, reaped=True) + sum(_cpu_s(k) for k in kids)


class Sampler:
    """RSS of this process and of each descendant every ``interval`` s, tagged with the current stage."""

    def __init__(self, interval: float = 0.2):
        import os

        self.pid = os.getpid()
        self.interval = interval
        self.stage = "start"
        self.samples: list[dict] = []
        self.started = time.perf_counter()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._done.is_set():
            kids, todo = {}, list(_children(self.pid))
            while todo:
                pid = todo.pop()
                if pid not in kids:
                    kids[pid] = _rss_kb(pid) / 1024
                    todo += _children(pid)
            main = _rss_kb(self.pid) / 1024
            cpu = _tree_cpu_s(self.pid, kids)
            self.samples.append({"t": round(time.perf_counter() - self.started, 2), "stage": self.stage,
                                 "cpu_s": round(cpu, 2),
                                 "main_mb": round(main, 1), "workers_mb": {str(k): round(v, 1) for k, v in kids.items()},
                                 "tree_mb": round(main + sum(kids.values()), 1)})
            self._done.wait(self.interval)

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()

    def progress(self, stage: str, done: int, total: int) -> None:
        self.stage = stage.split(" (")[0] if stage.startswith("fit (") else stage


def summary(samples: list[dict]) -> list[dict]:
    """Per stage (in order of first appearance): seconds, peak main / largest worker / tree RSS (MB)."""
    stages: dict[str, dict] = {}
    for s in samples:
        row = stages.setdefault(s["stage"], {"stage": s["stage"], "first": s["t"], "last": s["t"], "main_mb": 0.0,
                                             "worker_mb": 0.0, "tree_mb": 0.0, "cpu_first": s.get("cpu_s", 0.0)})
        row["last"] = s["t"]
        row["main_mb"] = max(row["main_mb"], s["main_mb"])
        row["worker_mb"] = max([row["worker_mb"], *s["workers_mb"].values()])
        row["tree_mb"] = max(row["tree_mb"], s["tree_mb"])
    rows = list(stages.values())
    for row, nxt in zip(rows, rows[1:] + [None]):
        row["seconds"] = round((nxt["first"] if nxt else row["last"]) - row["first"], 1)
        end = nxt["cpu_first"] if nxt else samples[-1].get("cpu_s", 0.0)
        # CPU of workers that ended within the stage is counted once it is reaped; live workers' as they run
        row["cpu_s"] = round(max(0.0, end - row["cpu_first"]), 1)
    return rows


#: A worker process holding more than this (MB) is fitting (an idle pool worker holds about 12 MB).
BUSY_WORKER_MB = 50.0


def peaks(samples: list[dict]) -> list[str]:
    """The tree's peak and where it was, and the main process's peak while a worker fitted (its resting memory
    beside the workers: what #19's main-lean part bounds)."""
    if not samples:
        return []
    top = max(samples, key=lambda s: s["tree_mb"])
    lines = [f"tree peak: {top['tree_mb']:.0f} MB in {top['stage']!r} (main {top['main_mb']:.0f} MB, workers "
             f"{sum(top['workers_mb'].values()):.0f} MB)"]
    busy = [s for s in samples if any(v > BUSY_WORKER_MB for v in s["workers_mb"].values())]
    if busy:
        lines.append(f"while a worker held more than {BUSY_WORKER_MB:.0f} MB: main process peak "
                     f"{max(s['main_mb'] for s in busy):.0f} MB, tree peak {max(s['tree_mb'] for s in busy):.0f} MB")
    before = [s for s in samples if not s["stage"].startswith(("fit", "stacker", "decision", "done"))]
    if before:
        lines.append(f"before the fit (reading, analysis, features): main process peak "
                     f"{max(s['main_mb'] for s in before):.0f} MB")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.train_profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=50_000, help="training titles (the first N of train.tsv.gz)")
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / ".work",
                        help="work folder (the subsets are in <work>/scale/data)")
    parser.add_argument("--backend", default="ensemble", help="backend to train")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="a backend parameter (JSON value), repeatable")
    parser.add_argument("--samples", type=Path, help="write the RSS samples here (JSON lines)")
    parser.add_argument("--save", type=Path, metavar="MODEL", help="save the trained model here (after the "
                        "measurement), e.g. to score it with `fahras eval`")
    parser.add_argument("--tracemalloc", action="store_true", help="list the main process's Python allocations at "
                        "their peak (slow)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    from fahras import Indexer, load_vocabulary, read_corpus

    params = json_params(args.param)
    train = subset((args.work / "scale").resolve(), args.docs)
    vocab = load_vocabulary(DATA / "yso-en.tsv")
    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start(5)
    indexer = Indexer(backend=args.backend, backend_params=params or None, analyzer="en")
    import fahras.indexer as indexer_module

    tune_rule = indexer_module.tune_rule

    def tagged_tune_rule(*a, **k):  # the decision rule's own stage (the indexer reports no progress there)
        sampler.stage = "decision rule"
        return tune_rule(*a, **k)

    indexer_module.tune_rule = tagged_tune_rule
    started = time.perf_counter()
    with Sampler() as sampler:
        indexer.fit(read_corpus(train), vocab, progress=sampler.progress)
        sampler.stage = "done"
    seconds = time.perf_counter() - started
    if args.tracemalloc:
        current, peak = tracemalloc.get_traced_memory()
        print(f"tracemalloc: current {current / 2**20:.0f} MB, peak {peak / 2**20:.0f} MB")
        for stat in tracemalloc.take_snapshot().statistics("lineno")[:15]:
            print(f"  {stat.size / 2**20:8.1f} MB  {stat.traceback}")
    print(f"trained {args.docs} documents in {seconds:.1f} s; bases: "
          f"{', '.join(b['name'] for b in getattr(indexer.backend_, 'base_specs_', getattr(indexer.backend_, 'backends', [])))}")
    print(f"{'stage':<28} {'s':>7} {'CPU s':>7} {'main MB':>9} {'worker MB':>10} {'tree MB':>9}")
    for row in summary(sampler.samples):
        print(f"{row['stage'][:28]:<28} {row['seconds']:>7.1f} {row['cpu_s']:>7.1f} {row['main_mb']:>9.0f} "
              f"{row['worker_mb']:>10.0f} {row['tree_mb']:>9.0f}")
    for line in peaks(sampler.samples):
        print(line)
    print(f"CPU s (this process and its children): {_cpu_s(__import__('os').getpid(), reaped=True):.1f}")
    if args.samples:
        with open(args.samples, "w", encoding="utf-8") as out:
            for s in sampler.samples:
                out.write(json.dumps(s) + "\n")
    if args.save:
        indexer.save(args.save)
        print(f"model saved in {args.save}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
