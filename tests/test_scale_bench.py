"""benchmarks/scale.py's own parts: process-tree memory, the oracle-tuned F1, the cache, the table."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from benchmarks import scale


def test_tree_rss_counts_the_children():
    child = subprocess.Popen([sys.executable, "-c",
                              "import time; x = bytearray(60 * 2**20); x[::4096] = b'1' * len(x[::4096]); "
                              "time.sleep(30)"])
    try:
        deadline = time.time() + 20
        while time.time() < deadline and scale._rss_kb(child.pid) < 50 * 1024:
            time.sleep(0.1)
        import os

        own = scale._rss_kb(os.getpid())
        assert scale.tree_rss_kb(os.getpid()) >= own + 50 * 1024
    finally:
        child.kill()
        child.wait()


def test_run_tree_measures_the_peak_of_a_process_tree(tmp_path):
    code = ("import subprocess, sys; subprocess.run([sys.executable, '-c', "
            "\"import time; x = bytearray(80 * 2**20); x[::4096] = b'1' * len(x[::4096]); time.sleep(1.5)\"])")
    run = scale.run_tree([sys.executable, "-c", code], log_file=tmp_path / "log")
    assert run.returncode == 0 and run.peak_rss_mb > 80
    with pytest.raises(scale.StepFailed, match="exit 3"):
        scale.run_tree([sys.executable, "-c", "import sys; sys.exit(3)"], log_file=tmp_path / "log2")


def test_ranking_metrics_tune_limit_and_threshold_on_the_documents():
    gold = [{"a"}, {"b", "c"}, {"d"}]
    rankings = [["a", "x", "y"], ["b", "c", "z"], ["q", "d", "r"]]
    scores = [[0.9, 0.2, 0.1], [0.8, 0.7, 0.05], [0.6, 0.5, 0.01]]
    out = scale.ranking_metrics(rankings, scores, gold)
    # limit 2 with threshold 0.3 keeps a | b, c | q, d: F1 = (1 + 1 + 2/3) / 3 -- better than any other
    assert out["tuned_limit"] == 2 and out["tuned_threshold"] == pytest.approx(0.25)
    assert out["tuned_f1"] == pytest.approx((1 + 1 + 2 / 3) / 3)
    assert 0 < out["ndcg5"] < 1


def test_table_reads_the_cached_results(tmp_path):
    results = tmp_path / "scale" / "results"
    results.mkdir(parents=True)
    for system, n, seconds in [("fahras", 50_000, 100.0), ("annif-omikuji-bonsai", 50_000, 80.0)]:
        (results / f"{system}-{n}.json").write_text(json.dumps(
            {"system": system, "n_docs": n, "train_s": seconds, "train_peak_rss_mb": 2048.0, "ndcg5": 0.3}))
    text = scale.table(scale.load_results(tmp_path / "scale"))
    assert "| fahras | 50,000 | 100 |" in text and "| annif-omikuji-bonsai | 50,000 | 80 |" in text
    assert text.count("n/a") >= 2  # columns a result lacks


def test_train_only_measures_training_and_scores_nothing(tmp_path, monkeypatch):
    calls = []

    def call(self, args, log_name, stdin_text=None):
        calls.append((args[0], log_name))
        if args[0] == "train":
            out = args[args.index("--out") + 1]
            (tmp_path / "models").mkdir(exist_ok=True)
            (tmp_path / "models" / out.rsplit("/", 1)[-1]).mkdir(exist_ok=True)
        return scale.Run(12.0, 20.0, 300.0, "", 0)

    monkeypatch.setattr(scale.FahrasScale, "call", call)
    (tmp_path / "results").mkdir()
    fahras = scale.FahrasScale(tmp_path)
    out = fahras.measure("fahras", 1000, tmp_path / "train.tsv", [], "fahras-growth", train_only=True)
    assert [c[0] for c in calls] == ["train"] and calls[0][1] == "train-fahras-growth-1000"  # its own log
    assert out["train_s"] == 12.0 and out["train_cpu_s"] == 20.0 and out["train_peak_rss_mb"] == 300.0
    assert out["scored"] is False and "ndcg5" not in out


def test_plot_shows_the_systems_asked_for(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import matplotlib.axes

    plotted = []
    real = matplotlib.axes.Axes.plot
    monkeypatch.setattr(matplotlib.axes.Axes, "plot",
                        lambda self, *a, label=None, **k: (plotted.append(label), real(self, *a, label=label, **k))[1])
    results = {f"{s}-{n}": {"system": s, "n_docs": n, "train_s": 10.0, "train_cpu_s": 9.0, "train_peak_rss_mb": 99.0}
               for s in ("fahras-growth", "fahras-old", "annif-omikuji-bonsai") for n in (50_000, 100_000)}
    scale.plot(results, tmp_path / "p.png", ["fahras-growth", "annif-omikuji-bonsai"])
    assert (tmp_path / "p.png").stat().st_size > 1000
    assert set(plotted) == {"fahras-growth", "annif-omikuji-bonsai"} and len(plotted) == 6  # 3 panels each


def test_measured_commands_run_at_niceness_10_not_19():
    import os

    now = os.nice(0)
    prefix = scale.niced()
    if now >= 10:
        assert prefix == []
    else:
        assert prefix == ["nice", "-n", str(10 - now)]
    proc = subprocess.run([*prefix, sys.executable, "-c", "import os; print(os.nice(0))"], capture_output=True,
                          text=True, check=True)
    assert int(proc.stdout) == max(now, 10)
