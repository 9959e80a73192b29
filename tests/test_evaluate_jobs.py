"""``fahras eval --jobs``: documents scored by forked worker processes give the same metrics as one process."""

from __future__ import annotations

import json

import pytest

from fahras import Indexer, read_corpus
from fahras import batch

from test_cli import err, fahras, out


@pytest.mark.parametrize("jobs,chunk", [(2, 16), (3, 7)])
def test_metrics_are_the_same_in_worker_processes(trained_model, time_split, monkeypatch, jobs, chunk):
    indexer = Indexer.load(trained_model)
    alone = indexer.evaluate(read_corpus(time_split[1]))
    monkeypatch.setattr(batch, "EVAL_CHUNK", chunk)  # many pieces, handed out while others are scored
    seen = []
    shared = batch.evaluate_in_processes(indexer, read_corpus(time_split[1]), jobs,
                                         progress=lambda stage, done, total: seen.append(done))
    assert shared == alone
    assert seen and seen[-1] == alone["documents"] and seen == sorted(seen)


def test_eval_jobs_option(trained_model, time_split):
    one = fahras("eval", trained_model, time_split[1], "--json")
    two = fahras("eval", trained_model, time_split[1], "--json", "--jobs", "2")
    assert one.returncode == 0 and two.returncode == 0, err(two)
    assert json.loads(out(two)) == json.loads(out(one))
    both = fahras("eval", trained_model, time_split[1], "--jobs", "2", "--cluster", "local")
    assert both.returncode != 0 and "--jobs" in err(both) and "Traceback" not in err(both)
