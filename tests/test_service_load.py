"""benchmarks/load.py against a real ``fahras serve``: both load generators, their counts and the server's timing."""

from __future__ import annotations

import json
import shutil

import pytest

pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from service_support import Server, small_model, test_texts  # noqa: E402,F401  (fixtures)

pytestmark = pytest.mark.slow  # a real server and a few seconds of load per generator

GENERATORS = ["python", pytest.param("wrk", marks=pytest.mark.skipif(shutil.which("wrk") is None,
                                                                      reason="wrk is not installed"))]


@pytest.fixture(scope="module")
def server(small_model, tmp_path_factory):
    with Server([str(small_model), "--db", "none"], cwd=tmp_path_factory.mktemp("load")) as running:
        yield running


@pytest.mark.parametrize("generator", GENERATORS)
def test_load_counts_answers_and_reads_the_server_timing(server, test_texts, tmp_path, generator):
    from benchmarks.load import main

    folder = tmp_path / "texts"
    folder.mkdir()
    for i, text in enumerate(test_texts[:5]):
        (folder / f"doc{i}.txt").write_text(text, encoding="utf-8")
    out = tmp_path / "load.json"
    main(["--url", server.url, "--project", "unsc", "--clients", "3", "--seconds", "2", "--texts", str(folder),
          "--generator", generator, "--client-processes", "1", "--json", str(out)])
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["command"].startswith("python -m benchmarks.load --url ")
    result = report["results"][0]
    assert result["generator"] == generator and result["errors"] == 0 and result["ok"] > 3
    assert result["requests"] == result["ok"] and 1.5 < result["seconds"] < 4
    assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]
    timing = result["server_timing_ms"]
    assert set(timing) == {"app", "read", "queue", "score", "resume"}
    assert timing["score"]["p50"] > 0 and timing["app"]["p50"] <= result["max_ms"]
    if generator == "python":  # each latency is known: by text length too
        assert sum(g["requests"] for g in result["by_text_length"]) == result["ok"]


@pytest.mark.parametrize("generator", GENERATORS)
def test_load_counts_refusals_as_errors(server, tmp_path, generator):
    from benchmarks.load import main

    out = tmp_path / "load.json"
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "a.txt").write_text("%%%DESCRIPTOR|x|\n\nsome text\n", encoding="utf-8")
    main(["--url", server.url, "--project", "no-such-project", "--clients", "2", "--seconds", "1",
          "--texts", str(folder), "--generator", generator, "--client-processes", "1", "--json", str(out)])
    result = json.loads(out.read_text(encoding="utf-8"))["results"][0]
    assert result["ok"] == 0 and result["errors"] > 0 and set(result["error_kinds"]) == {"HTTP 404"}
