"""The compiled kNN vote (fahras.models._knn_kernel) against the scipy path it replaces: the same numbers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from fahras.models import FitContext, create_backend

from synthetic import ANALYZER, PROBES, analyse, analysed_corpus

pytest.importorskip("numba")


@pytest.fixture(scope="module")
def corpus():
    return analysed_corpus(seed=5)


def _mapped(array) -> bool:
    """Whether ``array`` is (a view of) a memory map, not a copy in memory."""
    import mmap

    while array is not None:
        if isinstance(array, (np.memmap, mmap.mmap)):
            return True
        array = getattr(array, "base", None)
    return False


def _reference(backend, x):
    out = backend._scipy_votes(x)
    out = sp.csr_matrix(out, dtype=np.float32)
    out.data = np.clip(out.data, 0.0, 1.0)
    out.eliminate_zeros()
    out.sort_indices()
    return out


@pytest.mark.parametrize("params", [{}, {"k": 1}, {"k": 3, "exponent": 0.0}, {"k": 5, "exponent": 1.5},
                                    {"k": 1000}])
def test_compiled_votes_equal_the_scipy_votes(corpus, params):
    docs, y = corpus
    backend = create_backend("knn", params).fit(docs, y, context=FitContext(ANALYZER))
    texts = analyse([text for text, _ in PROBES] + ["", "nothing known here at all"]) + list(docs[:60])
    # duplicated training documents make ties at the k-th place: the lower training row wins in both
    x = backend.features_.transform(texts)
    got = backend._compiled_votes(x)
    want = _reference(backend, x)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got.indptr, want.indptr)
    np.testing.assert_array_equal(got.indices, want.indices)
    np.testing.assert_array_equal(got.data, want.data)  # bit for bit


def test_ties_at_the_kth_place_take_the_lower_training_rows(corpus):
    docs, y = corpus
    twice = list(docs[:30]) * 2  # every training document twice: every neighbour is tied with its copy
    y2 = sp.vstack([y[:30], y[:30]]).tocsr()
    backend = create_backend("knn", {"k": 3}).fit(twice, y2, context=FitContext(ANALYZER))
    x = backend.features_.transform(list(docs[:30]))
    got = backend._compiled_votes(x)
    want = _reference(backend, x)
    assert (got != want).nnz == 0
    np.testing.assert_array_equal(got.data, want.data)


def test_predict_sparse_uses_the_compiled_votes(corpus, monkeypatch):
    docs, y = corpus
    backend = create_backend("knn", {"k": 5}).fit(docs, y, context=FitContext(ANALYZER))
    probes = analyse([text for text, _ in PROBES])
    fast = backend.predict_sparse(probes)
    import fahras.models.knn as knn

    monkeypatch.setattr(knn, "numba_available", lambda: False)
    slow = backend.predict_sparse(probes)
    np.testing.assert_array_equal(fast.toarray(), slow.toarray())


def test_a_loaded_model_maps_its_postings_and_reads_train_only_when_needed(corpus, tmp_path):
    from fahras.models import load_backend

    docs, y = corpus
    backend = create_backend("knn", {"k": 5}).fit(docs, y, context=FitContext(ANALYZER))
    backend.save(tmp_path / "k")
    loaded = load_backend(tmp_path / "k")
    assert _mapped(loaded._train_t.data) and _mapped(loaded._train_t.indices)
    assert loaded.__dict__.get("_train") is None
    probes = analyse([text for text, _ in PROBES]) + list(docs[:30])
    np.testing.assert_array_equal(loaded.predict_sparse(probes).toarray(), backend.predict_sparse(probes).toarray())
    assert loaded.__dict__.get("_train") is None  # scoring never read train.npz
    assert (loaded.train_ != backend.train_).nnz == 0  # explanations and learning read it on first use
    # a model saved before the postings: made from train.npz when loading, the same scores
    for name in ("indptr", "indices", "data"):
        (tmp_path / "k" / f"postings_{name}.npy").unlink()
    old = load_backend(tmp_path / "k")
    np.testing.assert_array_equal(old.predict_sparse(probes).toarray(), backend.predict_sparse(probes).toarray())


@pytest.mark.parametrize("block", [1, 7, 64, 1 << 15])
def test_the_blocked_sum_gives_the_same_votes_whatever_the_block(corpus, monkeypatch, block):
    import fahras.models.knn as knn

    docs, y = corpus
    backend = create_backend("knn", {"k": 4}).fit(docs, y, context=FitContext(ANALYZER))
    x = backend.features_.transform(analyse([text for text, _ in PROBES]) + list(docs[:50]))
    want = _reference(backend, x)
    monkeypatch.setattr(knn, "_BLOCK_ROWS", block)
    got = backend._compiled_votes(x)
    np.testing.assert_array_equal(got.indices, want.indices)
    np.testing.assert_array_equal(got.data, want.data)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("block", [3, 16, 1 << 15])
def test_the_nearest_are_the_stable_sort_s_first_k_even_with_many_ties(seed, block):
    """The kernel alone on random postings whose similarities tie often (values from a small set): its k
    nearest are the first k of a stable sort by similarity (ties: the lower training row), whatever order
    the rows are first reached in, and their similarities are the float32 sums in feature order."""
    from fahras.models._knn_kernel import knn_neighbours

    rng = np.random.default_rng(seed)
    n_train, n_features, k = 60, 12, 5
    train = sp.random(n_train, n_features, density=0.3, random_state=seed, format="csr",
                      data_rvs=lambda n: rng.choice([0.25, 0.5, 1.0], size=n)).astype(np.float32)
    post = sp.csr_matrix(train.T)
    post.sort_indices()
    x = sp.random(8, n_features, density=0.4, random_state=seed + 100, format="csr",
                  data_rvs=lambda n: rng.choice([0.5, 1.0], size=n)).astype(np.float32)
    x.sort_indices()
    rows = np.zeros((8, k), dtype=np.int64)
    sims = np.zeros((8, k), dtype=np.float32)
    count = np.zeros(8, dtype=np.int64)
    knn_neighbours(0, 8, x.indptr.astype(np.int64), x.indices.astype(np.int64), x.data, post.indptr.astype(np.int64),
                   post.indices, post.data, n_train, k, block, rows, sims, count)
    dense = train.toarray()
    for i in range(8):
        exact = np.zeros(n_train, dtype=np.float32)
        for p in range(x.indptr[i], x.indptr[i + 1]):  # float32, feature by feature
            exact += x.data[p] * dense[:, x.indices[p]]
        order = np.argsort(-exact, kind="stable")
        want = [r for r in order[:k] if exact[r] > 0]
        assert rows[i, :count[i]].tolist() == sorted(want)
        np.testing.assert_array_equal(sims[i, :count[i]], exact[sorted(want)])


@pytest.mark.parametrize("name", ["postings_data.npy", "postings_indptr.npy", "train.npz"])
def test_a_damaged_postings_or_train_file_is_refused_when_loading(corpus, tmp_path, name):
    from fahras.errors import ModelError
    from fahras.models import load_backend

    docs, y = corpus
    create_backend("knn", {"k": 5}).fit(docs, y, context=FitContext(ANALYZER)).save(tmp_path / "k")
    path = tmp_path / "k" / name
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])  # truncated
    with pytest.raises(ModelError):
        load_backend(tmp_path / "k")


@pytest.mark.parametrize("seed", range(4))
def test_many_candidates_give_the_stable_sort_s_first_k_exactly(seed):
    """Thousands of training rows reached per document (most fall below the k-th kept and are turned away
    before the heap): the k nearest and their float32 similarities are still exactly those of a stable sort
    of the feature-by-feature float32 sums, ties (values from a small set) to the lower row."""
    from fahras.models._knn_kernel import knn_neighbours

    rng = np.random.default_rng(seed)
    n_train, n_features, n_docs, k = 3000, 40, 12, 7
    train = sp.random(n_train, n_features, density=0.15, random_state=seed, format="csr",
                      data_rvs=lambda n: rng.choice([0.125, 0.25, 0.5, 1.0], size=n)).astype(np.float32)
    post = sp.csr_matrix(train.T)
    post.sort_indices()
    x = sp.random(n_docs, n_features, density=0.3, random_state=seed + 7, format="csr",
                  data_rvs=lambda n: rng.choice([0.25, 0.5, 1.0], size=n)).astype(np.float32)
    x.sort_indices()
    dense = train.toarray()
    for block in (64, 1 << 15):
        rows = np.zeros((n_docs, k), dtype=np.int64)
        sims = np.zeros((n_docs, k), dtype=np.float32)
        count = np.zeros(n_docs, dtype=np.int64)
        knn_neighbours(0, n_docs, x.indptr.astype(np.int64), x.indices.astype(np.int64), x.data,
                       post.indptr.astype(np.int64), post.indices, post.data, n_train, k, block, rows, sims, count)
        for i in range(n_docs):
            exact = np.zeros(n_train, dtype=np.float32)
            for p in range(x.indptr[i], x.indptr[i + 1]):
                exact += x.data[p] * dense[:, x.indices[p]]
            want = sorted(r for r in np.argsort(-exact, kind="stable")[:k] if exact[r] > 0)
            assert rows[i, :count[i]].tolist() == want
            np.testing.assert_array_equal(sims[i, :count[i]], exact[want])


def test_a_few_documents_are_scored_without_reading_train(corpus, tmp_path):
    """The NumPy/scipy path for a few documents (a cold ``fahras suggest``) needs the postings and the labels
    only: reading and decompressing train.npz took a quarter of a cold suggest at 671,000 titles."""
    from fahras.models import load_backend
    from fahras.models.omikuji_fast import COMPILED_MIN_DOCS

    docs, y = corpus
    backend = create_backend("knn", {"k": 5}).fit(docs, y, context=FitContext(ANALYZER))
    backend.save(tmp_path / "k")
    loaded = load_backend(tmp_path / "k")
    few = analyse([text for text, _ in PROBES])[:max(1, COMPILED_MIN_DOCS - 1)]
    got = loaded.predict_sparse(few)
    assert loaded.__dict__.get("_train") is None  # train.npz not read
    np.testing.assert_array_equal(got.toarray(), backend.predict_sparse(few).toarray())


def test_the_kernel_s_arrays_are_made_once_and_again_after_learning(corpus):
    """The int64 row pointers the kernels take are made on the first compiled vote and kept (each batch copied
    and scanned them: 7 MB at 671,000 training titles); documents added by learning make them again, and the
    votes stay the scipy path's."""
    docs, y = corpus
    backend = create_backend("knn", {"k": 5}).fit(docs[:80], y[:80], context=FitContext(ANALYZER))
    x = backend.features_.transform(analyse([text for text, _ in PROBES]) + list(docs[80:120]))
    first = backend._compiled_votes(x)
    prep = backend.__dict__.get("_kernel_prep")
    assert prep is not None
    backend._compiled_votes(x)
    assert backend.__dict__.get("_kernel_prep") is prep  # not made again
    backend.add_documents(list(docs[80:]), y[80:])
    after = backend._compiled_votes(x)
    assert backend.__dict__.get("_kernel_prep") is not prep
    want = _reference(backend, x)
    np.testing.assert_array_equal(after.indptr, want.indptr)
    np.testing.assert_array_equal(after.indices, want.indices)
    np.testing.assert_array_equal(after.data, want.data)
    assert first.shape == after.shape
    assert len(backend._kernel_prep[3]) == len(docs) + 1  # the labels' row pointers cover the added documents
