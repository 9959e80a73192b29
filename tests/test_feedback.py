"""The feedback store: round trips, migrations, concurrent writers, export, statistics.

Every store test runs against SQLite, and against PostgreSQL when
``FAHRAS_TEST_POSTGRES_URL`` is set (``.ci/run`` starts a throw-away cluster:
``scripts/ci-postgres.sh``).  Under CI (``CI=true``) a missing PostgreSQL is
a failure, not a skip.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from fahras.errors import InputError, UsageError
from fahras.feedback import Decision, FeedbackStore, ShownSuggestion

PG_URL = os.environ.get("FAHRAS_TEST_POSTGRES_URL")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ROOT = Path(__file__).resolve().parents[1]

A, B, C, D = (f"http://metadata.un.org/thesaurus/{n}" for n in ("1000", "2000", "3000", "4000"))


def _reset_postgres(url: str) -> None:
    """Drop the tables of earlier tests: each test starts from an empty database."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        for table in ("fahras_shown_suggestions", "fahras_decision_subjects", "fahras_decisions",
                      "fahras_alembic_version"):
            connection.execute(text(f"DROP TABLE IF EXISTS {table} CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'feedback.db'}"
    if not PG_URL:
        if IN_CI:
            pytest.fail("FAHRAS_TEST_POSTGRES_URL is not set under CI: scripts/ci-postgres.sh did not start "
                        "PostgreSQL")
        pytest.skip("FAHRAS_TEST_POSTGRES_URL not set (bash scripts/ci-postgres.sh -- pytest ... to run these)")
    _reset_postgres(PG_URL)
    return PG_URL


@pytest.fixture
def store(db_url):
    s = FeedbackStore(db_url)
    yield s
    s.close()


def decision(doc="S/RES/1 (2005)", accepted=(A,), rejected=(B,), added=(C,), **kw) -> Decision:
    defaults = dict(project="unsc", language="en", text=f"Text of {doc}.\nThe Security Council...",
                    shown=[ShownSuggestion(A, "PEACEKEEPING", 0.91, 1), ShownSuggestion(B, "SUDAN", 0.42, 2)],
                    model_version="2026-12-05T10:00:00+00:00", indexer="amina", symbol=doc)
    defaults.update(kw)
    return Decision(document_id=doc, accepted=list(accepted), rejected=list(rejected), added=list(added),
                    **defaults)


# -- round trips -----------------------------------------------------------------
def test_round_trip_keeps_every_field(store):
    before = datetime.now(timezone.utc)
    d = decision(labels={C: "WOMEN"}, text_path="/data/S_RES_1.txt")
    new_id = store.add(d)
    assert d.id == new_id and d.created_at is not None
    [back] = list(store.decisions())
    assert back.id == new_id
    assert (back.project, back.document_id, back.symbol, back.language) == ("unsc", "S/RES/1 (2005)",
                                                                             "S/RES/1 (2005)", "en")
    assert (back.accepted, back.rejected, back.added) == ([A], [B], [C])
    assert back.subjects == [A, C]
    assert back.shown == d.shown
    assert back.text == d.text and back.text_path == "/data/S_RES_1.txt"
    assert back.labels == {C: "WOMEN"}
    assert (back.indexer, back.source, back.model_version) == ("amina", "decision", d.model_version)
    assert back.created_at.tzinfo is not None
    assert before - timedelta(seconds=5) <= back.created_at <= datetime.now(timezone.utc) + timedelta(seconds=5)
    assert len(back.text_sha256) == 64


def test_unicode_order_and_projects(store):
    ids = store.add_many([
        decision("A/RES/70/1", accepted=[D, A], rejected=[], added=[], text="القرار ٧٠/١ 决议 résolution"),
        decision("S/RES/2", project="ga", source="learn", indexer=None),
    ])
    assert ids == sorted(ids) and len(set(ids)) == 2
    first, second = store.decisions()
    assert first.accepted == [D, A]  # the order given is kept
    assert first.text == "القرار ٧٠/١ 决议 résolution"
    assert [d.document_id for d in store.decisions("ga")] == ["S/RES/2"]
    assert second.source == "learn" and second.indexer is None


def test_find_document_by_id_or_symbol_latest_first(store):
    store.add(decision("doc-1", symbol="S/RES/1 (2005)", accepted=[A]))
    store.add(decision("doc-1", symbol="S/RES/1 (2005)", accepted=[D], rejected=[], added=[]))
    assert store.find_document("doc-1").accepted == [D]
    assert store.find_document("S/RES/1 (2005)").accepted == [D]
    assert store.find_document("nothing") is None
    assert [d.accepted for d in store.latest_decisions()] == [[D]]


def test_bad_decisions_are_refused_and_nothing_is_written(store):
    with pytest.raises(InputError, match="document_id"):
        store.add(decision(""))
    with pytest.raises(InputError, match="both rejected"):
        store.add(decision(accepted=[A], rejected=[A]))
    with pytest.raises(InputError, match="source"):
        store.add(decision(source="guess"))
    with pytest.raises(InputError, match="list of subject URIs"):
        store.add(decision(added=[""]))
    with pytest.raises(InputError):  # all or none
        store.add_many([decision("ok"), decision("")])
    assert list(store.decisions()) == []


def test_store_text_false_keeps_a_hash_and_a_path(db_url, tmp_path):
    source = tmp_path / "doc.txt"
    source.write_text("The full text of the resolution.", encoding="utf-8")
    with FeedbackStore(db_url, store_text=False) as store:
        store.add(decision("kept", text=source.read_text(encoding="utf-8"), text_path=str(source)))
        store.add(decision("gone", text="Another text.", text_path=str(tmp_path / "missing.txt")))
        kept = store.find_document("kept")
        assert kept.text is None and kept.text_path == str(source)
        import hashlib

        assert kept.text_sha256 == hashlib.sha256(b"The full text of the resolution.").hexdigest()
        report = store.export(tmp_path / "corpus")
        assert (report.written, report.skipped_without_text) == (1, 1)
        source.write_text("Changed since.", encoding="utf-8")  # a changed file is not the decided text
        report = store.export(tmp_path / "corpus2")
        assert (report.written, report.skipped_without_text) == (0, 2)


# -- schema ----------------------------------------------------------------------
def test_migrations_create_the_schema_the_models_describe(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine, inspect

    from fahras.feedback.schema import VERSION_TABLE, Base

    with FeedbackStore(db_url) as store:
        assert store.schema_revision() == "0001"
    engine = create_engine(db_url)
    with engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        assert {"fahras_decisions", "fahras_decision_subjects", "fahras_shown_suggestions", VERSION_TABLE} <= tables
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_reopening_keeps_the_data_and_migrates_nothing(db_url):
    with FeedbackStore(db_url) as store:
        store.add(decision())
    with FeedbackStore(db_url) as store:
        assert store.schema_revision() == "0001"
        assert len(list(store.decisions())) == 1


def test_sqlite_file_is_created_in_wal_mode(tmp_path):
    path = tmp_path / "new" / "sub" / "f.db"
    with FeedbackStore(f"sqlite:///{path}") as store:
        store.add(decision())
    assert path.is_file()
    import sqlite3

    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    connection.close()


def test_bad_urls_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="not a database URL"):
        FeedbackStore("no url at all")
    with pytest.raises(UsageError, match="unsupported database"):
        FeedbackStore("mysql://localhost/x")
    with pytest.raises(UsageError, match="cannot open the feedback database"):
        FeedbackStore("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")


# -- concurrency -----------------------------------------------------------------
_WRITER = """
import sys
from fahras.feedback import Decision, FeedbackStore
store = FeedbackStore(sys.argv[1])
for n in range(int(sys.argv[3])):
    store.add(Decision("p", f"{sys.argv[2]}-{n}", "en", ["http://x/a"], [], [], text="t" * 2000))
store.close()
"""


def test_concurrent_writers_threads_and_processes(db_url):
    per_writer = 60
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, db_url, f"proc{k}", str(per_writer)],
                              stderr=subprocess.PIPE) for k in range(2)]
    store = FeedbackStore(db_url)
    errors: list[BaseException] = []

    def write(name: str) -> None:
        try:
            for n in range(per_writer):
                store.add(decision(f"{name}-{n}"))
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(f"thread{k}",)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in procs:
        _, stderr = p.communicate(timeout=120)
        assert p.returncode == 0, stderr.decode()
    assert not errors, errors
    ids = [d.id for d in store.decisions()]
    names = {d.document_id for d in store.decisions()}
    store.close()
    assert len(ids) == len(set(ids)) == 4 * per_writer
    assert names == {f"{w}{k}-{n}" for w in ("proc", "thread") for k in range(2) for n in range(per_writer)}


