"""Batch work on a Dask cluster: ``fahras index``, ``eval`` and ``train`` with ``--cluster``.

``--cluster tcp://HOST:8786`` connects to a running Dask scheduler (its
workers on any machines that reach it); ``--cluster local`` (or
``local:N``) starts a ``LocalCluster`` of worker processes on this machine
for the run and stops it afterwards.  Needs the ``dask`` extra
(``pip install 'fahras[dask]'``); without it this module still imports and
every entry point says what to install.

What runs where:

* **Indexing** (:func:`index_on_cluster`) is :func:`fahras.batch.index_folder`
  with another runner: the same listing, resume manifest, chunks and output
  files.  This process reads each document's bytes and sends them with its
  chunk; a worker extracts, analyses, scores and formats the suggestion files
  and sends back their text; this process writes them (batch's writer).  So
  the workers need no shared file system, and the files are those of a run
  in one process, byte for byte.  Run metadata (scheduler, workers, lost
  workers, time) goes to ``OUT/.fahras-cluster.json``, never into a result.
* **The model** goes to each worker once, as a worker plugin registered
  under its fingerprint (the hash of its checksum manifest): the files'
  bytes for a remote cluster, written to the worker's local folder and
  checked against the checksums when loaded; the folder's path for a local
  cluster.  A worker loads it at its first task and keeps it; a worker that
  joins later (or replaces a lost one) gets the plugin from the scheduler.
* **Evaluation** (:func:`evaluate_on_cluster`): the same chunks of 64
  documents as :meth:`fahras.Indexer.evaluate`; workers score them and
  return each document's metrics; this process averages them in document
  order, so the figures are the local run's exactly.
* **Training** (:func:`training_on_cluster`): the ensemble's cross-fitting
  tasks (each base backend on each fold, and on all documents) run on the
  workers through :func:`fahras.models.crossfit.fitting_with`.  The TF-IDF
  features and rows of each feature setting and split are computed once,
  in this process, and scattered to every worker once (plain arrays and the
  features' files); the bases that learn from them (omikuji, knn,
  tfidf-linear) fit there without computing features again.  The analysed
  corpus is scattered to every worker once, only for the bases that read
  documents themselves.

A task of a worker that dies is run again on another (Dask reschedules the
tasks of a lost worker; the tasks have no side effects, so a rerun changes
nothing).  A document that cannot be read or is in none of the six
languages is reported per document, as in one process.

Dask moves tasks and their data with its own serialisation (pickle between
this process, the scheduler and the workers): use only clusters you trust,
as with any Dask cluster.  No file Fahras writes is a pickle.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
import uuid
from collections import deque
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

from fahras.batch import (IndexReport, _remove_temporaries, _then_late_errors, _Worker, index_folder,
                          model_fingerprint, read_document, write_atomic)
from fahras.errors import FahrasError, InputError, ModelError, UsageError
from fahras.indexer import Progress
from fahras.store.modeldir import CHECKSUMS_FILE
from fahras.textfile import max_document_bytes

try:  # the dask extra is optional: the class below needs its base only when dask is there
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # pragma: no cover - exercised by the test that hides dask
    WorkerPlugin = object

log = logging.getLogger(__name__)

#: The cluster address that starts a LocalCluster on this machine (``local:N`` for N worker processes).
LOCAL = "local"
#: Run metadata of an index run on a cluster, in the output folder (hidden, like the resume manifest).
CLUSTER_MANIFEST = ".fahras-cluster.json"
#: Documents per evaluation task: the batch of :meth:`fahras.Indexer.evaluate`, so scores are computed alike.
EVALUATION_CHUNK = 64
#: How long to wait for a scheduler, and for its first worker (seconds).
CONNECT_TIMEOUT = 30.0


class ClusterError(FahrasError):
    """The cluster cannot be reached or has no workers."""

    exit_code = 69  # EX_UNAVAILABLE


def _distributed():
    try:
        import distributed
    except ImportError as exc:
        raise UsageError(f"--cluster needs the dask extra: pip install 'fahras[dask]' ({exc})") from None
    return distributed


def require_dask() -> None:
    """A :class:`UsageError` saying what to install, unless Dask's distributed scheduler can be imported."""
    _distributed()


