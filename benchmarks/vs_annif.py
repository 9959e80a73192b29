"""Fahras versus Annif, side by side, on the UN Security Council resolutions.

What it does
------------
1. Reads the 529 resolutions (2005-2013) and maps every subject heading to a
   concept exactly as Fahras does: the UNBIS concept whose label matches, or
   a stable local concept (``urn:fahras:local:...``) for the library's own
   headings.  These URIs are the gold standard for both tools.
2. Splits them (see ``harness/data.py``):

   - ``time``: train 2005-2011, test 2012-2013 (no validation part);
   - ``time3``: train 2005-2011, validate 2012, test 2013 (the issue's split);
   - ``cv5``: 5-fold cross-validation over all documents; in each fold a
     random 15% of the four training folds is the validation part.  The
     table reports the mean over the folds.

3. Annif (1.4.3, installed once in a virtual environment of its own, with
   the pip extras the requested backends need): every *base* backend
   (``tfidf``, ``svc``, ``mllm``, ``omikuji-parabel``, ``omikuji-bonsai``,
   ``fasttext``) is trained on the training part and ranks up to 100
   subjects per test document.  ``ensemble`` and ``nn_ensemble`` combine the
   three base backends with the best nDCG@5 on the validation part (never the
   test part); ``nn_ensemble`` is trained on the validation part.  Every
   project's limit and threshold come from ``annif optimize`` on the
   validation part and are applied unchanged to the test rankings for the
   "tuned F1" column; the ensemble's source weights come from ``annif
   hyperopt`` on the validation part (``--annif-hyperopt-trials``).
4. Fahras: one row per ``--fahras-backend``, trained through its command line
   (``fahras train --backend B ... TRAIN [VALIDATE]``) and scored with
   ``fahras eval``.  Fahras gets the validation part as extra training data,
   since Annif uses it too (optimize, ensemble choice, nn_ensemble); Fahras
   tunes its own decision rule by cross-validation inside that data.
5. Prints one table, the issue's accuracy target and a speed comparison under
   it, and writes them to ``benchmarks/results/<split>.md`` and ``.json``
   with the command line and date (with ``--write-docs``, also into
   ``docs/benchmarks.md``, between the split's marker comments).  A failing
   row (a backend that cannot be installed, crashes, ...) is reported and
   does not stop the others.

Why the scoring is fair
-----------------------
Both tools are scored by the same code, :func:`fahras.evaluate.evaluate`,
against the same gold URIs, on the same test documents: Annif's rankings are
read from its ``.annif`` output files and passed to that function; ``fahras
eval`` calls it internally.  Neither tool's decision rule sees the test
documents, except on ``time``, which has no validation part: there Annif's
rule is tuned on the test documents themselves (an oracle that flatters
Annif, marked "oracle") and its ensemble sources are chosen there too.

Run from the repository root with the project's virtual environment, e.g.
``.venv/bin/python -m benchmarks.vs_annif --split time3 --annif-backends all
--fahras-backend tfidf-linear --fahras-backend ensemble``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
from fahras.errors import FahrasError
from fahras.evaluate import evaluate
from benchmarks.harness import data as corpus_data
from benchmarks.harness.annif_runner import ALIASES, ANNIF_VERSION, BACKENDS, Annif, read_rankings
from benchmarks.harness.fahras_runner import Fahras
from benchmarks.harness.measure import Measurement, StepFailed, elapsed, log
from benchmarks.harness.report import (SystemResult, average, print_table, speed_lines, spread_lines, write_docs,
                            target_lines, write_results)
from benchmarks.harness.tuning import decide

ORACLE_MARK, VALIDATED_MARK, OWN_RULE_MARK = " (oracle)", " (val)", " (own rule)"
N_SOURCES = 3


# ---------------------------------------------------------------------------- arguments
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="vs_annif.py",
        description="Benchmark Fahras against Annif on the UNSC resolutions, with one scoring code "
                    "for both. Results go to benchmarks/results/<split>.md and .json.",
        epilog="Splits: time = train 2005-2011, test 2012-2013 (no validation part: Annif's rule is an "
               "oracle tuned on the test set); time3 = train 2005-2011, validate 2012, test 2013; cv5 = "
               "5-fold cross-validation, validation = random 15% of the training folds, mean over folds. "
               f"Annif backends: {', '.join(BACKENDS)}; 'omikuji' = both omikuji settings, 'all' = all.")
    parser.add_argument("--split", choices=corpus_data.SPLITS, default="time",
                        help="which split to run (default: time)")
    parser.add_argument("--data", type=Path, default=None,
                        help="shared data folder holding unsc-resolutions/ and unbis/ "
                             "(default: ../shared/data relative to the repository root)")
    parser.add_argument("--annif-backends", default="tfidf", metavar="LIST",
                        help="comma-separated Annif backends to run (default: tfidf)")
    parser.add_argument("--annif-param", action="append", default=[], metavar="BACKEND.KEY=VALUE",
                        help="override one projects.cfg setting of an Annif backend, e.g. "
                             "tfidf.limit=50 (repeatable)")
    parser.add_argument("--annif-hyperopt-trials", type=int, default=50, metavar="N",
                        help="weigh the Annif ensemble's sources with 'annif hyperopt --trials N --metric "
                             "NDCG@5' on the validation part (0: equal weights; default: 50)")
    parser.add_argument("--fahras-backend", action="append", default=[], metavar="NAME",
                        help="a Fahras backend to train (repeatable, or comma-separated), each one a row "
                             "'Fahras NAME'; see 'fahras backends' (default: Fahras's default backend)")
    parser.add_argument("--fahras-param", action="append", default=[], metavar="NAME.KEY=VALUE",
                        help="a parameter of Fahras backend NAME, passed as 'fahras train --param "
                             "KEY=VALUE' (repeatable)")
    parser.add_argument("--work", type=Path, default=None,
                        help="scratch folder for the Annif venv, corpora and models "
                             "(default: benchmarks/.work, git-ignored)")
    parser.add_argument("--results", type=Path, default=None,
                        help="where to write <split>.md and <split>.json (default: benchmarks/results)")
    parser.add_argument("--speed-rounds", type=int, default=3, metavar="N",
                        help="time the batch run and cold start of every Fahras row and of Annif's ensembles "
                             "N times, in rounds interleaved across them once all are trained, and report the "
                             "median docs/s (default: 3; Annif's base backends: once)")
    parser.add_argument("--speed-docs", type=int, default=1000, metavar="N",
                        help="repeat the test documents to a batch of at least N for the docs/s figures "
                             "(default: 1000: the batch then runs for seconds, not a fraction of the cold "
                             "start that is taken out of it)")
    parser.add_argument("--skip-fahras", action="store_true", help="run the Annif side only")
    parser.add_argument("--skip-annif", action="store_true", help="run the Fahras side only")
    parser.add_argument("--write-docs", action="store_true",
                        help="also put the table, with the command and date, into docs/benchmarks.md, "
                             "between the split's marker comments (replacing the previous run's)")
    parser.add_argument("--docs", type=Path, default=None,
                        help="the file --write-docs writes (default: docs/benchmarks.md)")
    args = parser.parse_args(argv)
    args.data = (args.data or REPO.parent / "shared" / "data").resolve()
    args.work = (args.work or REPO / "benchmarks" / ".work").resolve()
    args.results = (args.results or REPO / "benchmarks" / "results").resolve()
    args.docs = (args.docs or REPO / "docs" / "benchmarks.md").resolve()
    args.backends = _annif_backends(parser, args.annif_backends)
    args.overrides = _parse_overrides(parser, args.annif_param)
    args.fahras_backends = [b.strip() for item in args.fahras_backend for b in item.split(",") if b.strip()]
    args.fahras_params = _parse_fahras_params(parser, args.fahras_param, args.fahras_backends)
    return args


def _annif_backends(parser: argparse.ArgumentParser, text: str) -> list[str]:
    chosen: list[str] = []
    for name in (b.strip() for b in text.split(",") if b.strip()):
        for backend in ALIASES.get(name, [name]):
            if backend not in BACKENDS:
                parser.error(f"unknown Annif backend {backend!r} (known: {', '.join(BACKENDS)}, "
                             f"{', '.join(ALIASES)})")
            if backend not in chosen:
                chosen.append(backend)
    return sorted(chosen, key=list(BACKENDS).index)  # base backends first, then the ensembles


def _parse_overrides(parser: argparse.ArgumentParser, items: list[str]) -> dict[str, dict[str, str]]:
    overrides: dict[str, dict[str, str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        backend, dot, name = key.partition(".")
        if not sep or not dot or backend not in BACKENDS or not name:
            parser.error(f"--annif-param {item!r}: expected BACKEND.KEY=VALUE with a known backend")
        overrides.setdefault(backend, {})[name] = value
    return overrides


def _parse_fahras_params(parser: argparse.ArgumentParser, items: list[str],
                         backends: list[str]) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        backend, dot, name = key.partition(".")
        if not sep or not dot or not name:
            parser.error(f"--fahras-param {item!r}: expected NAME.KEY=VALUE")
        if backend not in backends:
            parser.error(f"--fahras-param {item!r}: {backend!r} is not among the --fahras-backend values "
                         f"({', '.join(backends) or 'none given'})")
        params.setdefault(backend, []).append(f"{name}={value}")
    return params


# ---------------------------------------------------------------------------- data
class RunData:
    """One run of a split (the split itself, or one cross-validation fold), on disk in both
    tools' input formats."""

    def __init__(self, name: str, parts: dict[str, list[corpus_data.Doc]], work: Path, speed_docs: int = 1000):
        self.name, self.parts = name, parts
        self.export_dirs = {part: corpus_data.link_export_folder(docs, work / "splits" / name / part)
                            for part, docs in parts.items()}
        self.annif_dirs = {part: corpus_data.write_annif_folder(docs, work / "annif" / "corpora" / name / part)
                           for part, docs in parts.items()}
        #: subjects a trained Annif model can rank: those of its training documents
        self.n_candidates = len({uri for d in parts["train"] for uri in d.gold})
        #: the test documents, repeated, as plain text: one folder per tool (each writes its
        #: output files beside or into it); throughput is measured on these batches
        self.speed_copies = corpus_data.speed_copies(len(parts["test"]), speed_docs)
        self.speed_docs = self.speed_copies * len(parts["test"])
        self.speed_dirs = {tool: corpus_data.write_speed_folder(parts["test"], work / "speed" / name / tool,
                                                                self.speed_copies)
                           for tool in ("annif", "fahras")}

    @property
    def has_validation(self) -> bool:
        return "validate" in self.parts

    def gold(self, part: str) -> list[set[str]]:
        return [d.gold for d in self.parts[part]]

    def ids(self, part: str) -> list[str]:
        return [d.id for d in self.parts[part]]

    def probe_text(self) -> str:
        return self.parts["test"][0].text[:1000]


