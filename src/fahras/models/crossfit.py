"""Cross-fitting base backends, in worker processes when that pays.

An ensemble fits each base backend once per cross-validation fold (for
held-out scores the stacker learns from) and once on all documents.  Those
fits are independent, so :func:`cross_fit` can run them in a pool of worker
processes:

* workers are *spawned*, never forked: a process that already runs native
  thread pools (omikuji's, BLAS) can deadlock in a forked child;
* the workers never see the documents: the bases that learn from TF-IDF
  rows alone (they have ``fit_features``: omikuji, knn, tfidf-linear) get
  them computed here, once per feature setting and split (all documents; a
  fold's training and held-out parts), written as plain ``.npy`` files and
  the features' own files into a scratch folder that the workers
  memory-map; the subject matrix and the folds are files there too (no
  pickles).  Bases that read the documents themselves fit in this process
  meanwhile;
* the scratch folder is removed when training ends, and a folder left by a
  killed training is removed by the next one (:mod:`fahras.models.scratch`);
* a fold task sends back its held-out scores as CSR, scored in blocks (no held-out x subjects dense array
  in the worker or on the way back);
* workers end when this process ends, even when it is killed
  (:mod:`fahras.workers`);
* a full-data task saves the fitted backend into a folder of the scratch with
  the backend's own :meth:`~fahras.models.base.Backend.save` (omikuji saves
  itself there as it fits, ``fit_features(..., save_to=)``), and the parent
  loads it -- so only arrays and model files cross process boundaries,
  exactly what a saved model holds, and no model's bytes are held or sent;
* on a large corpus (the caller passes ``release_docs``) the workers start only
  once this process has computed every split's features, fitted the bases that
  read documents and let go of the documents: the largest fit does not overlap
  with this process at its largest (#19).

With one job everything runs in this process, in the same order, with the
same results.  Within :func:`fitting_with` the tasks go to an executor
instead (a Dask cluster: :mod:`fahras.cluster`), which runs
:func:`fit_task` wherever it likes and hands back its results.  Fits are seeded, so the results do not depend on the number
of jobs (except omikuji's, whose training is not bit-reproducible anyway).
"""

from __future__ import annotations

import contextvars
import logging
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import scipy.sparse as sp

from fahras._system import available_cores
from fahras.models import backend_class, create_backend, load_backend
from fahras.models.analysed import AnalysedCorpus, take
from fahras.models.base import AnalyzedText, Backend, FitContext, as_csr
from fahras.errors import FahrasError
from fahras.models.budget import FitOnce, release_documents, release_free_memory, sparse_rows
from fahras.models.held_out import HeldRows, held_result, wants_csr
from fahras.models.features import TfidfFeatures, sharing_fits, sharing_rows
from fahras.models.scratch import scratch_folder
from fahras.workers import pool_arguments

log = logging.getLogger(__name__)

#: Below this many documents, worker start-up (about a second each) costs more than it saves.
MIN_DOCS_FOR_WORKERS = 100
#: Automatic mode uses at most this many workers (each holds the model it fits and the features it reads).
MAX_AUTO_JOBS = 8
#: The scratch folders of cross-fitting (the features and fitted models the workers exchange with this process).
SCRATCH_PREFIX = "fahras-crossfit-"

Folds = Sequence[tuple[np.ndarray, np.ndarray]]


def effective_jobs(n_jobs: int, n_docs: int, n_tasks: int) -> int:
    """Worker processes to use: ``n_jobs``, at most one per task.

    0 means automatic: one per core (at most :data:`MAX_AUTO_JOBS`) from
    :data:`MIN_DOCS_FOR_WORKERS` documents on, else 1.
    """
    if n_jobs < 0:
        raise ValueError("n_jobs must be 0 (automatic) or more")
    if n_jobs == 0:
        n_jobs = min(available_cores(), MAX_AUTO_JOBS) if n_docs >= MIN_DOCS_FOR_WORKERS else 1
    return max(1, min(n_jobs, n_tasks))


