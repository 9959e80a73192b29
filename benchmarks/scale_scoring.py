"""Batch scoring at scale, Fahras beside Annif 1.4.3, with already trained models: ``python -m benchmarks.scale_scoring``.

The scoring side of issue 19 (``benchmarks/scale.py`` trains and scores; this
only scores, so that scoring changes can be measured without retraining).
Given a Fahras model and an Annif project trained on the same yso-finna-en
titles (e.g. by ``python -m benchmarks.scale``), one run measures, in turn:

- cold load: a new process suggests for one short text (the fastest of two);
- ``index``: ``fahras index MODEL DOCS --limit 20 --threshold 0`` (``--jobs``
  1 and 2, or ``auto``: no ``--jobs``, the command's default) and ``annif index PROJECT DOCS --limit 20
  --threshold 0`` (which has no ``--jobs``) on the
  10,000 test titles as files: wall seconds, CPU seconds and the peak RSS of
  the process tree (``benchmarks.scale.run_tree``), documents per second
  (wall minus the cold load, as ``benchmarks/scale.py`` counts it, and per
  CPU second), nDCG@5 of the files written;
- ``eval``: ``fahras eval MODEL test.tsv.gz`` (its metrics, time and memory), with ``--jobs`` as
  ``--eval-jobs`` lists (``auto`` passes no ``--jobs``: the command's default; a tree without ``--jobs``
  is given none for 1); and ``annif eval PROJECT test.tsv.gz --jobs N`` for each of ``--annif-eval-jobs``;
- with ``--long N``: ``fahras index`` and ``annif index`` on the first N of
  the 50,000 long documents (the shared resolutions repeated,
  ``benchmarks.scale.long_corpus``), throughput only.

The load average before and after each step is recorded: the machine may be
shared, and CPU seconds are then the steadier figure.  Results go to
``benchmarks/results/scale-scoring-<date>.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness.annif_runner import trained_omikuji
from benchmarks.harness.measure import StepFailed
from benchmarks.scale import (DATA, PROBE, REPO, _commit, long_corpus, ranking_metrics, read_rankings,
                              run_tree, test_folder, tree_sum_kb)
from fahras.batch import write_atomic


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
            return next((int(line.split()[1]) for line in rollup if line.startswith("Pss:")), 0)
    except OSError:
        return 0


def tree_pss_kb(pid: int) -> int:
    """Proportional set size of ``pid`` and its descendants, in kB: each shared page (the memory-mapped model,
    the memory forked workers share with their parent) counted once over the processes that map it, where
    the summed RSS counts it in every one."""
    return tree_sum_kb(pid, _pss_kb)


class PssPeak:
    """The peak PSS of this process's descendants (the one command a step runs), sampled every 0.2 s."""

    def __enter__(self):
        import threading

        self.peak, self._done = 0, threading.Event()

        def sample() -> None:
            from benchmarks.scale import _children

            while not self._done.is_set():
                self.peak = max(self.peak, sum(tree_pss_kb(child) for child in _children(os.getpid())))
                self._done.wait(0.2)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()
        return False


