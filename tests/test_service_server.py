"""The service as a real uvicorn process: concurrency, reloads under load, the fd redirection race."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from service_support import Server, body_of, small_model, test_texts  # noqa: E402,F401  (fixtures)


def test_real_server_concurrent_suggest_and_reload(small_model, test_texts, tmp_path):
    texts = [body_of(t) for t in test_texts]
    with Server([str(small_model), "--db", "none", "--workers", "2"], cwd=tmp_path) as server:
        project = httpx.get(server.url + "/v1/projects").json()["projects"][0]["project_id"]
        assert project == "unsc"
        url = f"{server.url}/v1/projects/unsc/suggest"
        expected = [httpx.post(url, data={"text": t, "limit": 5}, timeout=30).json() for t in texts]
        assert all(e["results"] for e in expected)

        def suggest(i: int):
            response = httpx.post(url, data={"text": texts[i % len(texts)], "limit": 5}, timeout=60)
            return i, response.status_code, response.json()

        def reload(_: int):
            return httpx.post(f"{server.url}/v1/fahras/projects/unsc/reload", timeout=60).status_code

        with ThreadPoolExecutor(12) as pool:
            reloads = [pool.submit(reload, k) for k in range(3)]
            answers = list(pool.map(suggest, range(48)))
        assert [r.result() for r in reloads] == [200, 200, 200]
        for i, status, body in answers:
            assert status == 200
            assert body == expected[i % len(texts)]   # every request scored exactly as alone
        # still serving (and logging) after the reloads' fd redirections
        assert httpx.get(server.url + "/readyz").json()["status"] == "ready"
        bad = httpx.post(url, data={})
        assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"
        big = httpx.post(url, content=b"text=" + b"x" * 11_000_000,
                         headers={"content-type": "application/x-www-form-urlencoded"})
        assert big.status_code == 413 and big.json()["status"] == 413
    assert server.proc.returncode in (0, -15)


def test_serve_refuses_bad_configuration(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "fahras", "serve"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 64 and "no model folders" in proc.stderr and "Traceback" not in proc.stderr
    (tmp_path / "bad.toml").write_text("[projects.x]\nname = 'no model'\n")
    proc = subprocess.run([sys.executable, "-m", "fahras", "serve", "--config", "bad.toml"], capture_output=True,
                          text=True, cwd=tmp_path)
    assert proc.returncode == 65 and "bad.toml" in proc.stderr and "'model'" in proc.stderr


def test_native_output_redirections_of_two_threads_restore_the_streams(tmp_path):
    """Overlapping redirections (a reload while a model learns) leave fds 1 and 2 as they were.

    Thread A redirects, B starts redirecting while A is in, A leaves first,
    B leaves last.  Without one lock around the redirection B restored A's
    sink and the process's output went to /dev/null for good.  Run in a
    child process: a failure must not take this process's streams.
    """
    script = textwrap.dedent("""
        import os, sys, threading
        from fahras.models import omikuji_tree as m
        before = (os.fstat(1).st_ino, os.fstat(2).st_ino)
        inside = threading.Event()
        def a():
            with m._native_output(None):
                inside.set()
                threading.Event().wait(0.2)
        def b():
            inside.wait()
            with m._native_output(None):
                threading.Event().wait(0.4)
        threads = [threading.Thread(target=a), threading.Thread(target=b)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        after = (os.fstat(1).st_ino, os.fstat(2).st_ino)
        with open(sys.argv[1], "w") as out:
            out.write("same" if after == before else "lost")
        print("still printing")
    """)
    result = tmp_path / "result"
    proc = subprocess.run([sys.executable, "-c", script, str(result)], capture_output=True, text=True)
    assert result.read_text() == "same"
    assert proc.stdout.strip() == "still printing"


def test_scoring_writes_nothing_to_the_standard_streams(small_model, test_texts, capfd):
    """omikuji predicts without logging: scoring needs no redirection (only loading and training do)."""
    from fahras import Indexer

    indexer = Indexer.load(small_model)
    capfd.readouterr()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda t: indexer.suggest(body_of(t), limit=5), test_texts * 3))
    out, err = capfd.readouterr()
    assert out == "" and err == ""
