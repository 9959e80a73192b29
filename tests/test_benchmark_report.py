"""benchmarks/vs_annif.py --write-docs: the table goes into docs/benchmarks.md between its split's markers."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from harness import report  # noqa: E402  (benchmarks/harness: standard library only)


def _result(label: str, ndcg: float) -> "report.SystemResult":
    metrics = {"precision@1": 0.9, "precision@3": 0.5, "precision@5": 0.3, "recall@5": 0.9, "f1@5": 0.45,
               "ndcg@5": ndcg, "lrap": 0.88, "f1": 0.8}
    return report.SystemResult(name=label, metrics=metrics, tuned_f1=0.8, tuned_mark="own rule",
                               train_s=1.0, train_cpu_s=1.0, peak_rss_mb=100.0, docs_per_s=200.0, load_s=0.5)


HEADER = {"command": "python benchmarks/vs_annif.py --split time3 --write-docs", "date": "2026-12-01T00:00:00+00:00",
          "data_summary": "train 429 docs", "machine": "2 cores", "run_seconds": 120.0}


def test_write_docs_replaces_only_its_own_split(tmp_path):
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\nIntro kept.\n\n## Time3\n\nProse kept.\n", encoding="utf-8")
    report.write_docs(docs, "time3", HEADER, [_result("Fahras ensemble", 0.901)], ["Target: MET."])
    report.write_docs(docs, "cv5", HEADER, [_result("Fahras ensemble", 0.955)])
    first = docs.read_text(encoding="utf-8")
    assert "Intro kept." in first and "Prose kept." in first
    assert first.count("<!-- /vs_annif time3 -->") == 1 and "| 0.901 |" in first and "- Target: MET." in first
    assert "--write-docs" in first and "2026-12-01T00:00:00+00:00" in first

    report.write_docs(docs, "time3", HEADER, [_result("Fahras ensemble", 0.777)])
    second = docs.read_text(encoding="utf-8")
    assert "| 0.777 |" in second and "| 0.901 |" not in second and "- Target: MET." not in second
    assert "| 0.955 |" in second and "Prose kept." in second  # the other split and the prose stay
    assert second.count("<!-- /vs_annif time3 -->") == 1 and second.count("<!-- /vs_annif cv5 -->") == 1
    assert not list(tmp_path.glob(".*.tmp"))
