"""Fahras against Annif 1.4.3 at library scale: ``python -m benchmarks.scale``.

The corpus is ``../shared/data/yso-finna-en`` (671,068 English titles for
training, 10,000 for testing, 27,754 YSO subjects, Annif's short-text TSV).
For each training size (the first N lines of ``train.tsv.gz``) and each
system, one *measurement* is:

- training: wall clock seconds, CPU seconds and the peak RSS of the whole
  process tree (the sum over the process and all its descendants, sampled
  from ``/proc`` every 0.2 s: worker processes count), model size on disk;
- cold load: a new process suggests for one short text (load + one document);
- evaluation of the 10,000 test documents in one batch process: nDCG@5, the
  batch's documents per second (test documents over the evaluation's wall
  clock time minus the cold-load time) and its peak RSS (the scoring memory);
- tuned F1: Fahras's decision rule chosen while training (cross-validation),
  Annif's limit and threshold from ``annif optimize`` on the test documents
  themselves (an oracle: it flatters Annif).

Each finished measurement is written to ``<work>/results/<system>-<n>.json``;
a rerun skips it, so an interrupted run resumes where it stopped.  Systems:
``fahras`` (the default ensemble, or ``--fahras-params``), ``fahras-BACKEND``
(one backend), ``annif-omikuji-parabel``, ``annif-omikuji-bonsai``,
``annif-tfidf`` and ``annif-ensemble`` (the three combined with equal weights;
it trains nothing, so its training cost is theirs summed).  ``--long`` measures
batch throughput on long documents (the shared resolutions repeated to
50,000 documents) for the models of the smallest size.

``--report`` writes the table (Markdown, to stdout and
``<work>/scale-table.md``) and the growth plot (``docs/scale-growth.png``,
needs matplotlib: ``pip install -e '.[bench]'``) from the cached results.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness.annif_runner import ANNIF_VERSION, Annif, project_id
from benchmarks.harness.measure import StepFailed

REPO = Path(__file__).resolve().parent.parent
DATA = (REPO / ".." / "shared" / "data" / "yso-finna-en").resolve()
RESOLUTIONS = (REPO / ".." / "shared" / "data" / "unsc-resolutions" / "train").resolve()
DEFAULT_SIZES = (50_000, 100_000, 200_000, 400_000, 671_068)
ANNIF_SYSTEMS = ("annif-omikuji-bonsai", "annif-omikuji-parabel", "annif-tfidf")
PROBE = "Public libraries and reading habits of children in Finland"
LONG_DOCS = 50_000


def log(message: str) -> None:
    print(f"[scale {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def niced(level: int = 10) -> list[str]:
    """The ``nice`` prefix that runs a measured command at niceness ``level``: none if this process already
    runs at ``level`` or more (the documented ``nice -n 10 python -m benchmarks.scale`` would otherwise run
    the systems at 19, starved by every other job of a shared machine)."""
    now = os.nice(0)
    return ["nice", "-n", str(level - now)] if now < level else []


# -- measuring a process tree ----------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    kids = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                kids += [int(k) for k in handle.read().split()]
    except OSError:
        pass
    return kids


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_sum_kb(pid: int, per_process) -> int:
    """``per_process(p)`` (kB) summed over ``pid`` and all its descendants, each process once."""
    total, todo, seen = 0, [pid], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        total += per_process(current)
        todo += _children(current)
    return total


def json_params(items: list[str]) -> dict:
    """``KEY=VALUE`` items as a dict, each value read as JSON where it is JSON, else kept as a string."""
    params = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return params


def tree_rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants, in kB."""
    return tree_sum_kb(pid, _rss_kb)


@dataclass
class Run:
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    stdout: str
    returncode: int


