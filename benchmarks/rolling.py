"""Rolling-origin benchmark: train on the years up to Y, test on year Y + 1, for Fahras and Annif.

For each year Y (default 2009-2012) the shared Security Council resolutions
of 2005..Y are the training documents and those of Y + 1 the test documents,
the way a library uses a model: train on everything indexed so far, suggest
for what comes next.  Each test year holds 50-100 documents, so the table
reports every year and the mean and spread (population standard deviation,
and min-max) over the years.

Systems, side by side in the same run, scored by the same code
(:func:`fahras.evaluate.evaluate`) against the same gold URIs:

* **Fahras**: one row per ``--fahras`` configuration (default: the default
  model, what ``fahras train`` builds), trained in this process through
  :class:`fahras.Indexer` on the years up to Y.  Its tuned F1 is that of the
  decision rule it tuned by cross-validation inside its training data.  Next
  to it: the model's own cross-validated estimate (``Indexer.training_``:
  ``cv_ndcg@5``, ``cv_precision@1``, ``cv_f1``, what ``fahras train``
  prints) and the gap between that estimate and what it then gets on Y + 1.
* **Annif 1.4.3** (``--annif-backends``; the venv of
  ``benchmarks/harness/annif_runner.py``): every base backend is trained
  twice.  First on the years up to Y - 1, and scored on year Y: that
  validation year chooses the ensemble's three sources (best nDCG@5), weighs
  them (``annif hyperopt``) and tunes every project's limit and threshold
  (``annif optimize``).  Then on the years up to Y (all the data Fahras sees),
  and ranks the test year; the rule tuned on Y is applied unchanged.  "Annif
  best" is, per year and metric, the best of Annif's rows (a flattering
  oracle choice).  Annif's rankings and rules are cached per year under
  ``<work>/rolling/cache``, keyed by the documents (ids, texts, gold) and
  the Annif configuration, so a rerun for a Fahras-only change takes the
  Fahras time alone.
* **Composed headings never seen in training**: for every system, how many
  of its suggestions at ranks 1..5 are subjects no training document has,
  and how many of those are right.
* **Sampling noise**: the bootstrap standard error of each test year's
  nDCG@5 (its documents resampled 2,000 times), beside the figure.
* **Forward-chaining estimate** (``--forward``): the year before the first
  is run as well, so that each configuration's result on year Y (trained
  on the years before Y) stands as its estimate for Y + 1 -- what
  ``Indexer(forward_estimate="auto")`` computes from the training data
  alone -- next to the cross-validated estimate and their mean, each with
  its gap per year.  The extra year is left out of the means.
* ``--from-json``: rewrite the report of an earlier run with Annif's rows
  from the cache as it is now (no training).

Results: ``benchmarks/results/rolling.json`` and ``rolling.md`` (or
``--results``), with the command, date and commit.  Run from the repository
root, e.g. ``nice -n 10 .venv/bin/python -m benchmarks.rolling``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import logging
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent

from benchmarks.harness import data as corpus_data  # noqa: E402
from benchmarks.harness.annif_runner import ALIASES, ANNIF_VERSION, BACKENDS, Annif, read_rankings  # noqa: E402
from benchmarks.harness.measure import StepFailed, elapsed, log  # noqa: E402
from benchmarks.harness.tuning import decide  # noqa: E402
from fahras.evaluate import bootstrap_se, evaluate, ndcg_at  # noqa: E402

DEFAULT_YEARS = (2009, 2012)
DEFAULT_ANNIF = "tfidf,mllm,omikuji,ensemble"
METRICS = (("nDCG@5", "ndcg@5"), ("P@1", "precision@1"), ("tuned F1", "f1"), ("LRAP", "lrap"))
HEADLINE = ("ndcg@5", "precision@1", "f1")
N_SOURCES = 3
RANKS = 5
CACHE_VERSION = 1


# ---------------------------------------------------------------------------- arguments
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.rolling",
        description="Rolling-origin benchmark of Fahras against Annif on the UNSC resolutions: for each year Y, "
                    "train on the years up to Y and test on Y+1. Results go to benchmarks/results/rolling.md "
                    "and .json.")
    parser.add_argument("--years", default=f"{DEFAULT_YEARS[0]}-{DEFAULT_YEARS[1]}", metavar="FIRST-LAST",
                        help="the last training years Y, each tested on Y+1 (default: %(default)s)")
    parser.add_argument("--data", type=Path, default=None,
                        help="shared data folder holding unsc-resolutions/ and unbis/ (default: ../shared/data)")
    parser.add_argument("--annif-backends", default=DEFAULT_ANNIF, metavar="LIST",
                        help="comma-separated Annif backends (default: %(default)s; 'omikuji' = Parabel and "
                             "Bonsai; nn_ensemble is not supported here)")
    parser.add_argument("--annif-hyperopt-trials", type=int, default=20, metavar="N",
                        help="weigh the Annif ensemble's sources with 'annif hyperopt --trials N' on the "
                             "validation year (0: equal weights; default: %(default)s)")
    parser.add_argument("--skip-annif", action="store_true",
                        help="Fahras rows only (Annif's cached results are still shown when present)")
    parser.add_argument("--no-annif-cache", action="store_true", help="recompute Annif's results")
    parser.add_argument("--fahras", action="append", default=[], metavar="LABEL=JSON",
                        help="a Fahras configuration, as Indexer keyword arguments in JSON, e.g. "
                             "'grouped={\"folds\": \"grouped\"}' (repeatable; default: one row 'Fahras' with "
                             "the defaults of 'fahras train')")
    parser.add_argument("--skip-fahras", action="store_true", help="Annif rows only")
    parser.add_argument("--work", type=Path, default=None,
                        help="scratch folder (default: benchmarks/.work; Annif's venv is <work>/annif-venv)")
    parser.add_argument("--results", type=Path, default=None,
                        help="folder for rolling.json and rolling.md (default: benchmarks/results)")
    parser.add_argument("--cv5", action="store_true",
                        help="instead of the years, the 5 folds of vs_annif.py's cv5 split (train = its train + "
                             "validate parts, test = the fold), Fahras rows only: the 5-fold figure, to judge a "
                             "change by both (results: <name>-cv5.md/.json)")
    parser.add_argument("--name", default="rolling", help="file name stem of the results (default: %(default)s)")
    parser.add_argument("--forward", action="store_true",
                        help="also run the year before the first (train <= FIRST-1, test FIRST), so every reported "
                             "year has a forward-chaining estimate: the same configuration trained on the years "
                             "before its last training year and tested on that year (left out of the means)")
    parser.add_argument("--from-json", type=Path, default=None, metavar="PATH",
                        help="no training: rewrite the report from the Fahras rows of an earlier run's JSON, with "
                             "Annif's rows from the cache as it is now (e.g. after Annif's years were filled in)")
    args = parser.parse_args(argv)
    first, _, last = args.years.partition("-")
    try:
        args.year_list = list(range(int(first), int(last or first) + 1))
    except ValueError:
        parser.error(f"--years {args.years!r}: expected FIRST-LAST, e.g. 2009-2012")
    if not args.year_list:
        parser.error(f"--years {args.years!r}: no years")
    args.data = (args.data or REPO.parent / "shared" / "data").resolve()
    args.work = (args.work or REPO / "benchmarks" / ".work").resolve()
    args.results = (args.results or REPO / "benchmarks" / "results").resolve()
    backends: list[str] = []
    for name in (b.strip() for b in args.annif_backends.split(",") if b.strip()):
        for backend in ALIASES.get(name, [name]):
            if backend not in BACKENDS or BACKENDS[backend].kind == "nn_ensemble":
                parser.error(f"unknown or unsupported Annif backend {backend!r}")
            if backend not in backends:
                backends.append(backend)
    args.backends = sorted(backends, key=list(BACKENDS).index)
    args.configs = []
    if args.from_json is not None and not args.from_json.exists():
        parser.error(f"--from-json {args.from_json}: no such file")
    for item in args.fahras or ["Fahras={}"]:
        label, sep, text = item.partition("=")
        try:
            kwargs = json.loads(text) if sep else {}
        except json.JSONDecodeError as exc:
            parser.error(f"--fahras {item!r}: not JSON after '=': {exc}")
        if not isinstance(kwargs, dict):
            parser.error(f"--fahras {item!r}: expected a JSON object of Indexer arguments")
        args.configs.append((label if label.startswith("Fahras") else f"Fahras {label}", kwargs))
    return args


# ---------------------------------------------------------------------------- data
def year_parts(docs: list[corpus_data.Doc], year: int) -> dict[str, list[corpus_data.Doc]]:
    """The documents of one rolling step: ``train`` (<= Y), ``test`` (Y+1), and for Annif's tuning
    ``early`` (<= Y-1) and ``validate`` (Y)."""
    parts = {"train": [d for d in docs if d.year <= year], "test": [d for d in docs if d.year == year + 1],
             "early": [d for d in docs if d.year < year], "validate": [d for d in docs if d.year == year]}
    for name, members in parts.items():
        if not members:
            raise StepFailed(f"year {year}: no documents for part {name!r}")
    return parts


def fingerprint(parts: dict[str, list[corpus_data.Doc]], extra: dict) -> str:
    """A key for the documents of ``parts`` (ids, texts, gold) and a configuration."""
    h = hashlib.sha256(json.dumps(extra, sort_keys=True).encode())
    for name in sorted(parts):
        h.update(name.encode())
        for d in parts[name]:
            h.update(d.id.encode())
            h.update(hashlib.sha256(d.text.encode()).digest())
            h.update("|".join(sorted(d.gold)).encode())
    return h.hexdigest()[:20]


# ---------------------------------------------------------------------------- scoring
def score(rankings: list[list[str]], decided: list[set[str]] | None, gold: list[set[str]],
          seen: set[str], n_candidates: int) -> dict:
    """Metrics plus, for subjects no training document has, per rank 1..5: (suggested, right)."""
    metrics = evaluate(rankings, gold, decided, n_candidates=n_candidates)
    unseen = [[0, 0] for _ in range(RANKS)]
    for ranking, truth in zip(rankings, gold):
        for r, uri in enumerate(ranking[:RANKS]):
            if uri not in seen:
                unseen[r][0] += 1
                unseen[r][1] += uri in truth
    metrics["unseen_at_rank"] = unseen
    metrics["gold_unseen"] = sum(len(t - seen) for t in gold)
    per_doc = [ndcg_at(list(r), t, 5) for r, t in zip(rankings, gold) if t]
    metrics["ndcg@5_per_doc"] = [round(v, 4) for v in per_doc]
    metrics["ndcg@5_se"] = bootstrap_se(per_doc)
    return metrics


# ---------------------------------------------------------------------------- Fahras
def run_fahras(label: str, kwargs: dict, year: int, parts: dict, vocab_path: Path) -> dict:
    from fahras import Indexer, load_vocabulary
    from fahras.corpus.unexport import read_export_file

    vocab = load_vocabulary(vocab_path)
    train = [read_export_file(d.path) for d in parts["train"]]
    started = time.perf_counter()
    indexer = Indexer(**kwargs).fit(train, vocab)
    train_s = time.perf_counter() - started
    test = parts["test"]
    matrix = indexer.scores([read_export_file(d.path).text for d in test])
    uris = indexer.subjects_.uris
    rankings, decided = [], []
    for row in matrix:
        order = np.argsort(-row, kind="stable")[:100]
        rankings.append([uris[j] for j in order])
        decided.append({uris[j] for j in indexer.rule_.apply(row)})
    seen = {u for d in parts["train"] for u in d.gold}
    metrics = score(rankings, decided, [d.gold for d in test], seen, len(uris))
    t = indexer.training_
    estimate = {"ndcg@5": t.get("cv_ndcg@5"), "precision@1": t.get("cv_precision@1"), "f1": t.get("cv_f1")}
    return {"system": label, "metrics": metrics, "cv_estimate": estimate, "train_s": round(train_s, 1),
            "decision_rule": indexer.rule_.to_dict(), "subjects": len(uris),
            "params": {"backend": indexer.backend, "backend_params": indexer.backend_params,
                       **{k: v for k, v in kwargs.items() if k not in ("backend", "backend_params")}},
            "training": {k: v for k, v in t.items() if isinstance(v, (int, float, str)) or v is None}}


# ---------------------------------------------------------------------------- Annif
class AnnifRolling:
    """Annif projects for the rolling steps, in their own configuration folder under ``<work>/rolling``."""

    def __init__(self, args: argparse.Namespace, vocab_file: Path):
        self.args = args
        self.annif = Annif(args.work)
        self.annif.home = args.work / "rolling" / "annif"
        self.root = args.work / "rolling"
        self.vocab_file = vocab_file
        self.ready = False

    def start(self) -> None:
        if self.ready:
            return
        version = self.annif.installed_version()
        if version != ANNIF_VERSION:
            raise StepFailed(f"Annif {ANNIF_VERSION} is not installed in {self.annif.venv} (found {version}); "
                             "run benchmarks/vs_annif.py once or link the venv there")
        self.annif._write_punkt_stub()
        log("annif load-vocab")
        self.annif.load_vocab(self.vocab_file)
        self.ready = True

    def cache_key(self, year: int, parts: dict, backend: str, sources: list[str] | None = None) -> str:
        config = {"version": CACHE_VERSION, "annif": ANNIF_VERSION, "year": year, "backend": backend,
                  "settings": BACKENDS[backend].settings, "sources": sources,
                  "hyperopt": self.args.annif_hyperopt_trials if sources else None,
                  "vocab": hashlib.sha256(self.vocab_file.read_bytes()).hexdigest()[:16]}
        return fingerprint(parts, config)

    def _cached(self, year: int, parts: dict, backend: str, compute, sources: list[str] | None = None) -> dict:
        """One backend's result for one year, from the cache or computed (and then cached)."""
        path = self.root / "cache" / f"annif-{year}-{backend}-{self.cache_key(year, parts, backend, sources)}.json"
        if path.exists() and not self.args.no_annif_cache:
            return json.loads(path.read_text(encoding="utf-8"))
        if self.args.skip_annif:
            return {"failed": "not cached and --skip-annif given"}
        self.start()
        try:
            result = compute()
        except StepFailed as exc:
            log(f"{year}: Annif {backend} failed: {exc}")
            return {"failed": str(exc)}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(result), encoding="utf-8")
        tmp.replace(path)
        return result

    def year(self, year: int, parts: dict) -> dict:
        """``{backend: {"test": rankings, "rule": (limit, threshold), "validation_ndcg@5": x, ...}}``, each
        backend cached on its own (an ensemble's key names its sources)."""
        tune_run, full_run = f"r{year}v", f"r{year}"
        dirs: dict[str, Path] = {}

        def folders() -> dict[str, Path]:
            if not dirs:
                dirs.update({name: corpus_data.write_annif_folder(docs, self.root / "corpora" / str(year) / name)
                             for name, docs in parts.items()})
            return dirs

        out: dict[str, dict] = {}
        for backend in (b for b in self.args.backends if not BACKENDS[b].combines):
            out[backend] = self._cached(year, parts, backend, lambda b=backend: self._base(
                b, tune_run, full_run, folders(), parts))
        ok = {b: r for b, r in out.items() if "failed" not in r}
        sources = sorted(ok, key=lambda b: -ok[b]["validation_ndcg@5"])[:N_SOURCES]
        for backend in (b for b in self.args.backends if BACKENDS[b].combines):
            if len(sources) < 2:
                out[backend] = {"failed": f"needs two working base backends, has {sources}"}
                continue
            out[backend] = self._cached(year, parts, backend, lambda b=backend: self._ensemble(
                b, sources, tune_run, full_run, folders(), parts), sources=sources)
        return {b: r for b, r in out.items() if not (self.args.skip_annif and "failed" in r)}

    def _base(self, backend: str, tune_run: str, full_run: str, dirs: dict, parts: dict) -> dict:
        a = self.annif
        started = time.perf_counter()
        tune = a.add_project(backend, tune_run, {})
        log(f"annif train {tune} on {len(parts['early'])} docs")
        a.train(tune, dirs["early"])
        a.index(tune, dirs["validate"])
        val = read_rankings(dirs["validate"], [d.id for d in parts["validate"]])
        seen_early = {u for d in parts["early"] for u in d.gold}
        val_metrics = evaluate([[u for u, _ in r] for r in val], [d.gold for d in parts["validate"]],
                               n_candidates=len(seen_early))
        limit, threshold, _, _ = a.optimize(tune, dirs["validate"])
        full = a.add_project(backend, full_run, {})
        log(f"annif train {full} on {len(parts['train'])} docs")
        a.train(full, dirs["train"])
        a.index(full, dirs["test"])
        test = read_rankings(dirs["test"], [d.id for d in parts["test"]])
        return {"test": test, "rule": [limit, threshold], "validation_ndcg@5": val_metrics["ndcg@5"],
                "seconds": round(time.perf_counter() - started, 1)}

    def _ensemble(self, backend: str, sources: list[str], tune_run: str, full_run: str, dirs: dict,
                  parts: dict) -> dict:
        a = self.annif
        started = time.perf_counter()
        weights = None
        for source in sources:  # their trained models are in Annif's data folder (this run's or a cached run's)
            a.add_project(source, tune_run, {})
            a.add_project(source, full_run, {})
        tune = a.add_project(backend, tune_run, {}, sources)
        if self.args.annif_hyperopt_trials > 0:
            log(f"annif hyperopt {tune} ({self.args.annif_hyperopt_trials} trials)")
            found, _, _ = a.hyperopt(tune, dirs["validate"], self.args.annif_hyperopt_trials)
            weights = {b: found.get(f"{b}-{tune_run}", 1.0) for b in sources}
            tune = a.add_project(backend, tune_run, {}, sources, {f"{b}-{tune_run}": w for b, w in weights.items()})
        limit, threshold, _, _ = a.optimize(tune, dirs["validate"])
        full = a.add_project(backend, full_run, {}, sources,
                             {f"{b}-{full_run}": w for b, w in weights.items()} if weights else None)
        a.index(full, dirs["test"])
        test = read_rankings(dirs["test"], [d.id for d in parts["test"]])
        return {"test": test, "rule": [limit, threshold], "sources": sources, "weights": weights,
                "seconds": round(time.perf_counter() - started, 1)}


