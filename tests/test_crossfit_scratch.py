"""Cross-fitting at scale: features computed once and read by the workers, scratch that a SIGKILL does not leave.

Issue 19: the workers used to receive (pickled) every analysed document and compute the same features
again; now the parent computes each setting's features once per split, the workers memory-map them, and
the bases that read documents (acronyms, headings, ...) fit in the parent.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.model_selection import KFold

from fahras.models import create_backend
from fahras.models import crossfit
from fahras.models.crossfit import SCRATCH_PREFIX, cross_fit
from fahras.models.ensemble import Stacker
from fahras.models.features import TfidfFeatures
from fahras.models.scratch import owner_tag, scratch_folder, sweep_stale
from synthetic import ANALYZER, NAMES, PROBES, analyse, corpus_with_folds, indicator, make_corpus

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def corpus():
    return corpus_with_folds(30, 3)


@pytest.mark.parametrize("name", ["knn", "tfidf-linear", "omikuji"])
def test_fitting_on_given_features_is_fitting_on_the_documents(corpus, name):
    docs, y, _ = corpus
    params = {"min_df": 1}
    on_docs = create_backend(name, params).fit(docs, y)
    features = TfidfFeatures(on_docs.ngram_max, 1, on_docs.max_features)
    on_rows = create_backend(name, params).fit_features(features, features.fit_transform(docs), y)
    probes = analyse([text for text, _ in PROBES])
    assert list(on_rows.features_.feature_names) == list(on_docs.features_.feature_names)
    if name != "omikuji":  # omikuji's training is not repeatable (its own random numbers)
        np.testing.assert_array_equal(on_rows.predict_scores(probes), on_docs.predict_scores(probes))
    assert [int(np.argmax(s)) for s in on_rows.predict_scores(probes)] == [s for _, s in PROBES]


def test_bases_that_read_documents_fit_beside_the_workers(corpus):
    """A mixed ensemble (rows-only bases in workers, a document-reading base in the parent) gives what one
    process gives, in the order of the specs."""
    docs, y, folds = corpus
    specs = [{"name": "knn"}, {"name": "zeroshot"}, {"name": "tfidf-linear", "params": {"min_df": 1}}]
    from fahras.vocab import Concept

    concepts = [Concept(uri=f"http://example.org/{n}", identifier=n, labels={"en": n.lower()}) for n in NAMES]
    here, held_here = cross_fit(specs, docs, y, ANALYZER, folds, concepts=concepts, n_jobs=1)
    there, held_there = cross_fit(specs, docs, y, ANALYZER, folds, concepts=concepts, n_jobs=2)
    probes = analyse([text for text, _ in PROBES])
    for spec, a, b, ha, hb in zip(specs, here, there, held_here, held_there):
        assert a.name == b.name == spec["name"]
        np.testing.assert_allclose(ha, hb, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(a.predict_scores(probes), b.predict_scores(probes), rtol=1e-5, atol=1e-6)


def test_workers_get_files_not_documents(corpus, monkeypatch, tmp_path):
    """What the parent leaves in the scratch for the workers: the subjects, folds and each split's features
    as .npy/.npz/.json files -- no pickle, no text -- and each feature setting's split computed once."""
    docs, y, folds = corpus
    seen = []
    real = crossfit._save_split

    def save_split(folder, key, train, held):
        seen.append(folder.name)
        real(folder, key, train, held)
        seen.append(sorted(p.suffix for p in folder.iterdir()))
        seen.append(sorted(p.name for p in folder.parent.iterdir()))

    monkeypatch.setattr(crossfit, "_save_split", save_split)
    specs = [{"name": "knn", "params": {"min_df": 1}}, {"name": "tfidf-linear", "params": {"min_df": 1}}]
    cross_fit(specs, docs, y, ANALYZER, folds, n_jobs=2)
    names = [s for s in seen if isinstance(s, str)]
    assert names == ["features0-all", "features0-fold0", "features0-fold1", "features0-fold2"]  # shared, once each
    for suffixes in seen[1::3]:
        assert set(suffixes) <= {".json", ".npy", ".npz"}
    for listing in seen[2::3]:
        assert not [n for n in listing if n.endswith((".pickle", ".pkl"))]


def test_stacker_features_in_row_blocks_are_the_same(monkeypatch):
    rng = np.random.default_rng(3)
    scores = [rng.random((700, 40)).astype(np.float32) for _ in range(3)]
    y = sp.csr_matrix((rng.random((700, 40)) < 0.05).astype(np.float32))
    stacker = Stacker.for_subjects(3, y)
    whole = stacker.features(scores)
    from fahras.models import ensemble

    monkeypatch.setattr(ensemble, "FEATURE_ROWS", 64)
    blocks = stacker.features(scores)
    for a, b in zip(whole, blocks):
        np.testing.assert_array_equal(a, b)


