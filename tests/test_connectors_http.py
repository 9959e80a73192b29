"""The HTTP client and the thesaurus download, against a local server on 127.0.0.1 (never a UN host)."""

from __future__ import annotations

import json
import socket
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

import pytest

from connectors_support import FIXTURES, Reply, Server, fahras
from fahras.connectors.http import HttpClient, HttpStatusError, NetworkError, retry_after_seconds
from fahras.connectors.unbis import FALLBACK_URL, fetch_thesaurus, newest_dump
from fahras.vocab import load_vocabulary


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(round(seconds, 3))


def client(**kwargs) -> tuple[HttpClient, Sleeps]:
    sleeps = Sleeps()
    kwargs = {"timeout": 5.0, "delay": 0.0, "retries": 3, "backoff": 0.5, **kwargs}
    return HttpClient(sleep=sleeps, **kwargs), sleeps


def test_user_agent_params_and_body():
    with Server(lambda r: Reply(body=b"hello")) as server:
        http, _ = client()
        response = http.get(server.base + "/search", params={"p": '191__a:"S/RES/*"', "rg": 200, "x": None})
    assert response.status == 200 and response.body == b"hello"
    request = server.requests[0]
    assert request.query == {"p": '191__a:"S/RES/*"', "rg": "200"}
    assert request.headers["user-agent"].startswith("Fahras/")


def test_429_honours_retry_after_then_succeeds():
    replies = iter([Reply(429, headers={"Retry-After": "7"}), Reply(429, headers={"Retry-After": "2"}),
                    Reply(body=b"ok")])
    with Server(lambda r: next(replies)) as server:
        http, sleeps = client()
        assert http.get(server.base + "/x").body == b"ok"
    assert sleeps == [7.0, 2.0] and len(server.requests) == 3


def test_retry_after_is_capped_and_accepts_http_dates():
    later = datetime.now(timezone.utc) + timedelta(seconds=30)
    assert 25 <= retry_after_seconds(format_datetime(later, usegmt=True)) <= 31
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
    replies = iter([Reply(429, headers={"Retry-After": "86400"}), Reply(body=b"ok")])
    with Server(lambda r: next(replies)) as server:
        http, sleeps = client(max_wait=60)
        http.get(server.base + "/x")
    assert sleeps == [60.0]


def test_5xx_exponential_backoff_then_gives_up_with_a_clear_message():
    with Server(lambda r: Reply(503)) as server:
        http, sleeps = client(retries=3, backoff=0.5)
        with pytest.raises(NetworkError, match=r"cannot reach 127\.0\.0\.1:\d+: HTTP 503.*after 4 attempts") as caught:
            http.get(server.base + "/x")
    assert sleeps == [0.5, 1.0, 2.0] and len(server.requests) == 4
    assert caught.value.exit_code == 69


def test_404_is_not_retried():
    with Server(lambda r: Reply(404)) as server:
        http, sleeps = client()
        with pytest.raises(HttpStatusError) as caught:
            http.get(server.base + "/missing")
    assert caught.value.status == 404 and sleeps == [] and len(server.requests) == 1


def test_timeout_is_retried_then_reported():
    with Server(lambda r: Reply(body=b"late", delay=1.0)) as server:
        http, sleeps = client(timeout=0.2, retries=1)
        with pytest.raises(NetworkError, match="timed out after 0.2 s"):
            http.get(server.base + "/slow")
    assert len(sleeps) == 1


def test_unreachable_host():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    http, _ = client(retries=1)
    with pytest.raises(NetworkError, match=f"cannot reach 127.0.0.1:{port}.*check the network"):
        http.get(f"http://127.0.0.1:{port}/")


def test_rate_limit_spaces_requests():
    with Server(lambda r: Reply(body=b"ok")) as server:
        http, sleeps = client(delay=5.0)
        for _ in range(3):
            http.get(server.base + "/x")
    assert len(sleeps) == 2 and all(4.0 < s <= 5.0 for s in sleeps)


def test_download_is_atomic_and_retries_a_cut_transfer(tmp_path):
    body = b"x" * 100_000
    replies = iter([Reply(body=body, truncate=1000), Reply(body=body)])
    seen = []
    with Server(lambda r: next(replies)) as server:
        http, sleeps = client()
        size = http.download(server.base + "/big", tmp_path / "big.bin", progress=lambda d, t: seen.append((d, t)))
    assert size == len(body) and (tmp_path / "big.bin").read_bytes() == body
    assert seen[-1] == (len(body), len(body)) and len(sleeps) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.bin"]  # no partial file left behind