class Prepared:
    """The split: its documents, runs and the Annif vocabulary file."""

    def __init__(self, args: argparse.Namespace):
        self.split = args.split
        self.thesaurus = args.data / "unbis" / "all_topics.json"
        source = args.data / "unsc-resolutions" / "train"
        for path in (self.thesaurus, source):
            if not path.exists():
                raise StepFailed(f"data not found: {path} (set --data to the shared data folder)")
        log(f"reading {source} and the thesaurus")
        vocab = corpus_data.load_vocabulary(self.thesaurus)
        self.all_docs = corpus_data.read_documents(source, vocab)
        self.runs = [RunData(name, parts, args.work, args.speed_docs)
                     for name, parts in corpus_data.make_runs(self.all_docs, args.split)]
        self.annif_vocab = args.work / "annif" / "vocab.csv"
        self.vocab_size = corpus_data.write_annif_vocabulary(vocab, self.all_docs, self.annif_vocab)
        headings = [c for d in self.all_docs for c in d.subjects]
        self.local_share = sum(c.local for c in headings) / len(headings)

    @property
    def test_docs(self) -> int:
        return sum(len(run.parts["test"]) for run in self.runs)

    def summary(self) -> str:
        if len(self.runs) == 1:
            pieces = []
            for name, docs in self.runs[0].parts.items():
                years = sorted({d.year for d in docs})
                span = f"{years[0]}" if len(years) == 1 else f"{years[0]}-{years[-1]}"
                pieces.append(f"{name} {len(docs)} docs ({span})")
            text = ", ".join(pieces)
        else:
            sizes = {part: sorted(len(run.parts[part]) for run in self.runs) for part in self.runs[0].parts}
            text = (f"{len(self.runs)}-fold cross-validation over {len(self.all_docs)} docs; per fold "
                    + ", ".join(f"{part} {s[0]}-{s[-1]} docs" for part, s in sizes.items()))
        return (text + f"; {self.vocab_size} subjects in the vocabulary, "
                f"{self.local_share:.0%} of headings are local (not UNBIS) concepts")