def parse_address(address: str) -> tuple[str, int | None]:
    """``("local", N or None)`` for ``local``/``local:N``, else ``(address, None)`` for a scheduler address."""
    address = address.strip()
    if address == LOCAL or address.startswith(LOCAL + ":"):
        _, _, count = address.partition(":")
        if not count:
            return LOCAL, None
        if not count.isdigit() or int(count) < 1:
            raise UsageError(f"--cluster {address!r}: local:N needs a number of worker processes of at least 1")
        return LOCAL, int(count)
    if not address or any(c.isspace() for c in address) or ("://" not in address and ":" not in address):
        raise UsageError(f"--cluster {address!r}: give a scheduler address (tcp://HOST:8786) or local (local:N)")
    return address, None


@contextmanager
def connect(address: str, *, timeout: float = CONNECT_TIMEOUT) -> Iterator:
    """A Dask client of the cluster at ``address`` (see :func:`parse_address`), closed at the end.

    ``local`` starts a LocalCluster of worker processes (one thread each) on
    127.0.0.1, one per core and at least two (``local:N``: N), and stops it
    at the end.  A scheduler that cannot be reached within ``timeout``
    seconds, or that has no worker by then, is a :class:`ClusterError`.
    """
    distributed = _distributed()
    where, count = parse_address(address)
    if not logging.getLogger("fahras").isEnabledFor(logging.INFO):  # Dask's INFO lines only with fahras -v
        logging.getLogger("distributed").setLevel(logging.WARNING)
    cluster = None
    try:
        if where == LOCAL:
            from fahras._system import available_cores

            cluster = distributed.LocalCluster(n_workers=count or max(2, available_cores()), threads_per_worker=1,
                                               processes=True, host="127.0.0.1",
                                               dashboard_address="127.0.0.1:0",  # a free port, loopback only
                                               silence_logs=logging.ERROR)
            client = distributed.Client(cluster, timeout=timeout)
        else:
            try:
                client = distributed.Client(where, timeout=timeout)
            except (OSError, TimeoutError) as exc:
                raise ClusterError(f"cannot reach the Dask scheduler at {where}: {exc}") from None
        try:
            try:
                client.wait_for_workers(1, timeout=timeout)
            except TimeoutError:
                raise ClusterError(f"the Dask scheduler at {where} has no worker (waited {timeout:.0f} s)") from None
            yield client
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()


def _threads(client) -> int:
    return max(1, sum(client.nthreads().values()))


# ------------------------------------------------------------------------------ the model on the workers
class ModelPlugin(WorkerPlugin):
    """A model for the workers, sent once to each (the scheduler keeps it for workers that join later).

    ``files`` (relative path -> bytes) for workers on other machines, or
    ``path`` for workers that see this machine's files.  The worker writes
    the files into its local folder and loads the model at its first task
    (not in :meth:`setup`, which runs in the worker's event loop), checking
    every file against the model's checksums and the checksum manifest
    against ``fingerprint``.
    """

    def __init__(self, fingerprint: str, path: str | None = None, files: dict[str, bytes] | None = None):
        self.fingerprint, self.path, self.files = fingerprint, path, files
        # one name per run: two runs of one model on one cluster each unregister their own plugin
        self.name = f"fahras-model-{fingerprint[:16]}-{uuid.uuid4().hex[:8]}"

    def setup(self, worker) -> None:
        self._folder = Path(worker.local_directory) / "fahras-models" / self.fingerprint
        self._lock = threading.Lock()
        self._indexer = None
        self._chunk_workers: dict[str, _Worker] = {}

    def indexer(self):
        with self._lock:
            if self._indexer is None:
                self._indexer = self._load()
            return self._indexer

    def chunk_worker(self, options: dict) -> _Worker:
        """Batch's chunk worker for these options (its formatters remember the subjects' lines)."""
        key = json.dumps(options, sort_keys=True)
        indexer = self.indexer()
        with self._lock:
            if key not in self._chunk_workers:
                self._chunk_workers[key] = _Worker(indexer, options, background_writes=False)
            return self._chunk_workers[key]

    def _load(self):
        from fahras.indexer import Indexer

        folder = Path(self.path) if self.files is None else self._materialise()
        if model_fingerprint(folder) != self.fingerprint:
            raise ModelError(f"{folder}: the model on this worker is not the one the run was started with")
        return Indexer.load(folder)  # checks every file against checksums.json

    def _materialise(self) -> Path:
        folder = self._folder
        if not folder.is_dir():
            staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=_mkdirs(folder.parent)))
            for name, data in self.files.items():
                target = (staging / name).resolve()
                if staging.resolve() not in target.parents:
                    raise ModelError(f"model file outside the model folder: {name!r}")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            try:
                os.replace(staging, folder)
            except OSError:  # another run's plugin on this worker put the same model there first
                if not folder.is_dir():
                    raise
                import shutil

                shutil.rmtree(staging, ignore_errors=True)
        self.files = None  # on disk now: the worker need not hold the bytes too
        return folder


