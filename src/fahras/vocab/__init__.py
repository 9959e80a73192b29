"""Thesauri: UNBIS JSON, SKOS/RDF and simple tables, loaded into one model."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from fahras.errors import InputError
from fahras.vocab.concept import LANGUAGES, LOCAL_URI_PREFIX, Concept, Vocabulary, local_concept
from fahras.vocab.normalize import label_key

def _unbis_json(path: Path) -> Vocabulary:
    from fahras.vocab.unbis_json import read_unbis_json

    return read_unbis_json(path)


def _skos(path: Path) -> Vocabulary:
    from fahras.vocab.skos import read_skos

    return read_skos(path)


def _table(path: Path) -> Vocabulary:
    from fahras.vocab.tabular import read_tabular

    return read_tabular(path)


#: Format name -> (reader, file suffixes it is chosen by).  A new format is one more entry.
READERS: dict[str, tuple[Callable[[Path], Vocabulary], tuple[str, ...]]] = {
    "unbis-json": (_unbis_json, (".json",)),
    "skos": (_skos, (".ttl", ".rdf", ".xml", ".owl", ".nt", ".n3", ".jsonld", ".trig")),
    "table": (_table, (".csv", ".tsv", ".tab")),
}
FORMATS = tuple(READERS)


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    for fmt, (_, suffixes) in READERS.items():
        if suffix in suffixes:
            return fmt
    raise InputError(f"unknown vocabulary format {suffix or '(no extension)'}; "
                     f"expected .json (UNBIS), .ttl/.rdf/.xml (SKOS) or .csv/.tsv", path)


def load_vocabulary(path: str | Path, fmt: str = "auto") -> Vocabulary:
    """Load a thesaurus file; ``fmt`` is one of :data:`FORMATS` or ``auto`` (by extension)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("vocabulary file not found", path)
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt not in READERS:
        raise InputError(f"unknown vocabulary format {fmt!r}; choose one of {', '.join(FORMATS)}", path)
    return READERS[fmt][0](path)


__all__ = ["FORMATS", "LANGUAGES", "LOCAL_URI_PREFIX", "READERS", "Concept", "Vocabulary", "label_key",
           "load_vocabulary", "local_concept"]