# ---------------------------------------------------------------------------- timing helpers
def throughput(docs: int, batch: Measurement, cold_start: Measurement | None) -> float | None:
    """Documents per second of a batch run, its cold start (process + model load) taken out."""
    busy = batch.seconds - (cold_start.seconds if cold_start else 0.0)
    return docs / busy if busy > 0 else None


def median_throughput(docs: int, pairs: list[tuple[Measurement, Measurement]]) -> tuple[float | None, list]:
    """The median docs/s over (batch run, cold start) pairs, and each pair's docs/s.

    On a shared machine one short run can land on a busy moment; the median
    of a few, each with its own cold start, is steadier.
    """
    rates = [throughput(docs, batch, cold) for batch, cold in pairs]
    known = sorted(r for r in rates if r is not None)
    return (statistics.median(known) if known else None), [round(r, 1) if r else r for r in rates]


class SpeedTrial:
    """A system's throughput, measured again in rounds interleaved with the other systems of its run.

    Each system's first (batch, cold start) pair runs right after its
    training (Annif's also gives the rankings that are scored); it is kept
    in the details but not counted.  Then :func:`interleaved_speed` runs
    round 1 of every system of the run, round 2 of every system, and so on,
    so that a busy moment of this shared machine falls on all of them alike.
    """

    def __init__(self, result: "SystemResult", measure):
        self.result, self.measure = result, measure  # measure(): one (batch, cold start) pair
        self.pairs: list[tuple[Measurement, Measurement]] = []


