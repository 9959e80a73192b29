"""omikuji's training worker in little memory (#19, omikuji-mem): its trees trained one at a time and put
together as omikuji's own model of several trees, and the flat arrays written as they are made."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from fahras.models import FitContext, create_backend, load_backend
from fahras.models.features import TfidfFeatures
from fahras.models.omikuji_tree import PRESETS, _mapped_files, _native_output, _train_trees, _write_xc_file

from synthetic import ANALYZER, PROBES, analyse, analysed_corpus

omikuji = pytest.importorskip("omikuji")
pytest.importorskip("numba")

from fahras.models import omikuji_fast  # noqa: E402
from fahras.models.omikuji_fast import FlatForest  # noqa: E402

#: A tree of several levels on the synthetic corpus (beams cut at every level).
DEEP = {"min_branch_size": 2, "cluster_k": 2, "min_df": 1}


@pytest.fixture(scope="module")
def corpus():
    return analysed_corpus(seed=11)


def _rows(n_docs: int = 400, n_labels: int = 24, n_features: int = 120, seed: int = 3):
    """Documents x features (TF-IDF-like, unit rows) and documents x labels: each label has words of its own,
    each document one or two labels' words and some noise; enough labels for trees of several levels."""
    rng = np.random.default_rng(seed)
    own = [rng.choice(n_features, 6, replace=False) for _ in range(n_labels)]
    x = np.zeros((n_docs, n_features), dtype=np.float32)
    y = np.zeros((n_docs, n_labels), dtype=np.float32)
    for i in range(n_docs):
        for label in rng.choice(n_labels, 1 + (i % 3 == 0), replace=False):
            y[i, label] = 1
            x[i, rng.choice(own[label], 3, replace=False)] += rng.random(3).astype(np.float32) + 0.5
        x[i, rng.choice(n_features, 2, replace=False)] += 0.3
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return sp.csr_matrix(x), sp.csr_matrix(y)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Three trees trained one at a time into one omikuji model folder, rows to score (40 training rows and
    5 rows of mixed words), and the number of trees each omikuji call was asked for."""
    x, y = _rows()
    rng = np.random.default_rng(8)
    mixed = sp.csr_matrix(rng.random((5, x.shape[1])) * (rng.random((5, x.shape[1])) < 0.08), dtype=np.float32)
    probes = sp.vstack([x[:40], mixed]).tocsr()
    probes.sort_indices()
    root = tmp_path_factory.mktemp("trees")
    data = root / "train.txt"
    _write_xc_file(data, x, y)
    backend = create_backend("omikuji", {**DEEP, "n_threads": 1})
    hp = backend._hyper_param()
    calls = []
    train = omikuji.Model.train_on_data

    def counted(path, hyper_param, n_threads=None):
        calls.append(int(hyper_param.n_trees))
        return train(path, hyper_param, n_threads=n_threads)

    omikuji.Model.train_on_data = counted
    try:
        _train_trees(omikuji, data, hp, 1, root / "omikuji")
    finally:
        omikuji.Model.train_on_data = train
    assert hp.n_trees == 3  # given back as it was
    return root / "omikuji", probes, calls, int(y.shape[1])


def _predict(model, x, beam_size: int, top_k: int) -> list[dict[int, float]]:
    out = []
    for i in range(x.shape[0]):
        pairs = list(zip(x.indices[x.indptr[i]:x.indptr[i + 1]].tolist(), x.data[x.indptr[i]:x.indptr[i + 1]].tolist()))
        out.append(dict(model.predict(pairs, beam_size=beam_size, top_k=top_k)))
    return out


def _load(folder: Path):
    with _native_output(None):
        return omikuji.Model.load(str(folder))


def test_each_tree_is_its_own_omikuji_call_and_the_folder_is_omikujis_model_of_them_all(trained):
    folder, _, calls, _ = trained
    assert calls == [1, 1, 1]  # one tree per call, never all at once
    assert sorted(p.name for p in folder.iterdir()) == ["settings.json", "tree0.cbor", "tree1.cbor", "tree2.cbor"]
    assert _load(folder).n_trees == 3
    assert not any(p.name.startswith("tree-") for p in folder.parent.iterdir())  # single-tree folders removed


def test_the_forest_scores_the_mean_of_its_trees_as_omikuji_does(trained, tmp_path):
    """omikuji's own scoring of the put-together folder is the mean over the trees of each single-tree model's
    scores (a label a tree's beam misses counts 0 for that tree), and the flat arrays score it the same."""
    folder, x, _, n_labels = trained
    singles = []
    for t in range(3):
        one = tmp_path / f"one{t}"
        one.mkdir()
        shutil.copy(folder / "settings.json", one / "settings.json")
        shutil.copy(folder / f"tree{t}.cbor", one / "tree0.cbor")
        singles.append(_predict(_load(one), x, 10, n_labels))
    forest = _predict(_load(folder), x, 10, n_labels)
    for row, got in enumerate(forest):
        want = {label: sum(s[row].get(label, 0.0) for s in singles) / 3 for label in set().union(*(s[row] for s in singles))}
        assert got.keys() == want.keys()
        for label, score in got.items():
            assert score == pytest.approx(want[label], rel=1e-5, abs=1e-7)
    flat = FlatForest.convert(_mapped_files(folder), tmp_path / "flat")
    labels, scores, counts = flat.predict(x, 10, n_labels)
    for row, got in enumerate(forest):
        mine = dict(zip(labels[row, :counts[row]].tolist(), scores[row, :counts[row]].tolist()))
        assert mine.keys() == got.keys()
        np.testing.assert_allclose([mine[k] for k in got], list(got.values()), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("block", [7, omikuji_fast._BLOCK])
def test_the_streamed_conversion_writes_the_arrays_of_the_conversion_in_memory(trained, tmp_path, monkeypatch, block):
    folder, x, _, _ = trained
    files = _mapped_files(folder)
    want = FlatForest.from_omikuji_files(files)
    monkeypatch.setattr(omikuji_fast, "_BLOCK", block)  # (7: many blocks, running sums carried across them)
    got = FlatForest.convert(files, tmp_path / "flat")
    assert got.folder == tmp_path / "flat"
    assert not list((tmp_path / "flat").glob("*.part"))  # the part files are gone
    assert (got.n_features, got.loss, got.n_labels) == (want.n_features, want.loss, want.n_labels)
    for name, array in want.arrays.items():
        assert got.arrays[name].dtype == array.dtype, name
        np.testing.assert_array_equal(got.arrays[name], array, err_msg=name)
    assert isinstance(got.arrays["entry_val"], np.memmap)  # read from the folder, not held
    a, b = got.predict(x, 5, 10), want.predict(x, 5, 10)
    for mine, theirs in zip(a, b):
        np.testing.assert_array_equal(mine, theirs)


def test_the_builder_spills_each_tree_and_holds_none(trained, tmp_path, monkeypatch):
    folder, _, _, _ = trained
    held = []
    spill = omikuji_fast._Builder.spill

    def watched(self):
        spill(self)
        held.append((len(self.entry_row), len(self.entry_val), len(self.feat_ids), self.spilled["entry_val"]))

    monkeypatch.setattr(omikuji_fast._Builder, "spill", watched)
    FlatForest.convert(_mapped_files(folder), tmp_path / "flat")
    assert len(held) >= 3
    assert all(h[:3] == (0, 0, 0) for h in held)  # nothing kept in memory after each tree
    assert held[0][3] < held[2][3]  # the part files grew tree by tree


def test_a_forest_saved_into_its_own_folder_stays_whole(trained, tmp_path):
    folder, x, _, _ = trained
    flat = FlatForest.convert(_mapped_files(folder), tmp_path / "flat")
    before = flat.predict(x, 5, 10)
    flat.save(tmp_path / "flat")  # (its arrays are maps of those files)
    again = FlatForest.load(tmp_path / "flat")
    for mine, theirs in zip(again.predict(x, 5, 10), before):
        np.testing.assert_array_equal(mine, theirs)
    flat.save(tmp_path / "copy")
    assert json.loads((tmp_path / "copy" / "forest.json").read_text()) == \
        json.loads((tmp_path / "flat" / "forest.json").read_text())


@pytest.mark.parametrize("params", [{}, PRESETS["bonsai"], DEEP])
def test_a_backend_saved_as_it_fits_scores_as_the_one_fitted_in_memory_would_with_its_trees(corpus, tmp_path, params,
                                                                                           monkeypatch):
    """``fit_features(save_to=)``: the model in the folder scores exactly as the flat arrays made in memory from
    the same omikuji files (kept here by stopping their removal), and has three trees."""
    docs, y = corpus
    settings = {**params, "min_df": 1, "ngram_max": 1, "max_features": None, "n_threads": 1}
    features = TfidfFeatures(1, 1, None)
    x = features.fit_transform(docs)
    kept = tmp_path / "kept"
    rmtree = shutil.rmtree

    def keep(path, *a, **k):
        if Path(path).name == "omikuji" and not kept.exists():
            shutil.copytree(path, kept)
        return rmtree(path, *a, **k)

    monkeypatch.setattr(shutil, "rmtree", keep)
    fitted = create_backend("omikuji", settings).fit_features(features, x, y, save_to=tmp_path / "model")
    monkeypatch.setattr(shutil, "rmtree", rmtree)
    assert sorted(p.name for p in kept.glob("tree*.cbor")) == ["tree0.cbor", "tree1.cbor", "tree2.cbor"]
    want = FlatForest.from_omikuji_files(_mapped_files(kept))
    probes = analyse([text for text, _ in PROBES])
    rows = features.transform(probes)
    rows.sort_indices()
    labels, scores, counts = want.predict(rows, int(fitted.beam_size), int(fitted.top_k))
    got = fitted.predict_sparse(probes)
    loaded = load_backend(tmp_path / "model")
    assert (loaded.predict_sparse(probes) != got).nnz == 0
    for row in range(len(probes)):
        keep_ = counts[row]
        expected = dict(zip(labels[row, :keep_].tolist(), np.clip(scores[row, :keep_], 0, 1).tolist()))
        expected = {k: v for k, v in expected.items() if v > 0}
        mine = got.getrow(row)
        assert dict(zip(mine.indices.tolist(), mine.data.tolist())) == pytest.approx(expected)
    # the centroids (explanations) as the in-memory fit computes them
    in_memory = create_backend("omikuji", settings).fit(docs, y, context=FitContext(ANALYZER))
    assert (loaded.centroids_ != in_memory.centroids_).nnz == 0


def test_decoded_integers_are_32_bit_unless_one_needs_more():
    from fahras.models._cbor_kernel import decode

    small = bytes([0x82, 0x01, 0x1A, 0xFF, 0xFF, 0xFF, 0xFF])  # [1, 2**32 - 1]
    big = bytes([0x82, 0x01, 0x1B, 0, 0, 0, 1, 0, 0, 0, 0])  # [1, 2**32]
    assert decode(small).dtype == np.uint32 and decode(small).tolist() == [1, 2**32 - 1]
    assert decode(big).dtype == np.int64 and decode(big).tolist() == [1, 2**32]


def test_a_memory_mapped_rows_pages_are_let_go_and_read_again(tmp_path):
    from fahras.models.crossfit import _load_matrix, _save_matrix
    from fahras.models.omikuji_tree import _let_go_of_pages

    x, _ = _rows(2000, 24, 400)
    _save_matrix(tmp_path, "x", x)
    mapped = _load_matrix(tmp_path, "x")
    assert (mapped != x).nnz == 0  # every page read
    resident = _mapped_kb(tmp_path / "x.data.npy")
    _let_go_of_pages(mapped)
    if resident is not None:
        assert resident > 0 and _mapped_kb(tmp_path / "x.data.npy") == 0
    assert (mapped != x).nnz == 0  # read from the file again
    _let_go_of_pages(x)  # arrays in memory: nothing happens
    assert x.nnz > 0 and np.isfinite(x.data).all()


def _mapped_kb(path: Path) -> int | None:
    """Resident kB of this process's maps of ``path`` (None where /proc/self/smaps is not there)."""
    try:
        lines = Path("/proc/self/smaps").read_text().splitlines()
    except OSError:
        return None
    total, inside = 0, False
    for line in lines:
        fields = line.split()
        if fields and "-" in fields[0] and len(fields) >= 5:  # a map's header line
            inside = len(fields) >= 6 and fields[5] == str(path)
        elif inside and fields and fields[0] == "Rss:":
            total += int(fields[1])
    return total


def test_large_blocks_are_mapped_only_when_asked_and_on_glibc():
    import sys

    from fahras.models.omikuji_tree import _large_blocks_mapped

    with _large_blocks_mapped(False) as mapped:
        assert mapped is False
    with _large_blocks_mapped(True) as mapped:
        block = np.ones(1 << 20)  # (allocations work as before inside)
        assert block.sum() == 1 << 20
    assert mapped is (sys.platform.startswith("linux") and _glibc())


def _glibc() -> bool:
    import platform

    return platform.libc_ver()[0] == "glibc"


def test_without_numba_a_backend_saved_as_it_fits_is_omikujis_own_files(corpus, tmp_path, monkeypatch):
    import fahras.models.omikuji_tree as tree_module

    docs, y = corpus
    features = TfidfFeatures(1, 1, None)
    x = features.fit_transform(docs)
    monkeypatch.setattr(tree_module, "numba_available", lambda: False)
    fitted = create_backend("omikuji", {"min_df": 1, "ngram_max": 1, "max_features": None, "n_threads": 1}) \
        .fit_features(features, x, y, save_to=tmp_path / "model")
    assert sorted(p.name for p in (tmp_path / "model" / "omikuji").glob("tree*.cbor")) == \
        ["tree0.cbor", "tree1.cbor", "tree2.cbor"]
    assert not (tmp_path / "model" / "flat").exists()
    probes = analyse([text for text, _ in PROBES])
    got = fitted.predict_sparse(probes)
    assert got.nnz > 0
    assert (load_backend(tmp_path / "model").predict_sparse(probes) != got).nnz == 0