def annif_rows(results: dict, parts: dict) -> list[dict]:
    rows = []
    gold = [d.gold for d in parts["test"]]
    seen = {u for d in parts["train"] for u in d.gold}
    for backend, r in results.items():
        if "failed" in r:
            rows.append({"system": BACKENDS[backend].label, "failed": r["failed"]})
            continue
        limit, threshold = r["rule"]
        decided = [decide([tuple(x) for x in ranking], limit, threshold) for ranking in r["test"]]
        metrics = score([[u for u, _ in ranking] for ranking in r["test"]], decided, gold, seen, len(seen))
        row = {"system": BACKENDS[backend].label, "metrics": metrics,
               "decision_rule": {"limit": limit, "threshold": threshold, "tuned_on": "validation year"},
               "seconds": r.get("seconds")}
        for key in ("sources", "weights", "validation_ndcg@5"):
            if r.get(key) is not None:
                row[key] = r[key]
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------- report
def spread(values: list[float]) -> dict:
    return {"mean": round(statistics.fmean(values), 4), "std": round(statistics.pstdev(values), 4),
            "min": round(min(values), 4), "max": round(max(values), 4)}


def summarise(per_year: dict[int, list[dict]], years: list[int] | None = None) -> dict:
    """Per system: mean/std/min/max of every headline metric over the years it completed (of ``years``,
    default all); 'Annif best'.  With the year before a reported year also run, the forward-chaining
    estimate (``forward_gap_*``): the configuration's result on year Y (trained <= Y-1) as the estimate of
    its result on Y+1 (trained <= Y), and the mean of it and the CV estimate (``mixed_gap_*``)."""
    every = per_year
    per_year = {y: rows for y, rows in per_year.items() if years is None or y in years}
    systems: dict[str, dict[int, dict]] = {}
    for year, rows in per_year.items():
        annif = [r for r in rows if r["system"].startswith("Annif") and "metrics" in r]
        for r in rows:
            if "metrics" in r:
                systems.setdefault(r["system"], {})[year] = r
        if annif:
            best = {key: max(r["metrics"][key] for r in annif) for _, key in METRICS}
            which = {key: max(annif, key=lambda r: r["metrics"][key])["system"] for _, key in METRICS}
            systems.setdefault("Annif best", {})[year] = {"system": "Annif best", "metrics": best, "which": which}
    summary = {}
    for name, years in systems.items():
        entry = {"years": sorted(years)}
        for _, key in METRICS:
            entry[key] = spread([years[y]["metrics"][key] for y in sorted(years)])
        estimates = [years[y].get("cv_estimate") for y in sorted(years)]
        if all(estimates):
            for _, key in METRICS[:3]:
                gaps = [e[key] - years[y]["metrics"][key] for e, y in zip(estimates, sorted(years))
                        if e.get(key) is not None]
                if gaps:
                    entry[f"cv_gap_{key}"] = spread(gaps)
        forward = {y: forward_estimate(every, name, y) for y in sorted(years)}
        if any(forward.values()):
            entry["forward_estimate"] = {str(y): f for y, f in forward.items() if f}
            for _, key in METRICS[:3]:
                gaps = [forward[y][key] - years[y]["metrics"][key] for y in sorted(years) if forward[y]]
                entry[f"forward_gap_{key}"] = spread(gaps)
                mixed = [(forward[y][key] + years[y]["cv_estimate"][key]) / 2 - years[y]["metrics"][key]
                         for y in sorted(years) if forward[y] and (years[y].get("cv_estimate") or {}).get(key)
                         is not None]
                if mixed:
                    entry[f"mixed_gap_{key}"] = spread(mixed)
        ses = [years[y]["metrics"].get("ndcg@5_se") for y in sorted(years)]
        if all(se is not None for se in ses):
            entry["ndcg@5_se"] = spread(ses)
        unseen = [[0, 0] for _ in range(RANKS)]
        for y in years:
            for r, (n, right) in enumerate(years[y]["metrics"].get("unseen_at_rank", [])):
                unseen[r][0] += n
                unseen[r][1] += right
        entry["unseen_at_rank"] = unseen
        summary[name] = entry
    return summary


