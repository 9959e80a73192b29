"""The compiled beam search over flat arrays (fahras.models.omikuji_fast) against omikuji's own predict."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from fahras.models import FitContext, create_backend, load_backend
from fahras.models.omikuji_fast import FlatForest
from fahras.models.omikuji_tree import PRESETS, _Predictor

from synthetic import ANALYZER, PROBES, analyse, analysed_corpus

pytest.importorskip("numba")


@pytest.fixture(scope="module")
def corpus():
    return analysed_corpus(seed=11)


def assert_same_float32(got, want, max_ulp: int = 4):
    """Equal to within a few float32 units in the last place (not a relative tolerance: a 2-ulp difference
    is a relative 2.2e-7 at 0.069 but 1.2e-7 at 0.9)."""
    np.testing.assert_array_max_ulp(np.asarray(got, dtype=np.float32), np.asarray(want, dtype=np.float32),
                                    maxulp=max_ulp)


def _probed_forest(corpus, params):
    """An omikuji backend fitted with ``params``, the probe texts and 40 training documents as sorted TF-IDF
    rows, and the backend's trees as a :class:`FlatForest`."""
    docs, y = corpus
    backend = create_backend("omikuji", {**params, "n_threads": 1}).fit(docs, y, context=FitContext(ANALYZER))
    texts = analyse([text for text, _ in PROBES] + ["", "nothing known here at all"]) + list(docs[:40])
    x = backend.features_.transform(texts)
    x.sort_indices()
    return backend, x, FlatForest.from_omikuji_files(backend.model_files_)


def _omikuji_rankings(backend, x, beam_size, top_k):
    predict = _Predictor(backend.model_, beam_size, top_k)
    out = []
    for i in range(x.shape[0]):
        start, end = x.indptr[i], x.indptr[i + 1]
        labels, scores = predict(x.indices[start:end], x.data[start:end])
        out.append(dict(zip(labels.tolist(), scores.tolist())))
    return out


@pytest.mark.parametrize("params", [
    {},  # one leaf of one-vs-rest classifiers
    PRESETS["bonsai"],
    {"min_branch_size": 2, "cluster_k": 2},  # a real tree: several levels, beams cut at every level
    {"min_branch_size": 2, "cluster_k": 2, "cluster_balanced": False, "max_depth": 2, "dense_weights": 1.0},
    {"linear_loss": "log", "linear_c": 10.0, "min_branch_size": 2, "cluster_k": 2},
])
@pytest.mark.parametrize("beam_size,top_k", [(1, 3), (2, 50), (10, 2)])
def test_flat_forest_scores_as_omikuji_predicts(corpus, params, beam_size, top_k):
    backend, x, flat = _probed_forest(corpus, params)
    labels, scores, counts = flat.predict(x, beam_size, top_k)
    expected = _omikuji_rankings(backend, x, beam_size, top_k)
    for i, want in enumerate(expected):
        got = dict(zip(labels[i, :counts[i]].tolist(), scores[i, :counts[i]].tolist()))
        assert set(got) == set(want), i
        # the trees are summed in another order than omikuji's (its directory listing): the last bits may
        # differ (each of the n_trees - 1 additions and the mean rounds once, exp in between for log loss)
        assert_same_float32([got[k] for k in sorted(want)], [want[k] for k in sorted(want)])
        assert list(scores[i, :counts[i]]) == sorted(scores[i, :counts[i]], reverse=True)


