"""The compiled beam search of :mod:`fahras.models.omikuji_fast` (numba; imported only when first used).

Every number is float32, as in omikuji, and every sum is taken in omikuji's
order (see :mod:`fahras.models.omikuji_fast`).  A leaf's label scores are
``exp`` taken in float64 and rounded to float32 (omikuji: float32 ``expf``,
which differs in the last bit for about 1 value in 1,500): NumPy computes the
same, so that the NumPy path for a few documents
(:meth:`fahras.models.omikuji_fast.FlatForest.predict`) gives the same numbers.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from fahras.models._heap_kernel import heap_offer, heap_sort_best_first

#: Feature ids per bucket of a node's bucket table.
BUCKET_BITS = 6


@njit(nogil=True, cache=True)
def _find(ids, lo, hi, key):
    """The position of ``key`` in the sorted ``ids[lo:hi]``, or -1."""
    while lo < hi:
        mid = (lo + hi) >> 1
        v = ids[mid]
        if v < key:
            lo = mid + 1
        elif v > key:
            hi = mid
        else:
            return mid
    return -1


@njit(nogil=True, cache=True)
def _node_scores(node, f_idx, f_val, n_f, feat_ptr, feat_ids, entry_ptr, entry_row, entry_val, acc, n_out,
                 bucket_at, buckets):
    """``acc[:n_out]``: the node's classifiers' raw scores (weights . document, summed in feature order).

    A node with many features has a bucket table (``bucket_at[node] >= 0``): where its features with ids
    ``b << BUCKET_BITS`` onwards start, so a document's feature is searched among a few neighbours, not
    among the whole list (each step of a search over 400,000 features is a cache miss)."""
    for c in range(n_out):
        acc[c] = np.float32(0.0)
    lo = feat_ptr[node]
    hi = feat_ptr[node + 1]
    table = bucket_at[node]
    for j in range(n_f):
        if table >= 0:
            b = table + (f_idx[j] >> BUCKET_BITS)
            p = _find(feat_ids, buckets[b], buckets[b + 1], f_idx[j])
        else:
            p = _find(feat_ids, lo, hi, f_idx[j])
        if p >= 0:
            v = f_val[j]
            for e in range(entry_ptr[p], entry_ptr[p + 1]):
                acc[entry_row[e]] += entry_val[e] * v
            lo = p + 1  # the document's features are sorted: the next one lies further on


@njit(nogil=True, cache=True)
def _best(scores, n, keep, out, kept):
    """``out[:keep]``: the positions of the ``keep`` best of ``scores[:n]`` (``n > keep``), best first, ties
    in position order: what ``np.argsort(-scores[:n], kind="stable")[:keep]`` gives, without sorting all
    ``n`` (the shared heap of :mod:`fahras.models._heap_kernel`; ``kept[:keep]``, float32, holds the kept
    scores)."""
    size = 0
    for p in range(n):
        s = scores[p]
        if size == keep and not s > kept[0]:
            continue  # not above the worst kept (a tie loses: it comes later)
        size = heap_offer(kept, out, size, keep, s, p)
    heap_sort_best_first(kept, out, size)


@njit(nogil=True, cache=True)
def _transform(s, log_loss):
    if log_loss:
        return -np.float32(math.log1p(math.exp(-s)))
    d = np.float32(1.0) - s
    if d < np.float32(0.0):
        d = np.float32(0.0)
    return -(d * d)


@njit(nogil=True, cache=True)
def predict_range(first, last, x_indptr, x_indices, x_data, n_features, log_loss, beam_size, top_k,
                  roots, is_leaf, out_start, n_out, feat_ptr, feat_ids, entry_ptr, entry_row, entry_val, labels,
                  bucket_at, buckets, n_labels, max_out, out_labels, out_scores, out_count):
    """Documents ``first``..``last - 1`` of the CSR batch: their ``top_k`` labels and scores (best first)."""
    n_trees = roots.shape[0]
    acc = np.zeros(max(max_out, 1), dtype=np.float32)
    cap = beam_size * max(max_out, 1) + beam_size
    cur_node = np.zeros(cap, dtype=np.int64)
    cur_score = np.zeros(cap, dtype=np.float32)
    nxt_node = np.zeros(cap, dtype=np.int64)
    nxt_score = np.zeros(cap, dtype=np.float32)
    total = np.zeros(n_labels, dtype=np.float32)
    seen = np.zeros(n_labels, dtype=np.uint8)
    touched = np.zeros(n_labels, dtype=np.int64)
    lab_score = np.zeros(cap, dtype=np.float32)
    order = np.zeros(cap, dtype=np.int64)
    kept = np.zeros(cap, dtype=np.float32)
    max_f = 1
    for i in range(first, last):
        max_f = max(max_f, x_indptr[i + 1] - x_indptr[i] + 1)
    f_idx = np.zeros(max_f, dtype=np.int64)
    f_val = np.zeros(max_f, dtype=np.float32)
    for i in range(first, last):
        start = x_indptr[i]
        end = x_indptr[i + 1]
        # the document as omikuji prepares it: L2-normalised, then a bias feature of 1
        norm = np.float32(0.0)
        for k in range(start, end):
            norm += x_data[k] * x_data[k]
        norm = np.float32(math.sqrt(norm))
        n_f = 0
        for k in range(start, end):
            f_idx[n_f] = x_indices[k]
            f_val[n_f] = x_data[k] / norm
            n_f += 1
        f_idx[n_f] = n_features
        f_val[n_f] = np.float32(1.0)
        n_f += 1
        n_touched = 0
        for t in range(n_trees):
            n_cur = 1
            cur_node[0] = roots[t]
            cur_score[0] = np.float32(0.0)
            while True:
                any_branch = False
                for b in range(n_cur):
                    if is_leaf[cur_node[b]] == 0:
                        any_branch = True
                        break
                if not any_branch:
                    break
                n_nxt = 0
                for b in range(n_cur):
                    node = cur_node[b]
                    score = cur_score[b]
                    if is_leaf[node] == 0:
                        m = n_out[node]
                        _node_scores(node, f_idx, f_val, n_f, feat_ptr, feat_ids, entry_ptr, entry_row, entry_val,
                                     acc, m, bucket_at, buckets)
                        first_child = out_start[node]
                        for c in range(m):
                            nxt_node[n_nxt] = first_child + c
                            nxt_score[n_nxt] = _transform(acc[c], log_loss) + score
                            n_nxt += 1
                    else:
                        nxt_node[n_nxt] = node
                        nxt_score[n_nxt] = score
                        n_nxt += 1
                if n_nxt > beam_size:
                    _best(nxt_score, n_nxt, beam_size, order, kept)
                    for b in range(beam_size):
                        cur_node[b] = nxt_node[order[b]]
                        cur_score[b] = nxt_score[order[b]]
                    n_cur = beam_size
                else:
                    for b in range(n_nxt):
                        cur_node[b] = nxt_node[b]
                        cur_score[b] = nxt_score[b]
                    n_cur = n_nxt
            # each leaf's labels, of which its beam_size best count (omikuji 0.5 cuts each leaf's list so)
            for b in range(n_cur):
                leaf = cur_node[b]
                score = cur_score[b]
                m = n_out[leaf]
                _node_scores(leaf, f_idx, f_val, n_f, feat_ptr, feat_ids, entry_ptr, entry_row, entry_val, acc, m, bucket_at, buckets)
                first_label = out_start[leaf]
                for c in range(m):
                    lab_score[c] = np.float32(math.exp(np.float64(_transform(acc[c], log_loss) + score)))
                if m > beam_size:
                    _best(lab_score, m, beam_size, order, kept)
                    n_keep = beam_size
                else:
                    for k in range(m):
                        order[k] = k
                    n_keep = m
                for k in range(n_keep):
                    label = labels[first_label + order[k]]
                    if seen[label] == 0:
                        seen[label] = 1
                        total[label] = np.float32(0.0)
                        touched[n_touched] = label
                        n_touched += 1
                    total[label] += lab_score[order[k]]
        # the mean over the trees, best first, the top_k kept
        found = np.zeros(n_touched, dtype=np.float32)
        for k in range(n_touched):
            label = touched[k]
            found[k] = total[label] / np.float32(n_trees)
            seen[label] = 0
        final = np.argsort(-found, kind="mergesort")
        n_keep = min(top_k, n_touched)
        for k in range(n_keep):
            out_labels[i, k] = touched[final[k]]
            out_scores[i, k] = found[final[k]]
        out_count[i] = n_keep
