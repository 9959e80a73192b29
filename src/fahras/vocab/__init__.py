"""Thesauri: UNBIS JSON, SKOS/RDF and simple tables, loaded into one model."""

from __future__ import annotations

from pathlib import Path

from fahras.errors import InputError
from fahras.vocab.concept import LANGUAGES, LOCAL_URI_PREFIX, Concept, Vocabulary, local_concept
from fahras.vocab.normalize import label_key

FORMATS = ("unbis-json", "skos", "table")


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "unbis-json"
    if suffix in (".ttl", ".rdf", ".xml", ".owl", ".nt", ".n3", ".jsonld", ".trig"):
        return "skos"
    if suffix in (".csv", ".tsv", ".tab"):
        return "table"
    raise InputError(f"unknown vocabulary format {suffix or '(no extension)'}; "
                     f"expected .json (UNBIS), .ttl/.rdf/.xml (SKOS) or .csv/.tsv", path)


def load_vocabulary(path: str | Path, fmt: str = "auto") -> Vocabulary:
    """Load a thesaurus file; ``fmt`` is one of :data:`FORMATS` or ``auto`` (by extension)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("vocabulary file not found", path)
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "unbis-json":
        from fahras.vocab.unbis_json import read_unbis_json
        return read_unbis_json(path)
    if fmt == "skos":
        from fahras.vocab.skos import read_skos
        return read_skos(path)
    if fmt == "table":
        from fahras.vocab.tabular import read_tabular
        return read_tabular(path)
    raise InputError(f"unknown vocabulary format {fmt!r}; choose one of {', '.join(FORMATS)}", path)


__all__ = ["FORMATS", "LANGUAGES", "LOCAL_URI_PREFIX", "Concept", "Vocabulary", "label_key",
           "load_vocabulary", "local_concept"]