def test_failed_download_leaves_nothing(tmp_path):
    (tmp_path / "keep.bin").write_bytes(b"old")
    with Server(lambda r: Reply(body=b"y" * 5000, truncate=10)) as server:
        http, _ = client(retries=1)
        with pytest.raises(NetworkError):
            http.download(server.base + "/f", tmp_path / "keep.bin")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.bin"]
    assert (tmp_path / "keep.bin").read_bytes() == b"old"


# ---------------------------------------------------------------------------- the thesaurus dump
TTL = (FIXTURES / "unbist-20240301.ttl").read_bytes()


def test_newest_dump_in_a_listing():
    files = [{"name": "unbist-20240101", "format": ".ttl", "url": "u1"},
             {"name": "unbist-20250708_2.ttl", "url": "u3"},
             {"name": "unbist-20250708.csv", "url": "u4"},
             {"name": "unbist-20241231", "format": ".ttl", "url": "u2"}, "junk"]
    assert newest_dump(files)["url"] == "u3"
    assert newest_dump([{"name": "readme.txt", "url": "x"}]) is None


def test_fetch_resolves_the_newest_dump_from_the_record(tmp_path, monkeypatch):
    monkeypatch.setenv("FAHRAS_CACHE_DIR", str(tmp_path / "cache"))

    def route(request):
        if request.path == "/api/v1/file":
            assert request.query == {"recid": "4075456"}
            return Reply(body=json.dumps([
                {"name": "unbist-20230101", "format": ".ttl", "url": server.base + "/old.ttl"},
                {"name": "unbist-20240301", "format": ".ttl", "url": server.base + "/files/unbist-20240301.ttl"},
            ]).encode(), headers={"Content-Type": "application/json"})
        if request.path == "/files/unbist-20240301.ttl":
            return Reply(body=TTL)
        return Reply(404)

    with Server(route) as server:
        http, _ = client()
        report = fetch_thesaurus(tmp_path / "unbist.ttl", client=http, base_url=server.base)
    assert report.resolved_from == "listing" and report.url.endswith("/files/unbist-20240301.ttl")
    assert (tmp_path / "unbist.ttl").read_bytes() == TTL
    assert load_vocabulary(tmp_path / "unbist.ttl").version == "2024-03-01"


def test_fetch_falls_back_when_the_listing_fails(tmp_path):
    fallback = FALLBACK_URL.rsplit("/", 1)[-1]

    def route(request):
        if request.path.endswith("/" + fallback):
            return Reply(body=TTL)
        return Reply(404)

    with Server(route) as server:
        http, _ = client()
        report = fetch_thesaurus(tmp_path / "unbist.ttl", client=http, base_url=server.base)
    assert report.resolved_from == "fallback" and server.paths() == ["/api/v1/file", f"/record/4075456/files/{fallback}"]


def test_fetch_refuses_a_download_that_is_not_skos_and_keeps_the_old_file(tmp_path):
    (tmp_path / "unbist.ttl").write_bytes(TTL)
    with Server(lambda r: Reply(body=b"<html>maintenance</html>")) as server:
        http, _ = client()
        with pytest.raises(NetworkError, match="not a SKOS thesaurus"):
            fetch_thesaurus(tmp_path / "unbist.ttl", url=server.base + "/dump.ttl", client=http)
    assert (tmp_path / "unbist.ttl").read_bytes() == TTL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["unbist.ttl"]


def test_cli_vocab_fetch(tmp_path):
    with Server(lambda r: Reply(body=TTL) if r.path == "/dump.ttl" else Reply(404)) as server:
        result = fahras("vocab", "fetch", "unbis", "--out", tmp_path / "unbist.ttl", "--url", server.base + "/dump.ttl",
                        "--quiet", env={"FAHRAS_CACHE_DIR": str(tmp_path / "cache")})
        assert result.returncode == 0, result.stderr
        assert f"saved {tmp_path / 'unbist.ttl'} ({len(TTL)} bytes)" in result.stderr
        missing = fahras("vocab", "fetch", "unbis", "--out", tmp_path / "x.ttl", "--url", server.base + "/nope",
                         "--quiet")
    assert missing.returncode == 69 and "HTTP 404" in missing.stderr and "Traceback" not in missing.stderr
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = fahras("vocab", "fetch", "unbis", "--out", tmp_path / "y.ttl", "--url", f"http://127.0.0.1:{port}/d.ttl",
                  "--retries", "0", "--quiet")
    assert down.returncode == 69 and f"cannot reach 127.0.0.1:{port}" in down.stderr
    assert "Traceback" not in down.stderr and not (tmp_path / "y.ttl").exists()
