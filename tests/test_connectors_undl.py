"""Harvesting the UN Digital Library: paging, full texts, politeness, resumption, the API mode.

Every request goes to a scripted server on 127.0.0.1; no test touches a UN host.
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote

import pytest

from connectors_support import FIXTURES, Reply, Server, fahras, make_pdf, marc_page, marc_record
from fahras.connectors.http import HttpClient, NetworkError
from fahras.connectors.undl import DigitalLibrary, harvest_undl, read_token
from fahras.corpus import read_corpus
from fahras.errors import InputError
from fahras.vocab import load_vocabulary

T = "http://metadata.un.org/thesaurus/"


class Site:
    """A tiny Digital Library: records, their PDFs, the public search and the token API."""

    def __init__(self, records: list[dict], token: str = "s3cret"):
        self.records = records
        self.token = token
        self.fail = {}          # jrec -> status to answer with
        self.missing = set()    # file names answered with 404
        self.searches = {}

    def xml(self, record: dict, base: str) -> str:
        return marc_record(record["id"], record.get("symbol"), record.get("date"), record.get("subjects", []),
                           record.get("langs", ("en",)), base=base)

    def route(self, base):
        def answer(request):
            if request.path == "/search":
                jrec, size = int(request.query.get("jrec", 1)), int(request.query.get("rg", 10))
                assert request.query["of"] == "xm"
                if jrec in self.fail:
                    return Reply(self.fail[jrec])
                chunk = self.records[jrec - 1: jrec - 1 + size]
                return Reply(body=marc_page([self.xml(r, base()) for r in chunk], len(self.records)))
            if request.path == "/api/v1/search":
                if request.headers.get("authorization") != f"Token {self.token}":
                    return Reply(401)
                sid = request.query.get("search_id")
                offset = self.searches.get(sid, 0) if sid else 0
                sid = sid or f"sid{len(self.searches) + 1}"
                chunk = self.records[offset: offset + 2]
                self.searches[sid] = offset + len(chunk)
                body = (f"<response><total>{len(self.records)}</total><search_id>{sid}</search_id>"
                        f'<collection xmlns="http://www.loc.gov/MARC21/slim">'
                        f'{"".join(self.xml(r, base()) for r in chunk)}</collection></response>')
                return Reply(body=body.encode("utf-8"))
            match = re.fullmatch(r"/record/(\d+)/files/(.+)", request.path)
            if match:
                name = unquote(match.group(2))
                if name in self.missing:
                    return Reply(404)
                record = next(r for r in self.records if r["id"] == match.group(1))
                lang = name.rsplit("-", 1)[-1][:2]
                return Reply(body=make_pdf([
                    f"{record.get('symbol')} {lang}",
                    f"The Security Council decides to extend the peacekeeping operations ({lang}).",
                    "It demands an immediate ceasefire.",
                    "20-08631 (E)"]))
            return Reply(404)
        return answer


RECORDS = [
    {"id": "101", "symbol": "S/RES/2501 (2019)", "date": "2019-12-16", "subjects": [("CEASEFIRES", None)]},
    {"id": "102", "symbol": "S/RES/2510 (2020)", "date": "2020-01-12",
     "subjects": [("PEACEKEEPING OPERATIONS", None), ("SUDAN", None)], "langs": ("en", "fr")},
    {"id": "103", "symbol": "S/PV.8700", "date": "2020-01-20", "subjects": []},
    {"id": "104", "symbol": "S/RES/2520 (2020)", "date": "2020-05-01",
     "subjects": [("CEASE-FIRE", None), ("SUDAN--POLITICAL CONDITIONS", None)], "langs": ("ar", "en", "fr")},
    {"id": "105", "symbol": "S/RES/2530 (2020)", "date": "2020-06-29", "subjects": [("SOUDAN", None)],
     "langs": ("fr",)},
]


@pytest.fixture
def vocab(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vocab")
    path = folder / "unbist.ttl"
    path.write_bytes((FIXTURES / "unbist-20240301.ttl").read_bytes())
    return load_vocabulary(path)


def serve(site: Site) -> Server:
    holder = {}
    server = Server(site.route(lambda: holder["base"]))
    holder["base"] = server.base
    return server


def library(server: Server, **kwargs) -> DigitalLibrary:
    http = HttpClient(timeout=5.0, delay=0.0, retries=kwargs.pop("retries", 2), backoff=0.0, sleep=lambda s: None)
    return DigitalLibrary(server.base, client=http, page_size=kwargs.pop("page_size", 2), **kwargs)


def entries(out) -> list[dict]:
    return [json.loads(line) for line in (out / "records.jsonl").read_text(encoding="utf-8").splitlines()]


def test_harvest_public_search(tmp_path, vocab):
    site = Site(RECORDS)
    site.missing.add("S_RES_2520(2020)-FR.pdf")
    out = tmp_path / "corpus"
    with serve(site) as server:
        summary = harvest_undl('191__a:"S/RES/*"', out, since="2020-01-01", langs=("en", "fr"),
                               library=library(server), vocab=vocab)
    searches = [r for r in server.requests if r.path == "/search"]
    assert [r.query["jrec"] for r in searches] == ["1", "3", "5"]
    assert all(r.query["rg"] == "2" and r.query["p"] == '191__a:"S/RES/*"' for r in searches)
    assert all(r.headers["user-agent"].startswith("Fahras/") for r in server.requests)
    assert summary.total == 5 and summary.records_read == 5 and summary.pages == 3
    assert summary.records_before_since == 1 and summary.records_without_subjects == 1
    assert summary.records_written == 3 and summary.texts_missing == 1

    names = sorted(p.name for p in (out / "documents").iterdir())
    assert names == ["S_RES_2510_(2020)-EN.txt", "S_RES_2510_(2020)-FR.txt", "S_RES_2520_(2020)-EN.txt",
                     "S_RES_2530_(2020)-FR.txt"]
    docs = {d.id: d for d in read_corpus(out / "documents")}
    assert docs["S_RES_2510_(2020)-EN"].subjects == (T + "1000544", T + "1001200")
    assert docs["S_RES_2520_(2020)-EN"].subjects == (T + "1000700", "SUDAN--POLITICAL CONDITIONS")
    assert docs["S_RES_2530_(2020)-FR"].subjects == (T + "1001200",)
    text = docs["S_RES_2510_(2020)-FR"].text
    assert "extend the peacekeeping operations (FR)" in text and "20-08631 (E)" not in text  # furniture masked

    log = {e["record_id"]: e for e in entries(out)}
    assert log["101"]["status"] == "skipped: before --since" and log["103"]["status"] == "skipped: no subjects"
    files = {f["name"]: f["status"] for f in log["104"]["files"]}
    assert files == {"S_RES_2520(2020)-AR.pdf": "not requested", "S_RES_2520(2020)-EN.pdf": "extracted",
                     "S_RES_2520(2020)-FR.pdf": "missing: HTTP 404"}
    assert log["102"]["subjects"][0] == {"label": "PEACEKEEPING OPERATIONS", "authority": None, "source": "unbist",
                                         "tag": "650", "matched": "label", "uri": T + "1000544"}
    assert log["102"]["date"] == "2020-01-12" and log["102"]["symbol"] == "S/RES/2510 (2020)"
    state = json.loads((out / ".harvest-state.json").read_text())
    assert state["complete"] and state["next"] == 6
    assert sorted(p.name for p in (out / "marcxml").iterdir()) == [
        "page-0000001.xml", "page-0000003.xml", "page-0000005.xml"]
    assert (out / "files" / "S_RES_2510(2020)-EN.pdf").read_bytes().startswith(b"%PDF")
    assert not any(p.name.startswith(".") and p.suffix in (".tmp", ".part") for p in out.rglob("*"))


def test_resumes_after_a_failure_without_refetching_done_pages(tmp_path, vocab):
    site = Site(RECORDS)
    site.fail[3] = 500
    out = tmp_path / "corpus"
    with serve(site) as server:
        with pytest.raises(NetworkError, match="HTTP 500"):
            harvest_undl("q", out, langs=("en",), library=library(server, retries=1), vocab=vocab)
        assert [e["record_id"] for e in entries(out)] == ["101", "102"]
        first_downloads = [p for p in server.paths() if "/files/" in p]
        del site.fail[3]
        server.requests.clear()
        summary = harvest_undl("q", out, langs=("en",), library=library(server), vocab=vocab)
    assert [r.query["jrec"] for r in server.requests if r.path == "/search"] == ["3", "5"]
    assert not set(first_downloads) & set(server.paths())
    assert [e["record_id"] for e in entries(out)] == ["101", "102", "103", "104", "105"]
    assert summary.records_written == 2 and summary.title_documents == 1  # 104 with its text, 105 by its title
    assert {e["record_id"]: e["status"] for e in entries(out)}["105"] == "written (title only)"


def test_interrupted_run_is_consistent_and_a_rerun_finishes(tmp_path, vocab):
    site = Site(RECORDS)
    out = tmp_path / "corpus"

    def stop_after_two(done, total):
        if done == 2:
            raise KeyboardInterrupt

    with serve(site) as server:
        with pytest.raises(KeyboardInterrupt):
            harvest_undl("q", out, library=library(server), vocab=vocab, progress=stop_after_two)
        assert len(entries(out)) == 2
        # A line cut short by a crash is dropped, and its record done again.
        with open(out / "records.jsonl", "a", encoding="utf-8") as handle:
            handle.write('{"record_id": "103", "key": "10')
        summary = harvest_undl("q", out, library=library(server), vocab=vocab)
    log = entries(out)
    assert [e["record_id"] for e in log] == ["101", "102", "103", "104", "105"]
    assert summary.records_already_done == 2
    assert len(list((out / "documents").iterdir())) == 4  # 101, 102, 104 in English; 105 by its title


def test_a_rerun_of_a_complete_harvest_writes_nothing_new(tmp_path, vocab):
    site = Site(RECORDS[:2])
    out = tmp_path / "corpus"
    with serve(site) as server:
        harvest_undl("q", out, library=library(server), vocab=vocab)
        before = {p.name: p.stat().st_mtime_ns for p in (out / "documents").iterdir()}
        summary = harvest_undl("q", out, library=library(server), vocab=vocab)
    assert summary.records_already_done == 2 and summary.records_written == 0
    assert {p.name: p.stat().st_mtime_ns for p in (out / "documents").iterdir()} == before


def test_api_mode_with_token_and_search_id(tmp_path, vocab):
    site = Site(RECORDS)
    token_file = tmp_path / "token"
    token_file.write_text("s3cret\n")
    out = tmp_path / "corpus"
    with serve(site) as server:
        summary = harvest_undl("q", out, library=library(server, token=read_token(token_file)), vocab=vocab)
        api = [r for r in server.requests if r.path == "/api/v1/search"]
        assert [r.query.get("search_id") for r in api] == [None, "sid1", "sid1"]
        assert all(r.query["format"] == "xml" and r.query["p"] == "q" for r in api)
        bad = DigitalLibrary(server.base, token="wrong", client=HttpClient(delay=0, retries=0))
        with pytest.raises(NetworkError, match="HTTP 401"):
            bad.search_page("q")
    assert summary.records_read == 5 and summary.total == 5


def test_html_instead_of_marcxml_is_a_clear_error(tmp_path):
    with Server(lambda r: Reply(body=b"<!DOCTYPE html><html><body>Search</body></html>")) as server:
        with pytest.raises(InputError, match="HTML page instead of MARCXML"):
            harvest_undl("q", tmp_path / "c", library=library(server))


def test_token_file_errors(tmp_path):
    with pytest.raises(InputError, match="cannot read the token file"):
        read_token(tmp_path / "none")
    (tmp_path / "t").write_text("")
    with pytest.raises(InputError, match="on one line"):
        read_token(tmp_path / "t")


def test_cli_harvest_with_429_and_retry_after(tmp_path):
    site = Site(RECORDS[:2])
    throttled = []
    inner = {}

    def route(request):
        if request.path == "/search" and not throttled:
            throttled.append(request)
            return Reply(429, headers={"Retry-After": "1"})
        return inner["route"](request)

    server = Server(route)
    inner["route"] = site.route(lambda: server.base)
    with server:
        result = fahras("corpus", "harvest", "undl", "--query", '191__a:"S/RES/*"', "--since", "2020-01-01",
                        "--out", tmp_path / "corpus", "--lang", "en,fr", "--base-url", server.base, "--delay", "0",
                        "--quiet")
        assert result.returncode == 0, result.stderr
        bad = fahras("corpus", "harvest", "undl", "--query", "q", "--since", "2020-1-1", "--out", tmp_path / "x",
                     "--base-url", server.base)
        assert bad.returncode == 64 and "--since" in bad.stderr
        lang = fahras("corpus", "harvest", "undl", "--query", "q", "--out", tmp_path / "x", "--lang", "en,de",
                      "--base-url", server.base)
        assert lang.returncode == 64 and "--lang" in lang.stderr
    searches = [r for r in server.requests if r.path == "/search"]
    assert len(searches) == 2 and "retrying in 1.0 s" in result.stderr
    assert "records read: 2 (of 2 found)" in result.stderr and "records written: 1" in result.stderr
    assert sorted(p.name for p in (tmp_path / "corpus" / "documents").iterdir()) == [
        "S_RES_2510_(2020)-EN.txt", "S_RES_2510_(2020)-FR.txt"]