def cross_fit(specs: Sequence[dict], docs: Sequence[AnalyzedText], y: sp.csr_matrix, analyzer, folds: Folds,
              concepts: Sequence | None = None, n_jobs: int = 1,
              progress: Callable[[str, int, int], None] | None = None,
              release_docs: bool = False) -> tuple[list[Backend], list[np.ndarray]]:
    """Fit each backend of ``specs`` on all documents, with held-out scores from ``folds``.

    Returns the fitted backends (in ``specs`` order) and, for each, the
    documents x subjects held-out scores.  With ``release_docs`` (the caller
    reads the documents no more) a :class:`~fahras.models.budget.Releasable`
    ``docs`` is emptied as soon as the last fit that reads documents has
    read them: while the workers fit from their TF-IDF rows, and before
    their results come back (#19: the main process's share of the peak).
    """
    y = sp.csr_matrix(y)
    fitted, held_out = _cross_fit(specs, docs, y, analyzer, folds, concepts, n_jobs, progress, release_docs)
    _log_coverage(specs, held_out, folds)
    return fitted, held_out


def _log_coverage(specs, held_out, folds) -> None:
    """Log how many held-out documents each base scores at all (a base that scores none costs its fits for
    nothing: e.g. acronyms on a corpus of short titles)."""
    rows = np.unique(np.concatenate([np.asarray(held, dtype=np.int64) for _, held in folds])) if folds else []
    for spec, scores in zip(specs, held_out):
        if sp.issparse(scores):  # (a held-out sample's scores as CSR: sparse_rank.held_out_csr)
            scored = int(np.count_nonzero(sp.csr_matrix(scores)[rows].getnnz(axis=1)))
        else:
            scored = sum(int(np.count_nonzero(scores[rows[i:i + 1024]].any(axis=1))) for i in range(0, len(rows), 1024))
        log.info("base %r scores %d of %d held-out documents", spec["name"], scored, len(rows))


