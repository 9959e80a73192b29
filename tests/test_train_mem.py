"""Training's peak memory at library scale (issue 19, train-mem): the cross-fitting workers save their models
straight into the folder the parent loads and hand back no model bytes and no dense held-out arrays; the main
process lets go of the documents once the fits have read them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from fahras.models import FitContext, backend_class, create_backend, load_backend
from fahras.models import budget, crossfit
from fahras.models.budget import FitOnce, Releasable
from fahras.models.crossfit import cross_fit
from fahras.models.features import TfidfFeatures
from synthetic import ANALYZER, PROBES, analyse, analysed_corpus

SMALL_OMIKUJI = {"n_trees": 1, "min_df": 1, "n_threads": 1}


@pytest.fixture(scope="module")
def corpus():
    docs, y = analysed_corpus(60, seed=5)
    return docs * 2, sp.vstack([y, y]).tocsr()  # (enough documents for worker processes)


def _omikuji_ready() -> None:
    pytest.importorskip("omikuji")
    from fahras.models.omikuji_fast import numba_available

    if not numba_available():
        pytest.skip("the flat omikuji arrays need numba")


# -- omikuji saves itself as it fits ------------------------------------------------------------------------
def test_omikuji_saved_as_it_fits_reads_neither_its_files_nor_its_model_back(corpus, tmp_path, monkeypatch):
    _omikuji_ready()
    from fahras.models import omikuji_tree

    docs, y = corpus

    def refused(*args, **kwargs):
        raise AssertionError("omikuji's files or model read back into memory")

    monkeypatch.setattr(omikuji_tree, "_read_files", refused)
    monkeypatch.setattr(omikuji_tree, "_load_model", refused)
    features = TfidfFeatures(1, 1, None)
    x = features.fit_transform(docs)
    folder = tmp_path / "omikuji"
    fitted = create_backend("omikuji", SMALL_OMIKUJI).fit_features(features, x, y, save_to=folder)
    assert fitted.model_files_ == {} and "model_" not in vars(fitted)  # no bytes, no second model
    assert (folder / "params.json").is_file() and (folder / "flat" / "forest.json").is_file()
    probes = analyse([text for text, _ in PROBES])
    mine = fitted.predict_sparse(probes)
    assert mine.nnz > 0
    loaded = load_backend(folder)
    assert (loaded.predict_sparse(probes) != mine).nnz == 0  # the parent's model scores as the fitted one
    for (text, subject), row in zip(PROBES, mine.toarray()):
        assert row.argmax() == subject, text


# -- a worker's task ------------------------------------------------------------------------------------------
def _worker_scratch(tmp_path: Path, docs, y, train, held) -> Path:
    """The scratch folder the parent writes for the workers, with one split's features (``features0-fold0``)."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    sp.save_npz(scratch / crossfit._Y_FILE, y)
    np.savez(scratch / crossfit._FOLDS_FILE, train0=train, held0=held)
    crossfit._save_split(scratch / "features0-fold0", (1, 1, None), [docs[i] for i in train],
                         [docs[i] for i in held])
    crossfit._init_worker(str(scratch))
    return scratch


@pytest.mark.parametrize("spec", [{"name": "knn", "params": {"k": 5, "min_df": 1}},
                                  {"name": "omikuji", "params": SMALL_OMIKUJI}])
def test_a_worker_hands_back_a_folder_and_sparse_held_out_scores(corpus, tmp_path, spec):
    if spec["name"] == "omikuji":
        _omikuji_ready()
    docs, y = corpus
    n = len(docs)
    train, held = np.arange(0, n - 12), np.arange(n - 12, n)
    _worker_scratch(tmp_path, docs, y, train, held)
    try:
        folder, scores = crossfit._run_task(0, spec, 0, "features0-fold0", final=True)
    finally:
        crossfit._WORK.clear()
    assert isinstance(folder, str) and (Path(folder) / "params.json").is_file()  # a path, not the files' bytes
    assert sp.issparse(scores) and scores.dtype == np.float32 and scores.shape == (len(held), y.shape[1])
    assert scores.nnz > 0
    # the scores are those of the model the parent loads from the folder
    expected = load_backend(Path(folder)).predict_scores([docs[i] for i in held])
    np.testing.assert_allclose(scores.toarray(), expected, rtol=1e-5, atol=1e-6)


def test_held_out_scores_in_blocks_are_those_of_one_call(corpus, monkeypatch):
    docs, y = corpus
    monkeypatch.setattr(crossfit, "HELD_BLOCK", 7)  # several blocks, the last one short
    features = TfidfFeatures(1, 1, None)
    x = features.fit_transform(docs[:100])
    base = create_backend("knn", {"k": 5, "min_df": 1}).fit_features(features, x, y[:100])
    held = features.transform(docs[100:])
    crossfit._WORK["y"] = y
    try:
        blocks = crossfit._held_scores(base, held)
    finally:
        crossfit._WORK.clear()
    assert base.features_ is features  # put back
    np.testing.assert_array_equal(blocks.toarray(), base.predict_scores(docs[100:]))
    target = np.zeros((len(docs), y.shape[1]), dtype=np.float32)
    crossfit._write_rows(target, np.arange(100, len(docs)), blocks)
    np.testing.assert_array_equal(target[100:], blocks.toarray())
    assert not target[:100].any()