def run_tree(command: list[str], *, env: dict | None = None, cwd: Path | None = None, log_file: Path,
             stdin_text: str | None = None, check: bool = True) -> Run:
    """Run ``command``, sampling its whole process tree's RSS every 0.2 s; stderr goes to ``log_file``."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    before = os.times()
    start = time.perf_counter()
    with open(log_file, "w", encoding="utf-8") as err:
        err.write(f"$ {' '.join(command)}\n")
        err.flush()
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=err,
                                stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
                                text=True)
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], tree_rss_kb(proc.pid))
                done.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            stdout, _ = proc.communicate(stdin_text)
        except BaseException:
            proc.send_signal(signal.SIGTERM)
            raise
        finally:
            done.set()
            sampler.join()
    seconds = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    run = Run(seconds, cpu, peak[0] / 1024, stdout, proc.returncode)
    if check and proc.returncode != 0:
        tail = log_file.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-6:]
        raise StepFailed(f"{command[0]} {command[1] if len(command) > 1 else ''} failed "
                         f"(exit {proc.returncode}, log {log_file}):\n" + "\n".join(tail))
    return run


def du_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


# -- data ----------------------------------------------------------------------------------------
def subset(work: Path, n: int) -> Path:
    """The first ``n`` documents of the training corpus (written once)."""
    out = work / "data" / f"train-{n}.tsv.gz"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with gzip.open(DATA / "train.tsv.gz", "rt", encoding="utf-8") as src, \
            gzip.open(tmp, "wt", encoding="utf-8", compresslevel=1) as dst:
        for count, line in enumerate(src):
            if count >= n:
                break
            dst.write(line)
    tmp.replace(out)
    return out


def long_corpus(work: Path) -> Path:
    """The shared resolutions (their text only), repeated to :data:`LONG_DOCS` lines of a TSV corpus."""
    out = work / "data" / f"long-{LONG_DOCS}.tsv"
    if out.exists():
        return out
    texts = []
    for path in sorted(RESOLUTIONS.glob("*.txt")):
        lines = path.read_text(encoding="utf-8").splitlines()
        texts.append(" ".join(" ".join(lines[2:]).replace("\t", " ").split()))
    tmp = out.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as dst:
        for i in range(LONG_DOCS):
            dst.write(texts[i % len(texts)] + "\t<http://www.yso.fi/onto/yso/p1>\n")
    tmp.replace(out)
    return out


# -- Annif -----------------------------------------------------------------------------------------
class AnnifScale:
    def __init__(self, work: Path, home: str = "annif-scale"):
        self.annif = Annif(work)  # the venv is <work>/annif-venv (a link to the shared one is fine)
        self.home = work / home
        self.annif.home = self.home
        self.sections: dict[str, str] = {}
        version = self.annif.installed_version()
        if version != ANNIF_VERSION:
            raise StepFailed(f"Annif {ANNIF_VERSION} is not installed in {self.annif.venv} (found {version})")
        self.annif._write_punkt_stub()

    def _config(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "projects.cfg").write_text("\n\n".join(self.sections.values()) + "\n", encoding="utf-8")

    def project(self, backend: str, n: int, sources: list[str] | None = None) -> str:
        from benchmarks.harness.annif_runner import BACKENDS

        pid = project_id(backend, str(n))
        spec = BACKENDS[backend]
        lines = [f"[{pid}]", f"name={spec.label} {n}", "language=en", "vocab=yso"]
        for key, value in spec.settings.items():
            if key == "sources":
                value = ",".join(project_id(s, str(n)) for s in sources or [])
            lines.append(f"{key}={value}")
        self.sections[pid] = "\n".join(lines)
        self._config()
        return pid

    def call(self, args: list[str], log_name: str, stdin_text: str | None = None) -> Run:
        return run_tree([*niced(), str(self.annif.executable), *args], env=self.annif.env,
                        cwd=self.home, log_file=self.home / "logs" / f"{log_name}.log", stdin_text=stdin_text)

    def load_vocab(self) -> None:
        if (self.home / "data" / "vocabs" / "yso").exists():
            return
        self.sections.setdefault("holder", "[holder]\nname=holder\nlanguage=en\nbackend=dummy\nvocab=yso")
        self._config()
        log("annif load-vocab yso")
        self.call(["load-vocab", "--language", "en", "--force", "yso", str(DATA / "yso-en.tsv")], "load-vocab")

    def measure(self, system: str, n: int, train: Path, results: dict) -> dict:
        backend = system.removeprefix("annif-")
        self.load_vocab()
        out: dict = {"system": system, "n_docs": n}
        if backend == "ensemble":
            # the sources measured, whose models this Annif home holds (parallel runs use other homes)
            sources = [s.removeprefix("annif-") for s in ANNIF_SYSTEMS
                       if f"{s}-{n}" in results
                       and (self.home / "data" / "projects" / project_id(s.removeprefix("annif-"), str(n))).exists()]
            if len(sources) < 2:
                raise StepFailed("annif-ensemble needs at least two of its sources measured first in this Annif home")
            for s in sources:
                self.project(s, n)
            pid = self.project("ensemble", n, sources)
            out["sources"] = sources
            parts = [results[f"annif-{s}-{n}"] for s in sources]
            out["train_s"] = sum(p["train_s"] for p in parts)
            out["train_cpu_s"] = sum(p["train_cpu_s"] for p in parts)
            out["train_peak_rss_mb"] = max(p["train_peak_rss_mb"] for p in parts)
            out["model_mb"] = sum(p["model_mb"] for p in parts)
        else:
            pid = self.project(backend, n)
            log(f"annif train {pid} --jobs 2")
            run = self.call(["train", pid, str(train), "--jobs", "2"], f"train-{pid}")
            out.update(train_s=run.seconds, train_cpu_s=run.cpu_seconds, train_peak_rss_mb=run.peak_rss_mb,
                       model_mb=du_mb(self.home / "data" / "projects" / pid))
        return self.score(pid, out)

    def score(self, pid: str, out: dict) -> dict:
        cold = min((self.call(["suggest", pid, "--limit", "5"], f"suggest-{pid}", stdin_text=PROBE + "\n")
                    for _ in range(2)), key=lambda r: r.seconds)
        out["cold_load_s"] = cold.seconds
        folder, gold = test_folder(self.home.parent / "scale")
        log(f"annif index {pid} (10,000 test documents)")
        suffix = f".{pid}"
        ev = self.call(["index", pid, str(folder), "--limit", "20", "--threshold", "0", "--suffix", suffix,
                        "--force"], f"index-{pid}")
        rankings = [[uri for uri, _ in r] for r in read_rankings(folder, [f"{i:05d}" for i in range(len(gold))],
                                                                 suffix)]
        scores = [[score for _, score in r] for r in read_rankings(folder, [f"{i:05d}" for i in range(len(gold))],
                                                                   suffix)]
        out.update(ranking_metrics(rankings, scores, gold))
        out["tuned_by"] = "best limit and threshold on the test documents themselves (oracle, flatters Annif)"
        out["eval_s"] = ev.seconds
        out["docs_per_s"] = len(gold) / max(ev.seconds - cold.seconds, 1e-3)
        out["scoring_peak_rss_mb"] = ev.peak_rss_mb
        return out

    def long_throughput(self, backend: str, n: int, corpus: Path) -> dict:
        pid = self.project(backend, n)
        folder = long_folder(corpus)
        ev = self.call(["index", pid, str(folder), "--limit", "10", "--suffix", f".{pid}", "--force"],
                       f"long-{pid}")
        cold = self.call(["suggest", pid, "--limit", "5"], f"suggest-{pid}", stdin_text=PROBE + "\n")
        return {"docs": LONG_DOCS, "seconds": ev.seconds, "docs_per_s": LONG_DOCS / max(ev.seconds - cold.seconds,
                                                                                       1e-3),
                "peak_rss_mb": ev.peak_rss_mb}


def read_rankings(folder: Path, ids: list[str], suffix: str) -> list[list[tuple[str, float]]]:
    out = []
    for doc_id in ids:
        hits = []
        path = folder / f"{doc_id}{suffix}"
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                fields = line.split("\t")
                if len(fields) >= 3:
                    hits.append((fields[0].strip().strip("<>"), float(fields[-1])))
        hits.sort(key=lambda h: -h[1])
        out.append(hits)
    return out


def test_folder(work: Path) -> tuple[Path, list[set[str]]]:
    """The test documents as a folder of ``NNNNN.txt`` files (for ``annif index``) and their gold subjects."""
    folder = work / "data" / "test-docs"
    gold = []
    with gzip.open(DATA / "test.tsv.gz", "rt", encoding="utf-8") as src:
        lines = [ln.rstrip("\n").split("\t", 1) for ln in src if ln.strip()]
    if not (folder / f"{len(lines) - 1:05d}.txt").exists():
        folder.mkdir(parents=True, exist_ok=True)
        for i, (text, _) in enumerate(lines):
            (folder / f"{i:05d}.txt").write_text(text + "\n", encoding="utf-8")
    for _, subjects in lines:
        gold.append({s.strip("<>") for s in subjects.split()})
    return folder, gold


def long_folder(corpus: Path) -> Path:
    folder = corpus.parent / f"{corpus.stem}-docs"
    if not folder.exists():
        tmp = corpus.parent / "long-docs.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        with open(corpus, encoding="utf-8") as src:
            for i, line in enumerate(src):
                (tmp / f"{i:05d}.txt").write_text(line.split("\t", 1)[0] + "\n", encoding="utf-8")
        tmp.rename(folder)
    return folder


def ranking_metrics(rankings: list[list[str]], scores: list[list[float]], gold: list[set[str]]) -> dict:
    """nDCG@5 of the rankings and the best document-averaged F1 over limits 1-10 and score thresholds
    (Fahras's metric definitions, :mod:`fahras.evaluate`)."""
    from fahras.evaluate import f1_of_sets, ndcg_at

    ndcg = sum(ndcg_at(r, g, 5) for r, g in zip(rankings, gold)) / len(gold)
    best = (0.0, 0, 0.0)
    for limit in range(1, 11):
        for threshold in [0.0, 0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5,
                          0.6, 0.7, 0.8]:
            f1 = sum(f1_of_sets({u for u, s in zip(r[:limit], sc[:limit]) if s >= threshold}, g)
                     for r, sc, g in zip(rankings, scores, gold)) / len(gold)
            if f1 > best[0]:
                best = (f1, limit, threshold)
    return {"ndcg5": ndcg, "tuned_f1": best[0], "tuned_limit": best[1], "tuned_threshold": best[2]}


def _annif_metric(stdout: str, name: str) -> float | None:
    match = re.search(rf"^{re.escape(name)}:\s*([\d.]+)", stdout, re.M)
    return float(match.group(1)) if match else None


# -- Fahras ----------------------------------------------------------------------------------------
class FahrasScale:
    def __init__(self, work: Path):
        self.work = work
        script = Path(sys.executable).parent / "fahras"
        self.cli = [str(script)] if script.exists() else [sys.executable, "-m", "fahras"]

    def call(self, args: list[str], log_name: str, stdin_text: str | None = None) -> Run:
        return run_tree([*niced(), *self.cli, *args], cwd=REPO, stdin_text=stdin_text,
                        log_file=self.work / "fahras-logs" / f"{log_name}.log")

    def measure(self, system: str, n: int, train: Path, params: list[str], name: str | None = None,
                train_only: bool = False) -> dict:
        model = self.work / "models" / f"{name or system}-{n}"
        backend = system.removeprefix("fahras-") if system != "fahras" else None
        options = ["--backend", backend] if backend else []
        for p in params:
            options += ["--param", p]
        partial = self.work / "results" / f"{model.name}.train.partial"
        if model.exists() and partial.exists():  # trained by an interrupted run: only scoring is left
            out = json.loads(partial.read_text(encoding="utf-8"))
            log(f"fahras {system} {n}: trained before, scoring")
        else:
            log(f"fahras train {system} {n}")
            shutil.rmtree(model, ignore_errors=True)
            run = self.call(["train", "--lang", "en", *options, "--vocab", str(DATA / "yso-en.tsv"), "--out",
                             str(model), str(train)], f"train-{model.name}")
            out = {"system": system, "n_docs": n, "params": params, "train_s": run.seconds,
                   "train_cpu_s": run.cpu_seconds, "train_peak_rss_mb": run.peak_rss_mb, "model_mb": du_mb(model)}
            partial.write_text(json.dumps(out), encoding="utf-8")
        if train_only:
            out["scored"] = False
            return out
        cold = min((self.call(["suggest", str(model), "--lang", "en", "--limit", "5"], f"suggest-{system}-{n}",
                              stdin_text=PROBE + "\n") for _ in range(2)), key=lambda r: r.seconds)
        out["cold_load_s"] = cold.seconds
        log(f"fahras eval {system} {n}")
        ev = self.call(["eval", str(model), str(DATA / "test.tsv.gz"), "--json", "--quiet"], f"eval-{system}-{n}")
        metrics = _last_json(ev.stdout)
        out["metrics"] = metrics
        out["ndcg5"] = _pick(metrics, "ndcg@5", "ndcg5", "nDCG@5")
        out["tuned_f1"] = _pick(metrics, "f1", "F1")
        out["tuned_by"] = "the decision rule chosen while training (cross-validation)"
        out["eval_s"] = ev.seconds
        out["docs_per_s"] = 10_000 / max(ev.seconds - cold.seconds, 1e-3)
        out["scoring_peak_rss_mb"] = ev.peak_rss_mb
        return out

    def long_throughput(self, system: str, n: int, corpus: Path) -> dict:
        model = self.work / "models" / f"{system}-{n}"
        ev = self.call(["eval", str(model), str(corpus), "--json", "--quiet"], f"long-{system}-{n}")
        cold = self.call(["suggest", str(model), "--lang", "en", "--limit", "5"], f"suggest-{system}-{n}", stdin_text=PROBE + "\n")
        return {"docs": LONG_DOCS, "seconds": ev.seconds, "docs_per_s": LONG_DOCS / max(ev.seconds - cold.seconds,
                                                                                       1e-3),
                "peak_rss_mb": ev.peak_rss_mb}


def _last_json(stdout: str) -> dict:
    for line in reversed(stdout.strip().splitlines()):
        if line.strip().startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                break
    return json.loads(stdout)


def _pick(metrics: dict, *names: str):
    for source in (metrics, metrics.get("metrics", {}) if isinstance(metrics.get("metrics"), dict) else {}):
        for name in names:
            if name in source:
                return source[name]
    return None


# -- report ----------------------------------------------------------------------------------------
COLUMNS = [("system", "system", "{}"), ("n_docs", "train docs", "{:,}"), ("train_s", "train s", "{:.0f}"),
           ("train_cpu_s", "train CPU s", "{:.0f}"), ("train_peak_rss_mb", "train peak RSS MB", "{:.0f}"),
           ("model_mb", "model MB", "{:.1f}"), ("cold_load_s", "cold load s", "{:.2f}"),
           ("docs_per_s", "batch docs/s", "{:.0f}"), ("scoring_peak_rss_mb", "scoring RSS MB", "{:.0f}"),
           ("ndcg5", "nDCG@5", "{:.4f}"), ("tuned_f1", "tuned F1", "{:.4f}")]


def load_results(work: Path) -> dict[str, dict]:
    results = {}
    for path in sorted((work / "results").glob("*.json")):
        results[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    return results


def table(results: dict[str, dict]) -> str:
    rows = [r for r in results.values() if "n_docs" in r and "system" in r]
    rows.sort(key=lambda r: (r["n_docs"], r["system"]))
    lines = ["| " + " | ".join(c[1] for c in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        cells = []
        for key, _, fmt in COLUMNS:
            value = r.get(key)
            cells.append("n/a" if value is None else fmt.format(value))
        lines.append("| " + " | ".join(cells) + " |")
    long_rows = [r for r in results.values() if r.get("kind") == "long"]
    if long_rows:
        lines += ["", "| system (long documents) | model | docs | seconds | docs/s | peak RSS MB |",
                  "|---|---|---|---|---|---|"]
        for r in sorted(long_rows, key=lambda r: r["system"]):
            lines.append(f"| {r['system']} | {r['n_docs']:,} docs | {r['docs']:,} | {r['seconds']:.0f} | "
                         f"{r['docs_per_s']:.0f} | {r['peak_rss_mb']:.0f} |")
    return "\n".join(lines)


def plot(results: dict[str, dict], out: Path, systems: list[str] | None = None) -> None:
    """The growth plot (training time, CPU, peak RSS against training documents) of ``systems`` (default all)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: dict[str, list[dict]] = {}
    for r in results.values():
        if "n_docs" in r and "train_s" in r and r.get("kind") != "long" and (not systems or r["system"] in systems):
            series.setdefault(r["system"], []).append(r)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    panels = [("train_s", 60, "training wall clock (min)"), ("train_cpu_s", 60, "training CPU time (min)"),
              ("train_peak_rss_mb", 1024, "peak RSS of the process tree (GB)")]
    for system, rows in sorted(series.items()):
        rows.sort(key=lambda r: r["n_docs"])
        for ax, (key, scale_by, _) in zip(axes, panels):
            points = [(r["n_docs"] / 1000, r[key] / scale_by) for r in rows if r.get(key) is not None]
            if points:
                ax.plot(*zip(*points), marker="o", label=system)
    for ax, (_, _, label) in zip(axes, panels):
        ax.set(xlabel="training documents (thousands)", ylabel=label, title=label.split(" (")[0])
        ax.grid(alpha=0.3)
    axes[2].legend(fontsize=8)
    fig.suptitle("yso-finna-en on a shared 2-core machine (benchmarks/scale.py)", fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)


# -- main ------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)),
                        help="training sizes (first N documents of train.tsv.gz), comma-separated")
    parser.add_argument("--systems", default="fahras," + ",".join(ANNIF_SYSTEMS) + ",annif-ensemble",
                        help="systems to measure, comma-separated (fahras, fahras-BACKEND, annif-omikuji-bonsai, "
                             "annif-omikuji-parabel, annif-tfidf, annif-ensemble)")
    parser.add_argument("--fahras-params", action="append", default=[], metavar="KEY=VALUE",
                        help="a --param for fahras train (repeatable); part of the cached result's key")
    parser.add_argument("--tag", default="", help="suffix of the Fahras system name in the results (variants)")
    parser.add_argument("--long", action="store_true",
                        help="also batch throughput on 50,000 long documents (the resolutions repeated)")
    parser.add_argument("--long-docs", type=int, default=LONG_DOCS,
                        help="how many long documents --long scores (the first N of the 50,000)")
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / ".work",
                        help="work folder (annif-venv inside; results in <work>/scale/results)")
    parser.add_argument("--annif-home", default="annif-scale",
                        help="Annif's configuration and data folder inside --work (another one for a parallel run)")
    parser.add_argument("--train-only", action="store_true",
                        help="Fahras: measure training only (time, CPU, peak RSS, model size), no scoring; the "
                             "cached result has no quality or scoring figures (the growth curve needs none)")
    parser.add_argument("--report", action="store_true", help="only write the table and the plot from the cache")
    parser.add_argument("--plot-systems", default="",
                        help="systems (result names, e.g. fahras-growth,annif-omikuji-bonsai) the plot shows, "
                             "comma-separated (default: all)")
    parser.add_argument("--plot", type=Path, default=REPO / "docs" / "scale-growth.png", help="the plot's file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = (args.work / "scale").resolve()
    (work / "results").mkdir(parents=True, exist_ok=True)
    if args.report:
        results = load_results(work)
        text = table(results)
        print(text)
        (work / "scale-table.md").write_text(text + "\n", encoding="utf-8")
        try:
            plot(results, args.plot, [s for s in args.plot_systems.split(",") if s])
            log(f"plot written to {args.plot}")
        except ImportError:
            log("matplotlib is not installed: no plot (pip install -e '.[bench]')")
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s]
    systems = [s for s in args.systems.split(",") if s]
    annif = None
    fahras = FahrasScale(work)
    failures = 0
    for n in sizes:
        train = subset(work, n)
        for system in systems:
            name = system + (f"-{args.tag}" if args.tag and system.startswith("fahras") else "")
            key = f"{name}-{n}"
            target = work / "results" / f"{key}.json"
            if target.exists():
                log(f"{key}: cached")
                continue
            try:
                if system.startswith("annif-"):
                    annif = annif or AnnifScale(args.work.resolve(), args.annif_home)
                    out = annif.measure(system, n, train, load_results(work))
                else:
                    out = fahras.measure(system, n, train, args.fahras_params, name, args.train_only)
                    out["system"] = name
            except StepFailed as exc:
                log(f"{key} failed: {exc}")
                failures += 1
                continue
            out["commit"] = _commit()
            out["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            tmp = target.with_suffix(".tmp")
            tmp.write_text(json.dumps(out, indent=1), encoding="utf-8")
            tmp.replace(target)
            log(f"{key}: {json.dumps({k: out.get(k) for k in ('train_s', 'train_peak_rss_mb', 'ndcg5', 'tuned_f1')})}")
    if args.long:
        global LONG_DOCS
        corpus = long_corpus(work)
        LONG_DOCS = args.long_docs
        if args.long_docs < 50_000:
            corpus = _head(corpus, args.long_docs)
        n = sizes[0]
        for system in systems:
            if system == "annif-ensemble":
                continue
            name = system + (f"-{args.tag}" if args.tag and system.startswith("fahras") else "")
            target = work / "results" / f"long-{name}-{n}.json"
            if target.exists():
                continue
            try:
                if system.startswith("annif-"):
                    annif = annif or AnnifScale(args.work.resolve(), args.annif_home)
                    out = annif.long_throughput(system.removeprefix("annif-"), n, corpus)
                else:
                    out = fahras.long_throughput(name, n, corpus)
            except StepFailed as exc:
                log(f"long {name} failed: {exc}")
                failures += 1
                continue
            out.update(kind="long", system=name, n_docs=n, commit=_commit())
            target.write_text(json.dumps(out, indent=1), encoding="utf-8")
    return 1 if failures else 0


def _head(corpus: Path, n: int) -> Path:
    out = corpus.with_name(f"long-{n}.tsv")
    if not out.exists():
        with open(corpus, encoding="utf-8") as src, open(out, "w", encoding="utf-8") as dst:
            for i, line in enumerate(src):
                if i >= n:
                    break
                dst.write(line)
    return out


def _commit() -> str:
    proc = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    return proc.stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