def forward_estimate(per_year: dict[int, list[dict]], system: str, year: int) -> dict | None:
    """The forward-chaining estimate of ``system``'s result on ``year`` + 1: its result on ``year`` when
    trained on the years before (the step ``year`` - 1 of the same run), or None."""
    if not system.startswith("Fahras"):
        return None
    row = next((r for r in per_year.get(year - 1, []) if r["system"] == system and "metrics" in r), None)
    return {key: row["metrics"][key] for _, key in METRICS[:3]} if row else None


def fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def markdown(header: dict, per_year: dict[int, list[dict]], summary: dict, sizes: dict,
             reported: list[int] | None = None) -> str:
    reported = sorted(per_year) if reported is None else reported
    lines = [f"# Rolling-origin benchmark: train on years <= Y, test on Y+1 ({header['date']})", "",
             f"Command: `{header['command']}`  ", f"Commit: `{header['commit']}`  ",
             f"Machine: {header['machine']} (shared with other jobs; run under `nice -n 10`)", "",
             ("Test folds: " if header.get("cv5") else "Test years: ")
             + ", ".join(f"{y if header.get('cv5') else y + 1}: {sizes[y]['test']} docs (trained on {sizes[y]['train']})"
                         for y in sorted(sizes)), "",
             "## Mean and spread over the years", "",
             "| system | " + " | ".join(f"{h} mean ± std (min–max)" for h, _ in METRICS) + " |",
             "|---|" + "---|" * len(METRICS)]
    for name, entry in summary.items():
        cells = [f"{entry[k]['mean']:.3f} ± {entry[k]['std']:.3f} ({entry[k]['min']:.3f}–{entry[k]['max']:.3f})"
                 for _, k in METRICS]
        years = "" if len(entry["years"]) == len(reported) else f" ({len(entry['years'])} years)"
        lines.append(f"| {name}{years} | " + " | ".join(cells) + " |")
    lines += ["", "## Per year", ""]
    for year in sorted(per_year):
        title = f"fold {year} of cv5" if header.get("cv5") else f"train <= {year}, test {year + 1}"
        if year not in reported:
            title += " (run for the next year's forward-chaining estimate; not in the means)"
        lines += [f"### {title}", "",
                  "| system | nDCG@5 (± bootstrap SE) | P@1 | tuned F1 | LRAP | CV estimate nDCG@5 / P@1 / F1 | "
                  "forward estimate nDCG@5 / P@1 / F1 | notes |",
                  "|---|---|---|---|---|---|---|---|"]
        best = summary.get("Annif best")
        for r in per_year[year]:
            if "metrics" not in r:
                lines.append(f"| {r['system']} | failed | | | | | {r.get('failed', '')[:80]} |")
                continue
            m = r["metrics"]
            est = r.get("cv_estimate")
            est_text = " / ".join(fmt(est.get(k)) for k in HEADLINE) if est else ""
            fwd = forward_estimate(per_year, r["system"], year)
            fwd_text = " / ".join(fmt(fwd.get(k)) for k in HEADLINE) if fwd else ""
            se = m.get("ndcg@5_se")
            ndcg_text = f"{m['ndcg@5']:.3f}" + (f" ± {se:.3f}" if se is not None else "")
            note = ""
            if r.get("sources"):
                note = "sources: " + ", ".join(r["sources"])
            elif r.get("train_s") is not None:
                note = f"train {r['train_s']:.0f} s"
            lines.append(f"| {r['system']} | {ndcg_text} | {m['precision@1']:.3f} | {m['f1']:.3f} | "
                         f"{m['lrap']:.3f} | {est_text} | {fwd_text} | {note} |")
        if best is not None:
            row = next((r for r in per_year[year] if r["system"].startswith("Annif") and "metrics" in r), None)
            if row is not None:
                b = {k: max(r["metrics"][k] for r in per_year[year]
                            if r["system"].startswith("Annif") and "metrics" in r) for _, k in METRICS}
                lines.append(f"| **Annif best** | {b['ndcg@5']:.3f} | {b['precision@1']:.3f} | {b['f1']:.3f} | "
                             f"{b['lrap']:.3f} | | | best Annif row per metric |")
        lines.append("")
    lines += ["## Subjects no training document has (composed headings, zero-shot concepts)", "",
              "Suggestions at each rank that are subjects of no training document: right / suggested, "
              "summed over the test years.", "",
              "| system | " + " | ".join(f"rank {r + 1}" for r in range(RANKS)) + " |",
              "|---|" + "---|" * RANKS]
    for name, entry in summary.items():
        if name == "Annif best":
            continue
        lines.append(f"| {name} | " + " | ".join(f"{right}/{n}" for n, right in entry["unseen_at_rank"]) + " |")
    gold_unseen = {y: next((r["metrics"]["gold_unseen"] for r in per_year[y] if "metrics" in r), 0)
                   for y in reported}
    lines += ["", "Gold subjects of the test year that no training document has: "
              + ", ".join(f"{y + 1}: {n}" for y, n in sorted(gold_unseen.items())) + ".", ""]
    lines += unseen_per_year_lines(per_year, reported)
    fahras = [n for n in summary if n.startswith("Fahras") and any(k.startswith("cv_gap") for k in summary[n])]
    if fahras:
        lines += ["## Estimate minus next-year quality (Fahras)", "",
                  "CV: the model's own cross-validated estimate (what `fahras train` printed); forward: the "
                  "same configuration trained on the years before its last training year and tested on that "
                  "year; mixed: the mean of the two. Per year (gap = estimate - result), then mean (min–max); "
                  "bootstrap SE: the standard error of the test year's nDCG@5 over its documents.", "",
                  "| system | estimate | " + " | ".join(f"nDCG@5 gap {y if header.get('cv5') else y + 1}"
                                                        for y in reported)
                  + " | nDCG@5 gap mean (min–max) | P@1 gap | F1 gap |",
                  "|---|---|" + "---|" * (len(reported) + 3)]
        for name in fahras:
            e = summary[name]
            rows_by_year = {y: next((r for r in per_year[y] if r["system"] == name and "metrics" in r), None)
                            for y in reported}
            for kind in ("cv", "forward", "mixed"):
                if f"{kind}_gap_ndcg@5" not in e:
                    continue
                per = []
                for y in reported:
                    r = rows_by_year[y]
                    fwd = forward_estimate(per_year, name, y)
                    est = (r or {}).get("cv_estimate") or {}
                    value = None
                    if r is not None and kind == "cv" and est.get("ndcg@5") is not None:
                        value = est["ndcg@5"]
                    elif r is not None and kind == "forward" and fwd:
                        value = fwd["ndcg@5"]
                    elif r is not None and kind == "mixed" and fwd and est.get("ndcg@5") is not None:
                        value = (fwd["ndcg@5"] + est["ndcg@5"]) / 2
                    per.append("–" if value is None else f"{value - r['metrics']['ndcg@5']:+.3f}")
                cells = [f"{e[f'{kind}_gap_{k}']['mean']:+.3f} ({e[f'{kind}_gap_{k}']['min']:+.3f}–"
                         f"{e[f'{kind}_gap_{k}']['max']:+.3f})" if f"{kind}_gap_{k}" in e else "–" for k in HEADLINE]
                lines.append(f"| {name} | {kind} | " + " | ".join(per) + " | " + " | ".join(cells) + " |")
            if "ndcg@5_se" in e:
                ses = [f"{rows_by_year[y]['metrics'].get('ndcg@5_se') or 0:.3f}" if rows_by_year[y] else "–"
                       for y in reported]
                lines.append(f"| {name} | bootstrap SE of nDCG@5 | " + " | ".join(ses) + " | "
                             f"{e['ndcg@5_se']['mean']:.3f} ({e['ndcg@5_se']['min']:.3f}–{e['ndcg@5_se']['max']:.3f})"
                             " | | |")
        lines.append("")
    lines += ["## How it is run", "", *[f"- {n}" for n in header["notes"]], ""]
    return "\n".join(lines)