def _mkdirs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _model_files(model_path: Path) -> dict[str, bytes]:
    root = Path(model_path)
    if not (root / CHECKSUMS_FILE).is_file():
        raise ModelError(f"{root}: the model has no {CHECKSUMS_FILE}, so the workers could not check their copy; "
                         "retrain it with this Fahras (or use --cluster local)")
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@contextmanager
def model_on_workers(client, model_path: Path, local: bool) -> Iterator[str]:
    """Register the model at ``model_path`` with every worker (see :class:`ModelPlugin`); yields the plugin's name.

    ``local``: the workers read the model folder themselves; else its files go to them.
    """
    fingerprint = model_fingerprint(Path(model_path))
    plugin = (ModelPlugin(fingerprint, path=str(Path(model_path).resolve())) if local
              else ModelPlugin(fingerprint, files=_model_files(Path(model_path))))
    client.register_plugin(plugin, name=plugin.name)
    try:
        yield plugin.name
    finally:
        try:
            client.unregister_worker_plugin(plugin.name)
        except Exception as exc:  # the cluster may be going away; the plugin only holds memory
            log.debug("could not unregister %s: %s", plugin.name, exc)


def _plugin(name: str) -> ModelPlugin:
    from distributed import get_worker

    return get_worker().plugins[name]


# ------------------------------------------------------------------------------ tasks in order
def _in_order(client, calls: Iterable[tuple], window: int, pending: deque) -> Iterator:
    """Submit ``(function, *args)`` calls, at most ``window`` at a time; yield their results in order.

    ``pending`` holds the futures not yet collected (the caller cancels them if it stops early).
    """
    run = uuid.uuid4().hex[:12]
    calls = iter(enumerate(calls))

    def submit() -> bool:
        for n, (function, *args) in calls:
            pending.append(client.submit(function, *args, key=f"fahras-{function.__name__.strip('_')}-{run}-{n}",
                                         pure=False))
            return True
        return False

    while len(pending) < window and submit():
        pass
    while pending:
        result = pending[0].result()
        pending.popleft()
        submit()
        yield result


def _cancel(client, pending: deque) -> None:
    futures = list(pending)
    pending.clear()
    if futures:
        try:
            client.cancel(futures)
        except Exception as exc:
            log.debug("could not cancel %d tasks: %s", len(futures), exc)


# ------------------------------------------------------------------------------ index
def _document_payload(path: str, limit: int) -> bytes | str:
    """The bytes of the document at ``path``, or the error message of reading it (as one process words it)."""
    try:
        with open(path, "rb") as file:
            data = file.read(limit + 1)
        if len(data) <= limit:
            return data
    except OSError:
        pass
    try:  # unreadable or too large: the message the one-process run gives
        read_document(Path(path))
    except InputError as exc:
        return str(exc)
    return data


def _index_chunk(plugin: str, options: dict, limit: int, chunk: list) -> tuple[list, list, list]:
    """On a worker: the suggestion files of one chunk of ``(document, targets, payload)`` (not written)."""
    from fahras.text.extract import extract_bytes

    payloads = {path: payload for path, _, payload in chunk}

    def read(path: str) -> str:
        payload = payloads[path]
        if isinstance(payload, str):
            raise InputError(payload)
        return extract_bytes(payload, path, strip=False, detect=False, max_bytes=limit).text

    return _plugin(plugin).chunk_worker(options).suggestion_files([(p, t) for p, t, _ in chunk], read=read)