def interleaved_speed(trials: list[SpeedTrial], rounds: int, docs: int) -> None:
    """Measure every trial ``rounds`` times, round by round; set each system's docs/s to the median."""
    if not trials:
        return
    log(f"{rounds} interleaved throughput rounds of " + ", ".join(t.result.name for t in trials))
    for _ in range(rounds):
        for trial in trials:
            trial.pairs.append(trial.measure())
    for trial in trials:
        result = trial.result
        result.docs_per_s, result.details["docs_per_s_rounds"] = median_throughput(docs, trial.pairs)
        peaks = [v for v in (result.peak_rss_mb, peak(*(m for pair in trial.pairs for m in pair))) if v is not None]
        result.peak_rss_mb = max(peaks) if peaks else None


def peak(*runs: Measurement | None) -> float | None:
    values = [r.peak_rss_mb for r in runs if r is not None and r.peak_rss_mb is not None]
    return max(values) if values else None


class Failures:
    """Rows that could not be produced, with the reason; the run goes on without them."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.skipped: list[str] = []  # not applicable by design (not an error)

    def add(self, run: str, system: str, reason: str) -> None:
        log(f"{run}: {system} failed, skipped: {reason}")
        self.items.append(f"{system} [{run}]: {reason}")

    def skip(self, run: str, system: str, reason: str) -> None:
        log(f"{run}: {system} not run: {reason}")
        if f"{system}: {reason}" not in self.skipped:
            self.skipped.append(f"{system}: {reason}")


# ---------------------------------------------------------------------------- Annif
def start_annif(args: argparse.Namespace, prep: Prepared, steps: dict) -> tuple[Annif, dict[str, str]]:
    annif = Annif(args.work)
    started = time.perf_counter()
    unavailable = annif.install(args.backends, log)
    steps["annif install check"] = time.perf_counter() - started
    log(f"annif load-vocab ({prep.vocab_size} subjects)")
    steps["annif load-vocab"] = annif.load_vocab(prep.annif_vocab).seconds
    return annif, unavailable


def run_annif(annif: Annif, unavailable: dict[str, str], args: argparse.Namespace, run: RunData,
              steps: dict, failures: Failures, trials: list[SpeedTrial]) -> list[SystemResult]:
    results: dict[str, SystemResult] = {}
    selection: dict[str, float] = {}  # base backend -> nDCG@5 used to choose the ensemble sources
    for backend in (b for b in args.backends if not BACKENDS[b].combines):
        if backend in unavailable:
            failures.add(run.name, BACKENDS[backend].label, unavailable[backend])
            continue
        try:
            result = annif_project(annif, backend, args, run, steps, train_part="train")
        except StepFailed as exc:
            failures.add(run.name, BACKENDS[backend].label, str(exc))
            continue
        results[backend] = result
        scored_on = result.details.get("validation_metrics") or result.metrics
        selection[backend] = scored_on["ndcg@5"]

    combiners = [b for b in args.backends if BACKENDS[b].combines]
    if combiners:
        sources = sorted(selection, key=lambda b: -selection[b])[:N_SOURCES]
        chosen_on = "validation" if run.has_validation else "test (oracle: this split has no validation part)"
        if sources:
            log(f"{run.name}: ensemble sources by nDCG@5 on {chosen_on}: "
                + ", ".join(f"{b} {selection[b]:.3f}" for b in sources))
        for backend in combiners:
            label = BACKENDS[backend].label
            if backend in unavailable:
                failures.add(run.name, label, unavailable[backend])
                continue
            if len(sources) < 2:
                failures.add(run.name, label, f"needs at least two working base backends, has {sources or 'none'}")
                continue
            nn = BACKENDS[backend].kind == "nn_ensemble"
            if nn and not run.has_validation:
                failures.skip(run.name, label, "nn_ensemble trains on a validation part; this split has none")
                continue
            try:
                result = annif_project(annif, backend, args, run, steps,
                                       train_part="validate" if nn else None, sources=sources, trials=trials)
            except StepFailed as exc:
                failures.add(run.name, label, str(exc))
                continue
            result.details["sources"] = ", ".join(sources)
            result.details["source_selection"] = {"by": f"nDCG@5 on {chosen_on}",
                                                  "ndcg@5": {b: round(v, 4) for b, v in selection.items()}}
            result.extras["sources_train_s"] = sum(results[b].train_s or 0.0 for b in sources)
            result.extras["sources_train_cpu_s"] = sum(results[b].train_cpu_s or 0.0 for b in sources)
            results[backend] = result
    return [results[b] for b in args.backends if b in results]


def annif_project(annif: Annif, backend: str, args: argparse.Namespace, run: RunData, steps: dict,
                  train_part: str | None, sources: list[str] | None = None,
                  trials: list[SpeedTrial] | None = None) -> SystemResult:
    """Train (unless ``train_part`` is None), rank the test part, tune with ``annif optimize``."""
    spec = BACKENDS[backend]
    project = annif.add_project(backend, run.name, args.overrides, sources)
    key = f"{run.name} annif {backend}"
    train_run, hyperopt = None, None
    if spec.kind == "ensemble" and args.annif_hyperopt_trials > 0 and run.has_validation:
        log(f"annif hyperopt {project} on {len(run.parts['validate'])} validate docs "
            f"({args.annif_hyperopt_trials} trials)")
        weights, best, train_run = annif.hyperopt(project, run.annif_dirs["validate"], args.annif_hyperopt_trials)
        steps[f"{key} hyperopt"] = train_run.seconds
        project = annif.add_project(backend, run.name, args.overrides, sources, weights)
        hyperopt = {"trials": args.annif_hyperopt_trials, "metric": "NDCG@5", "best_score": best,
                    "weights": weights}
    if train_part:
        log(f"annif train {project} on {len(run.parts[train_part])} {train_part} docs")
        train_run = annif.train(project, run.annif_dirs[train_part])
        steps[f"{key} train"] = train_run.seconds
    log(f"annif index {project} on {len(run.parts['test'])} test docs x {run.speed_copies}")

    def measure() -> tuple[Measurement, Measurement]:
        return annif.index(project, run.speed_dirs["annif"]), annif.suggest_one(project, run.probe_text())

    index_run, load_run = measure()
    steps[f"{key} index test x{run.speed_copies}"] = index_run.seconds
    steps[f"{key} suggest-one"] = load_run.seconds
    docs_per_s, rates = median_throughput(run.speed_docs, [(index_run, load_run)])
    rankings = read_rankings(run.speed_dirs["annif"], run.ids("test"))  # the first copy of each

    val_metrics, val_run = None, None
    if run.has_validation and not spec.combines:  # base backends: scored there to choose ensemble sources
        val_run = annif.index(project, run.annif_dirs["validate"])
        steps[f"{key} index validate"] = val_run.seconds
        val_rankings = read_rankings(run.annif_dirs["validate"], run.ids("validate"))
        val_metrics = evaluate([[u for u, _ in r] for r in val_rankings], run.gold("validate"),
                               n_candidates=run.n_candidates)

    tune_part = "validate" if run.has_validation else "test"
    log(f"annif optimize {project} on the {tune_part} docs")
    limit, threshold, f1_there, optimize_run = annif.optimize(project, run.annif_dirs[tune_part])
    steps[f"{key} optimize {tune_part}"] = optimize_run.seconds

    decided = [decide(r, limit, threshold) for r in rankings]
    metrics = evaluate([[uri for uri, _ in r] for r in rankings], run.gold("test"), decided,
                       n_candidates=run.n_candidates)
    details = {"project": project, "settings": annif.settings(backend, args.overrides),
               "decision_rule": {"limit": limit, "threshold": threshold, "tuned_by": "annif optimize",
                                 "tuned_on": tune_part if run.has_validation else "test (oracle)",
                                 "annif_f1_where_tuned": f1_there},
               "mean_suggestions_per_doc": sum(map(len, rankings)) / len(rankings),
               "lrap_n_candidates": run.n_candidates,
               "runs": {name: m.to_dict() for name, m in (("train", train_run), ("index_test", index_run),
                                                           ("index_validate", val_run),
                                                           ("optimize", optimize_run),
                                                           ("suggest_one_doc", load_run)) if m is not None}}
    details["docs_per_s_rounds"] = details["docs_per_s_first_round"] = rates
    if hyperopt is not None:
        details["hyperopt"] = hyperopt
        details["runs"]["hyperopt"] = details["runs"].pop("train")
    if val_metrics is not None:
        details["validation_metrics"] = {k: round(v, 4) if isinstance(v, float) else v
                                         for k, v in val_metrics.items()}
    result = SystemResult(name=spec.label, metrics=metrics, tuned_f1=metrics["f1"],
                          tuned_mark=VALIDATED_MARK if run.has_validation else ORACLE_MARK,
                          train_s=train_run.seconds if train_run else None,
                          train_cpu_s=train_run.cpu_seconds if train_run else None,
                          peak_rss_mb=peak(train_run, index_run, load_run, val_run, optimize_run),
                          docs_per_s=docs_per_s, load_s=load_run.seconds, details=details)
    if spec.combines and args.speed_rounds > 1 and trials is not None:
        trials.append(SpeedTrial(result, measure))
    return result


# ---------------------------------------------------------------------------- Fahras
def fahras_label(backend: str | None, params: list[str]) -> str:
    name = f"Fahras {backend}" if backend else "Fahras"
    return f"{name} ({', '.join(params)})" if params else name


def run_fahras(tool: Fahras, backend: str | None, args: argparse.Namespace, prep: Prepared, run: RunData,
               steps: dict, trials: list[SpeedTrial]) -> SystemResult:
    params = args.fahras_params.get(backend or "", [])
    model = args.work / "models" / f"fahras-{backend or 'default'}-{run.name}"
    corpora = [run.export_dirs["train"]] + ([run.export_dirs["validate"]] if run.has_validation else [])
    n_train = sum(len(run.parts[p]) for p in ("train", "validate") if p in run.parts)
    key = f"{run.name} fahras {backend or 'default'}"
    log(f"fahras train --backend {backend or '(default)'} on {n_train} docs -> {model}")
    train_run = tool.train(prep.thesaurus, model, corpora, backend, params)
    steps[f"{key} train"] = train_run.seconds
    log(f"fahras eval {model.name} on {len(run.parts['test'])} test docs")
    metrics, eval_run = tool.evaluate(model, run.export_dirs["test"])
    steps[f"{key} eval test"] = eval_run.seconds
    log(f"fahras index {model.name} on {len(run.parts['test'])} test docs x {run.speed_copies}")

    def measure() -> tuple[Measurement, Measurement]:
        return (tool.index(model, run.speed_dirs["fahras"], args.work / "speed" / run.name / "fahras-out"),
                tool.suggest_one(model, run.probe_text()))

    index_run, load_run = measure()
    steps[f"{key} index test x{run.speed_copies}"] = index_run.seconds
    steps[f"{key} suggest-one"] = load_run.seconds
    docs_per_s, rates = median_throughput(run.speed_docs, [(index_run, load_run)])
    expected = len(run.parts["test"])
    if metrics.get("documents") != expected:
        log(f"warning: fahras eval scored {metrics.get('documents')} documents, the test part has {expected}")
    scored = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
    details = {k: v for k, v in metrics.items() if not isinstance(v, (int, float))}
    details.update(backend=backend or "(default)", params=params, trained_on=[p.name for p in corpora],
                   docs_per_s_rounds=rates, docs_per_s_first_round=rates)
    details["runs"] = {"train": train_run.to_dict(), "eval_test": eval_run.to_dict(),
                       "index_test_copies": index_run.to_dict(), "suggest_one_doc": load_run.to_dict()}
    result = SystemResult(name=fahras_label(backend, params), metrics=scored, tuned_f1=metrics.get("f1"),
                          tuned_mark=OWN_RULE_MARK, train_s=train_run.seconds, train_cpu_s=train_run.cpu_seconds,
                          peak_rss_mb=peak(train_run, eval_run, index_run, load_run),
                          docs_per_s=docs_per_s, load_s=load_run.seconds, details=details)
    if args.speed_rounds > 1:
        trials.append(SpeedTrial(result, measure))
    return result


# ---------------------------------------------------------------------------- report
def notes_for(args: argparse.Namespace, prep: Prepared) -> list[str]:
    if args.split == "time":
        tuning = ("Annif's tuned F1: the limit and threshold `annif optimize` finds best (document-averaged "
                  "F1, limits 1-15, thresholds 0.00-0.95) on the test set itself, an oracle that flatters "
                  "Annif (the `time` split has no validation part; its ensemble sources are chosen on the "
                  "test set too, and nn_ensemble cannot run).")
    else:
        part = "the validation year (2012)" if args.split == "time3" else "each fold's validation part"
        tuning = (f"Annif's tuned F1: the limit and threshold `annif optimize` finds best (document-averaged "
                  f"F1, limits 1-15, thresholds 0.00-0.95) on {part}, applied unchanged to the test "
                  f"rankings (Annif's filter: top `limit` suggestions scoring >= `threshold`).")
    notes = [
        "All metrics are averaged over test documents and computed by fahras.evaluate.evaluate for "
        "both tools, against the same gold URIs (headings mapped to UNBIS concepts or to "
        "urn:fahras:local: concepts, as Fahras maps them).",
        "Annif rankings: `annif index --limit 100 --threshold 0` (scores rounded to 4 decimals in its "
        "output files; equal scores keep Annif's order); Fahras: `fahras eval --json`. For LRAP a gold "
        "subject missing from a ranking counts as ranked after all subjects the model could suggest "
        "(Annif: subjects of its training documents; Fahras: its subject space).",
        tuning,
        "Fahras's tuned F1 is that of the decision rule it chose while training, by cross-validation "
        "inside its training data (marked own rule); it never sees the test documents.",
    ]
    if args.split == "cv5":
        notes.append(f"cv5: the {len(prep.all_docs)} documents, in file-name order, are shuffled with seed "
                     f"{corpus_data.CV_SEED} and dealt round-robin into 5 folds. Each fold is tested once; "
                     f"the other four are split into train (85%) and validation (a random "
                     f"{corpus_data.VALIDATION_SHARE:.0%}, seed {corpus_data.CV_SEED}+fold). Every number is "
                     "the mean over the folds (peak RSS: the maximum); per-fold values and standard "
                     "deviations are in the JSON file. A row marked (k/5 folds) failed on the other folds.")
    if args.split != "time":
        notes.append("Validation documents: Annif base backends train on the training part only; the "
                     "validation part chooses the ensemble sources, tunes every project's limit/threshold "
                     "(`annif optimize`) and trains nn_ensemble. Fahras trains on training + validation "
                     "documents (`fahras train ... TRAIN_DIR VALIDATION_DIR`) and needs no separate "
                     "tuning set, so both tools use exactly the same labelled documents.")
    if args.annif_hyperopt_trials > 0 and args.split != "time":
        weighting = (f"weighted by `annif hyperopt --trials {args.annif_hyperopt_trials} --metric NDCG@5` on "
                     "the validation part (the ensemble row's train s is that hyperopt run)")
    else:
        weighting = "with equal weights"
    notes += [
        f"Annif ensemble and nn_ensemble combine the {N_SOURCES} base backends with the best nDCG@5 on the "
        f"validation part; the ensemble's sources are {weighting}. nn_ensemble uses Annif's default "
        "settings (nodes 100, dropout 0.2, 10 epochs), trains on the validation part only (few documents "
        "for a neural network) and is tuned by `annif optimize` on those same documents. Its train s "
        "counts only its own training, not its sources'.",
        "Annif omikuji: Parabel = Annif's defaults (cluster_balanced=True, cluster_k=2, max_depth=20); Bonsai "
        "= the settings Annif's omikuji documentation gives for Bonsai (cluster_balanced=False, "
        "cluster_k=100, max_depth=3). fasttext: loss ova, lr 0.5, 200 epochs, dim 100, chunksize 24, the best "
        "of 8 variants (loss hs/ova x lr 0.5/1.0 x 200/100 epochs) by nDCG@5 on the time3 validation year "
        "(Annif's example settings, 5 epochs at lr 0.25, barely train on a few hundred documents: "
        "nDCG@5 0.37 on time3 with 50 epochs and loss hs). svc trains on one "
        "subject per document (Annif's svc backend picks one when a document has several).",
        "train s / train CPU s: wall clock and user+system CPU seconds of the train command (process "
        "start included; CPU from GNU time, steadier than wall clock on this shared 2-core machine). "
        "load s: wall clock of a cold `suggest` for one short text (interpreter start, imports, model "
        "load). docs/s: throughput of `annif index` / `fahras index` (limit 100, threshold 0) on the test "
        f"documents as plain text, repeated to at least {args.speed_docs} documents, i.e. that many documents "
        "divided "
        "by the batch command's wall clock minus load s (single process for both tools: `fahras index` "
        "without --jobs, `annif index` has no such option); for every Fahras row and Annif's ensembles, "
        f"the median over {args.speed_rounds} such (batch, cold start) pairs, run once all systems of the "
        "run are trained, in interleaved rounds (round 1 of every such system, then round 2, ...), so that "
        "a busy moment of this shared machine falls on all of them alike (each round's docs/s is in the "
        ".json file, details.docs_per_s_rounds; the first pair, run right after training and not counted, "
        "is details.docs_per_s_first_round); for Annif's base backends that first pair. "
        "Training runs as each tool does by default: "
        "`fahras train` fits the ensemble's base backends in one worker process per core (2 here), which "
        "is why its CPU s can exceed its wall s; Annif's backends use their own defaults.",
        "peak RSS MB: largest maximum resident set size over the train, batch, optimize and suggest "
        "commands (GNU time -v).",
        "Annif runs with NLTK's Punkt sentence splitter untrained (empty parameter files; no NLTK "
        "data can be downloaded here); bag-of-words backends do not use sentence boundaries, fasttext's "
        "chunks of 24 sentences do.",
    ]
    return notes


def machine_summary() -> str:
    try:
        mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        memory = f", {mem_gib:.0f} GiB RAM"
    except (ValueError, OSError):
        memory = ""
    return f"{os.cpu_count()} cores{memory}, {platform.system()} {platform.machine()}, Python {platform.python_version()}"


def collect(per_run: list[list[SystemResult]], n_runs: int) -> list[SystemResult]:
    """One row per system, in order of first appearance, averaged over the runs it completed."""
    by_name: dict[str, list[SystemResult]] = {}
    for results in per_run:
        for result in results:
            by_name.setdefault(result.name, []).append(result)
    return [average(rows, n_runs) for rows in by_name.values()]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    steps: dict = {}
    failures = Failures()
    per_run: list[list[SystemResult]] = []
    try:
        started = time.perf_counter()
        prep = Prepared(args)
        steps["prepare data"] = time.perf_counter() - started
        log(prep.summary())
        tool = Fahras(REPO, args.work / "logs")
        fahras_backends: list[str | None] = list(args.fahras_backends) or [None]
        if not args.skip_fahras and args.fahras_backends:
            known = tool.backends()
            unknown = [b for b in args.fahras_backends if known is not None and b not in known]
            if unknown:
                log(f"warning: 'fahras backends' does not list {', '.join(unknown)} (it lists "
                    f"{', '.join(known or [])}); trying anyway")
        annif, unavailable = None, {}
        if not args.skip_annif:
            try:
                annif, unavailable = start_annif(args, prep, steps)
            except (StepFailed, OSError) as exc:
                failures.add("all", "Annif", str(exc))
        for run in prep.runs:
            log(f"=== run {run.name}: " + ", ".join(f"{p} {len(d)}" for p, d in run.parts.items()))
            results: list[SystemResult] = []
            trials: list[SpeedTrial] = []
            if not args.skip_fahras:
                for backend in fahras_backends:
                    label = fahras_label(backend, args.fahras_params.get(backend or "", []))
                    try:
                        results.append(run_fahras(tool, backend, args, prep, run, steps, trials))
                    except (StepFailed, OSError) as exc:
                        failures.add(run.name, label, str(exc))
            if annif is not None:
                try:
                    results += run_annif(annif, unavailable, args, run, steps, failures, trials)
                except (StepFailed, OSError) as exc:
                    failures.add(run.name, "Annif", str(exc))
            try:
                interleaved_speed(trials, args.speed_rounds, run.speed_docs)
            except (StepFailed, OSError) as exc:
                failures.add(run.name, "throughput rounds", str(exc))
            per_run.append(results)
    except (StepFailed, FahrasError, ValueError) as exc:
        print(f"vs_annif: error: {exc}", file=sys.stderr)
        return 1
    rows = collect(per_run, len(prep.runs))
    if not rows:
        print("vs_annif: error: no system produced results", file=sys.stderr)
        for item in failures.items:
            print(f"  FAILED: {item}", file=sys.stderr)
        return 1
    below = target_lines(rows) + spread_lines(rows) + speed_lines(rows)
    header = {"command": shlex.join(getattr(sys, "orig_argv", sys.argv)),
              "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "split": args.split, "runs": [run.name for run in prep.runs],
              "data_summary": prep.summary(), "machine": machine_summary(), "annif_version": ANNIF_VERSION,
              "run_seconds": round(elapsed(), 1),
              "step_seconds": {k: (round(v, 2) if isinstance(v, float) else v) for k, v in steps.items()}}
    notes = (notes_for(args, prep) + [f"NOT RUN: {item}" for item in failures.skipped]
             + [f"FAILED: {item}" for item in failures.items])
    folds = f", mean over {len(prep.runs)} folds" if len(prep.runs) > 1 else ""
    print_table(f"Fahras vs Annif, {args.split} split ({prep.test_docs} test documents{folds})", rows, below)
    json_path, md_path = write_results(args.results, args.split, header, rows, notes, below)
    log(f"wrote {md_path} and {json_path}")
    if args.write_docs:
        log(f"wrote the table into {write_docs(args.docs, args.split, header, rows, below)}")
    return 2 if failures.items else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("vs_annif: interrupted", file=sys.stderr)
        sys.exit(130)
