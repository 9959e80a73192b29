"""Property-based fuzzing of the MARCXML reader (:mod:`fahras.corpus.marcxml`).

Generated collections of bibliographic records (with or without the MARC
namespace, wrapped or not, with odd field values), then the same bytes
truncated, re-encoded, given a DTD (entity expansion, external entities),
nested deeply or replaced by random bytes.  Whatever the bytes, the reader
gives records or one :class:`InputError` naming the file (and line); the
records before a damaged spot are given first.  A well-formed generated file
gives exactly the generated records.

Profiles ``fuzz`` (default run) and ``fuzz-long`` (slow): see ``robust_support``.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fahras import InputError
from fahras.corpus.marcxml import MarcRecord, iter_marcxml_bytes, read_marcxml

from robust_support import FUZZ, FUZZ_LONG

ENCODINGS = ["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16", "utf-16-le", "utf-16-be", "cp500"]
value = st.text(alphabet=st.sampled_from('AB é/.()-_ ÉñЖ中ع<>&"\'\t\n'), max_size=12)
record = st.fixed_dictionaries({
    "id": st.text(alphabet="0123456789", max_size=6),
    "symbols": st.lists(value, max_size=2),
    "title": value,
    "subjects": st.lists(st.tuples(value, st.sampled_from(["", "(DHLAUTH)12", "http://x/1", "(X)"])), max_size=3),
    "files": st.lists(st.tuples(st.sampled_from(["http://x/A_RES_1-EN.pdf", "http://x/%2e%2e/b-FR.pdf", "", "x"]),
                                st.sampled_from(["", "12", "-1", "99999999999999999999"])), max_size=2),
})
layout = st.fixed_dictionaries({"ns": st.sampled_from(["", "default", "prefix"]),
                                "wrapper": st.sampled_from(["collection", "response", ""]),
                                "total": st.booleans()})
NS = "http://www.loc.gov/MARC21/slim"


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def to_marcxml(records, form) -> str:
    p = "marc:" if form["ns"] == "prefix" else ""
    decl = {"": "", "default": f' xmlns="{NS}"', "prefix": f' xmlns:marc="{NS}"'}[form["ns"]]

    def field(tag, subs):
        inner = "".join(f'<{p}subfield code="{code}">{_esc(v)}</{p}subfield>' for code, v in subs)
        return f'<{p}datafield tag="{tag}" ind1=" " ind2=" ">{inner}</{p}datafield>'

    body = []
    for r in records:
        parts = [f'<{p}controlfield tag="001">{r["id"]}</{p}controlfield>']
        parts += [field("191", [("a", s)]) for s in r["symbols"]]
        parts.append(field("245", [("a", r["title"])]))
        parts += [field("650", [("a", label), *([("0", ref)] if ref else []), ("2", "unbist")])
                  for label, ref in r["subjects"]]
        parts += [field("856", [("u", url), ("s", size)]) for url, size in r["files"]]
        body.append(f"<{p}record>" + "".join(parts) + f"</{p}record>")
    comment = "<!-- Search-Engine-Total-Number-Of-Results: 7 -->\n" if form["total"] else ""
    if form["wrapper"]:
        inner = "".join(body)
        if form["wrapper"] == "response":
            inner = f"<total>{len(records)}</total><{p}collection{decl}>{inner}</{p}collection>"
            return f'<?xml version="1.0" encoding="UTF-8"?>\n{comment}<response>{inner}</response>\n'
        return f'<?xml version="1.0" encoding="UTF-8"?>\n{comment}<{p}collection{decl}>{inner}</{p}collection>\n'
    if len(body) != 1:
        body = body[:1] or ["<record/>"]
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{comment}' + body[0].replace(f"<{p}record>", f"<{p}record{decl}>", 1)


def _norm(text: str) -> str:
    return " ".join(text.split())


def _read(raw: bytes, name: str):
    """(records, error): the records read before an error, and the error (None if the file is read whole)."""
    out, error = [], None
    start = time.perf_counter()
    try:
        for rec in iter_marcxml_bytes(raw, name):
            out.append(rec)
    except InputError as exc:
        assert exc.path == name and name in str(exc)
        assert exc.line is None or exc.line >= 1
        error = exc
    assert time.perf_counter() - start < 20  # a few KB: anything near this is a blow-up
    return out, error


def _check_generated(records, form):
    text = to_marcxml(records, form)
    got, error = _read(text.encode("utf-8"), "gen.xml")
    assert error is None, error
    if not form["wrapper"]:
        records = records[:1]
    got = [r for r in got if isinstance(r, MarcRecord)]
    assert len(got) == len(records)
    for rec, want in zip(got, records):
        assert rec.record_id == want["id"]
        assert list(rec.symbols) == list(dict.fromkeys(s for s in map(_norm, want["symbols"]) if s))
        assert [s.label for s in rec.subjects] == [_norm(label) for label, _ in want["subjects"] if _norm(label)]


@FUZZ
@given(st.lists(record, min_size=1, max_size=4), layout)
def test_generated_marcxml_gives_its_records(records, form):
    _check_generated(records, form)


def _dtd(kind: str) -> str:
    if kind == "laughs":
        ents = ['<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">'] + [
            f'<!ENTITY {b} "{("&" + a + ";") * 20}">' for a, b in zip("abcdef", "bcdefg")]
        return "<!DOCTYPE collection [" + "".join(ents) + "]>"
    if kind == "external":
        return '<!DOCTYPE collection [<!ENTITY ext SYSTEM "file:///etc/passwd">]>'
    return "<!DOCTYPE collection>"


mutated = st.one_of(
    st.binary(max_size=400),
    st.builds(lambda rs, f, enc, cut: to_marcxml(rs, f).encode(enc, "replace")[:cut],
              st.lists(record, max_size=3), layout, st.sampled_from(ENCODINGS), st.integers(0, 1500)),
    st.builds(lambda rs, f, kind, enc: to_marcxml(rs, f).replace(
        "?>\n", "?>\n" + _dtd(kind), 1).replace("</record>", "&g;&ext;</record>" if kind != "doctype" else "</record>", 1
                                                 ).encode(enc, "replace"),
              st.lists(record, min_size=1, max_size=2), layout, st.sampled_from(["laughs", "external", "doctype"]),
              st.sampled_from(ENCODINGS)),
    st.builds(lambda depth, tag: (b"<collection>" + f"<{tag}>".encode() * depth + f"</{tag}>".encode() * depth
                                  + b"</collection>"),
              st.integers(0, 3000), st.sampled_from(["x", "record", "datafield"])),
)


def _check_mutated(raw, tmp_path_factory, via_file: bool):
    got, error = _read(raw, "m.xml")
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        assert error is not None and not any(r for r in got if "aaaa" in getattr(r, "title", ""))
    if via_file:  # the path-level reader: same records, errors name the path
        path = tmp_path_factory.mktemp("marc") / "m.xml"
        path.write_bytes(raw)
        again = []
        try:
            again.extend(read_marcxml(path))
        except InputError as exc:
            assert exc.path == str(path)
            assert error is not None and exc.reason == error.reason
        assert again == [r.__class__(**{**r.__dict__, "source": str(path)}) for r in got]


@FUZZ
@given(mutated)
def test_marcxml_reader_never_crashes(tmp_path_factory, raw):
    _check_mutated(raw, tmp_path_factory, via_file=True)


@pytest.mark.slow
@FUZZ_LONG
@given(mutated, st.lists(record, min_size=1, max_size=4), layout)
def test_marcxml_reader_long(tmp_path_factory, raw, records, form):
    _check_mutated(raw, tmp_path_factory, via_file=True)
    _check_generated(records, form)
