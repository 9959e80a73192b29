"""Property-based fuzzing of the SKOS reader (:mod:`fahras.vocab.skos`, through rdflib).

Generated thesauri in Turtle and RDF/XML with duplicate descriptions of a
concept, several or no preferred labels, languages other than the six UN
ones, broader/narrower cycles and optional DTDs; then the same files
mutated: truncated, re-encoded, replaced by random bytes, under every
suffix the reader takes.  Whatever the bytes, ``load_vocabulary`` gives a
vocabulary or one :class:`InputError` naming the file; for well-formed
generated files the result is checked against the generator's model
(the first label of a language in the file kept, a warning for each kind of problem).

Profiles ``fuzz`` (default run) and ``fuzz-long`` (slow): see ``robust_support``.
"""

from __future__ import annotations

import json
import logging
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fahras import InputError, load_vocabulary
from fahras.vocab import LANGUAGES, Concept
from fahras.vocab.checks import hierarchy_cycles

from robust_support import FUZZ, FUZZ_LONG

POOL = [f"http://x/{i}" for i in range(5)]
LANG_TAGS = ["en", "fr", "ar", "zh", "ru", "es", "en-GB", None, "de", "xx", "tlh"]
ENCODINGS = ["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16", "utf-16-le", "utf-16-be"]
SUFFIXES = [".ttl", ".nt", ".rdf", ".xml", ".owl", ".jsonld", ".n3", ".trig"]

label_text = st.text(alphabet=st.sampled_from('AB éÉñ"\\\n\t<>&ß中ع'), max_size=8)
concept = st.fixed_dictionaries({
    "uri": st.sampled_from(range(len(POOL))),
    "labels": st.lists(st.tuples(st.sampled_from(LANG_TAGS), label_text), max_size=3),
    "alt": st.lists(st.tuples(st.sampled_from(LANG_TAGS), label_text), max_size=2),
    "broader": st.lists(st.sampled_from(range(len(POOL))), max_size=2),
    "narrower": st.lists(st.sampled_from(range(len(POOL))), max_size=1),
})
thesaurus = st.lists(concept, min_size=1, max_size=6)

SKOS = "http://www.w3.org/2004/02/skos/core#"


def _literal_ttl(lang, text):
    return json.dumps(text, ensure_ascii=False) + (f"@{lang}" if lang else "")


def to_turtle(model) -> str:
    lines = [f"@prefix skos: <{SKOS}> ."]
    for c in model:
        parts = ["a skos:Concept"]
        parts += [f"skos:prefLabel {_literal_ttl(lang, text)}" for lang, text in c["labels"]]
        parts += [f"skos:altLabel {_literal_ttl(lang, text)}" for lang, text in c["alt"]]
        parts += [f"skos:broader <{POOL[b]}>" for b in c["broader"]]
        parts += [f"skos:narrower <{POOL[n]}>" for n in c["narrower"]]
        lines.append(f"<{POOL[c['uri']]}> " + " ;\n    ".join(parts) + " .")
    return "\n".join(lines) + "\n"


def _xml_text(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\t", "&#9;")
            .replace("\n", "&#10;"))


def to_rdfxml(model, dtd: str = "") -> str:
    out = ['<?xml version="1.0" encoding="utf-8"?>', dtd,
           f'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:skos="{SKOS}">']
    for c in model:
        out.append(f'<skos:Concept rdf:about="{POOL[c["uri"]]}">')
        for tag, values in (("prefLabel", c["labels"]), ("altLabel", c["alt"])):
            for lang, text in values:
                attr = f' xml:lang="{lang}"' if lang else ""
                out.append(f"<skos:{tag}{attr}>{_xml_text(text)}</skos:{tag}>")
        out += [f'<skos:broader rdf:resource="{POOL[b]}"/>' for b in c["broader"]]
        out += [f'<skos:narrower rdf:resource="{POOL[n]}"/>' for n in c["narrower"]]
        out.append("</skos:Concept>")
    out.append("</rdf:RDF>")
    return "\n".join(out) + "\n"


def expected(model) -> dict[str, Concept]:
    """URI -> the concept the reader must give: labels in the six UN languages, the first in the file."""
    pref: dict[str, dict[str, list]] = {}
    up: dict[str, tuple[set, set]] = {}
    for c in model:
        uri = POOL[c["uri"]]
        langs = pref.setdefault(uri, {})
        for lang, text in c["labels"]:
            lang = (lang or "en").split("-")[0].lower()
            if text.strip():
                langs.setdefault(lang, []).append(text.strip())
        broader, narrower = up.setdefault(uri, (set(), set()))
        broader.update(POOL[b] for b in c["broader"])
        narrower.update(POOL[n] for n in c["narrower"])
    return {uri: Concept(uri=uri, identifier=uri.rsplit("/", 1)[-1],
                         labels={lang: v[0] for lang, v in langs.items() if lang in LANGUAGES},
                         broader=tuple(sorted(up[uri][0])), narrower=tuple(sorted(up[uri][1])))
            for uri, langs in pref.items()}


