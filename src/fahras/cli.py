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

log = logging.getLogger("fahras")

LANGS = ("ar", "zh", "en", "fr", "ru", "es")
LANG_CHOICE = click.Choice(LANGS)


def _console():
    from rich.console import Console

    return Console(stderr=True)


def _language_options(func):
    func = click.option("--label-lang", default=None, type=LANG_CHOICE,
                        help="Language of the labels shown (default: --lang if given, else en).")(func)
    return click.option("--lang", default="auto", show_default=True, type=click.Choice(["auto", *LANGS]),
                        help="Language of the documents; auto detects each one.")(func)


@contextmanager
def _progress(description: str, enabled: bool = True) -> Iterator:
    """A rich progress bar on stderr; yields a ``(stage, done, total)`` callback.

    The bar (and its refresh thread) starts at the first call: ``fahras
    index`` forks its workers before that.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if not enabled:
        yield lambda stage, done, total: None
        return
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=_console(), transient=True)
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
      fahras suggest models/unsc document.txt
      fahras eval models/unsc HELD_OUT_DIR
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
                   "languages), ar, zh, en, fr, ru, es.")
@click.option("--subject-space", default="auto", show_default=True,
              type=click.Choice(["auto", "training", "vocabulary"]),
              help="Subjects the model can suggest: those of the training documents, or the whole "
                   "thesaurus (auto: the whole thesaurus when no corpus is given).")
@click.option("--cv-folds", default=3, show_default=True, type=click.IntRange(0, 20),
              help="Cross-validation folds used to tune the decision rule (0: no tuning).")
@click.option("--decision", default="expected-f1", show_default=True, type=click.Choice(list(RULE_KINDS)),
              help="Kind of decision rule tuned: expected-f1 keeps, per document, the number of descriptors "
                   "with the best expected F1; threshold keeps those above one tuned score.")
@click.option("-j", "--jobs", type=click.IntRange(0, 256), default=None,
              help="Worker processes fitting an ensemble's base backends (0: one per core, at most 8, from 100 "
                   "documents on, the default; 1: this process only). Same model either way.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--strict", is_flag=True,
              help="Stop at the first bad training document (empty, not UTF-8, broken header, over "
                   "FAHRAS_MAX_DOCUMENT_BYTES); by default each is skipped with a warning and counted.")
def train(corpus: tuple[Path, ...], vocab_path: Path, out: Path, corpus_format: str, backend: str | None,
          params: tuple[str, ...], analyzer: str, subject_space: str, cv_folds: int, decision: str,
          jobs: int | None, quiet: bool, strict: bool = False) -> None:
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
    indexer = Indexer(backend=backend, backend_params=backend_params or None, analyzer=analyzer,
                      subject_space=subject_space, cv_folds=cv_folds, decision=decision)
    with _progress("train", not quiet) as progress:
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
    click.echo(f"trained {out}: {t['documents']} documents, {t['subjects']} subjects "
               f"({t['thesaurus_subjects']} thesaurus concepts, {t['local_subjects']} local headings); "
               f"descriptor occurrences: {t['thesaurus_occurrences']} matched the thesaurus, "
               f"{t['local_occurrences']} kept as local subjects", err=True)
    if t["documents_without_subjects"]:
        click.echo(f"skipped {t['documents_without_subjects']} documents without descriptors", err=True)
    rule = indexer.rule_
    cv = f", cross-validated F1 {t['cv_f1']:.3f}" if t.get("cv_f1") is not None else ""
    click.echo(f"decision rule: {rule.describe()}{cv}; {t['seconds']:.1f} s", err=True)


def _parse_params(items: tuple[str, ...]) -> dict:
    params = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not eq or not name:
            raise click.BadParameter(f"{item!r}: expected NAME=VALUE", param_hint="--param")
        try:
            params[name] = json.loads(value)
        except json.JSONDecodeError:
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
@click.option("--json", "as_json", is_flag=True, help='Print {"results": [{"uri", "label", "score"}]} per document.')
@click.option("--all-labels", is_flag=True, help="With --json: include labels in all six languages.")
@click.option("--explain", is_flag=True, help="Show the words that led to each descriptor.")
def suggest(model: Path, files: tuple[Path, ...], limit, threshold, lang, label_lang, as_json, all_labels,
            explain):
    """Suggest descriptors for documents (FILES, or standard input if none).

    Files may be plain UTF-8 text, UN export format (its %%% header is
    ignored), PDF, DOCX or HTML.  UN page furniture (job numbers, page marks,
    running headers) is ignored.
    """
    from fahras import Indexer

    indexer = Indexer.load(model)
    doc_lang, label_lang = _languages(lang, label_lang)
    from fahras.batch import analyse_document, read_document

    inputs = [(str(p), read_document(p)) for p in files] or [("-", _read_stdin())]
    analysed = [analyse_document(indexer, text, name, doc_lang) for name, text in inputs]
    results = indexer.suggest_batch(analysed, limit=limit, threshold=threshold,
                                    label_lang=label_lang, explain=explain, lang=doc_lang)
    for (name, _), suggestions in zip(inputs, results):
        if as_json:
            payload = {"results": [s.to_dict(all_labels=all_labels) for s in suggestions]}
            if len(inputs) > 1:
                payload = {"document": name, **payload}
            click.echo(json.dumps(payload, ensure_ascii=False))
            continue
        if len(inputs) > 1:
            click.echo(f"== {name}")
        for s in suggestions:
            click.echo(f"{s.score:.4f}\t{s.label}\t<{s.uri}>")
            for ev in s.evidence:
                where = f" at {ev.spans[0][0]}-{ev.spans[0][1]}" if ev.spans else ""
                click.echo(f"\t\t{ev.kind}: {_shorten(ev.text)} ({ev.weight:+.3f}{where})")


def _languages(lang: str, label_lang: str | None) -> tuple[str | None, str]:
    """(document language or None for auto, label language)."""
    doc_lang = None if lang == "auto" else lang
    return doc_lang, label_lang or doc_lang or "en"


def _shorten(text: str, width: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _read_stdin() -> str:
    from fahras.text import extract_bytes

    return extract_bytes(sys.stdin.buffer.read(), "<stdin>", strip=False, detect=False).text


# ---------------------------------------------------------------------------- index
@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("--out", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Folder for the suggestion files (created if missing).")
@click.option("--limit", type=click.IntRange(1, 10000), help="At most this many descriptors per document.")
@click.option("--threshold", type=click.FloatRange(0, 1), help="Only descriptors scoring at least this.")
@_language_options
@click.option("--output-format", type=click.Choice(["annif", "json"]), default="annif", show_default=True,
              help="annif: NAME.annif with <uri>TAB label TAB score lines; json: NAME.json.")
@click.option("--force", is_flag=True, help="Overwrite existing suggestion files.")
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(1, 100000))
@click.option("-j", "--jobs", default=1, show_default=True, type=click.IntRange(0, 1024),
              help="Worker processes (0: one per CPU core); each holds the model once.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def index(model, folder, out, limit, threshold, lang, label_lang, output_format, force, batch_size, jobs, quiet):
    """Suggest descriptors for every document in FOLDER, one output file each.

    Documents may be text, UN export, PDF, DOCX or HTML files.
    A document that cannot be read is reported and skipped; the others are
    indexed.  The exit code is 65 if any document failed.  With --jobs,
    documents are shared out between worker processes; the output and the
    error messages are the same as with one.
    """
    from fahras import Indexer
    from fahras.batch import index_folder

    indexer = Indexer.load(model)
    _settle()
    doc_lang, label_lang = _languages(lang, label_lang)
    with _progress("index", not quiet) as progress:
        report = index_folder(indexer, folder, out, limit=limit, threshold=threshold, lang=doc_lang,
                              label_lang=label_lang, output_format=output_format, force=force,
                              batch_size=batch_size, jobs=jobs, model_path=model, progress=progress)
    click.echo(f"indexed {report.indexed} documents into {out}"
               + (f"; {report.skipped} already done (use --force to redo)" if report.skipped else ""), err=True)
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
              type=click.Choice(["auto", "un-export", "annif-dir", "annif-tsv", "jsonl"]))
@click.option("--limit", type=click.IntRange(1, 10000), help="Override the decision rule's limit.")
@click.option("--threshold", type=click.FloatRange(0, 1), help="Override the decision rule's threshold.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def eval_(model, corpus, corpus_format, limit, threshold, as_json, quiet):
    """Measure suggestion quality on a CORPUS with known descriptors.

    Ranking metrics (P@k, R@5, F1@5, nDCG, LRAP) use the full ranking; F1,
    precision and recall are those of the model's decision rule.  All are
    averaged over documents.
    """
    from fahras import Indexer, read_corpus

    indexer = Indexer.load(model)
    with _progress("eval", not quiet and not as_json) as progress:
        result = indexer.evaluate(read_corpus(corpus, corpus_format, strict=True), progress=progress,
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
              type=click.Choice(["auto", "un-export", "annif-dir", "annif-tsv", "jsonl"]))
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
def vocab_show(vocab_path: Path, descriptor: str, lang: str, as_json: bool) -> None:
    """Show a concept found by label (any language, case and accents ignored), URI or id."""
    from fahras import load_vocabulary
    from fahras.vocab import LANGUAGES

    vocabulary = load_vocabulary(vocab_path)
    concept = vocabulary.find(descriptor)
    if concept is None:
        raise InputError(f"no concept {descriptor!r} in this vocabulary", vocab_path)
    if as_json:
        click.echo(json.dumps(concept.to_dict(), ensure_ascii=False))
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


# ---------------------------------------------------------------------------- backends
@cli.command()
def backends() -> None:
    """List the backends 'fahras train --backend' accepts, with their parameters."""
    import inspect

    from fahras.models.base import _REGISTRY, backend_names

    for name in backend_names():
        cls = _REGISTRY[name]
        doc = (inspect.getdoc(cls) or "").splitlines()
        click.echo(f"{name}: {doc[0] if doc else ''}")
        params = inspect.signature(cls.__init__).parameters
        for pname, param in params.items():
            if pname != "self":
                click.echo(f"    --param {pname}={param.default!r}")


# ---------------------------------------------------------------------------- info
@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
def info(model: Path) -> None:
    """Show what a model is: backend, analyzer, decision rule, training statistics."""
    from fahras import Indexer

    indexer = Indexer.load(model)
    click.echo(json.dumps({k: v for k, v in indexer.manifest_.items()}, ensure_ascii=False, indent=2))


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