NOTES = [
    "Train on the resolutions of 2005..Y, test on those of Y+1; all metrics document-averaged by "
    "fahras.evaluate.evaluate for every system, against the same gold URIs (headings mapped to UNBIS concepts "
    "or urn:fahras:local: concepts as Fahras maps them).",
    "Fahras: trained in-process with fahras.Indexer (the defaults of `fahras train` unless the row says "
    "otherwise); tuned F1 is its own decision rule, tuned by cross-validation inside the training years. CV "
    "estimate: the model's own held-out nDCG@5, P@1 and F1 (Indexer.training_, printed by `fahras train`).",
    "Annif 1.4.3: base backends trained on 2005..Y-1 and scored on Y (the validation year) to choose the "
    "ensemble's 3 sources (by nDCG@5), weigh them (`annif hyperopt --metric NDCG@5`) and tune every project's "
    "limit/threshold (`annif optimize`); then retrained on 2005..Y and run on Y+1 with that rule. Rankings: "
    "`annif index --limit 100 --threshold 0`.",
    "'Annif best': per year and per metric, the best Annif row (chosen on the test year: flatters Annif).",
    "Spread: population standard deviation and min–max over the test years.",
    "LRAP: a gold subject missing from a ranking counts as ranked after every subject the model could suggest.",
]


