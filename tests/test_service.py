"""The REST service through FastAPI's test client: Annif's API v1 shapes, Fahras's additions, errors."""

from __future__ import annotations

import io
import time
from pathlib import Path
from urllib.parse import quote

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from fahras.service import Limits, ProjectConfig, ServiceConfig, create_app  # noqa: E402
from service_support import body_of, small_model, test_texts  # noqa: E402,F401  (fixtures)

LOOPBACK = ("127.0.0.1", 50000)


def wait_ready(client: TestClient) -> None:
    for _ in range(600):
        if client.get("/readyz").status_code == 200:
            return
        time.sleep(0.05)
    raise AssertionError(client.get("/readyz").json())


def make_client(config: ServiceConfig, client=LOOPBACK) -> TestClient:
    return TestClient(create_app(config), client=client, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def config(small_model, tmp_path_factory, time_split) -> ServiceConfig:
    corpus = tmp_path_factory.mktemp("queue")
    for path in sorted(time_split[1].glob("*.txt"))[:3]:
        (corpus / path.name).write_bytes(path.read_bytes())
    return ServiceConfig(projects=(ProjectConfig("unsc", small_model, name="UNSC", corpus=corpus),
                                   ProjectConfig("frozen", small_model, learn=False, language="en")),
                         limits=Limits(max_body_bytes=200_000, max_text_chars=100_000, max_batch_documents=32))


@pytest.fixture(scope="module")
def client(config):
    with make_client(config) as c:
        wait_ready(c)
        yield c


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"] == "about:blank"
    assert "Traceback" not in response.text
    return body


# -- Annif API v1 ------------------------------------------------------------------------------------
def test_info_vocabs_projects(client, small_model):
    info = client.get("/v1/").json()
    assert set(info) == {"title", "version"}
    vocabs = client.get("/v1/vocabs").json()["vocabs"]
    assert vocabs == [{"vocab_id": "unbis", "languages": ["ar", "zh", "en", "fr", "ru", "es"],
                       "size": vocabs[0]["size"], "loaded": True}]
    assert vocabs[0]["size"] > 7000
    projects = client.get("/v1/projects").json()["projects"]
    assert [p["project_id"] for p in projects] == ["frozen", "unsc"]
    project = client.get("/v1/projects/unsc").json()
    assert project["name"] == "UNSC" and project["backend"] == {"backend_id": "omikuji"}
    assert project["language"] == "en" and project["vocab_language"] == "en" and project["is_trained"] is True
    assert project["vocab"]["vocab_id"] == "unbis"
    assert project["modification_time"].endswith("Z")
    assert_problem(client.get("/v1/projects/nope"), 404)


def test_suggest_matches_the_library(client, small_model, test_texts):
    from fahras import Indexer

    indexer = Indexer.load(small_model)
    text = body_of(test_texts[0])
    got = client.post("/v1/projects/unsc/suggest", data={"text": text, "limit": 7}).json()["results"]
    expected = [s for s in indexer.suggest(text, limit=7) if s.score > 0]
    assert [r["uri"] for r in got] == [s.uri for s in expected]
    assert [r["score"] for r in got] == pytest.approx([s.score for s in expected])
    assert set(got[0]) == {"uri", "label", "notation", "score"}
    for r, s in zip(got, expected):
        assert r["notation"] == (None if s.local else s.identifier)
    # limit defaults to 10; threshold filters; language picks the labels
    assert len(client.post("/v1/projects/unsc/suggest", data={"text": text}).json()["results"]) == 10
    cut = (got[0]["score"] + got[-1]["score"]) / 2
    above = client.post("/v1/projects/unsc/suggest", data={"text": text, "threshold": cut}).json()["results"]
    assert above == [r for r in got if r["score"] >= cut] and 0 < len(above) < len(got)
    french = client.post("/v1/projects/unsc/suggest", data={"text": text, "language": "fr", "limit": 7}).json()
    thesaurus = [(r, f) for r, f in zip(got, french["results"]) if r["notation"]]
    assert thesaurus and any(r["label"] != f["label"] for r, f in thesaurus)
    assert client.post("/v1/projects/unsc/suggest", data={"text": text, "limit": 0}).json() == {"results": []}


def test_suggest_errors(client):
    assert_problem(client.post("/v1/projects/unsc/suggest", data={}), 400)
    assert_problem(client.post("/v1/projects/unsc/suggest", data={"text": "x", "limit": "many"}), 400)
    assert_problem(client.post("/v1/projects/unsc/suggest", data={"text": "x", "threshold": 2}), 400)
    body = assert_problem(client.post("/v1/projects/unsc/suggest", data={"text": "x", "language": "fi"}), 400)
    assert "not supported by vocabulary" in body["detail"]
    assert_problem(client.post("/v1/projects/nope/suggest", data={"text": "x"}), 404)
    assert_problem(client.post("/v1/projects/unsc/suggest", data={"text": "word " * 30_000}), 413)
    assert_problem(client.post("/v1/projects/unsc/suggest", content=b"x" * 300_000,
                               headers={"content-type": "application/x-www-form-urlencoded"}), 413)
    assert_problem(client.get("/v1/no/such/path"), 404)
    assert_problem(client.delete("/v1/projects/unsc"), 405)


def test_suggest_batch(client, test_texts):
    docs = [{"text": body_of(t), "document_id": f"doc-{i}"} for i, t in enumerate(test_texts[:3])]
    docs.append({"text": body_of(test_texts[3])})
    got = client.post("/v1/projects/unsc/suggest-batch?limit=4&language=ar", json={"documents": docs}).json()
    assert [r["document_id"] for r in got] == ["doc-0", "doc-1", "doc-2", None]
    for doc, result in zip(docs, got):
        single = client.post("/v1/projects/unsc/suggest", data={"text": doc["text"], "limit": 4,
                                                                "language": "ar"}).json()["results"]
        assert result["results"] == single
    assert_problem(client.post("/v1/projects/unsc/suggest-batch", json={"documents": [{"text": "x"}] * 33}), 400)
    assert_problem(client.post("/v1/projects/unsc/suggest-batch", json={"docs": []}), 400)
    assert_problem(client.post("/v1/projects/unsc/suggest-batch", content=b"{not json",
                               headers={"content-type": "application/json"}), 400)
    assert client.post("/v1/projects/unsc/suggest-batch", json={"documents": []}).json() == []


def test_detect_language(client):
    def detect(text, languages):
        return client.post("/v1/detect-language", json={"text": text, "languages": languages})

    result = detect("Le Conseil de sécurité décide de proroger le mandat de la Mission.", ["en", "fr", "es"]).json()
    assert result["results"][0]["language"] == "fr"
    assert result["results"][0]["score"] > 0.5
    assert detect("إن مجلس الأمن يقرر تمديد ولاية البعثة", ["ar", "en"]).json()["results"][0]["language"] == "ar"
    only_en = detect("Совет Безопасности постановляет продлить мандат", ["en"]).json()["results"]
    assert only_en[0] == {"language": None, "score": pytest.approx(1.0, abs=0.01)}
    assert_problem(detect("text", ["fi"]), 400)
    assert_problem(detect("text", []), 400)


def test_learn_forbidden_and_validated(client):
    body = assert_problem(client.post("/v1/projects/frozen/learn", json=[{"text": "x", "subjects": []}]), 403)
    assert body["title"] == "Learning not allowed"
    assert_problem(client.post("/v1/projects/nope/learn", json=[]), 404)
    assert_problem(client.post("/v1/projects/unsc/learn", json={"text": "not a list"}), 400)


def test_write_endpoints_need_loopback_or_key(config, tmp_path):
    with make_client(config, client=("203.0.113.9", 4000)) as remote:
        wait_ready(remote)
        assert_problem(remote.post("/v1/fahras/projects/unsc/reload"), 403)
        assert_problem(remote.post("/v1/fahras/projects/unsc/feedback", json={"document_id": "a"}), 403)
        assert remote.get("/v1/projects/unsc").status_code == 200  # reading stays open
    key = tmp_path / "key"
    key.write_text("s3cret\n")
    keyed = ServiceConfig(projects=config.projects, api_key_file=key)
    with make_client(keyed, client=("203.0.113.9", 4000)) as remote:
        wait_ready(remote)
        assert_problem(remote.post("/v1/fahras/projects/unsc/reload"), 401)
        assert_problem(remote.post("/v1/fahras/projects/unsc/reload", headers={"X-API-Key": "wrong"}), 401)
        ok = remote.post("/v1/fahras/projects/unsc/reload", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200 and ok.json()["project_id"] == "unsc"


def test_feedback_without_database_is_503(client):
    body = assert_problem(client.post("/v1/fahras/projects/unsc/feedback", json={"document_id": "a"}), 503)
    assert "database" in body["detail"]


def test_request_time_limit(small_model, test_texts):
    config = ServiceConfig(projects=(ProjectConfig("unsc", small_model),),
                           limits=Limits(request_timeout=0.001, workers=1))
    with make_client(config) as c:
        wait_ready(c)
        body = assert_problem(c.post("/v1/projects/unsc/suggest", data={"text": body_of(test_texts[0]) * 20}), 503)
        assert "time limit" in body["detail"]


# -- Fahras's additions ------------------------------------------------------------------------------
def test_fahras_suggest_from_an_export_file(client, test_texts):
    raw = test_texts[1]
    response = client.post("/v1/fahras/projects/unsc/suggest?explain=true&all_labels=true&label_language=ru",
                           files={"file": ("../../etc/passwd.txt", raw.encode())})
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["document"]["name"] == "passwd.txt"   # the last component only, never a path
    assert data["document"]["text"] == raw               # the whole file, header line included
    assert data["document"]["language"] == "en"
    assert data["model"]["project_id"] == "unsc" and data["model"]["modification_time"]
    results = data["results"]
    assert len(results) >= 10 and results[0]["decided"]
    assert all(set(r) >= {"uri", "label", "notation", "score", "local", "decided", "labels", "evidence"}
               for r in results)
    assert set(results[0]["labels"]) == {"ar", "zh", "en", "fr", "ru", "es"}
    spans = [e for r in results for e in r["evidence"] if e["start"] is not None]
    assert spans
    header_end = raw.index("\n")
    for e in spans:
        assert e["start"] > header_end                  # offsets index the whole file, past the header
        assert raw[e["start"]:e["end"]] == e["text"]
        assert e["text"].strip()
    # the same document as a JSON text: the same subjects in the same order
    again = client.post("/v1/fahras/projects/unsc/suggest", json={"text": body_of(raw)}).json()
    assert [r["uri"] for r in again["results"]] == [r["uri"] for r in results]


def test_fahras_suggest_limits_and_errors(client, test_texts):
    text = body_of(test_texts[2])
    got = client.post("/v1/fahras/projects/unsc/suggest?limit=3", data={"text": text}).json()["results"]
    assert len(got) == 3 and "evidence" not in got[0] and "labels" not in got[0]
    assert_problem(client.post("/v1/fahras/projects/unsc/suggest", files={"file": ("x.exe", b"MZ")}), 400)
    assert_problem(client.post("/v1/fahras/projects/unsc/suggest", files={"file": ("x.pdf", b"not a pdf")}), 400)
    assert_problem(client.post("/v1/fahras/projects/unsc/suggest", json={"text": "   "}), 422)
    assert_problem(client.post("/v1/fahras/projects/unsc/suggest", content=b"x", headers={"content-type": "text/csv"}), 400)
    assert_problem(client.post("/v1/fahras/projects/unsc/suggest?explain=maybe", json={"text": text}), 400)
    assert_problem(client.post("/v1/fahras/projects/unsc/suggest?label_language=de", json={"text": text}), 400)
    assert_problem(client.post("/v1/fahras/projects/nope/suggest", json={"text": text}), 404)
    body = assert_problem(client.post("/v1/fahras/projects/unsc/suggest", json={"text": "12345 67890 ---"}), 400)
    assert "six UN languages" in body["detail"]
    forced = client.post("/v1/fahras/projects/unsc/suggest?language=en", json={"text": "12345 67890 ---"})
    assert forced.status_code == 200


def test_fahras_suggest_docx(client):
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_paragraph("The Security Council decides to extend the mandate of the United Nations "
                           "Mission in South Sudan (UNMISS) and condemns the violence in Juba.")
    buffer = io.BytesIO()
    document.save(buffer)
    data = client.post("/v1/fahras/projects/unsc/suggest?explain=true",
                       files={"file": ("report.docx", buffer.getvalue())}).json()
    assert "South Sudan" in data["document"]["text"]
    for e in (e for r in data["results"] for e in r.get("evidence", []) if e["start"] is not None):
        assert data["document"]["text"][e["start"]:e["end"]] == e["text"]


def test_concepts(client):
    hits = client.get("/v1/fahras/projects/unsc/concepts", params={"q": "consult"}).json()["results"]
    assert "CONSULTATIONS" in [h["label"] for h in hits]
    arabic = client.get("/v1/fahras/projects/unsc/concepts", params={"q": "مشاور", "lang": "ar"}).json()["results"]
    top = arabic[0]
    assert top["labels"]["en"] == "CONSULTATIONS" and top["matched_language"] == "ar"
    assert set(top) == {"uri", "label", "labels", "notation", "group", "related", "matched", "matched_language",
                        "score"}
    assert top["group"] is None or set(top["group"]) == {"uri", "label"}
    one = client.get("/v1/fahras/projects/unsc/concepts/" + quote(top["uri"], safe="")).json()
    assert one["uri"] == top["uri"] and one["labels"]["en"] == "CONSULTATIONS"
    by_id = client.get(f"/v1/fahras/projects/unsc/concepts/{top['notation']}").json()
    assert by_id["uri"] == top["uri"]
    assert_problem(client.get("/v1/fahras/projects/unsc/concepts/nothing-like-this"), 404)
    assert client.get("/v1/fahras/projects/unsc/concepts", params={"q": ""}).json() == {"results": []}


def test_queue_documents_reload_health(client, config):
    queue = client.get("/v1/fahras/projects/unsc/queue").json()["documents"]
    names = sorted(p.name for p in config.projects[0].corpus.iterdir())
    assert [d["name"] for d in queue] == names and not any(d["decided"] for d in queue)
    doc = client.get(f"/v1/fahras/documents/{queue[0]['document_id']}").json()
    assert doc["project"] == "unsc" and doc["decision"] is None and doc["document_id"] == queue[0]["document_id"]
    assert doc["text"] and doc["language"] == "en"
    if doc["symbol"]:
        assert client.get(f"/v1/fahras/documents/{quote(doc['symbol'], safe='')}").json()["document_id"] == \
            queue[0]["document_id"]
    assert_problem(client.get("/v1/fahras/documents/no-such-document"), 404)
    assert_problem(client.get("/v1/fahras/projects/nope/queue"), 404)
    before = client.get("/v1/projects/unsc").json()["modification_time"]
    reloaded = client.post("/v1/fahras/projects/unsc/reload").json()
    assert reloaded == {"project_id": "unsc", "modification_time": before}
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["projects"] == ["frozen", "unsc"]


def test_openapi_and_local_docs(client):
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    for path in ("/v1/", "/v1/vocabs", "/v1/projects", "/v1/projects/{project_id}",
                 "/v1/projects/{project_id}/suggest", "/v1/projects/{project_id}/suggest-batch",
                 "/v1/projects/{project_id}/learn", "/v1/detect-language",
                 "/v1/fahras/projects/{project_id}/suggest", "/v1/fahras/projects/{project_id}/feedback"):
        assert path in spec["paths"], path
    page = client.get("/docs").text
    assert "cdn" not in page.lower() and "/docs/static/swagger-ui-bundle.js" in page
    assert client.get("/docs/static/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs/static/swagger-ui.css").status_code == 200
    assert "/docs/static/redoc.standalone.js" in client.get("/redoc").text
    assert "fonts.googleapis" not in client.get("/redoc").text


def test_readyz_before_models_load(small_model):
    app = create_app(ServiceConfig(projects=(ProjectConfig("unsc", small_model),)), load=False)
    with TestClient(app) as c:
        assert_problem(c.get("/readyz"), 503)
        assert c.get("/healthz").status_code == 200
        assert_problem(c.post("/v1/projects/unsc/suggest", data={"text": "x"}), 503)


def test_page_plugins_are_mounted(small_model, monkeypatch):
    from importlib import metadata

    calls = []

    class Entry:
        name, value = "fake", "tests:mount"

        def load(self):
            return lambda app, config: calls.append((app, config))

    real = metadata.entry_points
    monkeypatch.setattr(metadata, "entry_points",
                        lambda **kw: [Entry()] if kw.get("group") == "fahras.service.pages" else real(**kw))
    config = ServiceConfig(projects=(ProjectConfig("unsc", small_model),))
    app = create_app(config, load=False)
    assert calls == [(app, config)]


def test_config_from_toml(tmp_path, small_model):
    toml = tmp_path / "projects.toml"
    toml.write_text(f'[service]\nport = 9000\nmax_batch_documents = 8\n\n'
                    f'[projects.unsc-en]\nname = "UNSC"\nmodel = "{small_model}"\nlanguage = "en"\nlearn = false\n'
                    f'corpus = "incoming"\n', encoding="utf-8")
    config = ServiceConfig.from_toml(toml)
    assert config.port == 9000 and config.limits.max_batch_documents == 8
    project = config.projects[0]
    assert (project.project_id, project.name, project.language, project.learn) == ("unsc-en", "UNSC", "en", False)
    assert project.corpus == tmp_path / "incoming"
    from fahras.errors import InputError

    for bad in ('[projects.x]\nname = "no model"\n', '[projects.x]\nmodel = "m"\nlanguage = "de"\n',
                '[service]\nport = "eighty"\n[projects.x]\nmodel = "m"\n', "not toml [", "[other]\n"):
        toml.write_text(bad, encoding="utf-8")
        with pytest.raises(InputError, match="projects.toml"):
            ServiceConfig.from_toml(toml)


# -- with a feedback database ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def db_client(config, tmp_path_factory):
    pytest.importorskip("sqlalchemy")
    url = f"sqlite:///{tmp_path_factory.mktemp('feedback') / 'fahras.db'}"
    with make_client(ServiceConfig(projects=config.projects, db=url, limits=config.limits)) as c:
        wait_ready(c)
        yield c


def test_feedback_is_stored_and_shown(db_client, config):
    queue = db_client.get("/v1/fahras/projects/unsc/queue").json()["documents"]
    doc_id = queue[1]["document_id"]
    hits = db_client.post("/v1/projects/unsc/suggest", data={"text": "Liberia mission mandate", "limit": 3}).json()
    uris = [r["uri"] for r in hits["results"]]
    added = db_client.get("/v1/fahras/projects/unsc/concepts", params={"q": "consultations"}).json()["results"][0]
    assert added["uri"] not in uris
    decision = {"document_id": doc_id, "language": "en", "accepted": uris[:1], "rejected": uris[1:2],
                "added": [added["uri"]], "indexer": "alice",
                "shown": [{"uri": r["uri"], "label": r["label"], "score": r["score"], "rank": i + 1}
                          for i, r in enumerate(hits["results"])]}
    response = db_client.post("/v1/fahras/projects/unsc/feedback", json=decision)
    assert response.status_code == 201, response.text
    first = response.json()["id"]
    assert isinstance(first, int)
    assert db_client.post("/v1/fahras/projects/unsc/feedback", json=decision).json()["id"] == first + 1
    queue = db_client.get("/v1/fahras/projects/unsc/queue").json()["documents"]
    assert [d["decided"] for d in queue] == [d["document_id"] == doc_id for d in queue]
    shown = db_client.get(f"/v1/fahras/documents/{doc_id}").json()
    stored = shown["decision"]
    assert stored["id"] == first + 1 and stored["indexer"] == "alice" and stored["source"] == "decision"
    assert (stored["accepted"], stored["rejected"], stored["added"]) == (uris[:1], uris[1:2], decision["added"])
    assert [s["uri"] for s in stored["shown"]] == uris and stored["model_version"]
    assert stored["labels"][added["uri"]] == added["labels"]["en"]
    # a document only the database knows
    db_client.post("/v1/fahras/projects/unsc/feedback", json={"document_id": "only-in-db", "symbol": "S/RES/9999 (2099)",
                                                              "text": "Some text.", "accepted": uris[:1]})
    by_symbol = db_client.get("/v1/fahras/documents/" + quote("S/RES/9999 (2099)", safe="")).json()
    assert by_symbol["document_id"] == "only-in-db" and by_symbol["text"] == "Some text."
    # bad decisions
    both = {**decision, "rejected": uris[:1]}
    assert "both rejected" in assert_problem(db_client.post("/v1/fahras/projects/unsc/feedback", json=both), 400)["detail"]
    assert_problem(db_client.post("/v1/fahras/projects/unsc/feedback", json={"accepted": []}), 400)
    assert_problem(db_client.post("/v1/fahras/projects/unsc/feedback", json={"document_id": "a", "language": "de"}), 400)
    assert_problem(db_client.post("/v1/fahras/projects/nope/feedback", json=decision), 404)


def test_learn_stores_updates_and_reloads(small_model, test_texts, tmp_path):
    """/learn: 204 at once; the documents are in the database; the model learns in the background and the
    project is reloaded (a new modification time; the subject an indexer added is now in its space)."""
    pytest.importorskip("sqlalchemy")
    import shutil

    from fahras import Indexer

    model = tmp_path / "unsc"
    shutil.copytree(small_model, model)
    config = ServiceConfig(projects=(ProjectConfig("unsc", model),), db=f"sqlite:///{tmp_path / 'fb.db'}")
    with make_client(config) as c:
        wait_ready(c)
        before = c.get("/v1/projects/unsc").json()["modification_time"]
        new_subject = c.get("/v1/fahras/projects/unsc/concepts", params={"q": "consultations"}).json()["results"][0]
        assert new_subject["uri"] not in Indexer.load(model).subjects_.index
        docs = [{"text": body_of(t), "subjects": [{"uri": new_subject["uri"], "label": "CONSULTATIONS"}],
                 "metadata": {"document_id": f"learned-{i}"}} for i, t in enumerate(test_texts[:2])]
        response = c.post("/v1/projects/unsc/learn", json=docs)
        assert response.status_code == 204 and response.content == b""
        stored = c.get("/v1/fahras/documents/learned-1").json()["decision"]
        assert stored["source"] == "learn" and stored["accepted"] == [new_subject["uri"]]
        for _ in range(600):
            after = c.get("/v1/projects/unsc").json()["modification_time"]
            if after != before:
                break
            time.sleep(0.1)
        assert after != before
        project = c.app.state.fahras.projects["unsc"]
        assert new_subject["uri"] in project.indexer.subjects_.index
        assert c.post("/v1/projects/unsc/suggest", data={"text": body_of(test_texts[0])}).status_code == 200


def test_chunked_body_over_the_limit(client):
    def chunks():
        for _ in range(30):
            yield b"text=" + b"x" * 10_000

    response = client.post("/v1/projects/unsc/suggest", content=chunks(),
                           headers={"content-type": "application/x-www-form-urlencoded"})
    assert_problem(response, 413)


def test_reload_picks_up_a_new_model(small_model, tmp_path, test_texts):
    import os
    import shutil

    model = tmp_path / "unsc"
    shutil.copytree(small_model, model)
    with make_client(ServiceConfig(projects=(ProjectConfig("unsc", model),))) as c:
        wait_ready(c)
        before = c.get("/v1/projects/unsc").json()["modification_time"]
        later = (model / "manifest.json").stat().st_mtime + 3600
        os.utime(model / "manifest.json", (later, later))
        after = c.post("/v1/fahras/projects/unsc/reload").json()["modification_time"]
        assert after != before and c.get("/v1/projects/unsc").json()["modification_time"] == after
        shutil.rmtree(model)  # a model folder that is gone: 503, and the old model goes on serving
        assert_problem(c.post("/v1/fahras/projects/unsc/reload"), 503)
        assert c.post("/v1/projects/unsc/suggest", data={"text": body_of(test_texts[0])}).status_code == 200


# -- where the time goes; the corpus folder's index -------------------------------------------------
def test_server_timing_header_splits_a_suggest_request(client, test_texts, caplog):
    import logging

    from fahras.service.timing import parse_header

    text = body_of(test_texts[0])
    with caplog.at_level(logging.DEBUG, logger="fahras.service.timing"):
        response = client.post("/v1/projects/unsc/suggest", data={"text": text, "limit": 5})
    assert response.status_code == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "fahras.service.timing"]
    assert len(lines) == 1 and lines[0].startswith("POST /v1/projects/unsc/suggest 200 app;dur=")
    assert lines[0].endswith(f" chars={len(text)}")
    figures = parse_header(response.headers["server-timing"])
    assert list(figures) == ["app", "read", "queue", "score", "resume"]
    assert all(v >= 0 for v in figures.values()) and figures["score"] > 0
    # the parts lie inside the whole (rounded to 0.01 ms each)
    assert figures["read"] + figures["queue"] + figures["score"] + figures["resume"] <= figures["app"] + 0.05
    health = parse_header(client.get("/healthz").headers["server-timing"])
    assert list(health) == ["app"]
    assert list(parse_header(assert_problem_response(client.get("/v1/projects/nope")).headers["server-timing"])) \
        == ["app"]


def assert_problem_response(response):
    assert_problem(response, response.status_code)
    return response


def test_timing_header_parsing():
    from fahras.service.timing import durations, header_value, parse_header

    marks = {"start": 1.0, "submitted": 1.010, "started": 1.030, "ended": 1.035, "resumed": 1.036}
    figures = durations(marks, 1.040)
    assert figures == {"app": 40.0, "read": 10.0, "queue": 20.0, "score": 5.0, "resume": 1.0}
    assert parse_header(header_value(figures)) == figures
    assert parse_header('app;dur=3.5;desc="x", cache, db;dur=bad') == {"app": 3.5}


def test_queue_pages_and_the_corpus_index_follows_the_folder(small_model, time_split, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    sources = sorted(time_split[1].glob("*.txt"))[:4]
    for path in sources[:3]:
        (corpus / path.name).write_bytes(path.read_bytes())
    config = ServiceConfig(projects=(ProjectConfig("unsc", small_model, corpus=corpus),))
    with make_client(config) as c:
        whole = c.get("/v1/fahras/projects/unsc/queue").json()
        assert [d["name"] for d in whole["documents"]] == [p.name for p in sources[:3]] and whole["total"] == 3
        page = c.get("/v1/fahras/projects/unsc/queue", params={"offset": 1, "limit": 1}).json()
        assert [d["name"] for d in page["documents"]] == [sources[1].name]
        assert (page["total"], page["offset"], page["limit"]) == (3, 1, 1)
        assert_problem(c.get("/v1/fahras/projects/unsc/queue", params={"limit": 0}), 400)
        assert_problem(c.get("/v1/fahras/projects/unsc/queue", params={"offset": -1}), 400)
        # a file added, one removed: the next listing and lookups see it (the folder's time changed)
        (corpus / sources[3].name).write_bytes(sources[3].read_bytes())
        (corpus / sources[0].name).unlink()
        names = [d["name"] for d in c.get("/v1/fahras/projects/unsc/queue").json()["documents"]]
        assert names == sorted(p.name for p in sources[1:4])
        assert c.get(f"/v1/fahras/documents/{sources[3].stem}").json()["document_id"] == sources[3].stem
        assert_problem(c.get(f"/v1/fahras/documents/{sources[0].stem}"), 404)


def test_corpus_index_keeps_settled_listings_and_rereads_changed_files(tmp_path, monkeypatch):
    import os

    import fahras.batch
    from fahras.service import corpus_index
    from fahras.service.corpus_index import CorpusIndex
    from fahras.text.furniture import find_symbol

    first, second = "S/RES/1001 (2001)", "S/RES/2002 (2002)"
    folder = tmp_path / "docs"
    folder.mkdir()
    doc = folder / "a.txt"
    doc.write_text(f"{first}\nSecurity Council\n", encoding="utf-8")
    assert find_symbol(doc.read_text(encoding="utf-8")) == first
    old = time.time() - 60
    os.utime(doc, (old, old))
    os.utime(folder, (old, old))
    listings, reads = [], []
    real_list, real_read = fahras.batch.documents_in, corpus_index._symbol_of
    monkeypatch.setattr(fahras.batch, "documents_in", lambda f: listings.append(f) or real_list(f))
    monkeypatch.setattr(corpus_index, "_symbol_of", lambda p: reads.append(p) or real_read(p))
    index = CorpusIndex(folder)
    assert index.find("a") == doc and index.find("a.txt") == doc and index.files() == [doc]
    assert len(listings) == 1  # settled: listed once
    assert index.find_symbol(first) == doc and index.find_symbol(first) == doc and len(reads) == 1
    # the file changes (its time is too recent to trust): its symbol is read again, each time
    doc.write_text(f"{second}\nSecurity Council, again\n", encoding="utf-8")
    assert index.find_symbol(second) == doc and index.find_symbol(first) is None and len(reads) == 3
    # a file added: the folder's time changes and the folder is listed again
    (folder / "b.txt").write_text("another\n", encoding="utf-8")
    assert index.find("b") == folder / "b.txt" and len(listings) == 2
    assert CorpusIndex(None).files() == [] and CorpusIndex(tmp_path / "missing").find("a") is None