# -- the documents are let go -----------------------------------------------------------------------------------
def _recording(monkeypatch, events: list) -> None:
    from fahras.models.analysed import AnalysedCorpus

    real_load = crossfit.load_backend

    def recorded(real):
        def release(self):
            events.append(("release", len(self)))
            real(self)
        return release

    def load(folder):
        events.append(("load", None))
        return real_load(folder)

    monkeypatch.setattr(Releasable, "release", recorded(Releasable.release))
    monkeypatch.setattr(AnalysedCorpus, "release", recorded(AnalysedCorpus.release))
    monkeypatch.setattr(crossfit, "load_backend", load)


@pytest.mark.parametrize("jobs", [1, 2])
def test_cross_fit_releases_the_documents_once_read_and_fits_the_same(corpus, monkeypatch, jobs):
    docs, y = corpus
    n = len(docs)
    folds = FitOnce([(np.arange(0, n - 12), np.arange(n - 12, n))])
    specs = [{"name": "knn", "params": {"k": 5}}, {"name": "tfidf-linear", "params": {"min_df": 1}}]
    kept, held_kept = cross_fit(specs, list(docs), y, ANALYZER, folds, n_jobs=jobs)
    events = []
    _recording(monkeypatch, events)
    plain = list(docs)
    cross_fit(specs, plain, y, ANALYZER, folds, n_jobs=jobs, release_docs=True)
    assert len(plain) == n and events == [("load", None)] * (len(specs) if jobs > 1 else 0)  # not releasable
    events.clear()
    releasable = Releasable(docs)
    fitted, held_out = cross_fit(specs, releasable, y, ANALYZER, folds, n_jobs=jobs, release_docs=True)
    assert len(releasable) == 0 and releasable.released
    assert events[0] == ("release", n)  # released before any worker's model was loaded
    for a, b, ha, hb in zip(kept, fitted, held_kept, held_out):
        np.testing.assert_allclose(ha, hb, rtol=1e-5, atol=1e-6)
        probes = analyse([text for text, _ in PROBES])
        np.testing.assert_allclose(a.predict_scores(probes), b.predict_scores(probes), rtol=1e-5, atol=1e-6)


def test_the_labels_base_reads_the_documents_before_they_are_released(corpus, monkeypatch):
    """A base that reads documents fits in the main process while the workers fit: the documents go after it."""
    from fahras.models.labels import LabelsBackend
    from fahras.vocab import Concept
    from synthetic import NAMES

    docs, y = corpus
    n = len(docs)
    words = {"WATER": "drought", "HEALTH": "malaria", "EDUCATION": "literacy", "MINING": "copper mine"}
    concepts = [Concept(f"http://x/{name}", name, {"en": words[name]}) for name in NAMES]
    events = []
    _recording(monkeypatch, events)
    real = LabelsBackend.fit
    monkeypatch.setattr(LabelsBackend, "fit", lambda self, d, *a, **k: events.append(("labels", len(d))) or
                        real(self, d, *a, **k))
    from concurrent.futures import ProcessPoolExecutor

    submit = ProcessPoolExecutor.submit
    monkeypatch.setattr(ProcessPoolExecutor, "submit", lambda self, *a, **k: events.append(("submit", None)) or
                        submit(self, *a, **k))
    folds = FitOnce([(np.arange(0, n - 12), np.arange(n - 12, n))])
    specs = [{"name": "knn", "params": {"k": 5}}, {"name": "labels"}, {"name": "tfidf-linear", "params": {"min_df": 1}}]
    releasable = Releasable(docs)
    cross_fit(specs, releasable, y, ANALYZER, folds, concepts=concepts, n_jobs=2, release_docs=True)
    # the workers' fits start once this process has let go of the documents (they do not overlap its peak)
    assert [e[0] for e in events] == ["labels", "release", "submit", "submit", "load", "load"]
    assert events[0][1] == n - 12 and events[1][1] == n
    # without release_docs the workers start while this process computes features and fits labels, as before
    events.clear()
    cross_fit(specs, Releasable(docs), y, ANALYZER, folds, concepts=concepts, n_jobs=2)
    assert [e[0] for e in events][:3] == ["submit", "submit", "labels"] and ("release", n) not in events


def _large(monkeypatch) -> None:
    monkeypatch.setattr(budget, "MIN_HELD_DOCS", 5)
    monkeypatch.setattr(budget, "MAX_HELD_CELLS", 40)  # the synthetic corpus is "large"
    monkeypatch.setattr(budget, "FIT_ONCE_MAX_SHARE", 0.5)