def log(message: str) -> None:
    print(f"[scale-scoring {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


class Systems:
    def __init__(self, work: Path, fahras_model: Path, annif_data: Path | None, annif_project: str | None):
        self.work, self.model = work, fahras_model
        script = Path(sys.executable).parent / "fahras"
        self.fahras = [str(script)] if script.exists() else [sys.executable, "-m", "fahras"]
        self.annif_project = annif_project
        self.annif_env = None
        if annif_data is not None and annif_project:
            home = work / "annif-home"
            home.mkdir(parents=True, exist_ok=True)
            if not (home / "data").exists():
                (home / "data").symlink_to(annif_data.resolve())
            self.annif, self.annif_env = trained_omikuji(home, home / "data", annif_project)
            self.annif_home = home

    def run(self, system: str, args: list[str], name: str, stdin_text: str | None = None):
        if system == "fahras":
            command, env, cwd = self.fahras, None, REPO
        else:
            command, env, cwd = self.annif, self.annif_env, self.annif_home
        with PssPeak() as pss:
            run = run_tree(["nice", "-n", "10", *command, *args], env=env, cwd=cwd, stdin_text=stdin_text,
                           log_file=self.work / "logs" / f"{name}.log")
        self.last_pss_mb = round(pss.peak / 1024)
        return run

    def cold(self, system: str) -> float:
        if system == "fahras":
            args = ["suggest", str(self.model), "--lang", "en", "--limit", "5"]
        else:
            args = ["suggest", self.annif_project, "--limit", "5"]
        runs = [self.run(system, args, f"cold-{system}", stdin_text=PROBE + "\n") for _ in range(2)]
        best = min(runs, key=lambda r: r.seconds)
        return {"cold_load_s": round(best.seconds, 2), "cold_load_cpu_s": round(best.cpu_seconds, 2),
                "cold_peak_rss_mb": round(best.peak_rss_mb)}

    def index(self, system: str, docs: Path, n_docs: int, cold_s: float, jobs: int = 1, limit: int = 20) -> dict:
        load_before = load_average()
        if system == "fahras":
            out = Path(tempfile.mkdtemp(prefix="fahras-index-", dir=self.work))
            run = self.run(system, ["index", str(self.model), str(docs), "--out", str(out), "--limit", str(limit),
                                    "--threshold", "0", "--lang", "en", "--force", "--quiet",
                                    *([] if jobs == "auto" else ["--jobs", str(jobs)])],
                           f"index-fahras-{docs.name}-{jobs}")
            suffix_folder, suffix = out, ".annif"
        else:
            suffix = f".{self.annif_project}"
            run = self.run(system, ["index", self.annif_project, str(docs), "--limit", str(limit), "--threshold",
                                    "0", "--suffix", suffix, "--force"], f"index-annif-{docs.name}")
            suffix_folder, out = docs, None
        result = {"system": system, "step": "index", "docs": n_docs, "jobs": jobs, "seconds": round(run.seconds, 2),
                  "cpu_s": round(run.cpu_seconds, 2), "peak_rss_mb": round(run.peak_rss_mb),
                  "peak_pss_mb": self.last_pss_mb,
                  "docs_per_s": round(n_docs / max(run.seconds - cold_s, 1e-3), 1),
                  "docs_per_cpu_s": round(n_docs / max(run.cpu_seconds, 1e-3), 1),
                  "load_before": load_before, "load_after": load_average()}
        result["_folder"], result["_suffix"] = str(suffix_folder), suffix
        if out is not None:
            result["_out"] = str(out)
        return result

    def eval(self, jobs: int | str = 1, cold_s: float = 0.0) -> dict:
        load_before = load_average()
        has_jobs = "--jobs" in self.run("fahras", ["eval", "--help"], "eval-help").stdout
        flag = [] if jobs == "auto" or (jobs == 1 and not has_jobs) else ["--jobs", str(jobs)]
        run = self.run("fahras", ["eval", str(self.model), str(DATA / "test.tsv.gz"), "--json", "--quiet", *flag],
                       f"eval-fahras-{jobs}")
        metrics = json.loads(run.stdout.strip().splitlines()[-1])
        return {"system": "fahras", "step": "eval", "jobs": jobs, "docs": metrics["documents"],
                "seconds": round(run.seconds, 2),
                "cpu_s": round(run.cpu_seconds, 2), "peak_rss_mb": round(run.peak_rss_mb),
                  "peak_pss_mb": self.last_pss_mb,
                "docs_per_s": round(metrics["documents"] / max(run.seconds - cold_s, 1e-3), 1),
                "docs_per_cpu_s": round(metrics["documents"] / max(run.cpu_seconds, 1e-3), 1),
                "ndcg5": metrics["ndcg@5"], "f1": metrics["f1"], "metrics": metrics,
                "load_before": load_before, "load_after": load_average()}

    def annif_eval(self, jobs: int, n_docs: int, cold_s: float) -> dict:
        load_before = load_average()
        run = self.run("annif", ["eval", self.annif_project, str(DATA / "test.tsv.gz"), "--jobs", str(jobs)],
                       f"eval-annif-{jobs}")
        metrics = {}
        for line in run.stdout.splitlines():  # "NDCG@5: 0.4052" and the like
            name, _, value = line.partition(":")
            try:
                metrics[name.strip()] = float(value)
            except ValueError:
                pass
        return {"system": "annif", "step": "eval", "jobs": jobs, "docs": n_docs, "seconds": round(run.seconds, 2),
                "cpu_s": round(run.cpu_seconds, 2), "peak_rss_mb": round(run.peak_rss_mb),
                  "peak_pss_mb": self.last_pss_mb,
                "docs_per_s": round(n_docs / max(run.seconds - cold_s, 1e-3), 1),
                "docs_per_cpu_s": round(n_docs / max(run.cpu_seconds, 1e-3), 1),
                "ndcg5": metrics.get("NDCG@5"), "metrics": metrics,
                "load_before": load_before, "load_after": load_average()}


def _job_values(text: str) -> list:
    return [j if j == "auto" else int(j) for j in text.split(",") if j]


def quality(result: dict, gold: list[set[str]]) -> None:
    """nDCG@5 and the oracle-tuned F1 of the suggestion files an ``index`` step wrote (then removed)."""
    folder, suffix = Path(result.pop("_folder")), result.pop("_suffix")
    ids = [f"{i:05d}" for i in range(len(gold))]
    rankings = read_rankings(folder, ids, suffix)
    result.update({k: round(v, 4) if isinstance(v, float) else v
                   for k, v in ranking_metrics([[u for u, _ in r] for r in rankings],
                                               [[s for _, s in r] for r in rankings], gold).items()})
    out = result.pop("_out", None)
    if out:
        shutil.rmtree(out, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale_scoring", description=__doc__.split("\n\n")[0])
    parser.add_argument("--fahras-model", type=Path, required=True, help="a trained Fahras model folder")
    parser.add_argument("--annif-data", type=Path, help="an Annif data folder holding the project (data/projects/...)")
    parser.add_argument("--annif-project", help="the Annif project id, e.g. omikuji-bonsai-100000")
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / ".work" / "scale-scoring",
                        help="work folder (test documents as files, logs)")
    parser.add_argument("--jobs", default="1,2,auto",
                        help="fahras index --jobs values, comma-separated (auto: no --jobs, the default)")
    parser.add_argument("--eval-jobs", default="1,auto",
                        help="fahras eval --jobs values, comma-separated (auto: no --jobs, the default)")
    parser.add_argument("--annif-eval-jobs", default="1,2", help="annif eval --jobs values, comma-separated")
    parser.add_argument("--long", type=int, default=0, help="also index the first N long documents (0: no)")
    parser.add_argument("--long-annif", type=int, default=None, help="long documents for Annif (default: --long)")
    parser.add_argument("--skip", default="", help="steps to leave out: eval, index, annif (comma-separated)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" /
                        f"scale-scoring-{time.strftime('%Y-%m-%d')}.json")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    work = args.work.resolve()
    (work / "data").mkdir(parents=True, exist_ok=True)
    systems = Systems(work, args.fahras_model.resolve(), args.annif_data, args.annif_project)
    use_annif = systems.annif_env is not None and "annif" not in skip
    docs, gold = test_folder(work)
    results: dict = {"commit": _commit(), "model": str(args.fahras_model), "annif_project": args.annif_project,
                     "machine": {"cores": os.cpu_count(), "load_at_start": load_average()},
                     "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "steps": []}

    def save() -> None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(args.out, json.dumps(results, indent=1) + "\n")

    log("cold loads")
    results["cold"] = {"fahras": systems.cold("fahras")}
    if use_annif:
        results["cold"]["annif"] = systems.cold("annif")
    save()
    if "index" not in skip:
        for jobs in _job_values(args.jobs):
            log(f"fahras index --jobs {jobs} (10,000 titles)")
            step = systems.index("fahras", docs, len(gold), results["cold"]["fahras"]["cold_load_s"], jobs)
            quality(step, gold)
            results["steps"].append(step)
            save()
        if use_annif:
            log("annif index (10,000 titles)")
            step = systems.index("annif", docs, len(gold), results["cold"]["annif"]["cold_load_s"])
            quality(step, gold)
            results["steps"].append(step)
            save()
    if "eval" not in skip:
        for jobs in _job_values(args.eval_jobs):
            log(f"fahras eval --jobs {jobs} (10,000 titles)")
            results["steps"].append(systems.eval(jobs, results["cold"]["fahras"]["cold_load_s"]))
            save()
        if use_annif:
            for jobs in _job_values(args.annif_eval_jobs):
                log(f"annif eval --jobs {jobs} (10,000 titles)")
                results["steps"].append(systems.annif_eval(jobs, len(gold), results["cold"]["annif"]["cold_load_s"]))
                save()
    if args.long:
        corpus = long_corpus(work)
        for system, n in (("fahras", args.long), ("annif", args.long_annif or args.long)):
            if system == "annif" and not use_annif:
                continue
            folder = _long_docs(work, corpus, n)
            log(f"{system} index ({n:,} long documents)")
            step = systems.index(system, folder, n, results["cold"][system]["cold_load_s"], limit=10)
            step["kind"] = "long"
            for key in ("_folder", "_suffix"):
                step.pop(key, None)
            out = step.pop("_out", None)
            if out:
                shutil.rmtree(out, ignore_errors=True)
            results["steps"].append(step)
            save()
    results["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    save()
    print(json.dumps(results, indent=1))
    return 0


def _long_docs(work: Path, corpus: Path, n: int) -> Path:
    """The first ``n`` long documents as files (``NNNNN.txt``)."""
    folder = work / "data" / f"long-{n}-docs"
    if not (folder / f"{n - 1:05d}.txt").exists():
        shutil.rmtree(folder, ignore_errors=True)
        tmp = work / "data" / "long-tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        with open(corpus, encoding="utf-8") as src:
            for i, line in enumerate(src):
                if i >= n:
                    break
                (tmp / f"{i:05d}.txt").write_text(line.split("\t", 1)[0] + "\n", encoding="utf-8")
        tmp.rename(folder)
    return folder


if __name__ == "__main__":
    try:
        sys.exit(main())
    except StepFailed as exc:  # a step that cannot run (Annif not installed, a command that failed): say which
        print(f"{Path(sys.argv[0]).stem}: {exc}", file=sys.stderr)
        sys.exit(2)