def _cluster_runner(client, plugin: str, stats: dict):
    """A runner for :func:`fahras.batch.index_folder` whose chunks are indexed on the cluster."""

    @contextmanager
    def runner(indexer, model_path, options: dict, workers: int, chunks: list) -> Iterator:
        limit = max_document_bytes()
        writer = _Worker(indexer, options, background_writes=True)  # its writer writes what the workers made
        pending: deque = deque()
        calls = ((_index_chunk, plugin, options, limit,
                  [(path, targets, _document_payload(path, limit)) for path, targets in chunk]) for chunk in chunks)
        outcomes = (writer.write_files(*made) for made in _in_order(client, calls, max(2, 3 * workers), pending))
        stats["chunks"] = len(chunks)
        try:
            yield _then_late_errors(outcomes, writer.writer)
        except BaseException:
            _cancel(client, pending)
            writer.writer.close()
            _remove_temporaries(target for chunk in chunks for _, targets in chunk for _, target in targets)
            raise

    return runner


def index_on_cluster(indexer, folder: Path, out: Path, *, cluster: str, model_path: Path,
                     progress: Progress | None = None, **options) -> IndexReport:
    """:func:`fahras.batch.index_folder` on the Dask cluster at ``cluster`` (see :func:`connect`).

    ``indexer`` is the model at ``model_path`` loaded here (for the output's
    labels); ``options`` are index_folder's (limit, threshold, lang,
    label_lang, output_format, force, batch_size).  Writes the run's metadata
    to ``out/.fahras-cluster.json``.
    """
    if model_path is None:
        raise UsageError("indexing on a cluster needs the model's folder (model_path)")
    where, _ = parse_address(cluster)
    started, clock = datetime.now(timezone.utc), time.perf_counter()
    stats: dict = {}
    with connect(cluster) as client:
        before = set(client.nthreads())
        threads = _threads(client)
        with model_on_workers(client, model_path, local=where == LOCAL) as plugin:
            report = index_folder(indexer, folder, out, jobs=threads, model_path=model_path, progress=progress,
                                  runner=_cluster_runner(client, plugin, stats), **options)
        after = set(client.nthreads())
    import distributed

    write_atomic(out / CLUSTER_MANIFEST, json.dumps({
        "scheduler": where if where == LOCAL else cluster,
        "workers_at_start": len(before), "threads_at_start": threads, "workers_at_end": len(after),
        "workers_lost": len(before - after), "chunks": stats.get("chunks", 0),
        "documents_indexed": report.indexed, "documents_failed": len(report.failures),
        "documents_already_done": report.skipped,
        "started": started.isoformat(timespec="seconds"), "seconds": round(time.perf_counter() - clock, 2),
        "dask": distributed.__version__,
    }, indent=1, sort_keys=True) + "\n")
    return report


# ------------------------------------------------------------------------------ evaluate
def _evaluate_chunk(plugin: str, limit, threshold, texts: list[str], golds: list[list[str]]) -> list:
    """On a worker: each document's metrics (None for one without gold subjects), as evaluation computes them."""
    import numpy as np

    from fahras.evaluate import evaluate

    indexer = _plugin(plugin).indexer()
    rule, uris = indexer.rule(limit, threshold), indexer.subjects_.uris
    results = []
    for row, gold in zip(indexer.scores(texts), golds):
        if not gold:
            results.append(None)
            continue
        order = np.argsort(-row, kind="stable")
        ranked = [uris[j] for j in order]
        decided = {uris[j] for j in rule.apply(row)}
        results.append(evaluate([ranked], [set(gold)], [decided], n_candidates=len(uris)))
    return results