def _load(path):
    """The vocabulary, or None after checking the error names the file; bounded time."""
    start = time.perf_counter()
    try:
        vocab = load_vocabulary(path)
    except InputError as error:
        assert error.path == str(path) and str(path) in str(error)
        vocab = None
    # a few KB of input: anything near this is a blow-up (the machine is shared, so generous)
    assert time.perf_counter() - start < 20
    if vocab is not None:
        for c in vocab:
            assert c.uri and all(isinstance(v, str) and v == v.strip() and v for v in c.labels.values())
            assert set(c.labels) <= set(LANGUAGES)
    return vocab


def _check_well_formed(path, model, caplog):
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="fahras.vocab"):
        vocab = _load(path)
    assert vocab is not None, "a well-formed generated thesaurus must load"
    want = expected(model)
    assert {c.uri for c in vocab} == set(want)
    log = "\n".join(r.getMessage() for r in caplog.records)
    for c in vocab:
        w = want[c.uri]
        assert c.labels == w.labels, (c.uri, c.labels, w.labels)
        assert (c.broader, c.narrower) == (w.broader, w.narrower)
        if not c.labels:
            assert f"{c.uri} has no label" in log
    assert bool(hierarchy_cycles(want.values())) == ("broader/narrower cycle" in log)
    several = any(any(len({t.strip() for l, t in x["labels"] if (l or "en").split("-")[0] == lang and t.strip()}) > 1
                      for lang in LANGUAGES) for x in _merged(model))
    assert several == (" preferred labels in '" in log)
    other = any((lang or "en").split("-")[0] not in LANGUAGES and text.strip()
                for x in model for lang, text in x["labels"])
    assert other == ("other than the six UN ones ignored" in log)
    assert all(str(path) in r.getMessage() for r in caplog.records)


def _merged(model):
    by_uri: dict[int, dict] = {}
    for c in model:
        by_uri.setdefault(c["uri"], {"labels": []})["labels"] += c["labels"]
    return list(by_uri.values())


@FUZZ
@given(thesaurus, st.sampled_from(["turtle", "rdfxml"]))
def test_generated_skos_gives_the_model_and_its_warnings(tmp_path_factory, caplog, model, syntax):
    folder = tmp_path_factory.mktemp("skos")
    path = folder / ("v.ttl" if syntax == "turtle" else "v.rdf")
    path.write_text(to_turtle(model) if syntax == "turtle" else to_rdfxml(model), encoding="utf-8")
    _check_well_formed(path, model, caplog)


mutated = st.one_of(
    st.binary(max_size=400),
    st.builds(lambda m, enc, cut: to_turtle(m).encode(enc, "replace")[:cut], thesaurus,
              st.sampled_from(ENCODINGS), st.integers(0, 600)),
    st.builds(lambda m, enc, cut: to_rdfxml(m).encode(enc, "replace")[:cut], thesaurus,
              st.sampled_from(ENCODINGS), st.integers(0, 900)),
    st.builds(lambda m, enc: to_turtle(m).encode(enc, "replace"), thesaurus, st.sampled_from(ENCODINGS)),
)


def _mutated(tmp_path_factory, raw, suffix):
    path = tmp_path_factory.mktemp("skos") / f"v{suffix}"
    path.write_bytes(raw)
    _load(path)


@FUZZ
@given(mutated, st.sampled_from(SUFFIXES))
def test_skos_reader_never_crashes(tmp_path_factory, raw, suffix):
    _mutated(tmp_path_factory, raw, suffix)


@pytest.mark.slow
@FUZZ_LONG
@given(mutated, st.sampled_from(SUFFIXES), thesaurus, st.sampled_from(["turtle", "rdfxml"]))
def test_skos_reader_long(tmp_path_factory, caplog, raw, suffix, model, syntax):
    _mutated(tmp_path_factory, raw, suffix)
    path = tmp_path_factory.mktemp("skos") / ("v.ttl" if syntax == "turtle" else "v.rdf")
    path.write_text(to_turtle(model) if syntax == "turtle" else to_rdfxml(model), encoding="utf-8")
    _check_well_formed(path, model, caplog)
