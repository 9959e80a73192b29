"""Fahras versus Annif, side by side, on the UN Security Council resolutions.

What it does
------------
1. Reads the 529 resolutions (2005-2013) and maps every subject heading to a
   concept exactly as Fahras does: the UNBIS concept whose label matches, or
   a stable local concept (``urn:fahras:local:...``) for the library's own
   headings.  These URIs are the gold standard for both tools.
2. Splits by year: ``time`` trains on 2005-2011 and tests on 2012-2013;
   ``time3`` trains on 2005-2011, validates on 2012 and tests on 2013.
3. Installs Annif 1.4.3 in a virtual environment of its own (once), loads a
   vocabulary of all UNBIS concepts plus the local ones, trains each requested
   Annif backend and lets it rank up to 100 subjects for every test document.
4. Trains and evaluates Fahras through its own command line.
5. Prints one table and writes it to ``benchmarks/results/<split>.md`` and
   ``.json``, with the command line and date.

Why the scoring is fair
-----------------------
Both tools are scored by the same code, :func:`fahras.evaluate.evaluate`,
against the same gold URIs, on the same documents: Annif's rankings are read
from its ``.annif`` output files and passed to that function; ``fahras eval``
calls it internally.  Ranking metrics (P@k, R@5, F1@5, nDCG, LRAP) use the
full ranking of each tool.  For the set-based F1 ("tuned F1"), Annif has no
decision rule of its own, so one is chosen for it with the search of
``annif optimize`` (at most ``limit`` subjects scoring at least
``threshold``): on the ``time`` split on the test set itself, an oracle that
flatters Annif, and on ``time3`` on the validation year, applied unchanged to
the test year.  Fahras's F1 is that of the decision rule it learnt when
training, which never sees the test documents.

Run from the repository root with the project's virtual environment, e.g.
``.venv/bin/python benchmarks/vs_annif.py --split time``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shlex
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
try:  # the package may not be installed yet: fall back to the source tree
    import fahras  # noqa: F401
except ImportError:
    sys.path.insert(1, str(REPO / "src"))

from fahras.errors import FahrasError  # noqa: E402
from fahras.evaluate import evaluate  # noqa: E402
from harness import data as corpus_data  # noqa: E402
from harness.annif_runner import ANNIF_VERSION, BACKENDS, Annif, project_id, read_rankings  # noqa: E402
from harness.fahras_runner import Fahras  # noqa: E402
from harness.measure import Measurement, StepFailed  # noqa: E402
from harness.report import SystemResult, print_table, write_results  # noqa: E402
from harness.tuning import decide, tune  # noqa: E402

ORACLE_MARK, VALIDATED_MARK = " (oracle)", " (val)"
_T0 = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- arguments
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="vs_annif.py",
        description="Benchmark Fahras against Annif on the UNSC resolutions, with one scoring code "
                    "for both. Results go to benchmarks/results/<split>.md and .json.",
        epilog="Splits: time = train 2005-2011, test 2012-2013 (Annif's tuned F1 is an oracle on the "
               "test set); time3 = train 2005-2011, validate 2012, test 2013 (Annif tuned on 2012). "
               f"Annif backends known: {', '.join(BACKENDS)}.")
    parser.add_argument("--split", choices=sorted(corpus_data.SPLITS), default="time",
                        help="which split to run (default: time)")
    parser.add_argument("--data", type=Path, default=None,
                        help="shared data folder holding unsc-resolutions/ and unbis/ "
                             "(default: ../shared/data relative to the repository root)")
    parser.add_argument("--annif-backends", default="tfidf", metavar="LIST",
                        help="comma-separated Annif backends to run (default: tfidf)")
    parser.add_argument("--annif-param", action="append", default=[], metavar="BACKEND.KEY=VALUE",
                        help="override one projects.cfg setting of a backend, e.g. tfidf.limit=50 "
                             "(repeatable)")
    parser.add_argument("--work", type=Path, default=None,
                        help="scratch folder for the Annif venv, corpora and models "
                             "(default: benchmarks/.work, git-ignored)")
    parser.add_argument("--results", type=Path, default=None,
                        help="where to write <split>.md and <split>.json (default: benchmarks/results)")
    parser.add_argument("--skip-fahras", action="store_true", help="run the Annif side only")
    parser.add_argument("--skip-annif", action="store_true", help="run the Fahras side only")
    parser.add_argument("--write-docs", action="store_true",
                        help="reserved: publishing the table in the documentation is not done yet; "
                             "the results are always written under --results")
    args = parser.parse_args(argv)
    args.data = (args.data or REPO.parent / "shared" / "data").resolve()
    args.work = (args.work or REPO / "benchmarks" / ".work").resolve()
    args.results = (args.results or REPO / "benchmarks" / "results").resolve()
    args.backends = [b.strip() for b in args.annif_backends.split(",") if b.strip()]
    unknown = [b for b in args.backends if b not in BACKENDS]
    if unknown:
        parser.error(f"unknown Annif backend(s): {', '.join(unknown)} (known: {', '.join(BACKENDS)})")
    args.overrides = _parse_overrides(parser, args.annif_param)
    return args


def _parse_overrides(parser: argparse.ArgumentParser, items: list[str]) -> dict[str, dict[str, str]]:
    overrides: dict[str, dict[str, str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        backend, dot, name = key.partition(".")
        if not sep or not dot or backend not in BACKENDS or not name:
            parser.error(f"--annif-param {item!r}: expected BACKEND.KEY=VALUE with a known backend")
        overrides.setdefault(backend, {})[name] = value
    return overrides


# ---------------------------------------------------------------------------- data
class Prepared:
    """The split, on disk in both tools' input formats."""

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
        self.parts = corpus_data.split_documents(self.all_docs, args.split)
        self.export_dirs = {name: corpus_data.link_export_folder(docs, args.work / "splits" / args.split / name)
                            for name, docs in self.parts.items()}
        self.annif_dirs = {name: corpus_data.write_annif_folder(docs, args.work / "annif" / args.split / name)
                           for name, docs in self.parts.items()}
        self.annif_vocab = args.work / "annif" / "vocab.csv"
        self.vocab_size = corpus_data.write_annif_vocabulary(vocab, self.all_docs, self.annif_vocab)
        #: subjects a trained model can rank: those of the training documents
        self.n_candidates = len({uri for d in self.parts["train"] for uri in d.gold})
        headings = [c for d in self.all_docs for c in d.subjects]
        self.local_share = sum(c.local for c in headings) / len(headings)

    def gold(self, part: str) -> list[set[str]]:
        return [d.gold for d in self.parts[part]]

    def ids(self, part: str) -> list[str]:
        return [d.id for d in self.parts[part]]

    def summary(self) -> str:
        pieces = []
        for name, docs in self.parts.items():
            years = sorted({d.year for d in docs})
            span = f"{years[0]}" if len(years) == 1 else f"{years[0]}-{years[-1]}"
            pieces.append(f"{name} {len(docs)} docs ({span})")
        return (", ".join(pieces) + f"; {self.vocab_size} subjects in the vocabulary, "
                f"{self.local_share:.0%} of headings are local (not UNBIS) concepts")

    def probe_text(self) -> str:
        return self.parts["test"][0].text[:1000]