# -- scratch left by a killed training -------------------------------------------------------
def test_a_stale_scratch_folder_is_swept_and_a_live_one_kept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"{SCRATCH_PREFIX}{dead.pid}-12345-abc"
    stale.mkdir()
    (stale / "x.npy").write_bytes(b"0" * 100)
    live = tmp_path / f"{SCRATCH_PREFIX}{owner_tag()}-def"
    live.mkdir()
    untagged = tmp_path / f"{SCRATCH_PREFIX}abcdef"  # made before owner tags: whose it is cannot be told
    untagged.mkdir()
    other = tmp_path / "something-else-1-2-x"
    other.mkdir()
    assert sweep_stale(SCRATCH_PREFIX, tmp_path) == [stale]
    assert not stale.exists() and live.exists() and untagged.exists() and other.exists()


def test_scratch_folder_is_removed_when_its_block_fails(tmp_path):
    with pytest.raises(RuntimeError):
        with scratch_folder(SCRATCH_PREFIX, tmp_path) as folder:
            (folder / "f").write_text("x")
            raise RuntimeError("boom")
    assert not folder.exists()


_KILLED_TRAINING = r"""
import sys
sys.path.insert(0, {tests!r})
from sklearn.model_selection import KFold
from fahras.models.crossfit import cross_fit
from synthetic import ANALYZER, analyse, indicator, make_corpus
texts, labels = make_corpus(60)
docs, y = analyse(texts * 40), indicator(labels * 40)
folds = list(KFold(3, shuffle=True, random_state=0).split(docs))
cross_fit([{{"name": "omikuji"}}, {{"name": "knn"}}], docs, y, ANALYZER, folds, n_jobs=2)
"""


def test_scratch_of_a_sigkilled_training_is_removed_by_the_next_one(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_TRAINING.format(tests=str(REPO / "tests"))], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    found: list[Path] = []
    while time.monotonic() < deadline and proc.poll() is None:
        found = [p for p in tmp_path.glob(f"{SCRATCH_PREFIX}*") if (p / "y.npz").exists()]
        if found:
            break
        time.sleep(0.05)
    assert found, f"no scratch folder appeared: {proc.stderr.read().decode()[-2000:] if proc.poll() else ''}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(1.0)  # its workers end with it (fahras.workers)
    assert found[0].exists()  # a SIGKILL removes nothing ...
    with scratch_folder(SCRATCH_PREFIX, tmp_path) as mine:  # ... the next training's start does
        assert not found[0].exists()
        assert mine.exists()
    assert not list(tmp_path.glob(f"{SCRATCH_PREFIX}*"))


# -- held-out arrays larger than the machine ------------------------------------------------
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="MAP_NORESERVE and /proc are Linux's")
def test_a_held_out_array_larger_than_memory_costs_only_its_written_rows():
    """671,068 titles x 27,754 subjects of float32 is 74 GB: np.zeros of that is refused by the default
    overcommit; the held-out arrays are mapped without reserving memory and cost the rows written."""
    from fahras.models.budget import sparse_rows

    with open("/proc/meminfo") as handle:
        total_kb = int(next(line for line in handle if line.startswith("MemTotal:")).split()[1])
    rows = 8 * total_kb * 1024 // (4 * 30_000) + 1  # eight times this machine's memory
    before = _rss_kb()
    big = sparse_rows((rows, 30_000))
    written = np.arange(0, rows, rows // 100)[:100]
    big[written] = 0.5
    assert big.shape == (rows, 30_000) and big.dtype == np.float32
    assert big[written].sum() == pytest.approx(0.5 * 30_000 * len(written))
    assert big[1].sum() == 0 and big[written + 1].sum() == 0
    assert _rss_kb() - before < 200 * 1024  # 100 rows of 120 kB each, not gigabytes
    small = sparse_rows((10, 4))
    assert isinstance(small, np.ndarray) and not small.any()


def _rss_kb() -> int:
    with open("/proc/self/status") as handle:
        return int(next(line for line in handle if line.startswith("VmRSS:")).split()[1])


def test_cross_fit_with_mapped_held_out_arrays_gives_the_same_scores(corpus, monkeypatch):
    docs, y, folds = corpus
    specs = [{"name": "knn"}, {"name": "zeroshot"}]  # one in the workers, one fitted here
    from fahras.models import budget
    from fahras.vocab import Concept

    concepts = [Concept(uri=f"http://example.org/{n}", identifier=n, labels={"en": n.lower()}) for n in NAMES]
    plain = cross_fit(specs, docs, y, ANALYZER, folds, concepts=concepts, n_jobs=2)[1]
    monkeypatch.setattr(budget, "MAX_HELD_CELLS", 1)  # every array mapped
    mapped = cross_fit(specs, docs, y, ANALYZER, folds, concepts=concepts, n_jobs=2)[1]
    for a, b in zip(plain, mapped):
        assert type(b) is np.ndarray and b.base is not None  # a view of the mapping
        np.testing.assert_array_equal(a, b)
