"""Cross-fitting base backends, in worker processes when that pays.

An ensemble fits each base backend once per cross-validation fold (for
held-out scores the stacker learns from) and once on all documents.  Those
fits are independent, so :func:`cross_fit` can run them in a pool of worker
processes:

* workers are *spawned*, never forked: a process that already runs native
  thread pools (omikuji's, BLAS) can deadlock in a forked child;
* each worker receives the analysed documents, the subject matrix, the
  analyzer and the concepts once (pickled; :class:`AnalyzedText` packs its
  tokens compactly), then runs tasks;
* a fold task sends back its held-out scores (a plain array);
* workers end when this process ends, even when it is killed
  (:mod:`fahras.workers`);
* a full-data task saves the fitted backend into a temporary folder with the
  backend's own :meth:`~fahras.models.base.Backend.save`, and the parent
  loads it -- so only arrays and model files cross process boundaries,
  exactly what a saved model holds.

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
import pickle
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import scipy.sparse as sp

from fahras._system import available_cores
from fahras.models import create_backend, load_backend
from fahras.models.base import AnalyzedText, Backend, FitContext
from fahras.models.features import sharing_fits, sharing_rows
from fahras.workers import pool_arguments

log = logging.getLogger(__name__)

#: Below this many documents, worker start-up (about a second each) costs more than it saves.
MIN_DOCS_FOR_WORKERS = 100
#: Automatic mode uses at most this many workers: each holds its own copy of the analysed corpus.
MAX_AUTO_JOBS = 8

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
              progress: Callable[[str, int, int], None] | None = None) -> tuple[list[Backend], list[np.ndarray]]:
    """Fit each backend of ``specs`` on all documents, with held-out scores from ``folds``.

    Returns the fitted backends (in ``specs`` order) and, for each, the
    documents x subjects held-out scores.
    """
    y = sp.csr_matrix(y)
    executor = _EXECUTOR.get()
    if executor is not None:
        return _with_executor(executor, specs, docs, y, analyzer, folds, concepts, progress)
    jobs = effective_jobs(n_jobs, len(docs), len(specs) * (len(folds) + 1))
    if jobs > 1:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return _in_workers(specs, docs, y, analyzer, folds, concepts, jobs, progress)
        except BrokenProcessPool as exc:  # a worker died (e.g. killed for memory): carry on here
            log.warning("training workers failed (%s); fitting in this process instead", exc)
    return _sequential(specs, docs, y, analyzer, folds, concepts, progress)


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
    return fitted, held_out


# -- worker side ---------------------------------------------------------------
_WORK: dict = {}
_WORK_FILE = "work.pickle"


def _init_worker(scratch: str) -> None:
    with open(Path(scratch) / _WORK_FILE, "rb") as handle:
        _WORK.update(pickle.load(handle))  # written by the parent process just before
    _WORK["scratch"] = Path(scratch)
    # The tasks of one worker share their features (same folds, same settings): see sharing_fits.
    _WORK["contexts"] = [sharing_fits(), sharing_rows()]
    for context in _WORK["contexts"]:
        context.__enter__()


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
    base.fit([docs[i] for i in train], y[train], context=context)
    return base.predict_scores([docs[i] for i in held]).astype(np.float32)


def _run_task(n: int, spec: dict, fold: int | None):
    result = _fit_one(_WORK, spec, fold)
    if fold is not None:
        return result
    folder = _WORK["scratch"] / f"base{n}"
    result.save(folder)
    return str(folder)


# -- parent side -----------------------------------------------------------------
def _in_workers(specs, docs, y, analyzer, folds, concepts, jobs, progress):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    held_out = [np.zeros(y.shape, dtype=np.float32) for _ in specs]
    fitted: list[Backend | None] = [None] * len(specs)
    tasks = _tasks(specs, folds)
    with tempfile.TemporaryDirectory(prefix="fahras-crossfit-") as scratch:
        # The work goes to the workers as a file in a private temporary folder (not
        # through the start-up pipe): large, and read once by each worker.
        with open(Path(scratch) / _WORK_FILE, "wb") as handle:
            pickle.dump({"docs": list(docs), "y": y, "analyzer": analyzer, "folds": list(folds),
                         "concepts": concepts}, handle, protocol=pickle.HIGHEST_PROTOCOL)
        context = multiprocessing.get_context("spawn")
        # The workers end with this process, however it ends (fahras.workers).
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context,
                                 **pool_arguments(_init_worker, (scratch,))) as pool:
            futures = {pool.submit(_run_task, n, spec, k): (n, k) for n, spec, k in tasks}
            try:
                for done, future in enumerate(as_completed(futures), 1):
                    n, k = futures[future]
                    result = future.result()
                    if k is None:
                        fitted[n] = load_backend(Path(result))
                    else:
                        held_out[n][folds[k][1]] = result
                    if progress:
                        progress(f"fit ({jobs} workers)", done, len(tasks))
            except BaseException:
                for future in futures:  # the first failure ends the training: drop what is queued
                    future.cancel()
                raise
    return fitted, held_out


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
    with tempfile.TemporaryDirectory(prefix="fahras-fit-") as scratch:
        folder = Path(scratch) / "backend"
        result.save(folder)
        return {path.relative_to(folder).as_posix(): path.read_bytes()
                for path in sorted(folder.rglob("*")) if path.is_file()}


def _with_executor(executor: Executor, specs, docs, y, analyzer, folds, concepts, progress):
    held_out = [np.zeros(y.shape, dtype=np.float32) for _ in specs]
    fitted: list[Backend | None] = [None] * len(specs)
    tasks = _tasks(specs, folds)
    work = {"docs": list(docs), "y": y, "analyzer": analyzer, "folds": list(folds), "concepts": concepts}
    seen: set[int] = set()
    with tempfile.TemporaryDirectory(prefix="fahras-crossfit-") as scratch:
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
