"""The ``fahras`` command: a thin layer over the library.

Every command parses its arguments, calls :mod:`fahras`, and prints.  Errors
the user can fix are one line on stderr with a non-zero exit code (65 bad
input data, 64 bad usage, 66 missing or damaged model), never a traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import click

from fahras.decision import RULE_KINDS, DecisionRule
from fahras.errors import FahrasError, InputError, UsageError
from fahras.vocab.concept import LANGUAGES

log = logging.getLogger("fahras")

LANGS = LANGUAGES
LANG_CHOICE = click.Choice(LANGS)
#: Other languages a plain Snowball analyzer stems (``--lang fi``); the list PyStemmer 3 offers,
#: checked against the installed one when a model is trained (fahras.text.analyzer.snowball_languages).
SNOWBALL_LANGS = ("ca", "cs", "da", "de", "el", "eo", "et", "eu", "fa", "fi", "ga", "hi", "hu", "hy", "id",
                  "it", "lt", "ne", "nl", "no", "pl", "pt", "ro", "sr", "st", "sv", "ta", "tr", "yi")


def _console():
    from rich.console import Console

    return Console(stderr=True)


def _language_options(func):
    func = click.option("--label-lang", default=None, type=LANG_CHOICE,
                        help="Language of the labels shown (default: --lang if given, else en). Local "
                             "headings (not in the thesaurus) have English labels only.")(func)
    return click.option("--lang", default="auto", show_default=True,
                        type=click.Choice(["auto", *LANGS, *SNOWBALL_LANGS]),
                        help="Language of the documents: auto detects each one among the six UN languages "
                             "(ar, zh, en, fr, ru, es), or the language of a model trained with one "
                             "--lang; or a code Snowball stems (fi, de, sv...).")(func)


def _cluster_option(what: str):
    return click.option("--cluster", default=None, metavar="ADDRESS",
                        help=f"{what} on a Dask cluster: tcp://HOST:8786 (a running scheduler; the model and the "
                             "documents are sent to its workers) or local (a LocalCluster of one worker process per "
                             "core on this machine; local:N for N). Needs pip install 'fahras[dask]'.")


@contextmanager
def _progress(description: str, enabled: bool = True) -> Iterator:
    """A rich progress bar on stderr; yields a ``(stage, done, total)`` callback.

    The bar (and its refresh thread) starts at the first call: ``fahras
    index`` forks its workers before that.
    """
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    if not enabled:
        yield lambda stage, done, total: None
        return
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(), console=_console(),
                   transient=True)
    tasks: dict[str, int] = {}

    def update(stage: str, done: int, total: int) -> None:
        if not tasks:
            bar.start()
        if stage not in tasks:
            tasks[stage] = bar.add_task(f"{description}: {stage}", total=total or None)
        bar.update(tasks[stage], completed=done, total=total or None)

    try:
        yield update
    finally:
        if tasks:
            bar.stop()


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(package_name="fahras")
def cli(verbose: int) -> None:
    """Fahras: suggest UNBIS Thesaurus descriptors for United Nations documents.

    Train a model on documents the library has indexed, then suggest
    descriptors for new ones, index whole folders, and measure quality.

    \b
    Typical use:
      fahras train --vocab unbis/all_topics.json --out models/unsc CORPUS_DIR
      fahras suggest models/unsc DOCUMENT.txt --explain
      fahras eval models/unsc HELD_OUT_DIR
      fahras vocab search consult --vocab unbis/all_topics.json
      fahras info models/unsc
    """
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(level=max(level, logging.DEBUG), format="%(levelname)s %(name)s: %(message)s")


# ---------------------------------------------------------------------------- train
@cli.command()
@click.argument("corpus", nargs=-1, type=click.Path(path_type=Path))
@click.option("--vocab", "vocab_path", required=True, type=click.Path(path_type=Path),
              help="Thesaurus: UNBIS all_topics.json, a SKOS file (.ttl/.rdf) or a .csv/.tsv table.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Model folder to write (replaced atomically).")
@click.option("--format", "corpus_format", default="auto", show_default=True,
              type=click.Choice(["auto", "un-export", "annif-dir", "annif-tsv", "jsonl"]),
              help="Corpus format.")
@click.option("--backend", default=None,
              help="Backend to train (default: ensemble with a corpus, zeroshot without one). "
                   "See 'fahras backends'.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Backend parameter, e.g. --param C=10 (repeatable; values are JSON or text).")
@click.option("--lang", "--analyzer", "analyzer", default="auto", show_default=True,
              help="Document language / analyzer: auto (detect each document among the six UN "
                   "languages), ar, zh, en, fr, ru, es; or any other language Snowball stems, "
                   f"analysed plainly (stemming only, no stop words or UN extras): {', '.join(SNOWBALL_LANGS)}.")
@click.option("--subject-space", default="auto", show_default=True,
              type=click.Choice(["auto", "training", "vocabulary"]),
              help="Subjects the model can suggest: those of the training documents, or the whole "
                   "thesaurus (auto: the whole thesaurus when no corpus is given).")
@click.option("--cv-folds", default=3, show_default=True, type=click.IntRange(0, 20),
              help="Cross-validation folds used to tune the decision rule (0: no tuning).")
@click.option("--folds", "folds", default=None, type=click.Choice(["grouped", "time", "random"]),
              help="Kind of cross-validation folds: grouped keeps documents with the same descriptors (near-"
                   "duplicates such as mandate renewals) in one fold; time holds out contiguous periods (the year "
                   "in each document's id); random is shuffled K-fold. Default: grouped (fahras.models.folds.DEFAULT_FOLDS); "
                   "grouped falls back to random where it would hold whole subjects out.")
@click.option("--decision", default="expected-f1", show_default=True, type=click.Choice(list(RULE_KINDS)),
              help="Kind of decision rule tuned: expected-f1 keeps, per document, the number of descriptors "
                   "with the best expected F1; threshold keeps those above one tuned score.")
@click.option("--forward-estimate/--no-forward-estimate", "forward_estimate", default=False, show_default=True,
              help="When the documents carry years (a year in the id, e.g. 'S/RES/2063 (2012)'), also measure "
                   "the quality on a year the model has not seen: a second model trained on the years before "
                   "the last one, tested on the last one, with its bootstrap standard error (costs that "
                   "training; needs 30 documents in the last year and 100 before it). A check beside the "
                   "cross-validated estimate, which stays the headline (docs/benchmarks.md, #16).")
@click.option("-j", "--jobs", type=click.IntRange(0, 256), default=None,
              help="Worker processes fitting an ensemble's base backends (0: one per core, at most 8, from 100 "
                   "documents on, the default; 1: this process only). Same model either way.")
@_cluster_option("Fit the ensemble's base backends on the cross-validation folds")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--strict", is_flag=True,
              help="Stop at the first bad training document (empty, not UTF-8, broken header, over "
                   "FAHRAS_MAX_DOCUMENT_BYTES); by default each is skipped with a warning and counted.")
def train(corpus: tuple[Path, ...], vocab_path: Path, out: Path, corpus_format: str, backend: str | None,
          params: tuple[str, ...], analyzer: str, subject_space: str, cv_folds: int, decision: str,
          jobs: int | None, quiet: bool, strict: bool = False, cluster: str | None = None,
          folds: str | None = None, forward_estimate: bool = False) -> None:
    """Train a model on indexed documents (one or more CORPUS folders or files).

    Without CORPUS, a zero-shot model is built from the thesaurus alone: it
    matches the concepts' labels (in the document's language) and their
    meaning (multilingual embeddings) against each document.

    Descriptors are matched to thesaurus concepts by preferred label, ignoring
    case and accents; descriptors the thesaurus lacks are kept as local
    subjects.  The decision rule (how many descriptors each document gets) is
    tuned on held-out folds of the training data (see --decision).
    """
    import itertools

    from fahras import Indexer, load_vocabulary, read_corpus

    _check_model_out(out)  # before any work: a bad --out is refused at once, not after the training
    vocab = load_vocabulary(vocab_path)
    corpora = [read_corpus(p, corpus_format, strict=strict) for p in corpus]
    documents = itertools.chain.from_iterable(corpora)
    backend = backend or ("ensemble" if corpus else "zeroshot")
    backend_params = _parse_params(params)
    if jobs is not None:
        from fahras.models import create_backend

        if "n_jobs" not in create_backend(backend).get_params():
            raise UsageError(f"--jobs: the {backend!r} backend trains in one process (the ensemble uses workers)")
        backend_params["n_jobs"] = jobs
    if cluster is not None:
        from fahras.cluster import parse_address, require_dask

        require_dask()
        parse_address(cluster)
        if backend != "ensemble":
            raise UsageError(f"--cluster: the {backend!r} backend trains in one process (the ensemble's "
                             "cross-fitting runs on a cluster)")
        if jobs is not None:
            raise UsageError("--cluster and --jobs: give one (the cluster's workers fit the base backends)")
    indexer = Indexer(backend=backend, backend_params=backend_params or None, analyzer=analyzer,
                      subject_space=subject_space, cv_folds=cv_folds, decision=decision,
                      forward_estimate="auto" if forward_estimate else False,
                      **({"folds": folds} if folds else {}))
    with _progress("train", not quiet) as progress:
        if cluster is None:
            indexer.fit(documents, vocab, progress=progress)
        else:
            from fahras.cluster import training_on_cluster

            with training_on_cluster(cluster):
                indexer.fit(documents, vocab, progress=progress)
    indexer.save(out)
    bad = sum(c.skipped for c in corpora)
    if bad:
        click.echo(f"skipped {bad} bad documents (named in the warnings above; --strict makes them errors)",
                   err=True)
    t = indexer.training_
    if not t["documents"]:
        click.echo(f"trained {out}: no training documents; {t['subjects']} thesaurus subjects "
                   f"({indexer.backend} backend)", err=True)
        return
    click.echo(f"trained {out} on {t['documents']} documents; their descriptors: "
               f"{t['thesaurus_occurrences']} matched thesaurus concepts, {t['local_occurrences']} kept as local "
               f"headings", err=True)
    for line in _describe_subjects(indexer):
        click.echo(line, err=True)
    if t["documents_without_subjects"]:
        click.echo(f"skipped {t['documents_without_subjects']} documents without descriptors", err=True)
    rule = indexer.rule_
    cv = f", cross-validated F1 {t['cv_f1']:.3f}" if t.get("cv_f1") is not None else ""
    if t.get("cv_ndcg@5") is not None:
        cv += f", nDCG@5 {t['cv_ndcg@5']:.3f}, P@1 {t['cv_precision@1']:.3f}"
    click.echo(f"decision rule: {rule.describe()}{cv}; {t['seconds']:.1f} s", err=True)
    if t.get("forward_ndcg@5") is not None:
        se = f" ± {t['forward_ndcg@5_se']:.3f}" if t.get("forward_ndcg@5_se") is not None else ""
        click.echo(f"forward estimate: trained on the {t['forward_trained_on']} documents before "
                   f"{t['forward_year']}, tested on the {t['forward_documents']} of {t['forward_year']}: "
                   f"nDCG@5 {t['forward_ndcg@5']:.3f}{se}, P@1 {t['forward_precision@1']:.3f}, "
                   f"F1 {t['forward_f1']:.3f}", err=True)
    if t.get("forward_ndcg@5") is not None and t.get("estimate_ndcg@5") is not None:  # which of the two counts
        click.echo(f"estimated quality on next year's documents (from the {t['estimate_kind']} estimate): "
                   f"nDCG@5 {t['estimate_ndcg@5']:.3f}, P@1 {t['estimate_precision@1']:.3f}, "
                   f"F1 {t['estimate_f1']:.3f}", err=True)


def _check_model_out(out: Path) -> None:
    """Refuse an --out that could not take a model: a file or a non-model folder (64), an unwritable place (74)."""
    import errno
    import os

    from fahras.errors import ModelError
    from fahras.store import check_model_target

    try:
        check_model_target(out)
    except ModelError as exc:
        raise UsageError(f"--out: {exc}") from None
    place = out.absolute()
    if not place.exists():  # the nearest existing folder must let us create the model's parent folders
        place = place.parent
        while not place.exists() and place != place.parent:
            place = place.parent
        if not place.is_dir():
            raise OSError(errno.ENOTDIR, "not a folder, cannot hold the model", str(place))
    else:
        place = place.parent  # the model is swapped in beside the old one
    if not os.access(place, os.W_OK | os.X_OK):
        raise OSError(errno.EACCES, "not writable, cannot hold the model", str(place))


def _parse_params(items: tuple[str, ...]) -> dict:
    """``NAME=VALUE`` pairs; a value is JSON (``false``, ``null``, ``[1, 2]``, ``{"a": 1}``), a Python
    literal (``False``, ``None``, ``(1, 2)``), or else the text as it is."""
    import ast

    params = {}
    for item in items:
        name, eq, value = item.partition("=")
        name = name.strip()
        if not eq or not name:
            raise click.BadParameter(f"{item!r}: expected NAME=VALUE", param_hint="--param")
        try:
            params[name] = json.loads(value)
        except json.JSONDecodeError:
            try:
                params[name] = ast.literal_eval(value.strip())
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                params[name] = value
    return params


# ---------------------------------------------------------------------------- suggest
_RULE_HELP = ("Without --limit/--threshold the model's tuned decision rule chooses; --limit N alone "
              "shows the top N.")


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--limit", type=click.IntRange(1, 10000), help="At most this many descriptors per document.")
@click.option("--threshold", type=click.FloatRange(0, 1), help="Only descriptors scoring at least this.")
@_language_options
@click.option("--json", "as_json", is_flag=True,
              help='JSON Lines: one line per document, {"document": NAME or "-", "results": [{"uri", "label", '
                   '"score", "local"}]}, whatever the number of documents.')
@click.option("--all-labels", is_flag=True, help="With --json: include labels in all six languages.")
@click.option("--explain", is_flag=True,
              help="Show the words that led to each descriptor, as written in the document, with their "
                   "character offsets in the file.")
def suggest(model: Path, files: tuple[Path, ...], limit, threshold, lang, label_lang, as_json, all_labels,
            explain):
    """Suggest descriptors for documents (FILES, or standard input if none).

    Files may be plain UTF-8 text, UN export format (its %%% header is
    ignored), PDF, DOCX or HTML.  UN page furniture (job numbers, page marks,
    running headers) is ignored.

    \b
    Output: one line per descriptor, best first:
      SCORE  LABEL  <URI>
    with "[local heading]" after the URI for the library's own headings
    (SUDAN--POLITICAL CONDITIONS): they are not in the thesaurus and have no
    translations, so they stay in English whatever --label-lang says.  With
    several files, each document's lines follow a "== FILE" line.
    --explain adds the words that led to each descriptor, as they stand in
    the document, with their weight and where they first occur (character
    offsets into the file as given, header line included).

    With --json, every document is one line of JSON (JSON Lines), even when
    there is only one:
    {"document": "FILE" (or "-"), "results": [{"uri", "label", "score",
    "local", "labels" (--all-labels), "evidence" (--explain): [{"kind",
    "text", "weight", "spans": [[start, end], ...]}]}], "warning" (only if
    any: e.g. the document's language is none the model was trained on)}
    A document in a language none of the training documents was in gets a
    warning on stderr too: the model's scores are not calibrated there.
    """
    from fahras import Indexer

    indexer = Indexer.load(model)
    doc_lang, label_lang = _languages(lang, label_lang, indexer)
    from fahras.batch import analyse_document

    inputs = [(str(p), *_read_file(p)) for p in files] or [("-", *_read_stdin())]
    analysed = [analyse_document(indexer, text, name, doc_lang) for name, text, _ in inputs]
    results = indexer.suggest_batch(analysed, limit=limit, threshold=threshold,
                                    label_lang=label_lang, explain=explain, lang=doc_lang)
    from fahras.explain import shift_evidence

    for (name, _, offset), doc, suggestions in zip(inputs, analysed, results):
        warning = indexer.language_warning(doc)
        if warning:
            click.echo(f"fahras: warning: {name}: {warning}", err=True)
        if as_json:
            rows = []
            for s in suggestions:
                row = s.to_dict(all_labels=all_labels)
                row["local"] = bool(s.local)
                if s.evidence:
                    row["evidence"] = [e.to_dict() for e in shift_evidence(s.evidence, offset)]
                rows.append(row)
            line = {"document": name, "results": rows}
            if warning:
                line["warning"] = warning
            click.echo(json.dumps(line, ensure_ascii=False))
            continue
        if len(inputs) > 1:
            click.echo(f"== {name}")
        for s in suggestions:
            local = "  [local heading]" if s.local else ""
            click.echo(f"{s.score:.4f}\t{s.label}\t<{s.uri}>{local}")
            for ev in shift_evidence(s.evidence, offset):
                where = ""
                if ev.spans:
                    more = f", {len(ev.spans)} times" if len(ev.spans) > 1 else ""
                    where = f" at {ev.spans[0][0]}-{ev.spans[0][1]}{more}"
                click.echo(f"\t\t{ev.kind}: {_shorten(ev.text)} ({ev.weight:+.3f}{where})")


def _read_file(path: Path) -> tuple[str, int]:
    """A document file's text (furniture kept) and where that text starts in the file, in characters.

    The text of a UN export file starts after its header line and the empty
    line; evidence offsets are shifted by that much to point into the file.
    """
    from fahras.batch import read_document
    from fahras.explain import export_header_length

    text = read_document(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(6)
            if not head.lstrip(b"\xef\xbb\xbf").startswith(b"%%%"):
                return text, 0
            raw = (head + handle.read()).decode("utf-8", errors="replace")
    except OSError:
        return text, 0
    return text, export_header_length(raw.removeprefix("\ufeff"))


def _languages(lang: str, label_lang: str | None, indexer=None) -> tuple[str | None, str]:
    """(document language or None for auto, label language).

    ``auto`` with a model of one language outside the six (``--lang fi`` at
    training) means that language: detection knows only the six.  Labels are
    shown in the document's language if it is one of the six, else in English.
    """
    doc_lang = None if lang == "auto" else lang
    trained = indexer.language() if indexer is not None else None
    if doc_lang is None and trained is not None and trained not in LANGS:
        doc_lang = trained
    if doc_lang is not None and doc_lang not in LANGS and doc_lang != trained:
        raise click.BadParameter(f"{doc_lang!r} needs a model trained with --lang {doc_lang}; this one is for "
                                 f"{trained or 'the six UN languages'}", param_hint="'--lang'")
    return doc_lang, label_lang or (doc_lang if doc_lang in LANGS else None) or "en"


def _shorten(text: str, width: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _read_stdin() -> tuple[str, int]:
    """The text of standard input and where it starts in what was read (see :func:`_read_file`)."""
    from fahras.explain import export_header_length
    from fahras.text import extract_bytes

    from fahras.errors import InputError
    from fahras.textfile import max_document_bytes

    limit = max_document_bytes()
    data = sys.stdin.buffer.read(limit + 1)  # never more than the limit (and a byte) in memory
    if len(data) > limit:
        raise InputError(f"standard input is larger than the limit of {limit:,} bytes "
                         "(set FAHRAS_MAX_DOCUMENT_BYTES to change it)", "<stdin>")
    text = extract_bytes(data, "<stdin>", strip=False, detect=False).text
    if not data.lstrip(b"\xef\xbb\xbf").startswith(b"%%%"):
        return text, 0
    return text, export_header_length(data.decode("utf-8", errors="replace").removeprefix("\ufeff"))


# ---------------------------------------------------------------------------- index
@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("--out", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Folder for the suggestion files (created if missing).")
@click.option("--limit", type=click.IntRange(1, 10000), help="At most this many descriptors per document.")
@click.option("--threshold", type=click.FloatRange(0, 1), help="Only descriptors scoring at least this.")
@_language_options
@click.option("--output-format", default="annif", show_default=True,
              help="annif: NAME.annif with <uri>TAB label TAB score lines; json: NAME.json; jsonl: one "
                   "suggestions.jsonl for the run; several comma-separated (annif,jsonl).")
@click.option("--force", is_flag=True, help="Overwrite existing suggestion files.")
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(1, 100000),
              help="Documents analysed and scored together (larger: a little faster, more memory).")
@click.option("-j", "--jobs", default=None, type=click.IntRange(0, 1024),
              help="Worker processes (0: one per CPU core); forked from this one, they share the loaded "
                   "model's memory. Default: one per core from 1,000 documents on, else 1. The output is "
                   "the same whatever the number.")
@_cluster_option("Index")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def index(model, folder, out, limit, threshold, lang, label_lang, output_format, force, batch_size, jobs, quiet,
          cluster=None):
    """Suggest descriptors for every document in FOLDER, one output file each.

    Documents may be text, UN export, PDF, DOCX or HTML files.
    A document that cannot be read is reported and skipped; the others are
    indexed.  The exit code is 65 if any document failed, 74 if FOLDER
    cannot be read.  Subfolders and files of other kinds are left out and
    counted.  Interrupted (Ctrl-C, or killed), the same command run again
    keeps the finished suggestion files and indexes the rest, unless the
    model or the options changed (then it redoes them all).  With --jobs,
    documents are shared out between worker processes; the output and the
    error messages are the same as with one.  With --cluster, chunks of
    documents are indexed by the workers of a Dask cluster and the files are
    written here: the same files again (the run's metadata goes to
    OUT/.fahras-cluster.json).
    """
    from fahras import Indexer
    from fahras.batch import index_folder

    if cluster is not None:
        from fahras.cluster import index_on_cluster, parse_address, require_dask

        require_dask()  # refused before the model is loaded: no dask, a bad address
        parse_address(cluster)
        if jobs is not None:
            raise UsageError("--cluster and --jobs: give one (local:N sets the local cluster's worker processes)")
    indexer = Indexer.load(model)
    _settle()
    doc_lang, label_lang = _languages(lang, label_lang, indexer)
    try:
        with _progress("index", not quiet) as progress:
            options = dict(limit=limit, threshold=threshold, lang=doc_lang, label_lang=label_lang,
                           output_format=output_format, force=force, batch_size=batch_size, model_path=model,
                           progress=progress)
            if cluster is None:
                report = index_folder(indexer, folder, out, jobs=jobs, **options)
            else:
                report = index_on_cluster(indexer, folder, out, cluster=cluster, **options)
    except KeyboardInterrupt:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C does not break the exit
        click.echo("fahras: interrupted; the suggestion files written are complete: "
                   "run the same command again to index the rest", err=True)
        sys.exit(130)
    if report.redone:
        click.echo(f"{report.redone}: indexed every document again", err=True)
    click.echo(f"indexed {report.indexed} documents into {out}"
               + (f"; {report.skipped} already done (use --force to redo)" if report.skipped else "")
               + (f"; {report.ignored_summary()}" if report.ignored else ""), err=True)
    for error in report.failures.values():
        click.echo(f"fahras: error: {error}", err=True)
    if report.failures:
        click.echo(f"{len(report.failures)} documents failed", err=True)
        sys.exit(InputError.exit_code)


def _settle() -> None:
    """The model stays for the whole run: exempt its objects from garbage collection.

    A full collection then no longer walks the model's objects (and worker
    processes forked later do not touch the memory they share with this one).
    """
    import gc

    gc.collect()
    gc.freeze()


# ---------------------------------------------------------------------------- eval
_METRIC_ROWS = [("documents", "documents"), ("precision@1", "P@1"), ("precision@3", "P@3"),
                ("precision@5", "P@5"), ("recall@5", "R@5"), ("f1@5", "F1@5"), ("ndcg@5", "nDCG@5"),
                ("ndcg@10", "nDCG@10"), ("lrap", "LRAP"), ("precision", "precision (rule)"),
                ("recall", "recall (rule)"), ("f1", "F1 (rule)")]


@cli.command(name="eval")
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("corpus", type=click.Path(path_type=Path))
@click.option("--format", "corpus_format", default="auto", show_default=True,
              type=click.Choice(["auto", "un-export", "annif-dir", "annif-tsv", "jsonl"]),
              help="Corpus format (auto: detected from the files).")
@click.option("--limit", type=click.IntRange(1, 10000), help="Override the decision rule's limit.")
@click.option("--threshold", type=click.FloatRange(0, 1), help="Override the decision rule's threshold.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@_cluster_option("Score the documents")
@click.option("-j", "--jobs", default=None, type=click.IntRange(0, 1024),
              help="Worker processes scoring the documents (0: one per available core); they share the "
                   "loaded model's memory. Default: one per core from 1,000 documents on, else 1. The "
                   "metrics are the same whatever the number.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def eval_(model, corpus, corpus_format, limit, threshold, as_json, quiet, cluster=None, jobs=None):
    """Measure suggestion quality on a CORPUS with known descriptors.

    Ranking metrics (P@k, R@5, F1@5, nDCG, LRAP) use the full ranking; F1,
    precision and recall are those of the model's decision rule.  All are
    averaged over documents.  With --cluster the documents are scored by the
    workers of a Dask cluster; the metrics are the same to the last digit.
    """
    from fahras import Indexer, read_corpus

    if cluster is not None:
        if jobs is not None:
            raise UsageError("--cluster and --jobs: give one")
        from fahras.cluster import evaluate_on_cluster, parse_address, require_dask

        require_dask()
        parse_address(cluster)
    indexer = Indexer.load(model)
    with _progress("eval", not quiet and not as_json) as progress:
        documents = read_corpus(corpus, corpus_format, strict=True)
        if cluster is None and jobs != 1:
            from fahras._system import available_cores
            from fahras.batch import evaluate_in_processes

            result = evaluate_in_processes(indexer, documents, None if jobs is None else jobs or available_cores(),
                                           progress=progress,
                                           limit=limit, threshold=threshold)
        elif cluster is None:
            result = indexer.evaluate(documents, progress=progress, limit=limit, threshold=threshold)
        else:
            result = evaluate_on_cluster(indexer, documents, cluster=cluster, model_path=model, progress=progress,
                                         limit=limit, threshold=threshold)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{model} on {corpus}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, name in _METRIC_ROWS:
        value = result[key]
        table.add_row(name, str(value) if isinstance(value, int) else f"{value:.4f}")
    Console().print(table)
    rule = DecisionRule.from_dict(result["decision_rule"])
    click.echo(f"decision rule: {rule.describe()}; "
               f"{result['gold_subjects_unknown_to_model']} gold descriptors are unknown to the model")


# ---------------------------------------------------------------------------- optimize
@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("corpus", type=click.Path(path_type=Path))
@click.option("--format", "corpus_format", default="auto", show_default=True,
              type=click.Choice(["auto", "un-export", "annif-dir", "annif-tsv", "jsonl"]),
              help="Corpus format (auto: detected from the files).")
@click.option("--max-limit", type=click.IntRange(1, 100), help="Largest limit tried (default: the model's).")
@click.option("--decision", type=click.Choice(list(RULE_KINDS)), default=None,
              help="Kind of rule tuned: expected-f1 (per document, the number of descriptors with the best "
                   "expected F1) or threshold (one score threshold). Default: the model's kind.")
@click.option("--dry-run", is_flag=True, help="Report the best rule without saving it.")
def optimize(model, corpus, corpus_format, max_limit, decision, dry_run):
    """Re-tune MODEL's decision rule on an indexed CORPUS.

    The rule that maximises document-averaged F1 on CORPUS replaces the one
    chosen at training (the model folder is rewritten atomically).
    """
    from fahras import Indexer, read_corpus

    indexer = Indexer.load(model)
    result = indexer.optimize(read_corpus(corpus, corpus_format, strict=True), max_limit=max_limit, kind=decision)
    rule, old = (DecisionRule.from_dict(result[k]) for k in ("decision_rule", "previous_rule"))
    click.echo(f"best on {result['documents']} documents: {rule.describe()} (F1 {result['f1']:.4f}); "
               f"was {old.describe()}")
    if not dry_run:
        indexer.save(model)
        click.echo(f"saved {model}", err=True)


# ---------------------------------------------------------------------------- vocab
@cli.group()
def vocab() -> None:
    """Inspect a thesaurus."""


@vocab.command("show")
@click.argument("vocab_path", metavar="VOCAB", type=click.Path(path_type=Path))
@click.argument("descriptor")
@click.option("--lang", default="en", show_default=True, type=LANG_CHOICE, help="Language shown first.")
@click.option("--json", "as_json", is_flag=True, help="Print the concept as JSON.")
@click.option("--tree", is_flag=True,
              help="Print the hierarchy around the concept: domain, micro-thesaurus, broader chain, narrower, related.")
def vocab_show(vocab_path: Path, descriptor: str, lang: str, as_json: bool, tree: bool = False) -> None:
    """Show a concept found by label (any language, case and accents ignored), URI or id."""
    from fahras import load_vocabulary
    from fahras.vocab import LANGUAGES

    vocabulary = load_vocabulary(vocab_path)
    concept = vocabulary.find(descriptor)
    if concept is None:
        from fahras.vocab.search import ConceptSearch

        hits = ConceptSearch(vocabulary).search(descriptor, limit=5)
        hint = "; did you mean " + " | ".join(h.concept.label(lang) for h in hits) + "?" if hits else ""
        raise InputError(f"no concept {descriptor!r} in this vocabulary{hint} "
                         f"(see 'fahras vocab search')", vocab_path)
    if as_json:
        click.echo(json.dumps(concept.to_dict(), ensure_ascii=False))
        return
    if tree:
        from fahras.vocab.tree import hierarchy_lines
        click.echo("\n".join(hierarchy_lines(vocabulary, concept, lang)))
        return
    click.echo(concept.label(lang))
    click.echo(f"  uri: {concept.uri}")
    click.echo(f"  id:  {concept.identifier}")
    for code in LANGUAGES:
        if concept.labels.get(code):
            click.echo(f"  {code}:  {concept.labels[code]}")
    for group in concept.groups:
        names = vocabulary.groups.get(group, {})
        name = names.get(lang) or names.get("en", "")
        click.echo(f"  group: {group} {name}".rstrip())
    for uri in concept.related:
        other = vocabulary.get(uri)
        click.echo(f"  related: {other.label(lang) if other else uri}")
    for kind in ("broader", "narrower"):
        for uri in getattr(concept, kind):
            other = vocabulary.get(uri)
            click.echo(f"  {kind}: {other.label(lang) if other else uri}")


@vocab.command("search")
@click.argument("text")
@click.option("--vocab", "vocab_path", type=click.Path(path_type=Path),
              help="Thesaurus file to search (UNBIS .json, SKOS, .csv/.tsv).")
@click.option("--model", "model_path", type=click.Path(path_type=Path, file_okay=False),
              help="Search the thesaurus snapshot of this model folder instead (local headings included).")
@click.option("--lang", default=None, type=LANG_CHOICE,
              help="Match labels in this language only, and show labels in it (default: all six; shown in en).")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000), help="At most this many concepts.")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"results": [{"uri", "identifier", "label", "labels", "local", "matched", '
                   '"matched_language", "score"}]}.')
def vocab_search(text: str, vocab_path: Path | None, model_path: Path | None, lang: str | None, limit: int,
                 as_json: bool) -> None:
    """Find concepts by a few letters or words of a label, in any of the six languages.

    Matches whole labels, label beginnings (consult -> CONSULTATIONS), words
    in any order (armed women -> WOMEN IN ARMED CONFLICTS), word beginnings
    and, for Chinese, any part of a label; case, accents and Arabic spelling
    variants are ignored, and an Arabic word matches without its article.
    Best matches first; each concept once, under the label that matched.
    """
    from fahras.vocab.search import ConceptSearch, search_key

    vocabulary = _search_vocabulary(vocab_path, model_path)
    hits = ConceptSearch(vocabulary).search(text, limit=limit, langs=[lang] if lang else None)
    shown = lang or "en"
    query = search_key(text)
    if as_json:
        results = [{"uri": h.concept.uri, "identifier": h.concept.identifier, "label": h.concept.label(shown),
                    "labels": dict(h.concept.labels), "local": h.concept.local, "matched": h.label,
                    "matched_language": h.lang, "score": h.score} for h in hits]
        click.echo(json.dumps({"results": results}, ensure_ascii=False))
        return
    if not hits:
        click.echo(f"no concept matches {text!r}", err=True)
        return
    for h in hits:
        label = h.concept.label(shown)
        # the label that matched, unless the label shown matches the query as well
        matched = "" if h.label == label or query in search_key(label) else f"  (matched {h.lang}: {h.label})"
        local = "  [local]" if h.concept.local else ""
        click.echo(f"{h.score:.3f}\t{label}\t<{h.concept.uri}>{local}{matched}")


def _search_vocabulary(vocab_path: Path | None, model_path: Path | None):
    if (vocab_path is None) == (model_path is None):
        raise UsageError("give either --vocab FILE or --model DIR")
    if vocab_path is not None:
        from fahras import load_vocabulary

        return load_vocabulary(vocab_path)
    from fahras.errors import ModelError
    from fahras.store import read_json
    from fahras.vocab import Vocabulary

    if not model_path.is_dir():
        raise ModelError(f"{model_path}: model folder not found")
    data = read_json(model_path / "vocab.json")
    try:
        return Vocabulary.from_dict(data)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ModelError(f"{model_path / 'vocab.json'}: not a vocabulary snapshot ({exc})") from None


# ---------------------------------------------------------------------------- backends
@cli.command()
def backends() -> None:
    """List the backends 'fahras train --backend' accepts, with their parameters.

    Each parameter is shown as '--param NAME=DEFAULT' (the default as JSON),
    then what it does and the values it takes.
    """
    import inspect

    from fahras.models import backend_class, backend_names

    for name in backend_names():
        cls = backend_class(name)
        doc = (inspect.getdoc(cls) or "").splitlines()
        extra = (" (zero-shot: trains without documents)" if cls.zero_shot else
                 "" if cls.trainable else " (made by 'fahras learn' from a trained model; not trained directly)")
        click.echo(f"{name}: {doc[0] if doc else ''}{extra}")
        for pname, spec in cls.params.items():
            click.echo(f"    --param {pname}={json.dumps(spec.default, ensure_ascii=False)}")
            click.echo(f"        {spec.description} [{spec.allowed()}]")


# ---------------------------------------------------------------------------- info
@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the model's raw manifest.json instead.")
@click.option("--vocab", "vocab_path", type=click.Path(path_type=Path), default=None,
              help="Warn when the model was trained on another (older) edition of this thesaurus.")
def info(model: Path, as_json: bool, vocab_path: Path | None) -> None:
    """Show what a model is: backend and its bases, training data, subjects, decision rule, versions, size."""
    from fahras import Indexer

    indexer = Indexer.load(model)
    manifest = indexer.manifest_
    if as_json:
        click.echo(json.dumps(manifest, ensure_ascii=False, indent=2))
    else:
        for name, value in _model_summary(model, indexer):
            click.echo(f"{name + ':' if name else '':<15}{value}")
    if vocab_path is not None:
        warning = _thesaurus_warning(model, manifest, vocab_path)
        click.echo(f"fahras: warning: {warning}" if warning else f"thesaurus: same edition as {vocab_path}", err=True)


def _subject_kinds(indexer) -> dict[str, int]:
    """How many subjects of each kind a trained model can suggest (they add up to its subjects).

    * ``thesaurus_trained`` / ``local_trained``: thesaurus concepts and local
      headings (the library's own, not in the thesaurus) that training
      documents have;
    * ``thesaurus_other``: thesaurus concepts no training document has: the
      whole thesaurus for a zero-shot model, else headings the ``headings``
      backend composes that the thesaurus has (SITUATION IN LIBERIA);
    * ``local_composed``: local headings the ``headings`` backend composes for
      countries no training document names (KENYA SITUATION).
    """
    t = indexer.training_
    uris = indexer.subjects_.uris
    local = sum(1 for uri in uris if indexer.vocab_.get(uri).local)
    kinds = {"thesaurus_trained": int(t.get("thesaurus_subjects", 0)), "local_trained": int(t.get("local_subjects", 0))}
    kinds["thesaurus_other"] = len(uris) - local - kinds["thesaurus_trained"]
    kinds["local_composed"] = local - kinds["local_trained"]
    return kinds


def _describe_subjects(indexer) -> list[str]:
    """The subjects a model can suggest, by kind, in lines that add up."""
    k = _subject_kinds(indexer)
    lines = [f"{len(indexer.subjects_)} subjects the model can suggest:"]
    if k["thesaurus_trained"] or k["local_trained"]:
        lines.append(f"  {k['thesaurus_trained']} thesaurus concepts and {k['local_trained']} local headings "
                     f"found in the training documents")
    if k["thesaurus_other"]:
        bases = getattr(indexer.backend_, "base_specs_", None) or ()
        widened = indexer.backend == "labels" or any(b.get("name") == "labels" for b in bases
                                                      if isinstance(b, dict))
        why = ("the rest of the thesaurus" if indexer.training_.get("subject_space") == "vocabulary"
               else "no training document has them; the labels base finds them by their labels" if widened
               else "composed by the headings backend, e.g. SITUATION IN <country>; no training document has them")
        lines.append(f"  {k['thesaurus_other']} thesaurus concepts: {why}")
    if k["local_composed"]:
        lines.append(f"  {k['local_composed']} local headings composed by the headings backend for countries and "
                     f"missions no training document names (<COUNTRY>--POLITICAL CONDITIONS, <COUNTRY> SITUATION...)")
    if k["local_trained"] or k["local_composed"]:
        lines.append("  (local headings: the library's own headings, not in the thesaurus; English only)")
    return lines


def _model_summary(model: Path, indexer) -> list[tuple[str, str]]:
    manifest = indexer.manifest_
    t = indexer.training_
    versions = manifest.get("versions", {})
    rows = [("model", f"{model} (created {manifest.get('created', '?')}, format "
                      f"{manifest.get('format_version', '?')})")]
    backend = indexer.backend
    bases = getattr(indexer.backend_, "base_specs_", None) or getattr(indexer.backend_, "backends", None)
    if bases:
        backend += " of " + ", ".join(spec.get("name", "?") if isinstance(spec, dict) else str(spec) for spec in bases)
    rows.append(("backend", backend))
    if indexer.backend_params:
        rows.append(("parameters", json.dumps(indexer.backend_params, ensure_ascii=False)))
    analyzer = manifest.get("analyzer", {})
    name = analyzer.get("name", "?")
    if name == "auto":
        name = (f"auto (each document's language detected among the six; {analyzer.get('fallback', 'en')} "
                f"when unsure)" if analyzer.get("mode") == "document" else "auto")
    rows.append(("analyzer", name))
    if t.get("documents"):
        skipped = t.get("documents_without_subjects", 0)
        training = f"{t['documents']} documents" + (f" ({skipped} without descriptors skipped)" if skipped else "")
        training += (f"; descriptor occurrences: {t.get('thesaurus_occurrences', 0)} thesaurus concepts, "
                     f"{t.get('local_occurrences', 0)} local headings")
        if t.get("seconds") is not None:
            training += f"; {t['seconds']:.1f} s"
        rows.append(("training", training))
    else:
        rows.append(("training", "no training documents (zero-shot, from the thesaurus alone)"))
    lines = _describe_subjects(indexer)
    rows.append(("subjects", lines[0]))
    rows.extend(("", line.strip()) for line in lines[1:])
    rule = indexer.rule_.describe()
    if t.get("cv_f1") is not None:
        rule += f"; tuned on {t.get('cv_folds')} cross-validation folds, F1 {t['cv_f1']:.3f}"
    if t.get("optimized_on"):
        rule += f"; re-tuned on {t['optimized_on']} documents, F1 {t.get('optimized_f1', 0):.3f}"
    rows.append(("decision rule", rule))
    vocab = indexer.vocab_
    thesaurus = sum(1 for c in vocab if not c.local)
    source = vocab.source or "(unknown source)"
    extra = [f"{key} {getattr(vocab, key)}" for key in ("version", "modified") if getattr(vocab, key, None)]
    rows.append(("thesaurus", f"{source}{' (' + ', '.join(extra) + ')' if extra else ''}: {thesaurus} concepts"))
    rows.append(("versions", ", ".join(f"{k} {v}" for k, v in versions.items()) or "?"))
    files = [p for p in model.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    rows.append(("size on disk", f"{_human_size(size)} in {len(files)} files"))
    return rows


def _human_size(size: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


# --- connectors commands ---
def _network_options(retries: int):
    """The ``--timeout`` and ``--retries`` options of the commands that fetch from the UN's sources."""
    def decorate(func):
        func = click.option("--retries", default=retries, show_default=True, type=click.IntRange(0, 20),
                            help="Retries after a timeout, a dropped connection, 429 (after its "
                                 "Retry-After) or 5xx.")(func)
        return click.option("--timeout", default=60.0, show_default=True, type=click.FloatRange(1, 3600),
                            help="Seconds to wait for the server before retrying.")(func)
    return decorate


# The UN's own sources: the thesaurus dump, Digital Library records and their full texts.
def _lang_list(value: str) -> tuple[str, ...]:
    if value.strip().lower() == "all":
        return LANGS
    langs = tuple(dict.fromkeys(part.strip().lower() for part in value.split(",") if part.strip()))
    unknown = [lang for lang in langs if lang not in LANGS]
    if unknown or not langs:
        raise UsageError(f"--lang: expected a comma-separated list of {', '.join(LANGS)} (or all), got {value!r}")
    return langs


def _byte_progress(update):
    return lambda done, total: update("download", done, total)


@vocab.command("fetch")
@click.argument("source", type=click.Choice(["unbis"]))
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="File to write (e.g. unbist.ttl); replaced atomically once the download is complete and parses.")
@click.option("--url", default=None,
              help="Download this URL instead of looking up the newest dump (default: the newest unbist-*.ttl "
                   "among the files of the UN Digital Library's thesaurus record).")
@click.option("--base-url", default="https://digitallibrary.un.org", show_default=True,
              help="Digital Library site whose thesaurus record is looked up (without --url).")
@_network_options(retries=4)
@click.option("--no-check", is_flag=True, help="Keep the download without parsing it as SKOS first.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def vocab_fetch(source: str, out: Path, url: str | None, base_url: str, timeout: float, retries: int,
                no_check: bool, quiet: bool) -> None:
    """Download the current UNBIS Thesaurus (SKOS Turtle) from the UN.

    \b
    Example:
      fahras vocab fetch unbis --out unbist.ttl
      fahras train --vocab unbist.ttl ...
    """
    from fahras.connectors.http import HttpClient
    from fahras.connectors.unbis import fetch_thesaurus

    client = HttpClient(timeout=timeout, retries=retries, delay=1.0)
    with _progress("fetch", not quiet) as progress:
        report = fetch_thesaurus(out, url=url, client=client, base_url=base_url,
                                 progress=_byte_progress(progress), check=not no_check)
    click.echo(f"saved {report.out} ({report.size} bytes) from {report.url}", err=True)


@vocab.command("diff")
@click.argument("old_path", metavar="OLD", type=click.Path(path_type=Path))
@click.argument("new_path", metavar="NEW", type=click.Path(path_type=Path))
@click.option("--lang", default="en", show_default=True, type=LANG_CHOICE, help="Language of the labels shown.")
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
def vocab_diff(old_path: Path, new_path: Path, lang: str, as_json: bool) -> None:
    """List the concepts added, removed and relabelled between two thesaurus files (or model folders)."""
    from fahras.vocab.diff import diff_vocabularies

    old, new = _vocab_or_model(old_path), _vocab_or_model(new_path)
    diff = diff_vocabularies(old, new)
    if as_json:
        click.echo(json.dumps({"old": {"source": str(old_path), "version": old.version},
                               "new": {"source": str(new_path), "version": new.version},
                               **diff.to_dict(lang)}, ensure_ascii=False))
        return
    for concept in diff.added:
        click.echo(f"+ {concept.uri}\t{concept.label(lang)}")
    for concept in diff.removed:
        click.echo(f"- {concept.uri}\t{concept.label(lang)}")
    for change in diff.relabelled:
        for code in change.old:
            click.echo(f"~ {change.uri}\t{code}: {change.old[code] or '(none)'} -> {change.new[code] or '(none)'}")
    click.echo(f"{old.version or old_path} -> {new.version or new_path}: {diff.summary()}", err=True)


def _vocab_or_model(path: Path):
    """A thesaurus file, or the thesaurus snapshot inside a model folder."""
    from fahras import load_vocabulary
    from fahras.vocab import Vocabulary

    if path.is_dir() and (path / "vocab.json").is_file():
        data = json.loads((path / "vocab.json").read_text(encoding="utf-8"))
        vocabulary = Vocabulary.from_dict(data)
        manifest = path / "manifest.json"
        if not vocabulary.version and manifest.is_file():
            vocabulary.version = json.loads(manifest.read_text(encoding="utf-8")).get("vocabulary", {}).get("version", "")
        return vocabulary
    return load_vocabulary(path)


def _thesaurus_warning(model: Path, manifest: dict, vocab_path: Path) -> str | None:
    """A warning when the model was trained on another (older) edition of the thesaurus at ``vocab_path``."""
    from fahras.vocab.diff import diff_vocabularies
    from fahras.vocab.skos import file_sha256

    given = _vocab_or_model(vocab_path)
    checksum = given.checksum or (file_sha256(vocab_path) if vocab_path.is_file() else "")
    trained = manifest.get("vocabulary") or {}
    snapshot = _vocab_or_model(model)
    trained_version = trained.get("version") or snapshot.version
    trained_checksum = trained.get("checksum") or snapshot.checksum
    if trained_checksum and checksum and trained_checksum == checksum:
        return None
    diff = diff_vocabularies(snapshot, given)
    if not diff and (not trained_version or trained_version == given.version):
        return None
    if trained_version and given.version and trained_version < given.version:
        lead = f"the model was trained on an older thesaurus ({trained_version}) than {vocab_path} ({given.version})"
    elif trained_version and given.version and trained_version > given.version:
        lead = f"the model was trained on a newer thesaurus ({trained_version}) than {vocab_path} ({given.version})"
    else:
        lead = f"the model was trained on another edition of the thesaurus than {vocab_path}"
    return f"{lead}: {diff.summary()} since; retrain to use the new concepts"


@cli.group()
def corpus() -> None:
    """Build training corpora from the UN's records: harvest the Digital Library or import MARCXML files."""


@corpus.command("harvest")
@click.argument("source", type=click.Choice(["undl"]))
@click.option("--query", required=True,
              help="Digital Library search, e.g. '191__a:\"S/RES/*\"' (Security Council resolutions).")
@click.option("--since", default=None, help="Skip records dated (269) before this day, YYYY-MM-DD.")
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Corpus folder (documents/, records.jsonl, files/, marcxml/); a rerun resumes in it.")
@click.option("--lang", "langs", default="en", show_default=True,
              help="Languages of the full texts to download: comma-separated (ar,zh,en,fr,ru,es) or all.")
@click.option("--base-url", default="https://digitallibrary.un.org", show_default=True,
              help="Digital Library site.")
@click.option("--token-file", type=click.Path(path_type=Path), default=None,
              help="File holding a Digital Library API token: use the API (/api/v1/search) instead of the "
                   "public search.")
@click.option("--vocab", "vocab_path", type=click.Path(path_type=Path), default=None,
              help="Thesaurus to match subjects against (written as URIs); without it headings are kept as written.")
@click.option("--authorities", multiple=True, type=click.Path(path_type=Path),
              help="MARCXML authority records (authority id -> thesaurus URI), repeatable.")
@click.option("--require-text", is_flag=True, help="Skip records without any full text (default: use the title).")
@click.option("--max-records", type=click.IntRange(1), default=None, help="Stop after this many records.")
@click.option("--delay", type=click.FloatRange(0), default=None,
              help="Seconds between requests (default: 1 for the public search, 3 for the API).")
@_network_options(retries=5)
@click.option("--page-size", default=200, show_default=True, type=click.IntRange(1, 200),
              help="Records per page (public search).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def corpus_harvest(source, query, since, out, langs, base_url, token_file, vocab_path, authorities, require_text,
                   max_records, delay, timeout, retries, page_size, quiet) -> None:
    """Harvest indexed documents from the UN Digital Library into a training corpus.

    Downloads the records matching --query page by page, the full texts in
    the --lang languages, extracts them, and writes one UN export document per
    record and language into OUT/documents (plus OUT/records.jsonl).  Polite
    (paced, retries with backoff, honours Retry-After) and resumable: run the
    same command again to continue after an interruption.

    \b
    Example:
      fahras corpus harvest undl --query '191__a:"S/RES/*"' --since 2020-01-01 --out corpus/ --lang ar,en
      fahras train --vocab unbist.ttl --out models/unsc corpus/documents
    """
    import re as _re

    from fahras.connectors.http import HttpClient
    from fahras.connectors.undl import API_DELAY, PUBLIC_DELAY, DigitalLibrary, harvest_undl, read_token

    if since and not _re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", since):
        raise UsageError(f"--since: expected YYYY-MM-DD, got {since!r}")
    token = read_token(token_file) if token_file else None
    pace = delay if delay is not None else (API_DELAY if token else PUBLIC_DELAY)
    client = HttpClient(timeout=timeout, retries=retries, delay=pace)
    library = DigitalLibrary(base_url, token=token, client=client, page_size=page_size)
    vocabulary = None
    if vocab_path:
        from fahras import load_vocabulary
        vocabulary = load_vocabulary(vocab_path)
    with _progress("harvest", not quiet) as progress:
        summary = harvest_undl(query, out, since=since, langs=_lang_list(langs), library=library,
                               vocab=vocabulary, authorities=authorities, require_text=require_text,
                               max_records=max_records,
                               progress=lambda done, total: progress("records", done, total))
    for line in summary.lines():
        click.echo(line, err=True)
    click.echo(f"corpus: {out / 'documents'}", err=True)


@corpus.command("import")
@click.argument("fmt", metavar="FORMAT", type=click.Choice(["marcxml"]))
@click.argument("records", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Corpus folder (documents/ and records.jsonl); a rerun skips the records already written.")
@click.option("--texts", type=click.Path(path_type=Path), default=None,
              help="Folder of full texts (PDF, DOCX, HTML, TXT) named as in the records' 856 links.")
@click.option("--vocab", "vocab_path", type=click.Path(path_type=Path), default=None,
              help="Thesaurus to match subjects against (written as URIs); without it headings are kept as written.")
@click.option("--lang", "langs", default="all", show_default=True,
              help="Languages of the texts to use: comma-separated (ar,zh,en,fr,ru,es) or all.")
@click.option("--authorities", multiple=True, type=click.Path(path_type=Path),
              help="More MARCXML files with authority records (authority id -> thesaurus URI), repeatable.")
@click.option("--require-text", is_flag=True, help="Skip records without any full text (default: use the title).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def corpus_import(fmt, records, out, texts, vocab_path, langs, authorities, require_text, quiet) -> None:
    """Build a training corpus from MARCXML records (files or folders) and downloaded full texts.

    \b
    Example:
      fahras corpus import marcxml records.xml --texts pdfs/ --vocab unbist.ttl --out corpus/
      fahras train --vocab unbist.ttl --out models/unsc corpus/documents
    """
    from fahras.connectors.build import import_marcxml

    vocabulary = None
    if vocab_path:
        from fahras import load_vocabulary
        vocabulary = load_vocabulary(vocab_path)
    with _progress("import", not quiet) as progress:
        summary = import_marcxml(records, out, texts=texts, vocab=vocabulary, langs=_lang_list(langs),
                                 require_text=require_text, authorities=authorities,
                                 progress=lambda done, total: progress("records", done, total))
    for line in summary.lines():
        click.echo(line, err=True)
    click.echo(f"corpus: {out / 'documents'}", err=True)
# --- end connectors commands ---


# --- svc-db commands ---
def _open_feedback(url: str, store_text: bool = True):
    """The feedback store at ``url``; a one-line error when the ``db`` extra is missing."""
    try:
        from fahras.feedback import FeedbackStore
    except ImportError as exc:
        raise UsageError(f"the feedback database needs the db extra: pip install 'fahras[db]' ({exc})") from None
    return FeedbackStore(url, store_text=store_text)


def _feedback_vocab(path: Path | None):
    """The vocabulary of a thesaurus file or of a model folder (None: none given)."""
    if path is None:
        return None
    if path.is_dir():
        from fahras import Indexer

        return Indexer.load(path).vocab_
    from fahras import load_vocabulary

    return load_vocabulary(path)


_DB_OPTION = click.option("--db", "db_url", default="sqlite:///fahras.db", show_default=True, metavar="URL",
                          help="Feedback database: sqlite:///FILE or postgresql+psycopg://USER@HOST/DB.")


@cli.group()
def feedback() -> None:
    """The feedback database: indexers' decisions, as training data and statistics."""


@feedback.command("export")
@_DB_OPTION
@click.option("--out", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Folder to write the corpus into (UN export format, one file per document).")
@click.option("--project", default=None, help="Only the decisions of this project.")
@click.option("--vocab", "vocab_path", default=None, type=click.Path(path_type=Path),
              help="Thesaurus (or a model folder) whose English preferred labels name the descriptors "
                   "(default: the labels stored with the decisions).")
def feedback_export(db_url: str, out: Path, project: str | None, vocab_path: Path | None) -> None:
    """Write the latest decision on each document as a training corpus.

    Line 1 of each file lists the final descriptors (accepted and added),
    then an empty line and the document's text; 'fahras train' reads the
    folder.  Documents whose text was not stored are skipped and counted.
    """
    vocab = _feedback_vocab(vocab_path)
    store = _open_feedback(db_url)
    try:
        report = store.export(out, project=project, vocab=vocab)
    finally:
        store.close()
    click.echo(f"exported {report.written} documents to {out}", err=True)
    if report.skipped_without_text:
        click.echo(f"skipped {report.skipped_without_text} documents whose text is not stored", err=True)
    if report.skipped_without_descriptors:
        click.echo(f"skipped {report.skipped_without_descriptors} documents without final descriptors", err=True)


@feedback.command("stats")
@_DB_OPTION
@click.option("--project", default=None, help="Only the decisions of this project.")
@click.option("--top", default=30, show_default=True, type=click.IntRange(1, 100000),
              help="Descriptors shown in the table (--json lists all).")
@click.option("--vocab", "vocab_path", default=None, type=click.Path(path_type=Path),
              help="Thesaurus (or a model folder) naming the descriptors by English preferred label.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def feedback_stats(db_url: str, project: str | None, top: int, vocab_path: Path | None, as_json: bool) -> None:
    """Counts of decisions per descriptor and per indexer."""
    vocab = _feedback_vocab(vocab_path)
    store = _open_feedback(db_url)
    try:
        stats = store.stats(project)
    finally:
        store.close()
    if vocab is not None:
        for d in stats.descriptors:
            concept = vocab.get(d.uri)
            d.label = concept.label("en") if concept is not None else d.label
    if as_json:
        click.echo(json.dumps(stats.to_dict(), ensure_ascii=False, indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"{stats.decisions} decisions on {stats.documents} documents"
                  + "".join(f"; {name}: {n}" for name, n in sorted(stats.projects.items())))
    table = Table(title="descriptors (accepted + added first)")
    for name in ("descriptor", "uri", "accepted", "added", "rejected"):
        table.add_column(name, justify="right" if name in ("accepted", "added", "rejected") else "left")
    for d in stats.descriptors[:top]:
        table.add_row(d.label or "", d.uri, str(d.accepted), str(d.added), str(d.rejected))
    console.print(table)
    table = Table(title="indexers")
    for name in ("indexer", "decisions", "documents", "accepted", "added", "rejected"):
        table.add_column(name, justify="left" if name == "indexer" else "right")
    for i in stats.indexers:
        table.add_row(i.indexer or "(unknown)", str(i.decisions), str(i.documents), str(i.accepted), str(i.added),
                      str(i.rejected))
    console.print(table)


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@_DB_OPTION
@click.option("--project", default=None, help="Only the decisions of this project.")
@click.option("--out", default=None, type=click.Path(path_type=Path),
              help="Write the learned model here (default: replace MODEL atomically).")
@click.option("--min-rule-documents", default=20, show_default=True, type=click.IntRange(1, 1000000),
              help="Decided documents needed before the decision rule is re-tuned on them.")
@click.option("--json", "as_json", is_flag=True, help="Print the learning report as JSON.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def learn(model: Path, db_url: str, project: str | None, out: Path | None, min_rule_documents: int,
          as_json: bool, quiet: bool) -> None:
    """Update MODEL from the indexers' decisions in the feedback database.

    The latest decision on each document counts (accepted + added
    descriptors).  Without a full retrain: the nearest-neighbour backend
    adds the documents to its memory, subjects the model never saw become
    suggestable, the ensemble's stacker and the decision rule are refitted.
    Documents learned before with the same descriptors are skipped.  See
    docs/design.md, "Learning from decisions".
    """
    from fahras.learning import decision_documents
    from fahras.learning import learn as learn_model

    store = _open_feedback(db_url)
    try:
        documents, without_text = decision_documents(store, project)
    finally:
        store.close()
    with _progress("learn", not quiet) as progress:
        report = learn_model(model, documents, out=out, progress=progress, min_rule_documents=min_rule_documents)
    if as_json:
        click.echo(json.dumps({**report.to_dict(), "without_text": without_text}, ensure_ascii=False, indent=1))
        return
    if not report.written:
        click.echo(f"nothing new to learn ({report.unchanged} documents already learned, "
                   f"{report.skipped + without_text} without text or descriptors); {model} unchanged", err=True)
        return
    click.echo(f"learned {report.documents} new documents into {report.model} ({report.relabelled} with changed "
               f"descriptors, {report.unchanged} already learned, {report.skipped + without_text} without text "
               f"or descriptors); {len(report.new_subjects)} new subjects; {report.memory_documents} decided "
               f"documents learned in all", err=True)
    if report.rule_after != report.rule_before:
        from fahras.decision import DecisionRule as _Rule

        click.echo(f"decision rule: {_Rule.from_dict(report.rule_after).describe()}", err=True)


# --- svc-api commands ---
@cli.command()
@click.argument("models", nargs=-1, type=click.Path(path_type=Path))
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Projects and settings in TOML ([service] and [projects.ID] tables; see docs/design.md).")
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1: this machine only).")
@click.option("--port", default=None, type=click.IntRange(0, 65535), help="Port (default 8080).")
@click.option("--db", default=None, metavar="URL",
              help="Feedback database: sqlite:///fahras.db (the default), postgresql+psycopg://..., "
                   "or 'none' for no database (the feedback endpoints then answer 503).")
@click.option("--api-key-file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="File whose first line is the API key the write endpoints (learn, feedback, reload) "
                   "require; without one they are open to loopback clients only.")
@click.option("--max-body", "max_body_bytes", type=click.IntRange(1), default=None,
              help="Largest request body in bytes (default 10000000); larger ones get 413.")
@click.option("--max-text", "max_text_chars", type=click.IntRange(1), default=None,
              help="Longest document text in characters (default 2000000); longer ones get 413.")
@click.option("--max-batch", "max_batch_documents", type=click.IntRange(1, 1000), default=None,
              help="Most documents in one suggest-batch call (default 32, Annif's); more get 400.")
@click.option("--timeout", "request_timeout", type=click.FloatRange(0.001), default=None,
              help="Seconds a request may take, waiting for a scoring thread included (default 30); then 503.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Scoring threads shared by all requests (default 2).")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]),
              help="How much the server logs (uvicorn's and Fahras's loggers).")
def serve(models, config_path, host, port, db, api_key_file, max_body_bytes, max_text_chars,
          max_batch_documents, request_timeout, workers, log_level):
    """Serve models over HTTP: Annif's REST API v1 plus Fahras's own endpoints.

    Give model folders (each a project named after its folder) or --config
    FILE.  Models load once at start; GET /readyz answers 200 once they have.
    OpenAPI at /openapi.json, interactive documentation at /docs.

    \b
    Example:
      fahras serve models/unsc --port 8080
      curl -d text="The Security Council ..." http://127.0.0.1:8080/v1/projects/unsc/suggest
    """
    from fahras.service.config import ServiceConfig

    if config_path is not None and models:
        raise UsageError("give model folders or --config, not both")
    if config_path is not None:
        config = ServiceConfig.from_toml(config_path)
    else:
        config = ServiceConfig.from_model_dirs(list(models))
    config = config.with_overrides(db=db if db is not None else (config.db or "sqlite:///fahras.db"))
    if config.db.lower() == "none":
        from dataclasses import replace

        config = replace(config, db=None)
    config = config.with_overrides(host=host, port=port, api_key_file=api_key_file, max_body_bytes=max_body_bytes,
                                   max_text_chars=max_text_chars, max_batch_documents=max_batch_documents,
                                   request_timeout=request_timeout, workers=workers)
    try:
        from fahras.service import run
    except ImportError as exc:
        raise UsageError(f"fahras serve needs the serve extra: pip install 'fahras[serve]' ({exc})") from None
    config.api_key()  # a missing or empty key file is an error now, not at the first request
    from fahras.errors import ModelError

    for project in config.projects:
        if not project.model.is_dir():
            raise ModelError(f"{project.model}: model folder not found (project {project.project_id})")
    run(config, log_level=log_level)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning Fahras errors into one-line messages."""
    try:
        cli.main(args=argv, prog_name="fahras", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("fahras: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except FahrasError as exc:
        click.echo(f"fahras: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
    except KeyboardInterrupt:
        click.echo("fahras: interrupted", err=True)
        sys.exit(130)
    except MemoryError:
        click.echo("fahras: error: out of memory", err=True)
        sys.exit(71)
    except OSError as exc:  # a file or folder the command had to read or write
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(f"fahras: error: {where}{exc.strerror or exc}", err=True)
        sys.exit(74)  # EX_IOERR


if __name__ == "__main__":
    main()