# ---------------------------------------------------------------------------- timing helpers
def throughput(docs: int, batch: Measurement, cold_start: Measurement | None) -> float | None:
    """Documents per second of a batch run, its cold start (process + model load) taken out."""
    busy = batch.seconds - (cold_start.seconds if cold_start else 0.0)
    return docs / busy if busy > 0 else None


def peak(*runs: Measurement | None) -> float | None:
    values = [r.peak_rss_mb for r in runs if r is not None and r.peak_rss_mb is not None]
    return max(values) if values else None


# ---------------------------------------------------------------------------- Annif
def run_annif(args: argparse.Namespace, prep: Prepared, steps: dict) -> list[SystemResult]:
    annif = Annif(args.work)
    started = time.perf_counter()
    annif.install(args.backends, log)
    steps["annif install check"] = time.perf_counter() - started
    annif.write_projects(args.backends, [args.split], args.overrides)
    log(f"annif load-vocab ({prep.vocab_size} subjects)")
    vocab_run = annif.load_vocab(prep.annif_vocab)
    steps["annif load-vocab"] = vocab_run.seconds
    results = []
    for backend in args.backends:
        try:
            results.append(_run_annif_backend(annif, backend, args, prep, steps))
        except StepFailed as exc:
            log(f"Annif {backend} failed, skipped: {exc}")
            steps[f"annif {backend} error"] = str(exc)
    return results