def test_backend_scores_with_the_flat_forest_and_saves_it(corpus, tmp_path):
    docs, y = corpus
    backend = create_backend("omikuji", {**PRESETS["bonsai"], "n_threads": 1}).fit(docs, y,
                                                                                   context=FitContext(ANALYZER))
    probes = analyse([text for text, _ in PROBES]) + list(docs[:20])
    scores = backend.predict_sparse(probes)
    assert backend._flat_forest() is not None
    x = backend.features_.transform(probes)
    x.sort_indices()
    for i, want in enumerate(_omikuji_rankings(backend, x, int(backend.beam_size), int(backend.top_k))):
        row = scores[i]
        got = dict(zip(row.indices.tolist(), row.data.tolist()))
        want = {k: min(v, 1.0) for k, v in want.items() if v > 0}
        assert set(got) == set(want)
        assert_same_float32([got[k] for k in sorted(want)], [want[k] for k in sorted(want)])
    backend.save(tmp_path / "b")
    assert (tmp_path / "b" / "flat" / "forest.json").is_file()
    assert not (tmp_path / "b" / "omikuji").exists()  # the flat arrays are the model, not a copy beside it
    loaded = load_backend(tmp_path / "b")
    assert "model_" not in loaded.__dict__  # omikuji's trees are not read: the flat arrays are mapped
    assert isinstance(loaded._flat_forest().arrays["entry_val"], np.memmap)
    assert (loaded.predict_sparse(probes) != scores).nnz == 0  # exactly the fitted scores
    # a model saved before the flat arrays loads and scores with omikuji, to the last bit of the flat ones' ranks
    loaded.save(tmp_path / "again")  # a loaded model of flat arrays saves them again, scoring the same
    assert (load_backend(tmp_path / "again").predict_sparse(probes) != scores).nnz == 0
    shutil.rmtree(tmp_path / "b" / "flat")
    backend._save_omikuji_files(tmp_path / "b" / "omikuji")
    old = load_backend(tmp_path / "b")
    assert old._flat_forest() is None and "model_" in old.__dict__
    old_scores = old.predict_sparse(probes)
    assert (old_scores != 0).nnz == (scores != 0).nnz
    assert_same_float32(old_scores.toarray(), scores.toarray())
    # saving such an old model again writes the flat arrays in place of omikuji's files
    old.save(tmp_path / "converted")
    assert not (tmp_path / "converted" / "omikuji").exists()
    converted = load_backend(tmp_path / "converted")
    assert "model_" not in converted.__dict__
    assert (converted.predict_sparse(probes) != scores).nnz == 0


def test_refitting_makes_a_new_flat_forest(corpus):
    docs, y = corpus
    backend = create_backend("omikuji", {"n_threads": 1, "min_branch_size": 2, "cluster_k": 2})
    backend.fit(docs, y, context=FitContext(ANALYZER))
    first = backend._flat_forest()
    backend.fit(docs[:60], y[:60], context=FitContext(ANALYZER))
    assert backend._flat_forest() is not first


def test_a_damaged_tree_file_is_refused(corpus):
    docs, y = corpus
    backend = create_backend("omikuji", {"n_threads": 1}).fit(docs, y, context=FitContext(ANALYZER))
    files = dict(backend.model_files_)
    files["tree0.cbor"] = b"\xa1\x64Leaf\xa0"  # {"Leaf": {}}
    with pytest.raises((ValueError, KeyError)):
        FlatForest.from_omikuji_files(files)


@pytest.mark.parametrize("params", [PRESETS["bonsai"], {"min_branch_size": 2, "cluster_k": 2},
                                    {"min_branch_size": 3, "cluster_k": 3, "cluster_balanced": False}])
def test_a_few_documents_score_in_numpy_as_the_kernel_scores_them(corpus, params):
    from fahras.models import omikuji_fast

    backend, x, flat = _probed_forest(corpus, params)
    assert x.shape[0] >= omikuji_fast.COMPILED_MIN_DOCS
    batch = flat.predict(x, 3, 7)  # the compiled kernel
    for i in range(x.shape[0]):
        labels, scores, counts = flat.predict(x[i], 3, 7)  # one document: NumPy
        assert counts[0] == batch[2][i]
        np.testing.assert_array_equal(labels[0, :counts[0]], batch[0][i, :counts[0]])
        np.testing.assert_array_equal(scores[0, :counts[0]], batch[1][i, :counts[0]])  # bit for bit


@pytest.mark.parametrize("seed", range(5))
def test_the_beam_cut_is_the_stable_sort_s_first(seed):
    from fahras.models._omikuji_kernel import _best

    rng = np.random.default_rng(seed)
    for n, keep in [(11, 10), (50, 10), (562, 10), (30, 1), (40, 39)]:
        scores = rng.choice(np.float32([-3.0, -1.5, -1.0, -0.25, 0.0]), size=n + 5).astype(np.float32)  # ties
        out = np.zeros(n + 5, dtype=np.int64)
        _best(scores, n, keep, out, np.zeros(n + 5, dtype=np.float32))
        assert out[:keep].tolist() == np.argsort(-scores[:n], kind="stable")[:keep].tolist()