def novel_head(training: dict | None) -> str:
    """How a Fahras model scored subjects no training document has, from its ``training_`` (#16): the full
    novel head or its fallback, with the held-out pairs of subjects new to their fold and the right ones."""
    training = training or {}
    pairs, right = training.get("novel_pairs"), training.get("novel_right")
    if pairs is None or right is None:
        return ""
    from fahras.models.ensemble import MIN_NOVEL_RIGHT

    sim, sim_right = training.get("novel_simulated"), training.get("novel_simulated_right")
    used = sim is not None and right < MIN_NOVEL_RIGHT  # (simulated pairs only where the real ones are too few)
    learned = right + (sim_right or 0) * used
    if training.get("novel_head") is False:  # (models trained before the key: the head was learned or a fallback)
        kind = "raw best base score, no novel head"
    else:
        kind = "full novel head" if learned >= MIN_NOVEL_RIGHT else "fallback head"
    simulated = ""
    if sim is not None:
        simulated = (f"; with {sim_right} right of {sim:,} simulated pairs (subjects hidden from their fold)" if used
                     else "; simulated pairs not needed")
    return f"{kind} ({right} right of {pairs:,} held-out pairs new to their fold{simulated})"


def unseen_per_year_lines(per_year: dict[int, list[dict]], reported: list[int]) -> list[str]:
    """Markdown: per test year and system, right / suggested subjects of no training document at ranks 1-5,
    the year's gold subjects no training document has, and (Fahras) how such subjects were scored."""
    lines = ["Per test year (right / suggested at each rank; for Fahras, how such subjects were scored):", "",
             "| test year | system | " + " | ".join(f"rank {r + 1}" for r in range(RANKS))
             + " | gold subjects no training document has | scored by |",
             "|---|---|" + "---|" * RANKS + "---|---|"]
    for year in reported:
        for r in per_year.get(year, []):
            m = r.get("metrics")
            if not m or "unseen_at_rank" not in m:
                continue
            lines.append(f"| {year + 1} | {r['system']} | "
                         + " | ".join(f"{right}/{n}" for n, right in m["unseen_at_rank"])
                         + f" | {m.get('gold_unseen', '')} | {novel_head(r.get('training'))} |")
    return lines + [""]


