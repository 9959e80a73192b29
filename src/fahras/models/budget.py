"""Memory budgets that keep training bounded by the model, not by the corpus.

Held-out scores are documents x subjects arrays: 100,000 training documents
and 27,754 subjects make 11 GB of float32 per backend.  Above
:data:`MAX_HELD_CELLS`, :func:`held_out_budget` keeps one fold and a sample
of its held-out documents (as many as fit the budget): the base backends are
then fitted twice (once without that fold, once on everything) instead of
once per fold plus once, and the stacker and the decision rule learn from the
sample's held-out scores.  Only the sample's rows of a held-out array are
ever written, and NumPy's zero-filled arrays take memory only where written.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import Callable, Hashable, Iterator, Sequence

import numpy as np

log = logging.getLogger(__name__)

#: Largest held-out array (documents x subjects cells) kept whole: 64 Mi cells, 256 MB of float32.
MAX_HELD_CELLS = 1 << 26
#: The smallest held-out sample worth learning a stacker and a decision rule from.
MIN_HELD_DOCS = 500

#: With ``fit_once``, the base backends fitted without the held-out sample are the final ones (fitted once, not
#: twice) when the sample and the documents kept together with it leave out at most this share of the documents:
#: at 671,068 yso-finna-en titles the 2,417 sampled titles and the titles sharing one of their heading sets are
#: 6.1% (at 100,000 titles, 8.1%).
FIT_ONCE_MAX_SHARE = 0.1

Folds = Sequence[tuple[np.ndarray, np.ndarray]]


class FitOnce(list):
    """One fold ``[(training rows, held-out sample)]`` whose fitted base backends are the final ones: its
    training part is every document but the sample and those kept together with it, so fitting the bases again
    on all documents would add little (the sample is a small share of a large corpus) and cost a second fit
    (:func:`held_out_budget` with ``fit_once``; :meth:`fahras.models.base.Backend.fit_out_of_fold` and
    :func:`fahras.models.crossfit.cross_fit` fit once on it)."""


class Releasable(list):
    """Documents (analysed) that their owner will not read again once the training's fits have read them.

    At 671,068 yso titles the analysed corpus takes about 1 GB of the main process; held until training
    ends, it sat under the omikuji worker's peak and the stacker's (#19).  :meth:`fahras.Indexer.fit` hands
    its analysis over in one of these, and the ensemble asks :func:`fahras.models.crossfit.cross_fit` to
    :meth:`release` it (when it will not read the documents again: the held-out sample's path) after the
    last fit that reads documents.  A plain list is never emptied: the caller did not allow it."""

    released = False

    def release(self) -> None:
        """Empty the list in place (every holder of it sees it empty) and give the freed memory back."""
        self.clear()
        self.released = True
        release_free_memory()


def release_documents(docs) -> bool:
    """:meth:`Releasable.release` ``docs`` if it is one, or an :class:`~fahras.models.analysed.AnalysedCorpus`
    its owner made ``releasable`` (True), else leave it (False)."""
    if isinstance(docs, Releasable) or getattr(docs, "releasable", False) is True:
        docs.release()
        return True
    return False


def held_out_budget(folds: Folds, n_docs: int, n_subjects: int, max_cells: int | None = None,
                    seed: int = 0, *, fit_once: bool = False,
                    groups: Callable[[], Sequence[Hashable]] | None = None
                    ) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray | None]:
    """``(folds, held rows)``: the folds unchanged and None while ``n_docs x n_subjects`` fits
    ``max_cells``; else one fold (the first one's training part, a seeded sample of its held-out
    part) and the sampled rows, sorted.

    The first fold's training part is kept as it is, so documents that the
    folds keep together (near-duplicates, later years) stay out of it.

    With ``fit_once`` the fold is instead a :class:`FitOnce`: its training part
    is every document outside the sample and outside the sample's groups
    (``groups()`` gives each document's group key, as the folds keep them
    together; None: only the sample is left out), when those left out are at
    most :data:`FIT_ONCE_MAX_SHARE` of the documents (else as without it).
    """
    max_cells = MAX_HELD_CELLS if max_cells is None else max_cells
    folds = [(np.asarray(train), np.asarray(held)) for train, held in folds]
    if not folds or n_docs * max(n_subjects, 1) <= max_cells:
        return folds, None
    train, held = folds[0]
    keep = max(MIN_HELD_DOCS, max_cells // max(n_subjects, 1))
    if len(held) > keep:
        held = np.sort(np.random.default_rng(seed).choice(held, keep, replace=False))
    held = np.sort(held)
    if fit_once:
        outside = _outside_groups(held, None if groups is None else groups(), n_docs)
        left_out = n_docs - len(outside)
        if left_out <= FIT_ONCE_MAX_SHARE * n_docs:
            log.info("%d documents x %d subjects: held-out scores of %d documents; the base backends are fitted "
                     "once, on the %d documents outside them and their groups (%d left out, %.1f%%), and kept",
                     n_docs, n_subjects, len(held), len(outside), left_out, 100 * left_out / n_docs)
            return FitOnce([(outside, held)]), held
        log.info("%d documents x %d subjects: the held-out sample's groups hold %d documents (%.1f%%, more than "
                 "%.0f%%): the base backends are fitted twice", n_docs, n_subjects, left_out,
                 100 * left_out / n_docs, 100 * FIT_ONCE_MAX_SHARE)
    log.info("%d documents x %d subjects: held-out scores of %d documents of one fold (not %d folds of "
             "all documents); the base backends are fitted twice", n_docs, n_subjects, len(held), len(folds))
    return [(train, held)], held


def _outside_groups(held: np.ndarray, groups: Sequence[Hashable] | None, n_docs: int) -> np.ndarray:
    """The rows of ``n_docs`` documents outside ``held`` and outside every group of a ``held`` document."""
    inside = np.zeros(n_docs, dtype=bool)
    inside[held] = True
    if groups is not None:
        if len(groups) != n_docs:
            raise ValueError("held_out_budget: groups() must give one key per document")
        keys = {groups[i] for i in held}
        inside |= np.fromiter((g in keys for g in groups), dtype=bool, count=n_docs)
    return np.flatnonzero(~inside)


def sparse_rows(shape: tuple[int, int], dtype=np.float32) -> np.ndarray:
    """A zero-filled array of ``shape`` whose memory is reserved only where it is written.

    A documents x subjects held-out array at 671,068 titles x 27,754 subjects
    is 74 GB of float32: ``np.zeros`` of that is refused outright by Linux's
    default (heuristic) overcommit, which turns down any single allocation
    larger than memory and swap, although only the sample's rows are ever
    written.  This maps it without reserving it (``MAP_NORESERVE``, no huge
    pages), so it costs the rows written (4 KiB pages); reading the rest gives
    zeros.  Small arrays (and systems without these mmap flags) get
    ``np.zeros``."""
    import mmap

    size = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    # (Python's mmap module names MAP_NORESERVE from 3.12 on; its Linux value is 0x4000 on every architecture
    # Fahras runs on: x86, ARM, RISC-V)
    flags = getattr(mmap, "MAP_NORESERVE", 0x4000 if sys.platform.startswith("linux") else None)
    if size < MAX_HELD_CELLS * 4 or flags is None or not hasattr(mmap, "MAP_PRIVATE"):
        return np.zeros(shape, dtype=dtype)
    region = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | flags)
    if hasattr(mmap, "MADV_NOHUGEPAGE"):
        region.madvise(mmap.MADV_NOHUGEPAGE)
    return np.frombuffer(region, dtype=dtype).reshape(shape)  # the array keeps the mapping alive


def release_free_memory() -> bool:
    """Give the C heap's free pages back to the system (glibc's ``malloc_trim``); False where there is none.

    Training frees many small arrays in the main process (a base's per-document match features, the
    TF-IDF vocabulary's n-grams).  glibc keeps their pages, so the process's resident memory stays at its
    high-water mark for the rest of training, under the workers' peak and the stacker's.  Measured: 600,000
    freed triples of small arrays left 435 MB resident, 281 MB after the trim.  Scores do not change."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return False
    return bool(trim(0))


@contextlib.contextmanager
def rows_only(active: bool = True) -> Iterator[None]:
    """Within: NumPy asks for no transparent huge pages for new arrays, so a held-out array is resident only
    in the rows written (4 KiB pages of a few rows each).  With 2 MiB huge pages, writing one row in 30
    makes all of a documents x subjects array resident (measured: 1.2 GB for a sample of 21% of 20,000
    rows x 15,707 subjects, 0.27 GB without).  The setting is NumPy's, for the whole process: training
    only, restored on leaving; scores do not change."""
    switch = _hugepage_switch() if active else None
    if switch is None:
        yield
        return
    before = switch(False)
    try:
        yield
    finally:
        switch(before)


def _hugepage_switch():
    try:
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:  # NumPy 1
        try:
            from numpy.core.multiarray import _set_madvise_hugepage
        except ImportError:
            return None
    return _set_madvise_hugepage