# -- export and statistics ---------------------------------------------------------
def test_export_is_a_corpus_read_corpus_reads(store, tmp_path):
    from fahras import read_corpus
    from fahras.vocab import Concept, Vocabulary

    store.add(decision("S/RES/1 (2005)", accepted=[A], added=[C], labels={C: "WOMEN"}))
    store.add(decision("S/RES/1 (2005)", accepted=[A, D], added=[], rejected=[C]))  # the latest wins
    store.add(decision("../../etc/passwd", accepted=[], added=[D], rejected=[],
                       shown=[ShownSuggestion(D, "HUMAN | RIGHTS\n", 0.3, 1)]))
    store.add(decision("s_res_2", accepted=[A]))
    store.add(decision("S.RES.2", accepted=[A]))
    store.add(decision("no-text", text=None))
    store.add(decision("no-subjects", accepted=[], added=[], rejected=[A]))
    vocab = Vocabulary([Concept(A, "1000", {"en": "PEACEKEEPING", "fr": "MAINTIEN DE LA PAIX"})])
    out = tmp_path / "corpus"
    report = store.export(out, vocab=vocab)
    assert (report.written, report.skipped_without_text, report.skipped_without_descriptors) == (4, 1, 1)
    assert sorted(p.parent for p in report.files) == [out] * 4  # no path escapes the folder
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left
    docs = {d.text.split("\n")[0]: d for d in read_corpus(out)}
    first = docs["Text of S/RES/1 (2005)."]
    assert first.subjects == ("PEACEKEEPING", D)  # vocabulary label, else the URI
    assert first.text == "Text of S/RES/1 (2005).\nThe Security Council..."
    assert docs["Text of ../../etc/passwd."].subjects == ("HUMAN RIGHTS",)  # separators removed
    assert len({p.name.lower() for p in report.files}) == 4
    again = store.export(out, vocab=vocab)  # re-export: the same files, replaced
    assert sorted(again.files) == sorted(report.files) and len(list(out.iterdir())) == 4


