"""Batch indexing: suggestions for every document of a folder, one output file each.

:func:`index_folder` is what ``fahras index`` runs; a Python user (or a
cluster job working through its share of a corpus) calls it directly.  A
document that cannot be read, or is in none of the six UN languages, is
reported and skipped; the others are indexed.  Suggestion files are written
atomically: each is whole or absent, never half written.

One worker indexes in this process and hands each chunk's file writes to a
thread; more workers are processes that each hold the model once (forked
from this one where the platform allows, so they share its memory).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

from fahras._system import available_cores
from fahras.errors import InputError, UsageError
from fahras.formats import annif_line_start, annif_lines, result_dict, results_json
from fahras.indexer import Progress, check_languages
from fahras.store.modeldir import CHECKSUMS_FILE
from fahras.store.names import MAX_NAME_BYTES, NameSet
from fahras.workers import pool_arguments

#: Output formats: the suggestion file's suffix.
OUTPUT_SUFFIXES = {"annif": ".annif", "json": ".json"}
#: ``jsonl``: one file for the run, assembled from a hidden JSON file per document in this folder of the output.
JSONL_FILE, JSONL_PARTS = "suggestions.jsonl", ".fahras-jsonl"


def output_formats(output_format: str) -> list[str]:
    """The formats of a comma list such as ``annif,jsonl`` (annif, json, jsonl), each once."""
    formats = [f.strip() for f in output_format.split(",")]
    known = (*OUTPUT_SUFFIXES, "jsonl")
    if not all(f in known for f in formats) or len(set(formats)) != len(formats):
        raise UsageError(f"unknown output format {output_format!r}; choose one or more of {', '.join(known)}, "
                         "comma-separated")
    return formats


@dataclass
class IndexReport:
    """What :func:`index_folder` did."""

    indexed: int = 0                                       # suggestion files written
    skipped: int = 0                                       # documents whose file existed (no ``force``)
    failures: dict[str, str] = field(default_factory=dict)  # document -> why it has no file, in document order
    ignored: list[str] = field(default_factory=list)       # names in the folder that are not documents (subfolders,
    #                                                        unsupported files), by name
    redone: str | None = None                              # why files of an earlier run were not kept, if they were not

    def ignored_summary(self, shown: int = 10) -> str:
        """``"N not documents (a, b, ...)"`` for the names left out, or ``""``."""
        if not self.ignored:
            return ""
        names = ", ".join(self.ignored[:shown]) + (", ..." if len(self.ignored) > shown else "")
        return f"{len(self.ignored)} not documents, left out ({names})"


#: The run manifest in the output folder: the model and options the suggestion files there were made with.
RUN_MANIFEST = ".fahras-index.json"


def read_document(path: Path) -> str:
    """The text of a document file (txt, UN export, PDF, DOCX, HTML), furniture kept.

    Its language is not detected here: :func:`analyse_document` does that once.
    """
    from fahras.text import extract

    return extract(path, strip=False, detect=False).text


def analyse_document(indexer, text: str, name: str, lang: str | None):
    """``text`` analysed by ``indexer`` (an :class:`~fahras.models.AnalyzedText`).

    Without a ``lang`` the text must be in one of the six UN languages: its
    language is detected once, for this check and for the analysis.  The
    :class:`InputError` of a text that is not names ``name``.
    """
    try:
        return indexer.analyse(text, lang, check=lang is None)
    except InputError as exc:
        raise InputError(exc.reason, name) from None


def documents_in(folder: Path) -> list[Path]:
    """The document files of ``folder`` that :func:`read_document` reads, by name (hidden files left out)."""
    return folder_entries(folder)[0]


def folder_entries(folder: Path) -> tuple[list[Path], list[str]]:
    """(the document files of ``folder``, the names of its other entries), each by name; hidden files left out.

    A missing folder, or one that cannot be listed, is an :class:`OSError`
    naming it (the command line's exit code 74).
    """
    from fahras.text.extract import SUFFIXES

    if not folder.is_dir():
        if folder.exists():
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(folder))
        raise FileNotFoundError(errno.ENOENT, "folder not found", str(folder))
    documents, others = [], []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_file() and path.suffix.lower() in (*SUFFIXES, ""):
            documents.append(path)
        else:
            others.append(path.name + ("/" if path.is_dir() else ""))
    return documents, others


def model_fingerprint(model_path: Path | None) -> str | None:
    """What identifies the model saved at ``model_path``: the hash of its checksum manifest
    (the SHA-256 of every file, see :mod:`fahras.store.modeldir`), or for a model made before
    those manifests, a hash of its files' names, sizes and modification times.

    A retrained or edited model gets another fingerprint.  None without a path.
    """
    if model_path is None:
        return None
    digest = hashlib.sha256()
    root = Path(model_path)
    checksums = root / CHECKSUMS_FILE
    if checksums.is_file():
        digest.update(checksums.read_bytes())
        return digest.hexdigest()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(root).as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _read_manifest(out: Path) -> dict | None:
    try:
        return json.loads((out / RUN_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _temporary_name(target: str | Path) -> str:
    head, name = os.path.split(os.fspath(target))
    return os.path.join(head, f".{name}.tmp")


def _remove_temporaries(targets) -> None:
    """Remove the temporary files that writes to ``targets`` killed midway left behind."""
    for target in targets:
        with suppress(FileNotFoundError):
            os.unlink(_temporary_name(target))


def index_folder(indexer, folder: Path, out: Path, *, limit: int | None = None, threshold: float | None = None,
                 lang: str | None = None, label_lang: str = "en", output_format: str = "annif",
                 force: bool = False, batch_size: int = 64, jobs: int | None = 1, model_path: Path | None = None,
                 progress: Progress | None = None, runner=None) -> IndexReport:
    """Suggest descriptors for every document in ``folder``; write ``out/NAME.annif`` (or ``.json``) for each.

    ``indexer`` is a loaded :class:`~fahras.Indexer`; ``limit`` and
    ``threshold`` override its decision rule; ``lang`` is the documents'
    language (None: detect each one); ``label_lang`` the labels'.  Existing
    suggestion files are kept unless ``force``.  ``jobs`` worker processes
    (0: one per CPU core) share the documents out; where processes cannot be
    forked they load the model from ``model_path``; None: one per core
    when at least :data:`AUTO_PARALLEL_MIN_DOCS` documents are to be indexed,
    else one (:func:`auto_job_count`).  ``progress`` is called as
    ``("documents", done, total)``.

    ``runner`` indexes the chunks elsewhere (:mod:`fahras.cluster`): a
    callable with :func:`_runner`'s arguments and contract; ``jobs`` is then
    its number of workers (it sizes the chunks).
    """
    formats = output_formats(output_format)
    check_languages(lang, label_lang, indexer.language())
    if batch_size < 1:
        raise UsageError("batch_size must be at least 1")
    n_jobs = job_count(jobs) if jobs is not None else None
    paths, ignored = folder_entries(folder)
    out.mkdir(parents=True, exist_ok=True)
    if "jsonl" in formats:
        (out / JSONL_PARTS).mkdir(exist_ok=True)
    stems = output_stems(paths)
    todo = [(path, [(kind, out / JSONL_PARTS / (stems[path] + ".json")) if kind == "jsonl"
                    else (kind, out / (stems[path] + OUTPUT_SUFFIXES[kind])) for kind in formats])
            for path in paths]
    report = IndexReport(ignored=ignored)
    options = {"limit": limit, "threshold": threshold, "label_lang": label_lang, "lang": lang,
               "output_format": output_format}
    # A run killed midway (SIGKILL) may have left the temporary file of a write.
    _remove_temporaries(target for _, targets in todo for _, target in targets)
    manifest = {"fahras_index": 1, "model": str(Path(model_path).resolve()) if model_path else None,
                "model_fingerprint": model_fingerprint(model_path), "options": options}
    earlier = _read_manifest(out)
    if earlier is not None and earlier != manifest and not force:
        # The files there were made with another model or other options: none is kept.  They are
        # removed before the new manifest is written, so that a rerun never takes one of them for its own.
        report.redone = ("the suggestion files in the output folder were made with another model"
                         if earlier.get("model_fingerprint") != manifest["model_fingerprint"]
                         else "the suggestion files in the output folder were made with other options")
        for _, targets in todo:
            for _, target in targets:
                with suppress(FileNotFoundError):
                    os.unlink(target)
    write_atomic(out / RUN_MANIFEST, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    if not force:
        todo = [(path, targets) for path, targets in todo if not all(t.exists() for _, t in targets)]
        report.skipped = len(paths) - len(todo)
    if n_jobs is None:
        n_jobs = auto_job_count(len(todo))
    workers = min(n_jobs, max(1, len(todo)))
    # Several workers get smaller chunks (about four each), so that none waits long for the last.
    size = batch_size if workers == 1 else max(1, min(batch_size, -(-len(todo) // (4 * workers))))
    chunks = [[(str(p), [(kind, str(t)) for kind, t in targets]) for p, targets in todo[i:i + size]]
              for i in range(0, len(todo), size)]
    failures: dict[str, str] = {}
    done = 0
    with (runner or _runner)(indexer, model_path, options, workers, chunks) as outcomes:
        outcomes = iter(outcomes)
        for chunk, outcome in zip(chunks, outcomes):
            failures.update((path, error) for (path, _), error in zip(chunk, outcome) if error is not None)
            done += len(chunk)
            if progress is not None:
                progress("documents", done, len(todo))
        for late in outcomes:  # writes that failed after their chunk was reported
            failures.update(late)
    # in document order, however the work was shared out
    report.failures = {str(path): failures[str(path)] for path, _ in todo if str(path) in failures}
    report.indexed = len(todo) - len(report.failures)
    if "jsonl" in formats:
        _write_jsonl(paths, out, stems)
    return report


def output_stems(paths: list[Path]) -> dict[Path, str]:
    """The name each document's suggestion files take (``NAME`` of ``NAME.annif``), for documents in order.

    The document's own stem, as Annif names them, unless that is not a portable
    file name (a Windows device name such as ``CON``, a name too long once the
    suffix is added) or an earlier document's name equals it ignoring case
    (``a.txt`` and ``a.pdf``; ``Report.txt`` and ``report.txt``, which one
    file would hold on a case-insensitive file system): then the name from
    :mod:`fahras.store.names` (a hash of the stem, or ``-2``), so that no two
    documents share an output file.
    """
    names = NameSet()
    longest = max(len(suffix) for suffix in (*OUTPUT_SUFFIXES.values(), ".json"))
    return {path: names.claim(path.stem, max_bytes=MAX_NAME_BYTES - longest) for path in paths}


def _write_jsonl(paths: list[Path], out: Path, stems: dict[Path, str]) -> None:
    """``out/suggestions.jsonl``: one line per document with a result (from every run), in document order."""
    lines = []
    for path in paths:
        try:
            results = json.loads((out / JSONL_PARTS / (stems[path] + ".json")).read_text(encoding="utf-8"))["results"]
        except FileNotFoundError:  # a document that failed
            continue
        lines.append(json.dumps({"document": path.name, "results": results}, ensure_ascii=False) + "\n")
    write_atomic(out / JSONL_FILE, "".join(lines))


#: Without a job count, ``fahras index`` and ``fahras eval`` use every core from this many documents on (fewer
#: are done in this process: starting the workers would cost more than it saves).
AUTO_PARALLEL_MIN_DOCS = 1000


def auto_job_count(n_docs: int) -> int:
    """The worker processes for ``n_docs`` documents when none were asked for: one per core this process may
    use from :data:`AUTO_PARALLEL_MIN_DOCS` documents on, else one (this process)."""
    return available_cores() if n_docs >= AUTO_PARALLEL_MIN_DOCS else 1


def job_count(jobs: int) -> int:
    """``jobs`` worker processes; 0 means one per CPU core this process may use."""
    if jobs < 0:
        raise UsageError("jobs must not be negative")
    return jobs if jobs > 0 else available_cores()


class SuggestionFormatter:
    """One document's chosen (columns, scores) as the text of its suggestion file.

    ``annif``: ``<uri>TAB label TAB score`` lines (Annif's format); ``json``:
    ``{"results": [{"uri", "label", "score", "local"}]}`` (as ``fahras suggest
    --json`` writes each result).  What each column's line starts with is made
    once per formatter.
    """

    def __init__(self, indexer, label_lang: str = "en", output_format: str = "annif"):
        self.indexer, self.label_lang, self.output_format = indexer, label_lang, output_format
        self._subjects: dict[int, tuple[str, str, str, bool]] = {}  # column -> (uri, label, line start, local)

    def _subject(self, column: int) -> tuple[str, str, str, bool]:
        known = self._subjects.get(column)
        if known is None:
            info = self.indexer.subject_info(column, self.label_lang)
            known = self._subjects[column] = (info.uri, info.label, annif_line_start(info.uri, info.label),
                                              bool(info.local))
        return known

    def __call__(self, columns: Sequence[int], scores: Sequence[float]) -> str:
        for column in set(columns).difference(self._subjects):
            self._subject(column)
        subjects = map(self._subjects.__getitem__, columns)
        if self.output_format == "json":
            return results_json([result_dict(uri, label, score, local)
                                 for (uri, label, _, local), score in zip(subjects, scores)])
        return annif_lines([start for _, _, start, _ in subjects], scores)


def write_atomic(path: str | Path, text: str) -> None:
    """``path`` holds ``text`` whole or is left as it was (no temporary file stays behind).

    The file is written under a temporary name next to it, then renamed.
    Plain ``os`` calls, no file object: the writer thread holds the GIL
    that much less while documents are scored (0.1 ms a file here).
    """
    path = os.fspath(path)
    tmp = _temporary_name(path)
    data = memoryview(text.encode("utf-8"))
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            while data:
                data = data[os.write(fd, data):]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


# ------------------------------------------------------------------------------ workers
class _Worker:
    """Indexes chunks of documents with one model and writes their suggestion files."""

    def __init__(self, indexer, options: dict, background_writes: bool):
        self.indexer, self.options = indexer, options
        self.writer = _Writer(background=background_writes)
        self.formatters = {kind: SuggestionFormatter(indexer, options["label_lang"], "json" if kind == "jsonl" else kind)
                           for kind in output_formats(options["output_format"])}

    def index_chunk(self, todo: list[tuple[str, list[tuple[str, str]]]]) -> list[str | None]:
        """Index each (document, suggestion file) pair: None where the file was written (or queued), else the error.

        The readable documents are suggested for as one batch, and each one's
        suggestion file is written (atomically) by this worker.
        """
        return self.write_files(*self.suggestion_files(todo))

    def suggestion_files(self, todo: list[tuple[str, list[tuple[str, str]]]], read=None
                         ) -> tuple[list[str | None], list[tuple[str, str, str]], list[int]]:
        """What :meth:`index_chunk` writes, not written: per document its error (None: suggested), the
        (document, suggestion file, text) of every file, and the number of files of each suggested document.

        ``read`` gives a document's text from its path (default :func:`read_document`);
        a cluster worker reads bytes sent to it (:mod:`fahras.cluster`).
        """
        indexer, options = self.indexer, self.options
        lang = options["lang"]
        read = read or (lambda path: read_document(Path(path)))
        docs, outcome = [], []
        for path, _ in todo:
            try:
                docs.append(analyse_document(indexer, read(path), path, lang))
                outcome.append(None)
            except InputError as exc:
                outcome.append(str(exc))
        chosen = iter(indexer.decide_batch(docs, limit=options["limit"], threshold=options["threshold"],
                                           lang=lang))
        files, counts = [], []
        for (path, targets), error in zip(todo, outcome):
            if error is None:
                columns, scores = next(chosen)
                files.extend((path, target, self.formatters[kind](columns, scores)) for kind, target in targets)
                counts.append(len(targets))
        return outcome, files, counts

    def write_files(self, outcome: list[str | None], files: list[tuple[str, str, str]],
                    counts: list[int]) -> list[str | None]:
        """Write what :meth:`suggestion_files` made: per document its error, or its files' first write error, or None."""
        written = iter(self.writer.write(files))
        n_files = iter(counts)
        # per document: its reading error, else the first error of its files' writes (None: all written)
        return [next((e for e in [next(written) for _ in range(next(n_files))] if e is not None), None)
                if error is None else error for error in outcome]


#: The worker of this process, in worker processes only (set by :func:`_init_worker`).
_PROCESS_WORKER: list[_Worker] = []


def _index_chunk_in_process(todo: list[tuple[str, str]]) -> list[str | None]:
    return _PROCESS_WORKER[0].index_chunk(todo)


class _Writer:
    """Writes suggestion files atomically; in a background thread, if asked to.

    Creating a file is kernel work (here 0.03 ms for a new file, 0.1-0.2 ms
    for one that replaces an older file).  One process indexing alone hands
    each chunk's files to a thread, which writes them while the next chunk
    is scored (the kernel calls release the GIL); worker processes write in
    turn with their work.  The thread gets whole chunks: every hand-over
    wakes it and takes the GIL from the scoring, and one hand-over per file
    cost more than the writes (``benchmarks/index_throughput.py`` on three
    folds, with the second core free: 1.02-1.07x the documents per second
    of a hand-over per file, 1.08-1.10x those of writing in turn with no
    thread; with the shared machine loaded, 0.96-1.0x writing in turn).
    """

    def __init__(self, background: bool):
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="fahras-writer") if background else None
        self._pending: list = []
        self._late_errors: list[tuple[str, str]] = []  # (document, message) of queued writes that failed

    def write(self, files: list[tuple[str, str, str]]) -> list[str | None]:
        """Write (or queue) each (document, suggestion file, text).

        Per file: the error message if its write failed already, else None
        (written, or queued: :meth:`close` reports the queued writes that fail).
        """
        if self._pool is None:
            return [self._write(*file) for file in files]
        if files:
            self._pending.append(self._pool.submit(self._write_late, files))
        return [None] * len(files)

    @staticmethod
    def _write(document: str, target: str, text: str) -> str | None:
        try:
            write_atomic(target, text)
        except OSError as exc:
            return f"{document}: cannot write its suggestions to {target}: {exc.strerror or exc}"
        return None

    def _write_late(self, files: list[tuple[str, str, str]]) -> None:
        for document, target, text in files:
            if (message := self._write(document, target, text)) is not None:
                self._late_errors.append((document, message))

    def close(self) -> list[tuple[str, str]]:
        """Wait for the queued writes: (document, error message) of those that failed."""
        if self._pool is None:
            return []
        for future in self._pending:
            future.result()
        self._pool.shutdown()
        return list(self._late_errors)


def _init_worker(model_path: str | None, options: dict, indexer=None) -> None:
    """Set up a worker process: the model inherited from the parent (fork) or loaded once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent process handles Ctrl-C
    if indexer is None:
        from fahras.indexer import Indexer

        indexer = Indexer.load(model_path)
    _PROCESS_WORKER[:] = [_Worker(indexer, options, background_writes=False)]


@contextmanager
def _runner(indexer, model_path: Path | None, options: dict, workers: int,
            chunks: list[list[tuple[str, str]]]) -> Iterator:
    """Yields the outcome of :meth:`_Worker.index_chunk` for each chunk, in order (then late write errors).

    One worker: in this process.  More: in that many worker processes.  On
    POSIX they are forked from this process once the model is loaded (and
    the language detector warmed up), so each starts at once and shares the
    model's memory until it writes to it; elsewhere each loads the model
    from ``model_path``.  Work is handed out chunk by chunk; each worker
    writes its documents' suggestion files, and the error messages come
    back in document order.
    """
    if workers <= 1:
        worker = _Worker(indexer, options, background_writes=True)
        yield _then_late_errors((worker.index_chunk(chunk) for chunk in chunks), worker.writer)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if "fork" in multiprocessing.get_all_start_methods():
        context, inherited = multiprocessing.get_context("fork"), indexer
        if options["lang"] is None:
            from fahras.text.langid import warm_up

            warm_up()
        warm_compiled(indexer, options["lang"])
    else:
        if model_path is None:
            raise UsageError("worker processes that cannot be forked load the model: give model_path")
        context, inherited = multiprocessing.get_context("spawn"), None
    # The workers end with this process, however it ends (fahras.workers).
    executor = ProcessPoolExecutor(max_workers=workers, mp_context=context, **pool_arguments(
        _init_worker, (str(model_path) if model_path else None, options, inherited)))
    try:
        # Everything is submitted before the caller starts a progress bar (and its
        # thread): forked workers start from a single-threaded process.
        futures = [executor.submit(_index_chunk_in_process, chunk) for chunk in chunks]
        yield (future.result() for future in futures)
    except BaseException:
        # Interrupted (Ctrl-C) or failed: end the workers now rather than let them finish the
        # work already handed to them; a write they were making leaves only its temporary file.
        # A second Ctrl-C meanwhile is ignored (the clean-up takes a fraction of a second).
        with _sigint_ignored():
            _terminate(executor)
            _remove_temporaries(target for chunk in chunks for _, targets in chunk for _, target in targets)
        raise
    else:
        executor.shutdown(wait=True)


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _terminate(executor) -> None:
    """End the pool's worker processes at once (pending work is dropped) and wait until they have ended."""
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with suppress(Exception):
            process.terminate()
    for process in processes:
        with suppress(Exception):
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join(5)


def warm_compiled(indexer, lang: str | None = None) -> None:
    """Load the compiled scoring kernels (numba, from its cache) in this process, before workers are forked
    from it: each worker then starts with them, instead of importing numba and loading them itself (about a
    second of CPU per worker at 671,000 titles).  A few words are scored and the scores dropped."""
    from fahras.models.omikuji_fast import COMPILED_MIN_DOCS, numba_available

    if numba_available():
        indexer.sparse_scores(["warm up"] * max(COMPILED_MIN_DOCS, 1), lang=lang or indexer.language() or "en")


def _then_late_errors(outcomes: Iterator[list], writer: _Writer) -> Iterator[list]:
    """The outcomes, then (as one more, unmatched list) the errors of writes still queued."""
    yield from outcomes
    yield writer.close()


# ---------------------------------------------------------------------------- evaluation in worker processes
#: The evaluating worker's model and decision rule (one per worker process; set by its initializer).
_EVAL_WORKER: list = []
#: Documents per piece of work handed to an evaluating worker.
EVAL_CHUNK = 512


def _init_eval_worker(indexer, limit, threshold) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent process handles Ctrl-C
    _EVAL_WORKER[:] = [(indexer, indexer.rule(limit, threshold))]


def _evaluate_chunk(texts: list[str], gold: list[set[str]]) -> tuple[list, list]:
    """What :meth:`fahras.Indexer.evaluate` keeps of each document: its top ranking and the rule's choice."""
    from fahras.indexer import _decided_sparse

    indexer, rule = _EVAL_WORKER[0]
    ranked, decided = [], []
    for start in range(0, len(texts), 64):  # the batches Indexer.evaluate scores
        matrix = indexer.sparse_scores(texts[start:start + 64])
        ranked.extend(indexer._top_rankings(matrix, gold[start:start + 64]))
        decided.extend({indexer.subjects_.uris[j] for j in columns} for columns, _ in _decided_sparse(matrix, rule))
    return ranked, decided


def evaluate_in_processes(indexer, documents, jobs: int | None, progress: Progress | None = None,
                          limit: int | None = None, threshold: float | None = None) -> dict:
    """:meth:`fahras.Indexer.evaluate` with the documents scored by ``jobs`` worker processes forked from this
    one (they share the loaded model's memory, and its memory-mapped files' pages): the same metrics.

    Documents are read and their descriptors resolved here, in order, and handed out
    :data:`EVAL_CHUNK` at a time; at most two pieces per worker wait at once, so memory stays bounded
    by the model, not the corpus.  Where processes cannot be forked, the documents are scored here.
    ``jobs`` None: one per core if the corpus has at least :data:`AUTO_PARALLEL_MIN_DOCS` documents (the
    first ones are read to know), else here."""
    import itertools
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from fahras.evaluate import evaluate
    from fahras.subjects import MatchStats, resolve_all

    if jobs is None:
        documents = iter(documents)
        head = list(itertools.islice(documents, AUTO_PARALLEL_MIN_DOCS))
        jobs = auto_job_count(len(head))
        documents = itertools.chain(head, documents)
    if jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return indexer.evaluate(documents, progress=progress or (lambda *a: None), limit=limit, threshold=threshold)
    rule = indexer.rule(limit, threshold)
    warm_compiled(indexer)  # before the workers are forked
    stats = MatchStats()
    ranked: list = []
    decided: list = []
    gold: list[set[str]] = []
    unknown = 0
    executor = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork"),
                                   **pool_arguments(_init_eval_worker, (indexer, limit, threshold)))
    pending = []

    def collect(wait_for: int) -> None:
        while len(pending) > wait_for:
            part_ranked, part_decided = pending.pop(0).result()
            ranked.extend(part_ranked)
            decided.extend(part_decided)
            if progress is not None:
                progress("evaluate", len(ranked), 0)

    try:
        texts: list[str] = []
        truths: list[set[str]] = []
        for doc in documents:
            truth = resolve_all(doc.subjects, indexer.vocab_, stats)
            unknown += sum(1 for uri in truth if uri not in indexer.subjects_.index)
            gold.append(truth)
            texts.append(doc.text)
            truths.append(truth)
            if len(texts) >= EVAL_CHUNK:
                pending.append(executor.submit(_evaluate_chunk, texts, truths))
                texts, truths = [], []
                collect(2 * jobs)
        if texts:
            pending.append(executor.submit(_evaluate_chunk, texts, truths))
        collect(0)
    except BaseException:
        with _sigint_ignored():
            _terminate(executor)
        raise
    else:
        executor.shutdown(wait=True)
    result = evaluate(ranked, gold, decided, n_candidates=len(indexer.subjects_))
    result["gold_subjects_unknown_to_model"] = unknown
    result["decision_rule"] = rule.to_dict()
    return result
