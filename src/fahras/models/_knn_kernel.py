"""The kNN vote of :meth:`fahras.models.knn.KnnBackend.predict_sparse`, compiled with numba (imported on first use).

For each document: its cosine similarity to every training document that
shares a feature with it (summed in float32 over the document's features in
their stored order, as scipy's sparse product ``x @ train.T`` sums them), the
``k`` most similar (ties at the ``k``-th place: the lower training row), their
weights ``sim ** exponent``, and each subject's share of the weights (summed in
float32 over the neighbours in training-row order, as ``spread @ labels`` sums
them; the total in float64, nearest first).  The same numbers as the scipy
path, without a documents x training-documents matrix and without a Python
loop over documents; the GIL is released.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from fahras.models._heap_kernel import heap_offer


@njit(nogil=True, cache=True)
def _lower_bound(values, lo, hi, key):
    while lo < hi:
        mid = (lo + hi) >> 1
        if values[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(nogil=True, cache=True)
def knn_neighbours(first, last, x_indptr, x_indices, x_data, post_ptr, post_doc, post_val, n_train, k,
                   block, out_rows, out_sims, out_count):
    """Documents ``first``..``last - 1``: their nearest training rows (at most ``k``, in training-row order) and
    similarities, at ``out_rows[i, :count]`` / ``out_sims``, ``out_count[i] = count``.

    The training rows are taken ``block`` at a time (each feature's postings are sorted by row, so a
    block's part of a list is one stretch of it): the similarities being summed then stay in the
    processor's cache, where scattering them over all 671,000 rows at once missed it at every step.
    Each similarity is summed over the document's features in their stored order.  The block's rows are
    then met again through the same stretches: a row's sum is taken (and cleared) the first time, and
    compared with the ``k``-th kept before the heap is touched (most of a title's ~25,000 rows fall short
    of it: offering each to the heap cost four times the summing)."""
    sims = np.zeros(block, dtype=np.float32)
    max_f = 1
    for i in range(first, last):
        max_f = max(max_f, x_indptr[i + 1] - x_indptr[i])
    cursor = np.zeros(max_f, dtype=np.int64)
    stretch_end = np.zeros(max_f, dtype=np.int64)
    # the k best so far (the shared heap: a higher similarity, then the lower training row): exactly the k a
    # stable sort by similarity would take (the scipy path's partition, then its lower rows among ties)
    heap_row = np.zeros(max(k, 1), dtype=np.int64)
    heap_sim = np.zeros(max(k, 1), dtype=np.float32)
    for i in range(first, last):
        p0 = x_indptr[i]
        n_f = x_indptr[i + 1] - p0
        for j in range(n_f):
            cursor[j] = post_ptr[x_indices[p0 + j]]
        n_heap = 0
        kth = np.float32(0.0)  # the k-th similarity kept, once k are (a row below it cannot enter)
        for base in range(0, n_train, block):
            stop = min(base + block, n_train)
            for j in range(n_f):
                f = x_indices[p0 + j]
                hi = post_ptr[f + 1]
                lo = cursor[j]
                if lo >= hi or post_doc[lo] >= stop:
                    end = lo
                else:
                    end = _lower_bound(post_doc, lo, hi, stop) if post_doc[hi - 1] >= stop else hi
                stretch_end[j] = end
                v = x_data[p0 + j]
                for q in range(lo, end):
                    d = post_doc[q] - base
                    sims[d] = sims[d] + v * post_val[q]
            for j in range(n_f):
                for q in range(cursor[j], stretch_end[j]):
                    d = post_doc[q] - base
                    s = sims[d]
                    if s == np.float32(0.0):
                        continue  # taken already, or a sum of exactly 0 (no weight)
                    sims[d] = np.float32(0.0)
                    if not s > np.float32(0.0) or s < kth:
                        continue  # no weight, or below the k-th (a tie goes on: the lower row wins it)
                    n_heap = heap_offer(heap_sim, heap_row, n_heap, k, s, base + d)
                    if n_heap == k:
                        kth = heap_sim[0]
                cursor[j] = stretch_end[j]
        order = np.argsort(heap_row[:n_heap], kind="mergesort")
        for t in range(n_heap):
            out_rows[i, t] = heap_row[order[t]]
            out_sims[i, t] = heap_sim[order[t]]
        out_count[i] = n_heap


@njit(nogil=True, cache=True)
def knn_votes(first, last, near_rows, near_sims, near_weights, near_count, lab_ptr, lab_col, lab_val, n_subjects,
              out_count, out_cols, out_vals, out_cap):
    """Documents ``first``..``last - 1``: each subject's share of the neighbours' weights (``near_weights``:
    ``near_sims ** exponent``, computed by NumPy as the reference path computes them), columns sorted, at
    ``out_cols[i, :count]`` / ``out_vals``; returns -1 if a document has more than ``out_cap`` subjects."""
    votes = np.zeros(n_subjects, dtype=np.float32)
    voted = np.zeros(n_subjects, dtype=np.uint8)
    vote_cols = np.zeros(n_subjects, dtype=np.int64)
    for i in range(first, last):
        n_near = near_count[i]
        nearest = np.argsort(-near_sims[i, :n_near], kind="mergesort")  # ties stay in training-row order
        total = 0.0
        for t in range(n_near):
            total += np.float64(near_weights[i, nearest[t]])
        n_votes = 0
        for t in range(n_near):  # summed over the neighbours in training-row order
            d = near_rows[i, t]
            w = near_weights[i, t]
            for q in range(lab_ptr[d], lab_ptr[d + 1]):
                c = lab_col[q]
                if voted[c] == 0:
                    voted[c] = 1
                    votes[c] = np.float32(0.0)
                    vote_cols[n_votes] = c
                    n_votes += 1
                votes[c] += w * lab_val[q]
        cols = np.sort(vote_cols[:n_votes])
        n_out = 0
        for t in range(n_votes):
            c = cols[t]
            voted[c] = 0
            if total > 0:
                value = np.float32(np.float64(votes[c]) / total)
            else:
                value = np.float32(0.0)
            if value > np.float32(1.0):
                value = np.float32(1.0)
            if value > np.float32(0.0):
                if n_out >= out_cap:
                    return -1
                out_cols[i, n_out] = c
                out_vals[i, n_out] = value
                n_out += 1
        out_count[i] = n_out
    return 0