def _run_annif_backend(annif: Annif, backend: str, args, prep: Prepared, steps: dict) -> SystemResult:
    project = project_id(backend, args.split)
    train_run = None
    if BACKENDS[backend].trainable:
        log(f"annif train {project} on {len(prep.parts['train'])} docs")
        train_run = annif.train(project, prep.annif_dirs["train"])
        steps[f"annif train {backend}"] = train_run.seconds
    log(f"annif index {project} on {len(prep.parts['test'])} test docs")
    index_run = annif.index(project, prep.annif_dirs["test"])
    steps[f"annif index {backend} test"] = index_run.seconds
    load_run = annif.suggest_one(project, prep.probe_text())
    steps[f"annif suggest-one {backend}"] = load_run.seconds

    rankings = read_rankings(prep.annif_dirs["test"], prep.ids("test"))
    gold = prep.gold("test")
    if "validate" in prep.parts:
        log(f"annif index {project} on {len(prep.parts['validate'])} validation docs; tuning there")
        val_run = annif.index(project, prep.annif_dirs["validate"])
        steps[f"annif index {backend} validate"] = val_run.seconds
        rule = tune(read_rankings(prep.annif_dirs["validate"], prep.ids("validate")), prep.gold("validate"))
        mark, tuned_on = VALIDATED_MARK, "validate"
    else:
        rule = tune(rankings, gold)
        mark, tuned_on = ORACLE_MARK, "test (oracle)"
    decided = [decide(r, rule.limit, rule.threshold) for r in rankings]
    metrics = evaluate([[uri for uri, _ in r] for r in rankings], gold, decided, n_candidates=prep.n_candidates)
    details = {"project": project, "settings": {**BACKENDS[backend].settings, **args.overrides.get(backend, {})},
               "decision_rule": {**rule.to_dict(), "tuned_on": tuned_on},
               "mean_suggestions_per_doc": sum(map(len, rankings)) / len(rankings),
               "lrap_n_candidates": prep.n_candidates,
               "runs": {"train": train_run.to_dict() if train_run else None, "index_test": index_run.to_dict(),
                        "suggest_one_doc": load_run.to_dict()}}
    return SystemResult(name=BACKENDS[backend].label, metrics=metrics, tuned_f1=metrics["f1"], tuned_mark=mark,
                        train_s=train_run.seconds if train_run else None,
                        peak_rss_mb=peak(train_run, index_run, load_run),
                        docs_per_s=throughput(len(rankings), index_run, load_run),
                        load_s=load_run.seconds, details=details)


# ---------------------------------------------------------------------------- Fahras
def run_fahras(args: argparse.Namespace, prep: Prepared, steps: dict) -> SystemResult:
    tool = Fahras(REPO, args.work / "logs")
    model = args.work / "models" / f"fahras-{args.split}"
    log(f"fahras train on {len(prep.parts['train'])} docs -> {model}")
    train_run = tool.train(prep.thesaurus, model, prep.export_dirs["train"])
    steps["fahras train"] = train_run.seconds
    log(f"fahras eval on {len(prep.parts['test'])} test docs")
    metrics, eval_run = tool.evaluate(model, prep.export_dirs["test"])
    steps["fahras eval test"] = eval_run.seconds
    load_run = tool.suggest_one(model, prep.probe_text())
    steps["fahras suggest-one"] = load_run.seconds
    expected = len(prep.parts["test"])
    if metrics.get("documents") != expected:
        log(f"warning: fahras eval scored {metrics.get('documents')} documents, the split has {expected}")
    scored = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
    details = {k: v for k, v in metrics.items() if not isinstance(v, (int, float))}
    details["runs"] = {"train": train_run.to_dict(), "eval_test": eval_run.to_dict(),
                       "suggest_one_doc": load_run.to_dict()}
    return SystemResult(name="Fahras", metrics=scored, tuned_f1=metrics.get("f1"), tuned_mark=" (own rule)",
                        train_s=train_run.seconds, peak_rss_mb=peak(train_run, eval_run, load_run),
                        docs_per_s=throughput(expected, eval_run, load_run), load_s=load_run.seconds,
                        details=details)


