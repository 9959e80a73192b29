"""The top-k heap the compiled kNN and omikuji kernels share (fahras.models._heap_kernel)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba")


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("k", [1, 3, 10])
def test_the_heap_keeps_the_stable_sort_s_first_k_whatever_the_offer_order(seed, k):
    from fahras.models._heap_kernel import heap_offer, heap_sort_best_first

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    scores = rng.choice(np.float32([-1.0, 0.0, 0.25, 0.5, 0.75]), size=n).astype(np.float32)  # many ties
    want = np.argsort(-scores, kind="stable")[:k].tolist()  # higher score, then the lower key
    heap_score = np.zeros(k, dtype=np.float32)
    heap_key = np.zeros(k, dtype=np.int64)
    size = 0
    for key in rng.permutation(n):  # offered in any order
        size = heap_offer(heap_score, heap_key, size, k, scores[key], key)
    assert size == min(k, n)
    assert sorted(heap_key[:size].tolist()) == sorted(want)
    heap_sort_best_first(heap_score, heap_key, size)
    assert heap_key[:size].tolist() == want
    np.testing.assert_array_equal(heap_score[:size], scores[want])


def test_both_kernels_use_the_shared_heap():
    """One heap: neither kernel keeps a copy of its sift-up and sift-down."""
    import inspect

    from fahras.models import _knn_kernel, _omikuji_kernel

    for module in (_knn_kernel, _omikuji_kernel):
        source = inspect.getsource(module)
        assert "heap_offer(" in source
        assert "sift" not in source.lower()
