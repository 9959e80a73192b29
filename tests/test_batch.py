"""Batch indexing as a library call (fahras.batch), without the command line."""

from __future__ import annotations

import json

import pytest

from fahras import Indexer
from fahras.batch import IndexReport, SuggestionFormatter, index_folder
from fahras.errors import UsageError
from conftest import first_test_documents


@pytest.fixture(scope="module")
def model(trained_model):
    return Indexer.load(trained_model)


@pytest.fixture()
def folder(time_split, tmp_path):
    return first_test_documents(time_split, tmp_path / "in", 4)


def test_decide_batch_chooses_what_suggest_batch_suggests(model, time_split):
    texts = [p.read_text(encoding="utf-8") for p in sorted(time_split[1].iterdir())[:5]]
    for options in ({}, {"limit": 7, "threshold": 0.0}, {"threshold": 0.3}):
        chosen = model.decide_batch(texts, **options)
        suggested = model.suggest_batch(texts, **options)
        assert [[model.subjects_.uris[c] for c in columns] for columns, _ in chosen] == \
            [[s.uri for s in row] for row in suggested]
        assert [scores for _, scores in chosen] == [[s.score for s in row] for row in suggested]


def test_formatter_writes_what_suggestions_say(model, time_split):
    text = sorted(time_split[1].iterdir())[0].read_text(encoding="utf-8")
    columns, scores = model.decide_batch([text], limit=5, threshold=0)[0]
    suggestions = model.suggest(text, limit=5, threshold=0, label_lang="ar")
    lines = SuggestionFormatter(model, "ar", "annif")(columns, scores).splitlines()
    assert lines == [f"<{s.uri}>\t{s.label}\t{s.score:.6f}" for s in suggestions]
    payload = json.loads(SuggestionFormatter(model, "ar", "json")(columns, scores))
    # each result as `fahras suggest --json` writes it: the suggestion's JSON and its local flag
    assert payload == {"results": [{**s.to_dict(), "local": bool(s.local)} for s in suggestions]}
    assert all(isinstance(r["local"], bool) for r in payload["results"])


def test_index_folder_reports_failures_in_document_order_and_skips_done_files(model, folder, tmp_path):
    (folder / "a-broken.txt").write_bytes(b"\xff\xfe bad bytes")
    (folder / "z-empty.txt").write_text("   ", encoding="utf-8")
    out = tmp_path / "out"
    calls = []
    report = index_folder(model, folder, out, limit=3, threshold=0, output_format="json",
                          progress=lambda *args: calls.append(args))
    assert isinstance(report, IndexReport)
    assert report.indexed == 4 and report.skipped == 0
    assert [p.rsplit("/", 1)[-1] for p in report.failures] == ["a-broken.txt", "z-empty.txt"]
    assert all(name in message for name, message in zip(("a-broken.txt", "z-empty.txt"),
                                                        report.failures.values()))
    written = sorted(p for p in out.iterdir() if not p.name.startswith("."))  # not the run manifest
    assert len(written) == 4 and all(len(json.loads(p.read_text())["results"]) == 3 for p in written)
    assert calls[-1] == ("documents", 6, 6)
    again = index_folder(model, folder, out, limit=3, threshold=0, output_format="json")
    assert (again.indexed, again.skipped) == (0, 4) and len(again.failures) == 2


def test_index_folder_refuses_bad_arguments(model, folder, tmp_path):
    with pytest.raises(FileNotFoundError, match="folder not found"):
        index_folder(model, tmp_path / "missing", tmp_path / "out")
    with pytest.raises(UsageError, match="output format"):
        index_folder(model, folder, tmp_path / "out", output_format="xml")
    with pytest.raises(UsageError, match="label language"):
        index_folder(model, folder, tmp_path / "out", label_lang="de")
    with pytest.raises(UsageError, match="document language"):
        index_folder(model, folder, tmp_path / "out", lang="de")
    assert not (tmp_path / "out").exists()
    with pytest.raises(UsageError, match="document language"):
        model.decide_batch(["The Security Council"], lang="de")


def test_write_atomic_replaces_whole_files_and_leaves_no_temporary_file(tmp_path):
    from fahras.batch import write_atomic

    target = tmp_path / "doc.annif"
    write_atomic(target, "first\n")
    write_atomic(str(target), "صندوق\t0.5\n" * 1000)  # a str path too, replacing the first
    assert target.read_text(encoding="utf-8") == "صندوق\t0.5\n" * 1000
    blocked = tmp_path / "blocked.annif"
    blocked.mkdir()  # a folder where the file should go: the rename fails
    with pytest.raises(OSError):
        write_atomic(blocked, "lost\n")
    assert blocked.is_dir() and sorted(p.name for p in tmp_path.iterdir()) == ["blocked.annif", "doc.annif"]


@pytest.mark.parametrize("background", [False, True])
def test_writer_writes_every_file_of_a_chunk_and_reports_each_failure(tmp_path, background):
    from fahras.batch import _Writer

    (tmp_path / "blocked.annif").mkdir()  # a folder where a file should go
    files = [(f"doc{i}.txt", str(tmp_path / name), f"text {i}\n")
             for i, name in enumerate(["a.annif", "blocked.annif", "c.annif"])]
    writer = _Writer(background=background)
    now = writer.write(files)
    assert writer.write([]) == []
    late = writer.close()
    failed = [(doc, msg) for (doc, _, _), msg in zip(files, now) if msg is not None] + late
    assert [doc for doc, _ in failed] == ["doc1.txt"] and "cannot write its suggestions" in failed[0][1]
    assert now == ([None] * 3 if background else [None, failed[0][1], None])
    assert (tmp_path / "a.annif").read_text() == "text 0\n" and (tmp_path / "c.annif").read_text() == "text 2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.annif", "blocked.annif", "c.annif"]