def test_export_of_a_project_only(store, tmp_path):
    store.add(decision("one", project="ga"))
    store.add(decision("two", project="unsc"))
    report = store.export(tmp_path / "ga", project="ga")
    assert [p.name for p in report.files] == ["one.txt"]


def test_stats_counts_per_descriptor_and_indexer(store):
    store.add(decision("1", accepted=[A], rejected=[B], added=[C], indexer="amina"))
    store.add(decision("2", accepted=[A, C], rejected=[], added=[], indexer="amina"))
    store.add(decision("3", accepted=[], rejected=[A], added=[D], indexer="li", project="ga"))
    stats = store.stats()
    assert (stats.decisions, stats.documents, stats.projects) == (3, 3, {"unsc": 2, "ga": 1})
    by_uri = {d.uri: d for d in stats.descriptors}
    assert (by_uri[A].accepted, by_uri[A].rejected, by_uri[A].added) == (2, 1, 0)
    assert (by_uri[C].accepted, by_uri[C].added) == (1, 1)
    assert by_uri[A].label == "PEACEKEEPING"  # the label shown with the suggestion
    assert stats.descriptors[0].uri == A
    by_who = {i.indexer: i for i in stats.indexers}
    assert (by_who["amina"].decisions, by_who["amina"].accepted, by_who["amina"].added) == (2, 3, 1)
    assert (by_who["li"].rejected, by_who["li"].added) == (1, 1)
    assert store.stats("ga").decisions == 1


# -- command line ----------------------------------------------------------------
def fahras(*args):
    return subprocess.run([sys.executable, "-m", "fahras", *map(str, args)], capture_output=True, timeout=300)


def test_cli_export_and_stats(tmp_path):
    url = f"sqlite:///{tmp_path / 'f.db'}"
    with FeedbackStore(url) as store:
        store.add(decision("S/RES/9", accepted=[A], labels={A: "PEACEKEEPING"}))
        store.add(decision("S/RES/10", text=None))
    result = fahras("feedback", "export", "--db", url, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr.decode()
    assert "exported 1 documents" in result.stderr.decode()
    assert "skipped 1 documents whose text is not stored" in result.stderr.decode()
    [path] = (tmp_path / "out").iterdir()
    assert path.read_text(encoding="utf-8").startswith(f"%%%PEACEKEEPING|{C}|\n\nText of S/RES/9.")
    result = fahras("feedback", "stats", "--db", url, "--json")
    assert result.returncode == 0, result.stderr.decode()
    data = json.loads(result.stdout)
    assert data["decisions"] == 2 and data["indexers"][0]["indexer"] == "amina"
    result = fahras("feedback", "stats", "--db", url)
    assert result.returncode == 0 and "amina" in result.stdout.decode()
    result = fahras("feedback", "stats", "--db", "oracle://x")
    assert result.returncode == 64 and "Traceback" not in result.stderr.decode()


def test_under_ci_a_missing_postgresql_fails_instead_of_skipping(tmp_path):
    import os as _os

    env = {k: v for k, v in _os.environ.items() if k != "FAHRAS_TEST_POSTGRES_URL"}
    env["CI"] = "true"
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             f"{Path(__file__)}::test_reopening_keeps_the_data_and_migrates_nothing"],
                            capture_output=True, timeout=300, env=env, cwd=ROOT)
    output = result.stdout.decode()
    assert result.returncode == 1, output
    assert "1 passed, 1 error" in output and "FAHRAS_TEST_POSTGRES_URL is not set under CI" in output
