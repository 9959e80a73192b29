"""Regression tests of what fuzzing and hand-made attacks found in the SKOS and MARCXML readers.

Each test names the problem it pins down (see docs/robustness.md).
"""

from __future__ import annotations

import json
import logging
import socket
import time

import pytest

from fahras import InputError, load_vocabulary
from fahras.corpus.marcxml import MAX_DEPTH, iter_marcxml_bytes

from robust_support import baseline_mb, run_measured

SKOS_NS = "http://www.w3.org/2004/02/skos/core#"
RDF_HEAD = ('<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            f'xmlns:skos="{SKOS_NS}">')
LAUGHS = ('<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">'
          + "".join(f'<!ENTITY {b} "{("&" + a + ";") * 20}">' for a, b in zip("abcdef", "bcdefg")))


@pytest.fixture
def listener():
    """A TCP port on 127.0.0.1 that records whether anything connected to it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.5)
    yield server
    server.close()


def _connected(server) -> bool:
    try:
        conn, _ = server.accept()
    except (socket.timeout, OSError):
        return False
    conn.close()
    return True


def _rdf(tmp_path, dtd: str, label: str, name: str = "v.rdf"):
    path = tmp_path / name
    path.write_text(f'<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [{dtd}]>\n{RDF_HEAD}\n'
                    f'<skos:Concept rdf:about="http://x/1"><skos:prefLabel xml:lang="en">{label}</skos:prefLabel>'
                    "</skos:Concept></rdf:RDF>\n", encoding="utf-8")
    return path


def test_skos_billion_laughs_is_refused_at_once(tmp_path):
    # Before: rdflib's RDF/XML parser expanded it for minutes (over 100 s of CPU, no end in sight).
    path = _rdf(tmp_path, LAUGHS, "&g;")
    start = time.perf_counter()
    with pytest.raises(InputError, match=r"v\.rdf:\d+: refusing RDF/XML with the entity &b;"):
        load_vocabulary(path)
    assert time.perf_counter() - start < 5


def test_skos_external_entities_are_refused_and_never_fetched(tmp_path, listener):
    port = listener.getsockname()[1]
    path = _rdf(tmp_path, f'<!ENTITY web SYSTEM "http://127.0.0.1:{port}/x"><!ENTITY f SYSTEM "/etc/passwd">',
                "A&web;&f;")
    with pytest.raises(InputError, match="external entity &web;"):
        load_vocabulary(path)
    assert not _connected(listener)


def test_skos_plain_internal_entities_of_owl_files_still_load(tmp_path):
    path = _rdf(tmp_path, '<!ENTITY x "http://x/">', "WATER")
    path.write_text(path.read_text().replace('rdf:about="http://x/1"', 'rdf:about="&x;1"'))
    vocab = load_vocabulary(path)
    assert [c.uri for c in vocab] == ["http://x/1"] and vocab.get("http://x/1").labels == {"en": "WATER"}


def test_skos_remote_jsonld_context_is_refused_and_never_fetched(tmp_path, listener):
    # Before: rdflib downloaded the context (a network fetch at run time, from a data file).
    port = listener.getsockname()[1]
    path = tmp_path / "v.jsonld"
    path.write_text(json.dumps({"@context": f"http://127.0.0.1:{port}/ctx.jsonld", "@id": "http://x/1",
                                "@type": SKOS_NS + "Concept"}))
    with pytest.raises(InputError, match="refusing the remote JSON-LD context"):
        load_vocabulary(path)
    assert not _connected(listener)
    inline = tmp_path / "w.jsonld"
    inline.write_text(json.dumps({"@context": {"skos": SKOS_NS}, "@id": "http://x/1", "@type": "skos:Concept",
                                  "skos:prefLabel": {"@value": "WATER", "@language": "en"}}))
    assert load_vocabulary(inline).get("http://x/1").labels == {"en": "WATER"}


def test_skos_wrong_encoding_names_the_line(tmp_path):
    path = tmp_path / "v.ttl"
    path.write_bytes(f"@prefix skos: <{SKOS_NS}> .\n<http://x/1> a skos:Concept ;\n"
                     ' skos:prefLabel "CAFÉ"@en .\n'.encode("cp1252"))
    with pytest.raises(InputError, match=r"v\.ttl:3: not valid UTF-8.*Windows-1252"):
        load_vocabulary(path)
    path.write_bytes(path.read_bytes().decode("cp1252").encode("utf-16"))
    with pytest.raises(InputError, match=r"v\.ttl:1: the file is UTF-16"):
        load_vocabulary(path)


def test_skos_deep_nesting_is_one_error(tmp_path):
    path = tmp_path / "v.ttl"
    path.write_text(f"@prefix skos: <{SKOS_NS}> .\n<http://x/1> skos:related " + "[ skos:related " * 50_000
                    + "<http://x/2>" + " ]" * 50_000 + " .\n")
    with pytest.raises(InputError, match="v.ttl"):
        load_vocabulary(path)


def test_skos_warns_about_labels_languages_and_cycles(tmp_path, caplog):
    # Before: the SKOS reader ran none of the checks the JSON and table readers run.
    path = tmp_path / "v.ttl"
    path.write_text(f"@prefix skos: <{SKOS_NS}> .\n"
                    '<http://x/1> a skos:Concept ; skos:prefLabel "WATER"@en, "WATERS"@en, "WASSER"@de ;'
                    " skos:broader <http://x/2> .\n"
                    "<http://x/2> a skos:Concept ; skos:broader <http://x/1> .\n"
                    '<http://x/1> skos:prefLabel "EAU"@fr .\n', encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="fahras.vocab"):
        vocab = load_vocabulary(path)
    assert vocab.get("http://x/1").labels == {"en": "WATER", "fr": "EAU"}
    log = "\n".join(r.getMessage() for r in caplog.records)
    assert "http://x/1 has 2 preferred labels in 'en' ('WATER', 'WATERS'); the first is kept" in log
    assert "other than the six UN ones ignored: de" in log
    assert "http://x/2 has no label" in log
    assert "broader/narrower cycle: http://x/1 -> http://x/2 -> http://x/1" in log
    assert all(r.getMessage().startswith(str(path)) for r in caplog.records)


# -- MARCXML --------------------------------------------------------------------------------
RECORD = '<collection><record><controlfield tag="001">1</controlfield></record></collection>'


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_marcxml_in_utf16_is_refused_before_its_dtd_is_read(encoding):
    # Before: the DTD scan looked for ASCII bytes, so a UTF-16 file's DTD reached expat.
    raw = (f'<?xml version="1.0" encoding="{encoding.split("-")[0].upper()}"?>'
           f'<!DOCTYPE collection [{LAUGHS}]>{RECORD}').encode(encoding)
    with pytest.raises(InputError, match=r"^f\.xml:1: MARCXML in UTF-16 or UTF-32 is not read"):
        list(iter_marcxml_bytes(raw, "f.xml"))


def test_marcxml_in_an_ebcdic_encoding_is_refused():
    raw = b'<?xml version="1.0" encoding="cp500"?>' + f"<!DOCTYPE collection [{LAUGHS}]>{RECORD}".encode("cp500")
    with pytest.raises(InputError, match="encoding 'cp500' is not read"):
        list(iter_marcxml_bytes(raw, "f.xml"))
    latin = '<?xml version="1.0" encoding="ISO-8859-1"?>' + RECORD.replace(">1<", ">é<")
    assert [r.record_id for r in iter_marcxml_bytes(latin.encode("latin-1"), "f.xml")] == ["é"]


def test_marcxml_deep_nesting_is_refused():
    depth = 100_000
    raw = b"<collection>" + b"<x>" * depth + b"</x>" * depth + b"</collection>"
    with pytest.raises(InputError, match=f"nested deeper than {MAX_DEPTH} levels"):
        list(iter_marcxml_bytes(raw, "f.xml"))
    ok = b"<collection><a><b>" + RECORD.encode() + b"</b></a></collection>"
    assert [r.record_id for r in iter_marcxml_bytes(ok, "f.xml")] == ["1"]


def test_marcxml_elements_outside_records_do_not_pile_up():
    # Before: 600,000 small elements outside records (5 MB) kept ~80 MB; now they are dropped as read.
    code = """
        import io
        from fahras.corpus.marcxml import iter_marcxml_stream
        parts = iter([b"<collection>"] + [b"<x>t</x>" * 1000] * 600 + [b'<record><controlfield tag="001">9'
                     b'</controlfield></record></collection>'])
        class Stream(io.RawIOBase):
            def readable(self): return True
            def read(self, size=-1): return next(parts, b"")
        _result["ids"] = [r.record_id for r in iter_marcxml_stream(Stream(), "many")]
    """
    result = run_measured(code)
    assert result["ids"] == ["9"]
    assert result["peak_mb"] - baseline_mb() < 30, result
