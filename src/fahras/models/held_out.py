"""Held-out scores of a large corpus's held-out sample kept as CSR (issue 19: training's peak memory).

On a large corpus the stacker and the decision rule learn from a sample of
held-out documents (:mod:`fahras.models.budget`): about 2,400 of them at
27,754 subjects.  Written into a documents x subjects array, each base's
held-out scores cost 266 MB of the main process, though the bases score a
few dozen subjects a document.  Within :func:`held_out_csr` (the ensemble
sets it around its cross-fitting on a sample) they are kept as CSR instead
(:class:`HeldRows`), from the workers' blocks and from the bases fitted in
the main process alike.  Outside it nothing changes.

A leaf module (it imports nothing from :mod:`fahras.models`), so that
:mod:`fahras.models.base` may use it.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Iterator

import numpy as np
import scipy.sparse as sp

__all__ = ["HeldRows", "held_out_csr", "held_result", "placed_rows", "wants_csr"]


def _csr(scores, dtype) -> sp.csr_matrix:
    """``scores`` (dense or sparse) as CSR of ``dtype``, sorted indices, no stored zeros (a copy)."""
    out = sp.csr_matrix(scores, dtype=dtype)
    if out is scores:
        out = out.copy()
    out.sum_duplicates()
    out.eliminate_zeros()
    return out


def placed_rows(matrix: sp.csr_matrix, rows: np.ndarray, n_rows: int) -> sp.csr_matrix:
    """An ``n_rows`` x columns CSR matrix whose rows ``rows`` (distinct) are those of ``matrix`` in order, every
    other row empty: a sample's held-out scores in the rows of all documents, costing only their entries."""
    rows = np.asarray(rows, dtype=np.int64)
    matrix = sp.csr_matrix(matrix)
    if len(rows) != matrix.shape[0]:
        raise ValueError(f"{len(rows)} rows for a matrix of {matrix.shape[0]}")
    order = np.argsort(rows, kind="stable")
    if not np.all(order[1:] > order[:-1]):
        matrix = matrix[order]
    counts = np.zeros(n_rows, dtype=np.int64)
    counts[rows[order]] = np.diff(matrix.indptr)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return sp.csr_matrix((matrix.data, matrix.indices, indptr), shape=(n_rows, matrix.shape[1]))


class HeldRows:
    """Held-out scores of documents x subjects of which only some rows are written (a large corpus's held-out
    sample, :mod:`fahras.models.budget`), kept as CSR: ``held[rows] = scores`` (dense or CSR) as into an array,
    :meth:`tocsr` for the whole.  A written row costs its nonzero scores, not a row of every subject (at 2,417
    titles x 27,754 subjects: about 1 MB against 266 MB per base, #19)."""

    def __init__(self, shape: tuple[int, int], dtype=np.float32):
        self.shape = (int(shape[0]), int(shape[1]))
        self.dtype = np.dtype(dtype)
        self._parts: list[tuple[np.ndarray, sp.csr_matrix]] = []

    def __setitem__(self, rows, scores) -> None:
        rows = np.arange(self.shape[0])[rows] if isinstance(rows, slice) else np.asarray(rows, dtype=np.int64)
        block = _csr(scores, self.dtype)
        if block.shape != (len(rows), self.shape[1]):
            raise ValueError(f"scores of shape {block.shape} for {len(rows)} rows of {self.shape[1]} columns")
        self._parts.append((rows, block))

    def tocsr(self) -> sp.csr_matrix:
        """The written rows in place (a row written twice: the later scores), every other row empty."""
        if not self._parts:
            return sp.csr_matrix(self.shape, dtype=self.dtype)
        rows = np.concatenate([r for r, _ in self._parts])
        block = sp.vstack([b for _, b in self._parts], format="csr")
        last = len(rows) - 1 - np.unique(rows[::-1], return_index=True)[1]  # each row's last write
        return _csr(placed_rows(block[last], rows[last], self.shape[0]), self.dtype)


#: Within :func:`held_out_csr`: held-out scores are kept as :class:`HeldRows` (see :func:`wants_csr`).
_HELD_CSR: contextvars.ContextVar = contextvars.ContextVar("fahras_held_out_csr", default=False)


@contextlib.contextmanager
def held_out_csr(active: bool = True) -> Iterator[None]:
    """Within (this thread or task, when ``active``): the base backends' held-out scores come back as CSR
    (:class:`HeldRows`), not as documents x subjects arrays; the ensemble asks for it on a held-out sample,
    whose stacker and decision rule read sparse scores (#19): :func:`wants_csr`."""
    token = _HELD_CSR.set(bool(active))
    try:
        yield
    finally:
        _HELD_CSR.reset(token)


def wants_csr() -> bool:
    """True within :func:`held_out_csr`: write held-out scores into a :class:`HeldRows`, not an array
    (:func:`fahras.models.budget.sparse_rows`); :func:`held_result` gives what is returned."""
    return _HELD_CSR.get()


def held_result(held) -> np.ndarray | sp.csr_matrix:
    """Held-out scores as returned: a :class:`HeldRows` as CSR, an array as it is."""
    return held.tocsr() if isinstance(held, HeldRows) else held