def _spied_training_set(monkeypatch) -> list:
    from fahras.indexer import Indexer

    seen = []
    real = Indexer.training_set
    monkeypatch.setattr(Indexer, "training_set", lambda self, *a, **k: seen.append(real(self, *a, **k)) or seen[-1])
    return seen


@pytest.mark.parametrize("large", [True, False])
def test_the_indexer_lets_go_of_the_documents_on_a_large_corpus(monkeypatch, large):
    from fahras.indexer import Indexer
    from synthetic import corpus_documents

    documents, vocab = corpus_documents()
    if large:
        _large(monkeypatch)
    events = []
    _recording(monkeypatch, events)
    seen = _spied_training_set(monkeypatch)
    indexer = Indexer(backend="ensemble", folds="random",
                      backend_params={"backends": [{"name": "knn", "params": {"k": 5}}], "n_jobs": 1})
    indexer.fit(documents, vocab)
    data = seen[0]
    assert len(data.documents) == 0 and len(data.gold) == 0  # the ids and subject sets go once the folds are made
    # the analysis goes once the bases read it, on a large corpus (a held-out sample); a small corpus's ensemble
    # reads it again (every document is held out: the novel head's match features)
    assert (events == [("release", len(documents))]) is large
    assert (len(data.analysed) == 0) is large
    assert indexer.training_["documents"] == len(documents) and indexer.training_["languages"]
    assert indexer.suggest(documents[0].text)


def test_the_indexer_keeps_the_documents_for_its_forward_estimate(monkeypatch):
    from fahras.indexer import Indexer
    from synthetic import corpus_documents

    documents, vocab = corpus_documents()
    _large(monkeypatch)
    seen = _spied_training_set(monkeypatch)
    indexer = Indexer(backend="ensemble", folds="random", forward_estimate="auto",
                      backend_params={"backends": [{"name": "knn", "params": {"k": 5}}], "n_jobs": 1})
    indexer.fit(documents, vocab)
    assert len(seen[0].documents) == len(documents)  # read again by the forward estimate
    assert len(seen[0].analysed) == 0  # (the analysis is not)


def test_a_worker_that_dies_after_the_release_is_reported(corpus, monkeypatch):
    from concurrent.futures.process import BrokenProcessPool

    from fahras.errors import FahrasError

    docs, y = corpus
    n = len(docs)

    def broken(specs, docs, y, analyzer, folds, concepts, jobs, progress, release_docs):
        if release_docs:
            crossfit.release_documents(docs)
        raise BrokenProcessPool("killed")

    monkeypatch.setattr(crossfit, "_in_workers", broken)
    folds = FitOnce([(np.arange(0, n - 12), np.arange(n - 12, n))])
    specs = [{"name": "knn"}, {"name": "knn", "params": {"k": 3}}]  # (two tasks: two workers)
    with pytest.raises(FahrasError, match="after the documents were released"):
        cross_fit(specs, Releasable(docs), y, ANALYZER, folds, n_jobs=2, release_docs=True)
    # not released: carries on in this process, as before
    fitted, _ = cross_fit(specs, Releasable(docs), y, ANALYZER, folds, n_jobs=2)
    assert fitted[0].predict_scores(docs[:1]).any()


# -- the conversion to flat arrays ------------------------------------------------------------------------------
def test_the_flat_builder_gives_its_parts_up_as_it_makes_the_arrays(corpus, tmp_path):
    _omikuji_ready()
    from fahras.models import omikuji_fast
    from fahras.models._cbor_kernel import decode
    from fahras.models.omikuji_tree import _mapped_files

    docs, y = corpus
    features = TfidfFeatures(1, 1, None)
    fitted = create_backend("omikuji", SMALL_OMIKUJI).fit_features(features, features.fit_transform(docs), y)
    folder = tmp_path / "omikuji"
    fitted._save_omikuji_files(folder)
    files = _mapped_files(folder)
    assert sorted(files) == sorted(p.name for p in folder.iterdir()) and len(files) == len(list(folder.iterdir()))
    assert bytes(files["settings.json"]) == (folder / "settings.json").read_bytes()  # mapped when looked up
    with pytest.raises(KeyError):
        files["missing.cbor"]
    builder = omikuji_fast._Builder(features.n_features)
    for name in sorted(n for n in files if n.endswith(".cbor")):
        builder.add_tree(decode(files[name]))
    assert builder.entry_row and builder.entry_val
    arrays = builder.arrays()
    assert builder.entry_row == [] and builder.entry_val == [] and builder.feat_ids == []  # given up
    assert arrays["entry_row"].dtype in (np.uint16, np.uint32) and arrays["feat_ids"].dtype == np.uint32
    # the same arrays as the forest the fitted backend scores with (made from its files in memory)
    reference = omikuji_fast.FlatForest.from_omikuji_files(fitted.model_files_)
    for name in ("feat_ids", "entry_ptr", "entry_row", "entry_val", "labels", "n_out", "out_start"):
        np.testing.assert_array_equal(arrays[name], reference.arrays[name])
    (folder / "settings.json").unlink()
    with pytest.raises(OSError):
        _mapped_files(folder)