def evaluate_on_cluster(indexer, documents: Iterable, *, cluster: str, model_path: Path,
                        progress: Progress | None = None, limit: int | None = None,
                        threshold: float | None = None) -> dict:
    """:meth:`fahras.Indexer.evaluate` with the documents scored on the Dask cluster at ``cluster``.

    The same metrics as in one process, to the last bit: the same chunks are
    scored, each document's metrics are computed alike, and their sums are
    taken here in document order.
    """
    from fahras.evaluate import evaluate
    from fahras.subjects import MatchStats, resolve_all

    rule = indexer.rule(limit, threshold)
    where, _ = parse_address(cluster)
    stats, unknown, done = MatchStats(), 0, 0
    known = indexer.subjects_.index
    zero = evaluate([], [], [], n_candidates=len(indexer.subjects_))
    keys = [k for k in zero if k not in ("documents", "skipped")]
    sums, n, skipped = dict.fromkeys(keys, 0.0), 0, 0

    def chunks() -> Iterator[tuple]:
        nonlocal unknown
        texts, golds = [], []
        for doc in documents:
            truth = resolve_all(doc.subjects, indexer.vocab_, stats)
            unknown += sum(1 for uri in truth if uri not in known)
            texts.append(doc.text)
            golds.append(sorted(truth))
            if len(texts) >= EVALUATION_CHUNK:
                yield _evaluate_chunk, plugin, limit, threshold, texts, golds
                texts, golds = [], []
        if texts:
            yield _evaluate_chunk, plugin, limit, threshold, texts, golds

    with connect(cluster) as client:
        with model_on_workers(client, model_path, local=where == LOCAL) as plugin:
            pending: deque = deque()
            try:
                for results in _in_order(client, chunks(), max(2, 3 * _threads(client)), pending):
                    for result in results:
                        done += 1
                        if result is None:
                            skipped += 1
                            continue
                        n += 1
                        for key in keys:
                            sums[key] += result[key]
                    if progress is not None:
                        progress("evaluate", done, 0)
            except BaseException:
                _cancel(client, pending)
                raise
    result: dict = {"documents": n, "skipped": skipped}
    result.update({k: (v / n if n else 0.0) for k, v in sums.items()})
    result["gold_subjects_unknown_to_model"] = unknown
    result["decision_rule"] = rule.to_dict()
    return result


# ------------------------------------------------------------------------------ train
def _fit_task(work: dict, spec: dict, fold: int | None):
    """A base that reads the documents themselves (``work`` holds them: scattered to each worker once)."""
    from fahras.models.crossfit import fit_task

    return fit_task(work, spec, fold)


def _csr_parts(x) -> tuple:
    """A CSR matrix as plain arrays (what Dask sends without pickling objects)."""
    import numpy as np
    import scipy.sparse as sp

    x = sp.csr_matrix(x)
    return (np.asarray(x.data, dtype=np.float32), x.indices, x.indptr, tuple(int(v) for v in x.shape))


def _csr_of(parts: tuple):
    """The CSR matrix of :func:`_csr_parts`'s arrays, read-only views (every task of a worker shares them)."""
    import scipy.sparse as sp

    data, indices, indptr, shape = parts
    views = []
    for array in (data, indices, indptr):
        view = array.view()
        view.flags.writeable = False
        views.append(view)
    return sp.csr_matrix(tuple(views), shape=shape, copy=False)


def feature_split(key: tuple, train: list, held: list | None, y_train) -> dict:
    """TF-IDF features with settings ``key`` (``ngram_max``, ``min_df``, ``max_features``) fitted on the
    analysed documents ``train``, their rows, the rows of ``held`` (a fold's held-out documents; None for
    the full-data fit) and the subjects of ``train``: computed once in this process, then scattered to the
    workers as plain arrays and the features' own files (what a saved model holds)."""
    from fahras.models.features import TfidfFeatures

    features = TfidfFeatures(*key)
    x = features.fit_transform(train)
    with tempfile.TemporaryDirectory(prefix="fahras-split-") as tmp:
        features.save(Path(tmp))
        files = {path.name: path.read_bytes() for path in sorted(Path(tmp).iterdir()) if path.is_file()}
    return {"ngram_max": int(key[0]), "files": files, "x": _csr_parts(x), "y": _csr_parts(y_train),
            "held": None if held is None else _csr_parts(features.transform(held))}


