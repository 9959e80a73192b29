"""The top-k min-heap shared by the compiled kernels (:mod:`fahras.models._knn_kernel`,
:mod:`fahras.models._omikuji_kernel`); numba, imported only when first used.

The heap keeps the ``k`` best (score, key) pairs offered to it.  *Better*
means a higher score, then the lower key: exactly the first ``k`` of a stable
sort by descending score of pairs offered in key order, whatever order they
are offered in.  Its root is the worst kept, which a better pair replaces.
"""

from __future__ import annotations

from numba import njit


@njit(nogil=True, cache=True, inline="always")
def heap_offer(heap_score, heap_key, size, k, s, key):
    """Offer (``s``, ``key``) to the heap of ``size`` pairs (at most ``k``) in ``heap_score[:size]`` /
    ``heap_key[:size]``; returns its new size."""
    if size < k:
        # sift up: each parent better than the new pair moves down
        c = size
        while c > 0:
            parent = (c - 1) >> 1
            ps = heap_score[parent]
            if ps > s or (ps == s and heap_key[parent] < key):
                heap_score[c] = ps
                heap_key[c] = heap_key[parent]
                c = parent
            else:
                break
        heap_score[c] = s
        heap_key[c] = key
        return size + 1
    ws = heap_score[0]
    if s > ws or (s == ws and key < heap_key[0]):  # better than the worst kept: it replaces the root
        c = 0
        while True:
            left = 2 * c + 1
            if left >= size:
                break
            worst = left
            right = left + 1
            if right < size:
                ls = heap_score[left]
                rs = heap_score[right]
                if rs < ls or (rs == ls and heap_key[right] > heap_key[left]):
                    worst = right
            cs = heap_score[worst]
            if cs < s or (cs == s and heap_key[worst] > key):  # the worse child moves up
                heap_score[c] = cs
                heap_key[c] = heap_key[worst]
                c = worst
            else:
                break
        heap_score[c] = s
        heap_key[c] = key
    return size


@njit(nogil=True, cache=True)
def heap_sort_best_first(heap_score, heap_key, size):
    """Order the ``size`` kept pairs best first (insertion sort: the heap is small)."""
    for a in range(1, size):
        s = heap_score[a]
        key = heap_key[a]
        b = a - 1
        while b >= 0 and (heap_score[b] < s or (heap_score[b] == s and heap_key[b] > key)):
            heap_score[b + 1] = heap_score[b]
            heap_key[b + 1] = heap_key[b]
            b -= 1
        heap_score[b + 1] = s
        heap_key[b + 1] = key