# ---------------------------------------------------------------------------- report
def notes_for(args: argparse.Namespace) -> list[str]:
    tuned = ("Annif's tuned F1 uses the limit (1-10) and threshold (0.00-1.00, step 0.05) that maximise "
             "document-averaged F1 on the test set itself: an oracle, optimistic for Annif"
             if args.split == "time" else
             "Annif's tuned F1 uses the limit (1-10) and threshold (0.00-1.00, step 0.05) that maximise "
             "document-averaged F1 on the validation year (2012), applied unchanged to the test year")
    return [
        "All metrics are averaged over test documents and computed by fahras.evaluate.evaluate for "
        "both tools, against the same gold URIs (headings mapped to UNBIS concepts or to "
        "urn:fahras:local: concepts, as Fahras maps them).",
        "Annif rankings: `annif index --limit 100 --threshold 0` (scores rounded to 4 decimals in its "
        "output files; equal scores keep Annif's order); Fahras: `fahras eval --json`. For LRAP a gold "
        "subject missing from a ranking counts as ranked after all subjects of the training documents "
        "(n_candidates), for both tools.",
        tuned + " (ties go to the larger limit, then the higher threshold, as in `annif optimize`). "
        "Fahras's F1 is that of the decision rule it chose while training (marked own rule)"
        + ("; Fahras does not see the validation year." if args.split == "time3" else "."),
        "train s: wall clock of the train command (process start included). load s: wall clock of a "
        "cold `suggest` for one short text (interpreter start, imports, model load). docs/s: test "
        "documents divided by the wall clock of the batch command minus load s.",
        "peak RSS MB: largest maximum resident set size over the train, batch and suggest commands "
        "(GNU time -v).",
        "Annif runs with NLTK's Punkt sentence splitter untrained (empty parameter files; no NLTK "
        "data can be downloaded here); bag-of-words backends do not use sentence boundaries.",
    ]


def machine_summary() -> str:
    try:
        mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        memory = f", {mem_gib:.0f} GiB RAM"
    except (ValueError, OSError):
        memory = ""
    return f"{os.cpu_count()} cores{memory}, {platform.system()} {platform.machine()}, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.write_docs:
        log("--write-docs is not implemented yet; results go to " + str(args.results))
    steps: dict = {}
    results: list[SystemResult] = []
    failures = []
    try:
        started = time.perf_counter()
        prep = Prepared(args)
        steps["prepare data"] = time.perf_counter() - started
        log(prep.summary())
        if not args.skip_fahras:
            try:
                results.append(run_fahras(args, prep, steps))
            except (StepFailed, OSError) as exc:
                failures.append(f"Fahras: {exc}")
                log(f"the Fahras side failed: {exc}")
        if not args.skip_annif:
            try:
                results.extend(run_annif(args, prep, steps))
            except (StepFailed, OSError) as exc:
                failures.append(f"Annif: {exc}")
                log(f"the Annif side failed: {exc}")
            failures += [f"Annif {k.split()[1]}: {v}" for k, v in steps.items() if k.endswith(" error")]
    except (StepFailed, FahrasError, ValueError) as exc:
        print(f"vs_annif: error: {exc}", file=sys.stderr)
        return 1
    if not results:
        print("vs_annif: error: no system produced results", file=sys.stderr)
        return 1
    header = {"command": shlex.join(getattr(sys, "orig_argv", sys.argv)),
              "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "split": args.split, "data_summary": prep.summary(), "machine": machine_summary(),
              "annif_version": ANNIF_VERSION,
              "step_seconds": {k: (round(v, 2) if isinstance(v, float) else v) for k, v in steps.items()}}
    notes = notes_for(args) + [f"FAILED: {f}" for f in failures]
    print_table(f"Fahras vs Annif, {args.split} split ({len(prep.parts['test'])} test documents)", results)
    json_path, md_path = write_results(args.results, args.split, header, results, notes)
    log(f"wrote {md_path} and {json_path}")
    return 2 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("vs_annif: interrupted", file=sys.stderr)
        sys.exit(130)