def git_commit() -> str:
    proc = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no", "src"],
                           capture_output=True, text=True).stdout.strip()
    return (proc.stdout.strip() or "unknown") + (" (with uncommitted changes in src/)" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    thesaurus = args.data / "unbis" / "all_topics.json"
    source = args.data / "unsc-resolutions" / "train"
    for path in (thesaurus, source):
        if not path.exists():
            print(f"rolling: error: data not found: {path} (set --data)", file=sys.stderr)
            return 1
    vocab = corpus_data.load_vocabulary(thesaurus)
    docs = corpus_data.read_documents(source, vocab)
    vocab_file = args.work / "rolling" / "vocab.csv"
    corpus_data.write_annif_vocabulary(vocab, docs, vocab_file)
    annif = AnnifRolling(args, vocab_file)
    per_year: dict[int, list[dict]] = {}
    sizes: dict[int, dict] = {}
    failures = []
    earlier = json.loads(args.from_json.read_text(encoding="utf-8")) if args.from_json is not None else None
    if earlier is not None:
        args.cv5 = bool(earlier.get("cv5"))
    reported = list(range(1, 6)) if args.cv5 else args.year_list
    steps = [reported[0] - 1] + reported if args.forward and not args.cv5 else reported
    folds = corpus_data.make_runs(docs, "cv5") if args.cv5 else None
    if args.cv5:
        args.skip_annif, args.name = True, f"{args.name}-cv5"
    if earlier is not None:  # the Fahras rows of an earlier run; Annif's from the cache as it is now
        args.skip_fahras, args.skip_annif = True, True
        steps = sorted(int(y) for y in earlier["per_year"])
        reported = [y for y in steps if y in set(earlier.get("reported", steps))]
    for year in steps:
        try:
            if folds is not None:
                fold_parts = folds[year - 1][1]
                parts = {"train": sorted(fold_parts["train"] + fold_parts["validate"], key=lambda d: d.path.name),
                         "test": fold_parts["test"]}
            else:
                parts = year_parts(docs, year)
        except StepFailed as exc:
            print(f"rolling: error: {exc}", file=sys.stderr)
            return 1
        sizes[year] = {"train": len(parts["train"]), "test": len(parts["test"])}
        log(f"=== train <= {year} ({len(parts['train'])} docs), test {year + 1} ({len(parts['test'])} docs)")
        rows: list[dict] = []
        if earlier is not None:
            rows += [r for r in earlier["per_year"][str(year)] if r["system"].startswith("Fahras")]
        if not args.skip_fahras:
            for label, kwargs in args.configs:
                log(f"{year}: {label} {json.dumps(kwargs)}")
                try:
                    rows.append(run_fahras(label, kwargs, year, parts, thesaurus))
                except Exception as exc:  # a failing configuration is reported, the others go on
                    log(f"{year}: {label} failed: {exc!r}")
                    rows.append({"system": label, "failed": repr(exc)})
                    failures.append(f"{label} [{year}]: {exc!r}")
                r = rows[-1]
                if "metrics" in r:
                    m, e = r["metrics"], r["cv_estimate"]
                    log(f"{year}: {label}: nDCG@5 {m['ndcg@5']:.3f} P@1 {m['precision@1']:.3f} F1 {m['f1']:.3f} "
                        f"(CV estimate {fmt(e['ndcg@5'])} / {fmt(e['precision@1'])} / {fmt(e['f1'])}); "
                        f"unseen at ranks 1-5 (right/suggested): "
                        + " ".join(f"{right}/{n}" for n, right in m["unseen_at_rank"]))
        try:
            if folds is None and year in reported:
                rows += annif_rows(annif.year(year, parts), parts)
        except (StepFailed, OSError) as exc:
            log(f"{year}: Annif failed: {exc}")
            failures.append(f"Annif [{year}]: {exc}")
        per_year[year] = rows
    summary = summarise(per_year, reported)
    from benchmarks.vs_annif import machine_summary

    header = {"command": shlex.join(getattr(sys, "orig_argv", sys.argv)),
              "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "commit": git_commit(), "machine": machine_summary(), "cv5": bool(args.cv5), "annif_version": ANNIF_VERSION,
              "run_seconds": round(elapsed(), 1), "notes": NOTES + [f"FAILED: {f}" for f in failures]}
    if earlier is not None:  # the Fahras figures are the earlier run's: its command, commit, date and machine
        header = {**header, **{k: earlier[k] for k in ("command", "date", "commit", "machine", "run_seconds")
                               if k in earlier},
                  "notes": earlier.get("notes", NOTES) + [
                      f"Report rewritten {header['date']} by `{header['command']}` (commit {header['commit']}): "
                      "Fahras rows from that run, Annif rows from the Annif cache as it was then."]}
    args.results.mkdir(parents=True, exist_ok=True)
    out = {**header, "sizes": sizes, "reported": reported, "summary": summary,
           "per_year": {str(y): [{k: v for k, v in r.items()} for r in rows] for y, rows in per_year.items()}}
    json_path = args.results / f"{args.name}.json"
    md_path = args.results / f"{args.name}.md"
    json_path.write_text(json.dumps(out, indent=1, default=float) + "\n", encoding="utf-8")
    text = markdown(header, per_year, summary, sizes, reported)
    md_path.write_text(text, encoding="utf-8")
    print(text)
    log(f"wrote {md_path} and {json_path}")
    return 2 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("rolling: interrupted", file=sys.stderr)
        sys.exit(130)
