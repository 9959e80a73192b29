"""The omikuji (partitioned label tree) backend on a small synthetic corpus."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import scipy.sparse as sp


from fahras import Indexer  # noqa: E402
from fahras.errors import UsageError  # noqa: E402
from fahras.models import create_backend, FitContext, load_backend  # noqa: E402
from fahras.models.omikuji_tree import PRESETS  # noqa: E402

from synthetic import (ANALYZER, NAMES, PROBES, analyse, analysed_corpus, assert_no_pickles,  # noqa: F401
                       assert_params_round_trip, assert_round_trip, assert_term_evidence, corpus_documents)


@pytest.fixture(scope="module")
def corpus():
    return analysed_corpus(seed=7)


@pytest.fixture(scope="module")
def fitted(corpus):
    docs, y = corpus
    return create_backend("omikuji", {"n_threads": 1}).fit(docs, y, context=FitContext(ANALYZER))


def test_ranks_the_right_subject_first(fitted):
    scores = fitted.predict_scores(analyse([text for text, _ in PROBES]))
    assert scores.shape == (len(PROBES), len(NAMES))
    assert list(scores.argmax(axis=1)) == [subject for _, subject in PROBES]


def test_scores_are_in_unit_interval_with_the_right_shape(fitted, corpus):
    docs, _ = corpus
    scores = fitted.predict_scores(docs[:7] + analyse(["", "nothing known here at all"]))
    assert scores.shape == (9, len(NAMES))
    assert np.isfinite(scores).all() and scores.min() >= 0.0 and scores.max() <= 1.0
    assert fitted.predict_scores([]).shape == (0, len(NAMES))


def test_top_k_limits_the_scored_subjects(corpus):
    docs, y = corpus
    backend = create_backend("omikuji", {"top_k": 2, "n_threads": 1}).fit(docs, y, context=FitContext(ANALYZER))
    scores = backend.predict_scores(analyse([text for text, _ in PROBES]))
    assert ((scores > 0).sum(axis=1) <= 2).all()
    assert list(scores.argmax(axis=1)) == [subject for _, subject in PROBES]


@pytest.mark.parametrize("params", [
    PRESETS["bonsai"],
    {"min_branch_size": 2, "cluster_k": 2},  # a real tree: 4 subjects -> 2 -> 1
    {"min_branch_size": 2, "cluster_k": 2, "cluster_balanced": False, "max_depth": 2},
    {"linear_loss": "log", "linear_c": 10.0},
])
def test_other_tree_settings_rank_right(corpus, params):
    docs, y = corpus
    backend = create_backend("omikuji", {**params, "n_threads": 1}).fit(docs, y, context=FitContext(ANALYZER))
    scores = backend.predict_scores(analyse([text for text, _ in PROBES]))
    assert list(scores.argmax(axis=1)) == [subject for _, subject in PROBES]
    assert scores.min() >= 0.0 and scores.max() <= 1.0


def test_save_load_round_trip(fitted, tmp_path):
    assert_round_trip(fitted, tmp_path / "backend", 1)


def test_saved_files_are_plain(fitted, tmp_path):
    folder = tmp_path / "backend"
    fitted.save(folder)
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {"params.json", "features.json", "idf.npy", "centroids.npz", "flat/forest.json"} <= names
    assert not any(name.startswith("omikuji/") for name in names)  # the flat arrays replace omikuji's files
    assert_no_pickles(folder)
    np.load(folder / "idf.npy", allow_pickle=False)
    sp.load_npz(folder / "centroids.npz")  # loads with allow_pickle=False
    json.loads((folder / "params.json").read_text(encoding="utf-8"))


def test_params_round_trip():
    params = {"ngram_max": 1, "min_df": 1, "max_features": 5000, "n_trees": 2, "max_depth": 4,
              "min_branch_size": 10, "cluster_k": 10, "cluster_balanced": False, "cluster_min_size": 3,
              "centroid_threshold": 0.05, "collapse_every_n_layers": 1, "linear_loss": "log",
              "linear_c": 3.0, "linear_eps": 0.05, "linear_weight_threshold": 0.02,
              "linear_max_iter": 30, "beam_size": 5, "top_k": 7, "dense_weights": 0.2, "n_threads": 1}
    assert_params_round_trip("omikuji", params)


def test_bad_params_fail_before_training(corpus):
    docs, y = corpus
    # More clusters than a node may hold would abort the process inside omikuji.
    with pytest.raises(UsageError, match="cluster_k"):
        create_backend("omikuji", {"cluster_k": 100, "min_branch_size": 10}).fit(docs, y, context=FitContext(ANALYZER))
    with pytest.raises(UsageError, match="linear_loss"):
        create_backend("omikuji", {"linear_loss": "squared"}).fit(docs, y, context=FitContext(ANALYZER))
    with pytest.raises(UsageError):
        create_backend("omikuji", {"no_such_param": 1})


def test_explain_points_at_distinctive_words(fitted):
    assert_term_evidence(fitted, PROBES[1][0], NAMES.index("HEALTH"))


def test_native_output_stays_off_stdout(corpus, tmp_path, capfd):
    docs, y = corpus
    capfd.readouterr()
    backend = create_backend("omikuji", {"n_threads": 1}).fit(docs, y, context=FitContext(ANALYZER))
    backend.save(tmp_path / "b")
    load_backend(tmp_path / "b").predict_scores(docs[:2])
    out, _ = capfd.readouterr()
    assert out == ""


def test_indexer_end_to_end(tmp_path):
    documents, vocab = corpus_documents()
    indexer = Indexer(backend="omikuji", backend_params={"n_threads": 1}, cv_folds=3).fit(documents, vocab)
    path = indexer.save(tmp_path / "model")
    loaded = Indexer.load(path)
    [top] = loaded.suggest(PROBES[2][0], limit=1, explain=True)
    assert top.label == "EDUCATION" and top.evidence
    assert loaded.backend_.get_params() == indexer.backend_.get_params()


def test_direct_predictions_match_omikujis_own_including_documents_without_features(fitted, corpus):
    from fahras.models.omikuji_tree import _Predictor

    docs, _ = corpus
    x = fitted.features_.transform(docs[:5] + analyse(["nothing known here at all"]))
    x.sort_indices()
    predict = _Predictor(fitted.model_, int(fitted.beam_size), 3)
    assert x[-1].nnz == 0
    for i in range(x.shape[0]):
        row = x[i]
        labels, scores = predict(row.indices, row.data)
        own = fitted.model_.predict(list(zip(row.indices.tolist(), row.data.tolist())),
                                    beam_size=int(fitted.beam_size), top_k=3)
        assert labels.tolist() == [label for label, _ in own]
        assert scores.tolist() == [np.float32(score) for _, score in own]


def _threads(expected: int | None = None) -> int:
    """This process's threads; given ``expected``, waits up to 10 s for the count to fall to it (a freed
    native pool's threads end just after the call that frees it returns; on a loaded machine, later)."""
    import os
    import time

    def count() -> int:
        return len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else 0

    deadline = time.monotonic() + 10
    while expected is not None and count() > expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return count()


