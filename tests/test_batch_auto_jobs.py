"""Without a job count, ``fahras index`` and ``fahras eval`` use every core for a corpus of
AUTO_PARALLEL_MIN_DOCS documents or more, and this process alone below that: the same output either way."""

from __future__ import annotations

import contextlib

import pytest

from fahras import Indexer, read_corpus
from fahras import batch
from fahras.batch import index_folder
from conftest import first_test_documents


@pytest.fixture(scope="module")
def model(trained_model):
    return Indexer.load(trained_model)


@pytest.fixture()
def folder(time_split, tmp_path):
    return first_test_documents(time_split, tmp_path / "in", 6)


def _spy_runner(monkeypatch):
    """Record how many workers each index run is given (and run it as usual)."""
    seen = []
    real = batch._runner

    @contextlib.contextmanager
    def runner(indexer, model_path, options, workers, chunks):
        seen.append(workers)
        with real(indexer, model_path, options, workers, chunks) as outcomes:
            yield outcomes

    monkeypatch.setattr(batch, "_runner", runner)
    return seen


def _files(out):
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if not p.name.startswith(".")}


def test_index_without_a_job_count_uses_every_core_from_the_threshold_on(model, folder, tmp_path, monkeypatch):
    seen = _spy_runner(monkeypatch)
    monkeypatch.setattr(batch, "available_cores", lambda: 2)
    one = index_folder(model, folder, tmp_path / "one", limit=5, threshold=0, jobs=1)
    monkeypatch.setattr(batch, "AUTO_PARALLEL_MIN_DOCS", 7)  # six documents: below it, this process
    below = index_folder(model, folder, tmp_path / "below", limit=5, threshold=0, jobs=None)
    monkeypatch.setattr(batch, "AUTO_PARALLEL_MIN_DOCS", 6)  # at it: a worker per core
    at = index_folder(model, folder, tmp_path / "at", limit=5, threshold=0, jobs=None)
    assert seen == [1, 1, 2]
    assert one.indexed == below.indexed == at.indexed == 6
    assert _files(tmp_path / "one") == _files(tmp_path / "below") == _files(tmp_path / "at")


def test_eval_without_a_job_count_forks_only_for_a_corpus_at_the_threshold(model, time_split, monkeypatch):
    import concurrent.futures

    alone = model.evaluate(read_corpus(time_split[1]))
    n = alone["documents"]
    pools = []
    real_pool = concurrent.futures.ProcessPoolExecutor

    def pool(*args, **kwargs):
        pools.append(kwargs.get("max_workers"))
        return real_pool(*args, **kwargs)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", pool)
    monkeypatch.setattr(batch, "available_cores", lambda: 2)
    monkeypatch.setattr(batch, "EVAL_CHUNK", 16)
    monkeypatch.setattr(batch, "AUTO_PARALLEL_MIN_DOCS", n + 1)
    assert batch.evaluate_in_processes(model, read_corpus(time_split[1]), None) == alone
    assert pools == []  # below the threshold: scored here
    monkeypatch.setattr(batch, "AUTO_PARALLEL_MIN_DOCS", n)
    assert batch.evaluate_in_processes(model, read_corpus(time_split[1]), None) == alone
    assert pools == [2]  # every document read once, all of them scored, by a worker per core


def test_the_command_line_s_default_is_automatic():
    from fahras.cli import cli

    for name in ("index", "eval"):
        option = next(p for p in cli.commands[name].params if p.name == "jobs")
        assert option.default is None
        assert "Default: one per core from 1,000 documents on" in option.help
    assert batch.AUTO_PARALLEL_MIN_DOCS == 1000


def test_warm_compiled_loads_the_kernels_in_this_process(trained_model):
    """Before workers are forked, the parent loads the compiled kernels once (each worker loaded numba and
    them itself: a second of CPU per worker at 671,000 titles)."""
    import subprocess
    import sys

    pytest.importorskip("numba")
    code = ("import sys\n"
            "from fahras import Indexer\n"
            "from fahras.batch import warm_compiled\n"
            f"indexer = Indexer.load({str(trained_model)!r})\n"
            "kernels = ('fahras.models._omikuji_kernel', 'fahras.models._knn_kernel')\n"
            "before = [k for k in kernels if k in sys.modules]\n"
            "warm_compiled(indexer)\n"
            "after = [k for k in kernels if k in sys.modules]\n"
            "print(before, after)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    before, after = run.stdout.strip().split("] [")
    assert before == "["
    assert "_omikuji_kernel" in after or "_knn_kernel" in after


def test_workers_are_forked_after_the_kernels_are_loaded(model, folder, tmp_path, monkeypatch):
    import concurrent.futures

    events = []
    real_warm, real_pool = batch.warm_compiled, concurrent.futures.ProcessPoolExecutor
    monkeypatch.setattr(batch, "warm_compiled", lambda *a, **k: (events.append("warm"), real_warm(*a, **k)))
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor",
                        lambda *a, **k: (events.append("fork"), real_pool(*a, **k))[1])
    index_folder(model, folder, tmp_path / "out", limit=5, threshold=0, jobs=2)
    assert events == ["warm", "fork"]
    events.clear()
    batch.evaluate_in_processes(model, read_corpus(folder), 2)
    assert events == ["warm", "fork"]
