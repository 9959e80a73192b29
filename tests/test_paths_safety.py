"""Names that come from data never write outside the output folder, nor onto each other.

Every writer that names files from data, one test per kind of hostile name:
``../``, absolute paths, NUL bytes, Windows device names, names over 255
bytes (multibyte), and names that differ only in case (which one file would
hold on a case-insensitive file system).  Writers:

* ``export`` -- :func:`fahras.corpus.unexport.write_export` (document id);
* ``feedback`` -- ``FeedbackStore.export`` (``fahras feedback export``; document id);
* ``corpus`` -- the connectors' :class:`CorpusWriter` (``fahras corpus import/harvest``; record symbol);
* ``download`` -- the connectors' stored name of a downloaded full text (the 856 link's file name);
* ``index`` -- ``fahras index`` (:func:`fahras.batch.index_folder`; input file names; only names a
  file can have on Linux apply).

For each: every input gets its own file, inside the folder, with a portable
name (:func:`fahras.store.names.is_portable`), and nothing appears elsewhere.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from fahras.store.names import NameSet, is_portable, portable_name

ESCAPE = f"fahras-escape-{uuid.uuid4().hex[:8]}"
CASES = {
    "dotdot": ["../" + ESCAPE, "../../" + ESCAPE, "a/../../" + ESCAPE, "..", "."],
    "absolute": ["/tmp/" + ESCAPE, "C:\\Windows\\" + ESCAPE, "\\\\server\\share\\" + ESCAPE, "/"],
    "nul": ["a\x00b", "\x00", "ok\x00/../" + ESCAPE],
    "reserved": ["CON", "nul", "COM1", "lpt9.txt", "AUX.tar", "con ", "PRN.", "CONOUT$"],
    "long": ["é" * 200, "文" * 100, "a" * 300, "文" * 83 + "ab"],
    "case": ["Report", "report", "REPORT", "Straße", "STRASSE"],
}


def _export(names, out, tmp_path):
    from fahras import Document
    from fahras.corpus.unexport import write_export

    out.mkdir()
    return [write_export(Document(name, f"number {i}", ("X",)), out) for i, name in enumerate(names)]


def _feedback(names, out, tmp_path):
    from fahras.feedback import Decision, FeedbackStore

    uri = "http://metadata.un.org/thesaurus/1000"
    with FeedbackStore(f"sqlite:///{tmp_path / 'fb.db'}") as store:
        for i, name in enumerate(names):
            store.add(Decision(document_id=name, accepted=[uri], rejected=[], added=[], project="p", language="en",
                               text=f"number {i}", shown=[], model_version="m", indexer="x", symbol=name))
        report = store.export(out)
    assert report.written == len(names)
    by_text = {p.read_text(encoding="utf-8").split("\n\n", 1)[1]: p for p in report.files}
    return [by_text[f"number {i}"] for i in range(len(names))]


def _corpus(names, out, tmp_path):
    from fahras.connectors.build import CorpusWriter, SubjectResolver
    from fahras.corpus.marcxml import MarcRecord, Subject

    writer = CorpusWriter(out, SubjectResolver(None, {}))
    paths = []
    for i, name in enumerate(names):
        record = MarcRecord(record_id=str(i), symbols=(name,), title=f"number {i}", subjects=(Subject("PEACE"),))
        entry = writer.add(record, lambda record, link: (None, "missing"))
        [document] = entry["documents"]
        paths.append(writer.documents / document)
    return paths


def _download(names, out, tmp_path):
    from fahras.connectors.build import stored_file_name
    from fahras.corpus.marcxml import FileLink

    out.mkdir()
    paths = []
    for i, name in enumerate(names):
        path = out / stored_file_name(FileLink(url="http://x/" + quote(name, safe=""), lang="en"))
        assert not path.exists(), f"{name!r} would overwrite {path.name}"
        path.write_text(f"number {i}")
        paths.append(path)
    return paths


def _index(names, out, tmp_path, model):
    from fahras.batch import index_folder

    folder = tmp_path / "in"
    folder.mkdir()
    for i, name in enumerate(names):
        (folder / (name + ".txt")).write_text(f"Security Council peacekeeping number {i}", encoding="utf-8")
    report = index_folder(model, folder, out, output_format="annif,json")
    assert report.failures == {} and report.indexed == len(names)
    from fahras.batch import output_stems

    stems = output_stems(sorted(folder.iterdir()))
    return [out / (stems[folder / (name + ".txt")] + ".annif") for name in names]


WRITERS = {"export": _export, "feedback": _feedback, "corpus": _corpus, "download": _download, "index": _index}


def _file_name_on_linux(name: str) -> bool:
    return "/" not in name and "\x00" not in name and name not in ("", ".", "..") and \
        len((name + ".txt").encode()) <= 255


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    from fahras import Document, Indexer
    from fahras.vocab import Concept, Vocabulary

    uris = [f"http://x/{n}" for n in range(3)]
    vocab = Vocabulary([Concept(u, str(n), {"en": label}) for n, (u, label)
                        in enumerate(zip(uris, ["PEACEKEEPING", "SECURITY", "COUNCIL"]))])
    docs = [Document(f"d{i}", f"peacekeeping security council text {i} " * 3, (uris[i % 3],)) for i in range(12)]
    return Indexer(backend="tfidf-linear", cv_folds=0, analyzer="en").fit(docs, vocab)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("writer", list(WRITERS))
def test_names_from_data_stay_in_the_folder_and_apart(writer, case, tmp_path, request):
    names = CASES[case]
    if writer == "index":
        names = [n for n in names if _file_name_on_linux(n)]
        if len(names) < 1 or (case == "case" and len(names) < 2):
            pytest.skip("no such file name can exist on Linux")
        args = (request.getfixturevalue("small_model"),)
    else:
        args = ()
    root = tmp_path / "root"
    root.mkdir()
    out = root / "out"
    before = set(Path("/tmp").iterdir())
    paths = WRITERS[writer](names, out, root, *args)
    assert len(paths) == len(names)
    inside = out.resolve()
    for path in paths:
        real = path.resolve()
        assert inside in real.parents, (path, "escapes the output folder")
        assert path.is_file() and is_portable(path.name, 255), path.name
    # each input its own file, even ignoring case (a case-insensitive file system)
    assert len({p.name.casefold() for p in paths}) == len(names), [p.name for p in paths]
    if writer == "index":  # suggestions do not quote the text: count the files of each format instead
        for suffix in (".annif", ".json"):
            assert len([p for p in out.iterdir() if p.suffix == suffix and not p.name.startswith(".")]) == len(names)
    else:
        for i, path in enumerate(paths):
            assert f"number {i}" in path.read_text(encoding="utf-8")
    # nothing was written outside: neither beside the output folder nor in /tmp
    assert {p.name for p in root.iterdir()} <= {"out", "in", "fb.db"}
    assert [p.name for p in tmp_path.iterdir()] == ["root"]
    assert not [p for p in set(Path("/tmp").iterdir()) - before if ESCAPE in p.name]
    assert not list(Path("/").glob(ESCAPE + "*"))


# -- the shared helper itself ------------------------------------------------------------------
@pytest.mark.parametrize("name", [n for names in CASES.values() for n in names])
def test_portable_name_is_portable_and_keeps_plain_names(name):
    made = portable_name(name, ".txt")
    assert is_portable(made) and "/" not in made and "\x00" not in made
    assert portable_name("S_RES_1 (2005)", ".txt") == "S_RES_1 (2005).txt"
    assert portable_name("قرار مجلس الأمن", ".annif") == "قرار مجلس الأمن.annif"


def test_name_set_keeps_names_apart_ignoring_case_and_normal_form():
    names = NameSet()
    got = [names.claim(n, ".txt") for n in ["Report", "report", "REPORT", "e\u0301t\u00e9", "\u00e9t\u00e9"]]
    assert got[0] == "Report.txt" and len({g.casefold() for g in got}) == 5
    assert got[1] == "report-2.txt" and got[2] == "REPORT-3.txt"
