"""Rankings of sparse, non-negative score rows, as a stable argsort of the dense rows would give them.

Scoring a batch at scale (issue 19) keeps each base backend's scores as a
CSR matrix (omikuji scores its top 50 subjects, kNN the subjects of 20
neighbours: a few dozen of 27,000 columns), so that candidate selection,
the stacker's features and the decision rule touch the nonzero entries
only, never a documents x subjects array.

Every function here gives exactly what the dense code gives for the dense
rows (``np.argsort(-row, kind="stable")``: higher scores first, ties in
column order) provided the scores are non-negative: a row's order is then
its nonzero entries by (score descending, column), followed by its zero
columns in column order, which is what lets the rank of a zero column be
computed without listing the zeros.  Callers check :func:`non_negative`
first and keep the dense path otherwise.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from fahras.models.base import as_csr

__all__ = ["SparseRanking", "as_csr", "non_negative", "row_max", "stable_rank", "top_columns", "top_k"]


def non_negative(matrix: sp.csr_matrix) -> bool:
    """True when no stored score is negative or NaN (the condition for every function here)."""
    data = matrix.data
    return bool(data.size == 0 or np.all(data >= 0))


class SparseRanking:
    """The stable ranking of each row of a non-negative CSR matrix (stored zeros eliminated).

    ``rank(rows, cols)`` is the 0-based position of column ``cols`` in row
    ``rows``'s stable descending order, capped at ``depth`` (as
    :class:`fahras.models.ensemble._Ranking` caps it); ``top(k)`` the first
    ``k`` columns of every row, as (rows, columns) pairs.
    """

    def __init__(self, scores: sp.csr_matrix, depth: int, zeros_ranked: bool = True):
        #: False: a column without a stored score is not ranked (its rank is ``depth``), and :meth:`top` lists
        #: stored entries only
        self.zeros_ranked = zeros_ranked
        self.scores = scores
        self.n_rows, self.n_cols = scores.shape
        self.depth = depth
        indptr = scores.indptr
        self.nnz_row = np.diff(indptr)
        row_of = np.repeat(np.arange(self.n_rows, dtype=np.int64), self.nnz_row)
        self.row_of = row_of
        # order of the stored entries: by row, score descending, column
        self.order = np.lexsort((scores.indices, -scores.data, row_of))
        position = np.empty(len(self.order), dtype=np.int64)
        position[self.order] = np.arange(len(self.order), dtype=np.int64) - indptr[row_of[self.order]]
        self.position = position  # each stored entry's 0-based rank in its row
        self.keys = row_of * self.n_cols + scores.indices  # sorted (CSR, sorted indices)

    def _find(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each pair: the index of its stored entry and whether it has one."""
        keys = rows.astype(np.int64) * self.n_cols + cols
        at = np.searchsorted(self.keys, keys)
        at_clipped = np.minimum(at, max(len(self.keys) - 1, 0))
        found = (at < len(self.keys)) & (self.keys[at_clipped] == keys) if len(self.keys) else \
            np.zeros(len(keys), dtype=bool)
        return at_clipped, found

    def values(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The scores at the pairs (0 where nothing is stored), in the matrix's dtype."""
        at, found = self._find(rows, cols)
        out = np.zeros(len(rows), dtype=self.scores.dtype)
        out[found] = self.scores.data[at[found]]
        return out

    def rank(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        at, found = self._find(rows, cols)
        out = np.empty(len(rows), dtype=np.int64)
        out[found] = self.position[at[found]]
        # a zero column comes after the row's stored entries, among the zero columns in column order
        zero = ~found
        if zero.any() and not self.zeros_ranked:
            out[zero] = self.depth
        elif zero.any():
            z_rows, z_cols = rows[zero], cols[zero]
            keys = z_rows * self.n_cols + z_cols
            stored_before = np.searchsorted(self.keys, keys) - self.scores.indptr[z_rows]
            out[zero] = self.nnz_row[z_rows] + z_cols - stored_before
        return np.minimum(out, self.depth)

    def top(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The first ``min(k, columns)`` columns of every row: (rows, columns), in no particular order."""
        k = min(k, self.n_cols)
        take = self.position[self.order] < k
        rows = [self.row_of[self.order][take]]
        cols = [self.scores.indices[self.order][take]]
        short = np.flatnonzero(self.nnz_row < k) if self.zeros_ranked else np.zeros(0, dtype=np.int64)
        if short.size:  # rows with fewer than k stored entries: their lowest zero columns fill up
            need = k - self.nnz_row[short]
            width = int(k + self.nnz_row[short].max())  # the zeros needed lie among the first k + nnz columns
            width = min(width, self.n_cols)
            grid_rows = np.repeat(short, width)
            grid_cols = np.tile(np.arange(width, dtype=np.int64), len(short))
            _, stored = self._find(grid_rows, grid_cols)
            free = ~stored
            # the n-th free column of each short row (n counted from 0) is kept while n < need
            free_rank = np.cumsum(free.reshape(len(short), width), axis=1).ravel() - 1
            keep = free & (free_rank < np.repeat(need, width))
            rows.append(grid_rows[keep])
            cols.append(grid_cols[keep])
        return np.concatenate(rows), np.concatenate(cols).astype(np.int64)


def row_max(scores: sp.csr_matrix) -> np.ndarray:
    """Each row's maximum (0 for a row without stored entries: its scores are all 0), in the scores' dtype."""
    out = np.zeros(scores.shape[0], dtype=scores.dtype)
    filled = np.flatnonzero(np.diff(scores.indptr))
    if filled.size:
        out[filled] = np.maximum.reduceat(scores.data, scores.indptr[filled])
        # a row with fewer stored entries than columns also holds zeros; scores are non-negative
        out[filled] = np.maximum(out[filled], 0)
    return out


def top_columns(columns: np.ndarray, values: np.ndarray, n_cols: int, limit: int) -> np.ndarray:
    """:func:`fahras.decision.top_columns` of a sparse non-negative row given by its stored ``columns``
    (sorted, no zeros stored) and ``values``: the ``limit`` best columns, ties in column order."""
    order = np.lexsort((columns, -values))[:limit]
    best = columns[order]
    if len(best) < limit and len(best) < n_cols:
        need = min(limit, n_cols) - len(best)
        candidates = np.arange(min(n_cols, need + len(columns)), dtype=columns.dtype)
        zeros = candidates[~np.isin(candidates, columns, assume_unique=True)][:need]
        best = np.concatenate([best, zeros])
    return best.astype(np.int64)


def stable_rank(columns: np.ndarray, values: np.ndarray, column: int, value: float) -> int:
    """The 0-based position of ``column`` (scoring ``value``) in its sparse non-negative row's stable
    descending order (the row's stored ``columns``, sorted, and ``values``; no zeros stored)."""
    if value > 0:
        return int(np.sum(values > value) + np.sum((values == value) & (columns < column)))
    return int(len(columns) + column - np.searchsorted(columns, column))


def top_k(scores: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` best columns in the stable descending order of its dense row (ties and the zero
    columns after the stored entries in column order, as ``np.argsort(-row, kind="stable")[:k]``), and their
    scores: two rows x ``min(k, columns)`` arrays (columns int64, scores in the matrix's dtype).  ``scores``:
    non-negative CSR, no stored zeros, sorted indices."""
    n_rows, n_cols = scores.shape
    k = min(k, n_cols)
    ranking = SparseRanking(scores, k)
    rows, cols = ranking.top(k)
    at = ranking.rank(rows, cols)  # exact below k: every pair of top(k) is
    best = np.zeros((n_rows, k), dtype=np.int64)
    values = np.zeros((n_rows, k), dtype=scores.dtype)
    best[rows, at] = cols
    values[rows, at] = ranking.values(rows, cols)
    return best, values