def _fit_rows_task(split: dict, spec: dict, fold: int | None):
    """A base that learns from TF-IDF rows (``fit_features``: omikuji, knn, tfidf-linear), on a split of
    :func:`feature_split` (scattered to each worker once; nothing is recomputed here): a fold's held-out
    scores (float32), or the full-data fit's saved files (relative path -> bytes)."""
    import numpy as np

    from fahras.models import create_backend
    from fahras.models.crossfit import _Rows
    from fahras.models.features import TfidfFeatures
    from fahras.models.scratch import scratch_folder

    with scratch_folder("fahras-fit-") as scratch:
        for name, data in split["files"].items():
            (scratch / name).write_bytes(data)
        features = TfidfFeatures.load(scratch, split["ngram_max"])
    base = create_backend(spec["name"], spec.get("params")).fit_features(features, _csr_of(split["x"]),
                                                                         _csr_of(split["y"]))
    if fold is not None:
        held = _csr_of(split["held"])
        base.features_ = _Rows(held)
        return base.predict_scores(range(held.shape[0])).astype(np.float32)
    with scratch_folder("fahras-fit-") as scratch:
        folder = scratch / "backend"
        base.save(folder)
        return {path.relative_to(folder).as_posix(): path.read_bytes()
                for path in sorted(folder.rglob("*")) if path.is_file()}


class _DaskFits:
    """A cross-fitting executor (:data:`fahras.models.crossfit.Executor`) on a Dask client.

    The bases that learn from TF-IDF rows alone get them computed here, once
    per feature setting and split (all documents; each fold's training and
    held-out parts), as the process pool's workers do
    (:mod:`fahras.models.crossfit`): each split is scattered to every worker
    once, and its tasks are submitted as soon as it is there (the full-data
    fits first, so the workers start while the folds' features are
    computed).  The bases that read the documents get the analysed corpus,
    scattered to every worker once, only if there are any.  ``stats`` counts
    what was scattered (for the tests and benchmarks)."""

    def __init__(self, client):
        self.client = client
        self.stats = {"feature_splits": 0, "corpus_scattered": 0, "tasks": 0}

    def __call__(self, work: dict, tasks: list) -> Iterator[tuple[int, object]]:
        from distributed import as_completed

        from fahras.models.crossfit import _feature_key

        client = self.client
        run = uuid.uuid4().hex[:12]
        keys = {}
        for _, spec, _ in tasks:
            name = json.dumps(spec, sort_keys=True)
            if name not in keys:
                keys[name] = _feature_key(spec)
        docs, y, folds = work["docs"], work["y"], work["folds"]
        futures: dict = {}
        scattered: list = []
        try:
            text = [i for i, (_, spec, _) in enumerate(tasks) if keys[json.dumps(spec, sort_keys=True)] is None]
            if text:
                [shared] = client.scatter([work], broadcast=True, hash=False)
                scattered.append(shared)
                self.stats["corpus_scattered"] += 1
                for i in text:
                    _, spec, fold = tasks[i]
                    futures[client.submit(_fit_task, shared, spec, fold, key=f"fahras-fit-{run}-{i}",
                                          pure=False)] = i
            splits: dict = {}
            for i, (_, spec, fold) in enumerate(tasks):
                key = keys[json.dumps(spec, sort_keys=True)]
                if key is None:
                    continue
                if (key, fold) not in splits:
                    train = range(len(docs)) if fold is None else folds[fold][0]
                    split = feature_split(key, [docs[j] for j in train],
                                          None if fold is None else [docs[j] for j in folds[fold][1]],
                                          y if fold is None else y[folds[fold][0]])
                    [splits[(key, fold)]] = client.scatter([split], broadcast=True, hash=False)
                    scattered.append(splits[(key, fold)])
                    self.stats["feature_splits"] += 1
                    del split
                futures[client.submit(_fit_rows_task, splits[(key, fold)], spec, fold,
                                      key=f"fahras-fit-{run}-{i}", pure=False)] = i
            self.stats["tasks"] += len(futures)
            for future, result in as_completed(futures, with_results=True):
                yield futures[future], result
        finally:
            client.cancel([f for f in futures if not f.done()])
            del scattered


@contextmanager
def training_on_cluster(cluster: str) -> Iterator:
    """Within this block, an ensemble's cross-fitting runs on the Dask cluster at ``cluster``; yields the client."""
    from fahras.models.crossfit import fitting_with

    with connect(cluster) as client:
        with fitting_with(_DaskFits(client)):
            yield client


__all__ = ["LOCAL", "CLUSTER_MANIFEST", "ClusterError", "ModelPlugin", "connect", "evaluate_on_cluster",
           "index_on_cluster", "model_on_workers", "parse_address", "require_dask", "training_on_cluster"]