def test_dense_weights_give_the_same_scores_and_leave_no_thread(fitted, corpus, tmp_path):
    from fahras.errors import ModelError

    docs, _ = corpus
    assert fitted.dense_weights < 1  # the default densifies
    fitted.save(tmp_path / "dense")
    fitted.save(tmp_path / "sparse")
    params = tmp_path / "sparse" / "params.json"
    meta = json.loads(params.read_text(encoding="utf-8"))
    meta["params"]["dense_weights"] = 1.0  # never densify
    params.write_text(json.dumps(meta), encoding="utf-8")
    before = _threads()
    dense, sparse = load_backend(tmp_path / "dense"), load_backend(tmp_path / "sparse")
    assert _threads(before) == before  # densifying ran on a pool of its own, freed after
    assert sparse.dense_weights == 1.0 and dense.dense_weights == fitted.dense_weights
    np.testing.assert_array_equal(dense.predict_scores(docs), sparse.predict_scores(docs))
    np.testing.assert_array_equal(dense.predict_scores(docs), fitted.predict_scores(docs))
    assert _threads(before) == before
    for bad in (0, 1.5):
        with pytest.raises(UsageError, match="dense_weights"):
            create_backend("omikuji", {"dense_weights": bad}).fit(docs, corpus[1], context=FitContext(ANALYZER))
        meta["params"]["dense_weights"] = bad
        params.write_text(json.dumps(meta), encoding="utf-8")
        with pytest.raises(ModelError, match="dense_weights"):
            load_backend(tmp_path / "sparse")


def test_loading_makes_the_dense_classifiers_dense(fitted, tmp_path, monkeypatch):
    """Loading runs omikuji's densify on the loaded model with ``dense_weights`` (never silently skipped),
    and not at all with 1.0.  (omikuji exposes no view of a classifier's storage, and saving writes the
    same bytes either way, so the call itself is what can be checked.)"""
    import omikuji._libomikuji as native

    calls = []

    class Recording:
        def __getattr__(self, name):
            found = getattr(native_lib, name)
            if name != "densify_omikuji_model":
                return found

            def densify(model_ptr, threshold, pool):
                calls.append((model_ptr, threshold))
                return found(model_ptr, threshold, pool)
            return densify

    native_lib = native.lib
    monkeypatch.setattr(native, "lib", Recording())
    fitted.save(tmp_path / "dense")
    shutil.rmtree(tmp_path / "dense" / "flat")  # a model saved before the flat arrays: omikuji scores it
    fitted._save_omikuji_files(tmp_path / "dense" / "omikuji")
    loaded = load_backend(tmp_path / "dense")
    assert [threshold for _, threshold in calls] == [pytest.approx(fitted.dense_weights)]
    assert calls[0][0] == loaded.model_._model_ptr  # on the model the backend then predicts with
    params = tmp_path / "dense" / "params.json"
    meta = json.loads(params.read_text(encoding="utf-8"))
    meta["params"]["dense_weights"] = 1.0
    params.write_text(json.dumps(meta), encoding="utf-8")
    calls.clear()
    load_backend(tmp_path / "dense")
    assert calls == []
