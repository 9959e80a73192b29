"""Reader for SKOS thesauri (the official UNBIS dump), in any syntax rdflib parses."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from fahras.errors import InputError
from fahras.vocab.concept import LANGUAGES, Concept, Vocabulary

_FORMATS = {".ttl": "turtle", ".rdf": "xml", ".xml": "xml", ".owl": "xml", ".nt": "nt",
            ".n3": "n3", ".jsonld": "json-ld", ".trig": "trig"}


def read_skos(path: str | Path) -> Vocabulary:
    import rdflib
    from rdflib.namespace import RDF, SKOS

    path = Path(path)
    graph = rdflib.Graph()
    try:
        graph.parse(str(path), format=_FORMATS.get(path.suffix.lower(), "turtle"))
    except Exception as exc:  # rdflib raises many parser-specific types
        raise InputError(f"cannot parse SKOS/RDF: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                         path) from None

    def labels_of(subject, predicate) -> dict[str, list[str]]:
        found: dict[str, list[str]] = defaultdict(list)
        for literal in graph.objects(subject, predicate):
            lang = (getattr(literal, "language", None) or "en").split("-")[0].lower()
            found[lang].append(str(literal))
        return found

    groups: dict[str, dict[str, str]] = {}
    group_types = (SKOS.Collection, SKOS.ConceptScheme)
    for gtype in group_types:
        for group in graph.subjects(RDF.type, gtype):
            groups[str(group)] = {lang: vals[0] for lang, vals in labels_of(group, SKOS.prefLabel).items()}
    membership: dict[str, list[str]] = defaultdict(list)
    for collection in graph.subjects(RDF.type, SKOS.Collection):
        for member in graph.objects(collection, SKOS.member):
            membership[str(member)].append(str(collection))

    concepts = []
    for subject in set(graph.subjects(RDF.type, SKOS.Concept)):
        uri = str(subject)
        pref = labels_of(subject, SKOS.prefLabel)
        alts = labels_of(subject, SKOS.altLabel)
        notation = next(iter(graph.objects(subject, SKOS.notation)), None)
        identifier = str(notation) if notation is not None else uri.rstrip("/").rsplit("/", 1)[-1]
        concepts.append(Concept(
            uri=uri,
            identifier=identifier,
            labels={lang: vals[0] for lang, vals in pref.items() if lang in LANGUAGES or lang == "en"},
            alt_labels={lang: tuple(vals) for lang, vals in alts.items()},
            groups=tuple(sorted(membership.get(uri, [])
                                + [str(s) for s in graph.objects(subject, SKOS.inScheme)])),
            related=tuple(sorted(str(o) for o in graph.objects(subject, SKOS.related))),
            broader=tuple(sorted(str(o) for o in graph.objects(subject, SKOS.broader))),
            narrower=tuple(sorted(str(o) for o in graph.objects(subject, SKOS.narrower))),
        ))
    if not concepts:
        raise InputError("no skos:Concept found", path)
    concepts.sort(key=lambda c: c.uri)
    return Vocabulary(concepts, groups=groups, source=str(path))