def _cross_fit(specs, docs, y, analyzer, folds, concepts, n_jobs, progress, release_docs=False):
    executor = _EXECUTOR.get()
    if executor is not None:
        return _with_executor(executor, specs, docs, y, analyzer, folds, concepts, progress)
    # Only the bases that learn from TF-IDF rows go to workers (the others read documents: fitted here).
    matrix_specs = sum(_feature_key(spec) is not None for spec in specs)
    jobs = effective_jobs(n_jobs, len(docs), matrix_specs * (len(_tasks(specs, folds)) // len(specs))) \
        if matrix_specs else 1
    if jobs > 1:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return _in_workers(specs, docs, y, analyzer, folds, concepts, jobs, progress, release_docs)
        except BrokenProcessPool as exc:  # a worker died (e.g. killed for memory): carry on here
            if getattr(docs, "released", False):
                raise FahrasError(f"a training worker failed ({exc}) after the documents were released from "
                                  "memory; train again (with one job to fit in one process)") from None
            log.warning("training workers failed (%s); fitting in this process instead", exc)
    fitted, held_out = _sequential(specs, docs, y, analyzer, folds, concepts, progress)
    if release_docs:
        release_documents(docs)
    return fitted, held_out


def _sequential(specs, docs, y, analyzer, folds, concepts, progress):
    with sharing_fits(), sharing_rows():
        return _sequential_shared(specs, docs, y, analyzer, folds, concepts, progress)


def _sequential_shared(specs, docs, y, analyzer, folds, concepts, progress):
    fitted, held_out = [], []
    for n, spec in enumerate(specs, 1):
        base = create_backend(spec["name"], spec.get("params"))
        stage = f"base {n}/{len(specs)} ({spec['name']})"
        report = (lambda s, d, t, stage=stage: progress(stage, d, t)) if progress else None
        held_out.append(base.fit_out_of_fold(docs, y, folds, context=FitContext(analyzer, concepts),
                                             progress=report))
        fitted.append(base)
        release_free_memory()  # what the fit freed (e.g. labels' per-document matches) goes back (#19)
    return fitted, held_out


# -- worker side ---------------------------------------------------------------
_WORK: dict = {}


def _fit_one(work: dict, spec: dict, fold: int | None):
    """One cross-fitting task's fit, from ``work`` (``docs``, ``y``, ``analyzer``, ``folds``, ``concepts``):
    the backend fitted on all documents (``fold`` None), else fold ``fold``'s held-out scores (float32)."""
    docs, y = work["docs"], work["y"]
    base = create_backend(spec["name"], spec.get("params"))
    context = FitContext(work["analyzer"], work["concepts"])
    if fold is None:
        base.fit(docs, y, context=context)
        return base
    train, held = work["folds"][fold]
    base.fit(take(docs, train), y[train], context=context)
    return base.predict_scores(take(docs, held)).astype(np.float32)


def _init_worker(scratch: str) -> None:
    # Everything comes from plain files the parent wrote in the scratch folder (no pickles, no documents),
    # read by the worker's first task (_work): a worker that the pool starts only to replace one that ended
    # (max_tasks_per_child) and that gets no task holds neither the subject matrix nor the folds (#19).
    _WORK["scratch"] = Path(scratch)


def _work(key: str):
    """``_WORK[key]`` (``y`` or ``folds``), read from the scratch folder on first use."""
    if key not in _WORK:
        folder = _WORK["scratch"]
        _WORK["y"] = sp.load_npz(folder / _Y_FILE).tocsr()
        with np.load(folder / _FOLDS_FILE, allow_pickle=False) as data:
            _WORK["folds"] = [(data[f"train{k}"], data[f"held{k}"]) for k in range(len(data.files) // 2)]
    return _WORK[key]


class _Rows:
    """Stands in for a fitted backend's :class:`TfidfFeatures` while it scores rows computed elsewhere:
    ``transform(documents)`` takes row numbers of ``x`` for documents."""

    def __init__(self, x: sp.csr_matrix):
        self.x = x

    def transform(self, rows) -> sp.csr_matrix:
        return self.x[np.asarray(rows, dtype=np.int64)]


def _run_task(n: int, spec: dict, fold: int | None, split: str, final: bool = False):
    """A task of a backend that learns from TF-IDF rows (``fit_features``): its features and rows come from
    ``split``, a folder of the scratch that the parent computed them into (:func:`_save_split`).  A fold's
    task returns its held-out scores (CSR: :func:`_held_scores`); with ``final`` (a
    :class:`~fahras.models.budget.FitOnce` fold) also the folder it saved the fitted backend into, as the
    full-data task does.

    The fitted backend goes straight into the folder the parent loads (a backend whose ``fit_features``
    takes ``save_to`` saves itself there as it fits, holding neither its files nor a second copy of its
    model), and is dropped before the task returns: no model bytes are held or sent back (#19)."""
    features, x, held = _load_split(_WORK["scratch"] / split, int(_params(spec)["ngram_max"]))
    y = _work("y") if fold is None else _work("y")[_work("folds")[fold][0]]
    folder = _WORK["scratch"] / f"base{n}" if fold is None or final else None
    base = create_backend(spec["name"], spec.get("params"))
    if folder is not None and _saves_itself(base):
        base = base.fit_features(features, x, y, save_to=folder)
        folder_written = True
    else:
        base = base.fit_features(features, x, y)
        folder_written = False
    del x, y
    release_free_memory()
    scores = None
    if fold is not None:
        scores = _held_scores(base, held)
        if not final:
            return scores
    if not folder_written:
        base.features_ = features
        base.save(folder)
    del base
    release_free_memory()
    return (str(folder), scores) if final else str(folder)


#: Held-out rows a worker scores at once (the dense scores of a block: 256 x subjects).
HELD_BLOCK = 256


def _saves_itself(base: Backend) -> bool:
    import inspect

    return "save_to" in inspect.signature(base.fit_features).parameters


def _held_scores(base: Backend, held: sp.csr_matrix) -> sp.csr_matrix:
    """``base``'s scores of the held-out rows ``held`` as float32 CSR, scored in blocks of
    :data:`HELD_BLOCK` rows: the same scores as one ``predict_scores`` of them all (each row is scored on
    its own), without a held-out x subjects dense array (266 MB per base at 2,400 x 27,754)."""
    features = base.features_
    base.features_ = _Rows(held)
    try:
        blocks = [as_csr(base.predict_scores(range(i, min(i + HELD_BLOCK, held.shape[0]))), np.float32)
                  for i in range(0, held.shape[0], HELD_BLOCK)]
    finally:
        base.features_ = features
    if not blocks:
        return sp.csr_matrix((0, _work("y").shape[1]), dtype=np.float32)
    return sp.csr_matrix(sp.vstack(blocks, format="csr"), dtype=np.float32)


# -- features computed once, in the parent ------------------------------------------
_Y_FILE = "y.npz"
_FOLDS_FILE = "folds.npz"


def _params(spec: dict) -> dict:
    return create_backend(spec["name"], spec.get("params")).get_params()


def _feature_key(spec: dict) -> tuple | None:
    """The TF-IDF settings of a backend that learns from TF-IDF rows alone (it has ``fit_features``), None
    for one that reads the documents themselves."""
    if not hasattr(backend_class(spec["name"]), "fit_features"):
        return None
    params = _params(spec)
    return int(params["ngram_max"]), int(params["min_df"]), params["max_features"]


def _save_matrix(folder: Path, name: str, x: sp.csr_matrix) -> None:
    x = sp.csr_matrix(x)
    np.save(folder / f"{name}.data.npy", np.asarray(x.data, dtype=np.float32))
    np.save(folder / f"{name}.indices.npy", x.indices.astype(np.int32 if x.shape[1] < 2**31 else np.int64))
    np.save(folder / f"{name}.indptr.npy", x.indptr.astype(np.int64))
    np.save(folder / f"{name}.shape.npy", np.asarray(x.shape, dtype=np.int64))


def _load_matrix(folder: Path, name: str) -> sp.csr_matrix:
    """A matrix :func:`_save_matrix` wrote, its arrays memory-mapped (workers share the pages)."""
    parts = [np.load(folder / f"{name}.{part}.npy", mmap_mode="r", allow_pickle=False)
             for part in ("data", "indices", "indptr")]
    shape = tuple(int(v) for v in np.load(folder / f"{name}.shape.npy", allow_pickle=False))
    return sp.csr_matrix(tuple(parts), shape=shape, copy=False)


def _save_split(folder: Path, key: tuple, docs: Sequence[AnalyzedText], held: Sequence[AnalyzedText] | None
                ) -> None:
    """TF-IDF features with settings ``key`` fitted on ``docs``, their rows, and (``held``) the rows of the
    held-out documents, into ``folder``."""
    features = TfidfFeatures(*key)
    x = features.fit_transform(docs)
    folder.mkdir()
    features.save(folder)
    _save_matrix(folder, "x", x)
    del x
    if held is not None:
        _save_matrix(folder, "held", features.transform(held))


def _load_split(folder: Path, ngram_max: int) -> tuple[TfidfFeatures, sp.csr_matrix, sp.csr_matrix | None]:
    held = _load_matrix(folder, "held") if (folder / "held.shape.npy").exists() else None
    return TfidfFeatures.load(folder, ngram_max), _load_matrix(folder, "x"), held


# -- parent side -----------------------------------------------------------------
def _in_workers(specs, docs, y, analyzer, folds, concepts, jobs, progress, release_docs=False):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    keys = [_feature_key(spec) for spec in specs]
    final = isinstance(folds, FitOnce)  # one fold, whose fits are the final ones
    held_out: list[np.ndarray | None] = [None] * len(specs)
    fitted: list[Backend | None] = [None] * len(specs)

    def take_back(n: int, k: int | None, result) -> None:
        """A worker's result for base ``n`` and fold ``k``: its fitted model (a folder) and held-out rows."""
        if final:
            folder, result = result
            fitted[n] = load_backend(Path(folder))
        if k is None:
            fitted[n] = load_backend(Path(result))
        else:
            if held_out[n] is None:  # (costs the rows written; CSR within held_out_csr)
                held_out[n] = HeldRows(y.shape) if wants_csr() else sparse_rows(y.shape)
            _write_rows(held_out[n], folds[k][1], result)
    with scratch_folder(SCRATCH_PREFIX) as scratch:
        sp.save_npz(scratch / _Y_FILE, y)
        np.savez(scratch / _FOLDS_FILE, **{f"{part}{k}": np.asarray(rows, dtype=np.int64)
                                           for k, fold in enumerate(folds) for part, rows in zip(("train", "held"), fold)})
        context = multiprocessing.get_context("spawn")
        # The workers end with this process, however it ends (fahras.workers).
        # On a large corpus each worker ends after its task: what its fit left in its heap (0.6 GB after
        # omikuji's at 100,000 titles) goes back before this process loads the model and the next fits run.
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context,
                                 **({"max_tasks_per_child": 1} if release_docs else {}),
                                 **pool_arguments(_init_worker, (str(scratch),))) as pool:
            futures, queued = {}, []
            try:
                # Features of each setting and split once, here, in task order (the full-data fits, the
                # longest, start while the folds' features are computed); the workers read them from files.
                # With ``release_docs`` the workers start only once this process has let go of the documents:
                # memory binds then, and the largest fit (omikuji's) should not overlap with this process at
                # its largest (the documents, the vectorizer's n-grams, the fits here: #19); it costs wall time.
                def submit(task: tuple) -> None:
                    if release_docs:
                        queued.append(task)
                    else:
                        futures[pool.submit(_run_task, *task)] = (task[0], task[2])

                settings = {key: i for i, key in enumerate(dict.fromkeys(k for k in keys if k is not None))}
                for n, spec, k in _tasks(specs, folds):
                    if keys[n] is None:
                        continue
                    split = f"features{settings[keys[n]]}-" + ("all" if k is None else f"fold{k}")
                    if not (scratch / split).exists():
                        if progress:
                            progress(f"features ({split})", n, len(specs))
                        train = range(len(docs)) if k is None else folds[k][0]
                        _save_split(scratch / split, keys[n], take(docs, train),
                                    None if k is None else take(docs, folds[k][1]))
                        release_free_memory()  # the vectorizer's n-grams
                    submit((n, spec, k, split, final))
                # The bases that read the documents themselves fit here meanwhile (the workers have no documents).
                text = [n for n, key in enumerate(keys) if key is None]
                later = None
                if text and release_docs and final:  # their held-out sample is scored once the workers are done
                    later = _fit_text_bases(text, specs, docs, y, analyzer, folds, concepts, progress, fitted)
                elif text:
                    parts = _sequential([specs[n] for n in text], docs, y, analyzer, folds, concepts, progress)
                    for n, base, scores in zip(text, *parts):
                        fitted[n], held_out[n] = base, scores
                    del parts
                if release_docs:  # every fit that reads documents has read them
                    release_documents(docs)
                for task in queued:
                    futures[pool.submit(_run_task, *task)] = (task[0], task[2])
                if progress:
                    progress(f"fit ({jobs} workers)", 0, len(futures))
                # On a large corpus the workers' results are loaded once the pool is done: the fitted models and
                # held-out rows do not sit in this process beside the longest fit (omikuji's worker, #19).
                pending = []
                for done, future in enumerate(as_completed(futures), 1):
                    if release_docs:
                        pending.append((futures[future], future.result()))
                        if progress:
                            progress(f"fit ({jobs} workers)", done, len(futures))
                        continue
                    take_back(*futures[future], future.result())
                    if progress:
                        progress(f"fit ({jobs} workers)", done, len(futures))
            except BaseException:
                for future in futures:  # the first failure ends the training: drop what is queued
                    future.cancel()
                raise
        if release_docs:  # (the workers have ended)
            if later is not None:
                later(held_out)
            while pending:
                (n, k), result = pending.pop(0)
                take_back(n, k, result)
                del result
    return fitted, [held_result(h) for h in held_out]


def _fit_text_bases(text: list[int], specs, docs, y, analyzer, folds, concepts, progress, fitted: list
                    ) -> Callable[[], None]:
    """Fit the bases ``text`` (that read documents) on the :class:`~fahras.models.budget.FitOnce` fold's
    training part, into ``fitted``; return what scores the fold's held-out sample with them, once called (a
    copy of the sample's analysis is kept for it, so ``docs`` can be released meanwhile).  The same fits and
    scores as :meth:`~fahras.models.base.Backend.fit_out_of_fold` on that fold; the held-out rows (a sample
    x subjects array per base) are made only when the workers are done (#19)."""
    (train, held), = folds
    kept = AnalysedCorpus.of(take(docs, held))
    with sharing_fits(), sharing_rows():
        for i, n in enumerate(text, 1):
            base = create_backend(specs[n]["name"], specs[n].get("params"))
            base.fit(take(docs, train), y[train], context=FitContext(analyzer, concepts))
            fitted[n] = base
            if progress:
                progress(f"base {i}/{len(text)} ({specs[n]['name']})", 1, 1)
            release_free_memory()

    def score(held_out: list) -> None:
        for n in text:
            held_out[n] = HeldRows(y.shape) if wants_csr() else sparse_rows(y.shape)
            scored = "predict_sparse" if isinstance(held_out[n], HeldRows) else "predict_scores"
            held_out[n][held] = getattr(fitted[n], scored)(kept)
            release_free_memory()

    return score


def _write_rows(target: np.ndarray, rows, scores) -> None:
    """``target[rows] = scores`` for dense or CSR ``scores``, a CSR one in blocks (no second dense copy)."""
    rows = np.asarray(rows, dtype=np.int64)
    if not sp.issparse(scores) or isinstance(target, HeldRows):
        target[rows] = scores
        return
    scores = sp.csr_matrix(scores)
    for i in range(0, len(rows), HELD_BLOCK):
        target[rows[i:i + HELD_BLOCK]] = scores[i:i + HELD_BLOCK].toarray()


# -- elsewhere: an executor given by the caller (fahras.cluster) ----------------------
#: What :func:`cross_fit` hands its tasks to within a :func:`fitting_with` block (None: itself).
_EXECUTOR: contextvars.ContextVar = contextvars.ContextVar("fahras_crossfit_executor", default=None)

#: ``executor(work, tasks)``: runs ``fit_task(work, spec, fold)`` for each ``(n, spec, fold)`` of ``tasks``
#: and yields ``(index in tasks, result)`` as each finishes, in any order.
Executor = Callable[[dict, list], Iterable[tuple[int, object]]]


@contextmanager
def fitting_with(executor: Executor) -> Iterator[None]:
    """Within this block (this thread or task), :func:`cross_fit` runs its tasks through ``executor``.

    The results are those of fitting here: the same folds, the same seeded
    fits; a full-data fit comes back as its saved files and is loaded here.
    """
    token = _EXECUTOR.set(executor)
    try:
        yield
    finally:
        _EXECUTOR.reset(token)


def _tasks(specs, folds) -> list[tuple[int, dict, int | None]]:
    if isinstance(folds, FitOnce):  # the fold's fits are the final ones
        return [(n, spec, 0) for n, spec in enumerate(specs)]
    # Full-data fits first: they are the longest, so the pool ends evenly.
    # Fold-major order: a worker's consecutive tasks tend to share a fold, hence its features.
    tasks = [(n, spec, None) for n, spec in enumerate(specs)]
    return tasks + [(n, spec, k) for k in range(len(folds)) for n, spec in enumerate(specs)]


def fit_task(work: dict, spec: dict, fold: int | None) -> np.ndarray | dict[str, bytes]:
    """One cross-fitting task on its own, wherever it runs.

    ``work`` holds ``docs``, ``y``, ``analyzer``, ``folds`` and ``concepts``.
    A fold's task returns its held-out scores (float32); the full-data fit
    (``fold`` None) returns the fitted backend's saved files, relative path ->
    bytes (what :meth:`~fahras.models.base.Backend.save` writes).
    """
    with sharing_fits(), sharing_rows():
        result = _fit_one(work, spec, fold)
    if fold is not None:
        return result
    with scratch_folder("fahras-fit-") as scratch:
        folder = scratch / "backend"
        result.save(folder)
        return {path.relative_to(folder).as_posix(): path.read_bytes()
                for path in sorted(folder.rglob("*")) if path.is_file()}


def _with_executor(executor: Executor, specs, docs, y, analyzer, folds, concepts, progress):
    folds = list(folds)  # (a FitOnce fold is fitted there as any fold, and the bases on all documents)
    held_out = [sparse_rows(y.shape) for _ in specs]
    fitted: list[Backend | None] = [None] * len(specs)
    tasks = _tasks(specs, folds)
    work = {"docs": docs if isinstance(docs, AnalysedCorpus) else list(docs), "y": y, "analyzer": analyzer, "folds": list(folds), "concepts": concepts}
    seen: set[int] = set()
    with scratch_folder(SCRATCH_PREFIX) as scratch:
        for done, (i, result) in enumerate(executor(work, tasks), 1):
            seen.add(i)
            n, _, k = tasks[i]
            if k is None:
                folder = Path(scratch) / f"base{n}"
                for name, data in result.items():
                    target = (folder / name).resolve()
                    if target.parent != folder.resolve() and folder.resolve() not in target.parents:
                        raise ValueError(f"a fitted backend came back with a file outside its folder: {name!r}")
                    os.makedirs(target.parent, exist_ok=True)
                    target.write_bytes(data)
                fitted[n] = load_backend(folder)
            else:
                held_out[n][folds[k][1]] = result
            if progress:
                progress("fit (cluster)", done, len(tasks))
    if len(seen) != len(tasks):
        raise RuntimeError(f"the executor returned {len(seen)} of {len(tasks)} cross-fitting results")
    return fitted, held_out
