"""Reader for SKOS thesauri (the official UNBIS dump), in any syntax rdflib parses.

The UNBIS dump (``unbist-YYYYMMDD.ttl``) has, for every concept:

- a 7-digit URI (``http://metadata.un.org/thesaurus/1000544``); older dumps
  used ``.../thesaurus#010100``-style URIs;
- ``skos:prefLabel``, ``skos:altLabel``, ``skos:hiddenLabel`` and
  ``skos:scopeNote`` in the six UN languages;
- ``skos:broader`` / ``skos:narrower`` / ``skos:related``;
- ``skos:inScheme`` its micro-thesaurus: a 6-digit URI typed
  ``eu:MicroThesaurus`` (EuroVoc's schema), itself ``skos:inScheme`` one of
  the 18 domains (2-digit URIs, typed ``eu:Domain``);
- a T-code (``dcterms:identifier "T0001234"``).

Older dumps typed place names with a class of their own; every class that is
declared a subclass of ``skos:Concept``, or whose name says it holds
geographic terms, counts as concepts too.

Parsing megabytes of Turtle with rdflib takes tens of seconds, so the
converted vocabulary is cached as JSON next to the file
(``NAME.fahras-cache.json``, written atomically, keyed by the file's SHA-256);
where that folder is not writable, in the user's cache folder
(``$FAHRAS_CACHE_DIR``, else ``$XDG_CACHE_HOME/fahras`` or ``~/.cache/fahras``);
where neither is, nothing is cached (logged).

Untrusted files: nothing is fetched or expanded that the file does not hold.
RDF/XML is first scanned with expat up to the end of its DTD: external or
parameter entities, and entities whose value refers to other entities (the
"billion laughs"), are refused before rdflib sees the file; JSON-LD with a
remote ``@context`` (which rdflib would download) is refused; the text
syntaxes must be UTF-8 (an error names the line otherwise).  What can be used
anyway gets a warning naming the file (:mod:`fahras.vocab.checks`): duplicate
concepts, concepts without labels, several preferred labels in one language
(the first in the file kept), labels in other languages than the six UN
ones, broader/narrower cycles.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections import defaultdict
from pathlib import Path

from fahras.errors import InputError
from fahras.store.files import write_file_atomic
from fahras.textfile import decode_utf8
from fahras.vocab.checks import Warnings, check_concepts
from fahras.vocab.concept import LANGUAGES, Concept, Vocabulary

log = logging.getLogger(__name__)

_FORMATS = {".ttl": "turtle", ".rdf": "xml", ".xml": "xml", ".owl": "xml", ".nt": "nt",
            ".n3": "n3", ".jsonld": "json-ld", ".trig": "trig"}

EU = "http://eurovoc.europa.eu/schema#"
CACHE_SUFFIX = ".fahras-cache.json"
CACHE_FORMAT = 2  # bump when the conversion changes: older caches are then ignored
#: Class names (any namespace) that older UNBIS dumps used for place names.
_PLACE_CLASSES = {"geographicterm", "geographicterms", "geographicname", "geographicconcept", "placename",
                  "place", "geographic", "geoterm"}
_DATE_IN_NAME = re.compile(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?!\d)")


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_skos(path: str | Path, cache: bool = True) -> Vocabulary:
    """Load a SKOS file; ``cache=False`` neither reads nor writes the JSON cache."""
    path = Path(path)
    try:
        digest = file_sha256(path)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path) from None
    if cache:
        cached = _read_cache(path, digest)
        if cached is not None:
            return cached
    vocab = parse_skos(path)
    vocab.checksum = digest
    if cache:
        _write_cache(path, digest, vocab)
    return vocab


# ---------------------------------------------------------------------------- cache
def cache_locations(path: Path, digest: str) -> list[Path]:
    """Where the cache of ``path`` may live, in order of preference."""
    places = [path.with_name(path.name + CACHE_SUFFIX)]
    base = os.environ.get("FAHRAS_CACHE_DIR")
    if base:
        root = Path(base)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = (Path(xdg) if xdg else Path.home() / ".cache") / "fahras"
    places.append(root / "vocab" / f"{digest}{CACHE_SUFFIX}")
    return places


def _read_cache(path: Path, digest: str) -> Vocabulary | None:
    for place in cache_locations(path, digest):
        try:
            data = json.loads(place.read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as exc:
            log.info("ignoring unreadable vocabulary cache %s: %s", place, exc)
            continue
        if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT or data.get("sha256") != digest:
            log.info("vocabulary cache %s is stale (the source changed); re-reading %s", place, path)
            continue
        try:
            vocab = Vocabulary.from_dict(data["vocabulary"])
        except (KeyError, TypeError, ValueError) as exc:
            log.info("ignoring damaged vocabulary cache %s: %s", place, exc)
            continue
        vocab.source = str(path)
        vocab.checksum = digest
        log.debug("vocabulary read from cache %s", place)
        return vocab
    return None


def _write_cache(path: Path, digest: str, vocab: Vocabulary) -> Path | None:
    payload = json.dumps({"format": CACHE_FORMAT, "sha256": digest, "source": path.name,
                          "vocabulary": vocab.to_dict()}, ensure_ascii=False)
    for place in cache_locations(path, digest):
        try:
            place.parent.mkdir(parents=True, exist_ok=True)
            write_file_atomic(place, payload, durable=False)  # a cache: rebuilt if lost
        except OSError as exc:
            log.info("cannot write the vocabulary cache %s (%s)", place, exc.strerror or exc)
            continue
        log.info("vocabulary cached in %s", place)
        return place
    log.warning("%s: no writable place for the vocabulary cache; it will be parsed again next time", path)
    return None


# ---------------------------------------------------------------------------- parsing
def _tail(uri: str) -> str:
    """The last segment of a URI: ``.../thesaurus/1000544`` and ``...thesaurus#010100`` -> the number."""
    return re.split(r"[/#]", uri.rstrip("/#"))[-1]


def _version_from_name(name: str) -> str:
    match = _DATE_IN_NAME.search(name)
    return f"{match.group(1)}-{match.group(2)}-{match.group(3)}" if match else ""


#: Longest internal entity value accepted in RDF/XML (longer ones serve blow-ups, not namespaces).
MAX_ENTITY_CHARS = 1000


class _DtdRead(Exception):
    """The first element started: the DTD, if any, has been checked."""


def check_xml_entities(raw: bytes, path: str | Path) -> None:
    """Refuse XML whose DTD declares entities that could fetch or blow up: external (``SYSTEM``,
    ``PUBLIC``), parameter or unparsed entities, and entities referring to other entities.

    Plain internal entities (``<!ENTITY owl "http://www.w3.org/2002/07/owl#">``, common in
    OWL files) are allowed.  Reads only up to the first element.
    """
    from xml.parsers import expat

    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse(why: str) -> None:
        raise InputError(f"refusing RDF/XML with {why} (entities are never fetched or expanded)",
                         path, parser.CurrentLineNumber)

    def entity(name, is_parameter, value, base, system_id, public_id, notation):
        if is_parameter:
            refuse(f"the parameter entity %{name}")
        if system_id or public_id or notation:
            refuse(f"the external entity &{name}; ({system_id or public_id})")
        if value is not None and ("&" in value or "%" in value or len(value) > MAX_ENTITY_CHARS):
            refuse(f"the entity &{name}; whose value refers to other entities or is over "
                   f"{MAX_ENTITY_CHARS:,} characters")

    def unparsed(name, *args):
        refuse(f"the unparsed entity {name}")

    def start(*args):
        raise _DtdRead

    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = unparsed
    parser.StartElementHandler = start
    try:
        parser.Parse(raw, True)
    except _DtdRead:
        return
    except expat.ExpatError as exc:
        raise InputError(f"malformed XML: {expat.errors.messages[exc.code]}", path, exc.lineno) from None


def _remote_context(value) -> str | None:
    """The first remote JSON-LD context (an IRI string where a context is expected) in ``value``."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, inner in item.items():
                if key in ("@context", "@import"):
                    for ctx in inner if isinstance(inner, list) else [inner]:
                        if isinstance(ctx, str):
                            return ctx
                stack.append(inner)
        elif isinstance(item, list):
            stack.extend(item)
    return None


def read_rdf_source(path: Path, fmt: str) -> bytes | str:
    """The file's content as rdflib should get it, after the checks of untrusted input."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path) from None
    if fmt == "xml":
        check_xml_entities(raw, path)
        return raw
    text = decode_utf8(raw, path)
    if fmt == "json-ld":
        try:
            data = json.loads(text)
        except RecursionError:
            raise InputError("JSON nested too deeply", path) from None
        except ValueError as exc:
            raise InputError(f"not JSON: {exc.msg}", path, getattr(exc, "lineno", None)) from None
        remote = _remote_context(data)
        if remote is not None:
            raise InputError(f"refusing the remote JSON-LD context {remote[:200]!r}: Fahras never fetches "
                             "one (put the context in the file)", path)
    return text


def _parse_message(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:500] if text else type(exc).__name__


def parse_skos(path: str | Path) -> Vocabulary:
    """Parse a SKOS file with rdflib (no cache)."""
    import rdflib
    from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

    path = Path(path)
    fmt = _FORMATS.get(path.suffix.lower(), "turtle")
    source = read_rdf_source(path, fmt)
    graph = rdflib.Graph()
    try:
        graph.parse(data=source, format=fmt, publicID=path.resolve().as_uri())
    except RecursionError:
        raise InputError("cannot parse SKOS/RDF: nested too deeply", path) from None
    except Exception as exc:  # rdflib raises many parser-specific types
        raise InputError(f"cannot parse SKOS/RDF: {_parse_message(exc)}", path) from None
    eu = rdflib.Namespace(EU)
    warnings = Warnings(str(path))

    def texts(subject, predicate) -> dict[str, list[str]]:
        """Language -> the distinct stripped values, in the file's order."""
        found: dict[str, list[str]] = defaultdict(list)
        for literal in graph.objects(subject, predicate):
            if not isinstance(literal, rdflib.Literal):
                continue
            lang = (literal.language or "en").split("-")[0].lower()
            value = str(literal).strip()
            if value and value not in found[lang]:
                found[lang].append(value)
        return found

    def uris(subject, predicate) -> list:
        return sorted(graph.objects(subject, predicate), key=str)

    def first_labels(subject) -> dict[str, str]:
        return {lang: vals[0] for lang, vals in texts(subject, SKOS.prefLabel).items()}

    types: dict = defaultdict(set)
    for subject, kind in graph.subject_objects(RDF.type):
        types[subject].add(kind)
    in_scheme: dict = defaultdict(list)
    for subject, scheme in sorted(graph.subject_objects(SKOS.inScheme), key=lambda pair: (str(pair[0]), str(pair[1]))):
        in_scheme[subject].append(scheme)

    # Micro-thesauri and domains: by their EuroVoc types, else by their number of digits.
    micro = {s for s, ks in types.items() if eu.MicroThesaurus in ks}
    domains = {s for s, ks in types.items() if eu.Domain in ks}
    for subject in list(graph.objects(None, eu.microThesaurus)):
        micro.add(subject)
    for subject in list(graph.objects(None, eu.domain)):
        domains.add(subject)
    if not micro:
        micro = {o for s, objs in in_scheme.items() for o in objs if re.fullmatch(r"\d{6}", _tail(str(o)))}
    if not domains:
        domains = {o for m in micro for o in in_scheme.get(m, []) if re.fullmatch(r"\d{2}", _tail(str(o)))}
    domain_by_number = {_tail(str(d)): d for d in domains}

    concept_classes = {SKOS.Concept}
    concept_classes |= set(graph.subjects(RDFS.subClassOf, SKOS.Concept))
    concept_classes |= {k for ks in types.values() for k in ks
                        if isinstance(k, rdflib.URIRef) and _tail(str(k)).lower() in _PLACE_CLASSES}

    groups: dict[str, dict[str, str]] = {}
    for gtype in (SKOS.Collection, SKOS.ConceptScheme):
        for group in graph.subjects(RDF.type, gtype):
            groups[str(group)] = first_labels(group)
    for group in micro | domains:
        groups[str(group)] = first_labels(group)
    groups = dict(sorted(groups.items()))
    membership: dict[str, list[str]] = defaultdict(list)
    for collection in graph.subjects(RDF.type, SKOS.Collection):
        for member in graph.objects(collection, SKOS.member):
            membership[str(member)].append(str(collection))

    def domain_of(micro_uri) -> str:
        for candidate in [*uris(micro_uri, eu.domain), *in_scheme.get(micro_uri, [])]:
            if candidate in domains:
                return str(candidate)
        number = _tail(str(micro_uri))[:2]
        return str(domain_by_number[number]) if number in domain_by_number else ""

    concepts = []
    other_languages: set[str] = set()
    subjects = {s for s, ks in types.items() if ks & concept_classes} - micro - domains
    for subject in sorted(subjects, key=str):
        if not isinstance(subject, rdflib.URIRef):
            continue
        uri = str(subject)
        pref = texts(subject, SKOS.prefLabel)
        for lang, values in pref.items():
            if lang not in LANGUAGES:
                other_languages.add(lang)
            elif len(values) > 1:
                warnings.add("several preferred labels", f"{uri} has {len(values)} preferred labels in "
                             f"{lang!r} ({', '.join(map(repr, values[:3]))}); the first is kept")
        notations = sorted(str(o) for o in graph.objects(subject, SKOS.notation))
        tcodes = sorted(str(o) for o in graph.objects(subject, DCTERMS.identifier)
                        if re.fullmatch(r"T\d+", str(o).strip()))
        identifier = notations[0] if notations else _tail(uri)
        schemes = in_scheme.get(subject, [])
        micro_uri = next((m for m in [*uris(subject, eu.microThesaurus), *schemes] if m in micro), None)
        domain = ""
        if micro_uri is not None:
            domain = domain_of(micro_uri)
        if not domain:
            domain = next((str(d) for d in [*uris(subject, eu.domain), *schemes] if d in domains), "")
        group_ids = set(membership.get(uri, [])) | {str(s) for s in schemes}
        group_ids |= {g for g in (str(micro_uri) if micro_uri is not None else "", domain) if g}
        if micro_uri is not None or domain:
            # The whole thesaurus's scheme is no useful group once the micro-thesaurus is known.
            group_ids -= {str(s) for s in schemes if s not in micro and s not in domains}
        concepts.append(Concept(
            uri=uri,
            identifier=identifier,
            labels={lang: vals[0] for lang, vals in pref.items() if lang in LANGUAGES},
            alt_labels={lang: tuple(vals) for lang, vals in texts(subject, SKOS.altLabel).items()},
            hidden_labels={lang: tuple(vals) for lang, vals in texts(subject, SKOS.hiddenLabel).items()},
            scope_notes={lang: tuple(vals) for lang, vals in texts(subject, SKOS.scopeNote).items()},
            notation=tcodes[0] if tcodes else (notations[0] if notations else ""),
            micro_thesaurus=str(micro_uri) if micro_uri is not None else "",
            domain=domain,
            groups=tuple(sorted(group_ids)),
            related=tuple(sorted(str(o) for o in graph.objects(subject, SKOS.related))),
            broader=tuple(sorted(str(o) for o in graph.objects(subject, SKOS.broader))),
            narrower=tuple(sorted(str(o) for o in graph.objects(subject, SKOS.narrower))),
        ))
    if not concepts:
        raise InputError("no skos:Concept found", path)
    if other_languages:
        warnings.add("unknown languages", "preferred labels in languages other than the six UN ones ignored: "
                     + ", ".join(sorted(other_languages)[:20]))
    concepts = check_concepts(concepts, warnings)
    warnings.flush()

    version = ""
    for scheme in sorted(graph.subjects(RDF.type, SKOS.ConceptScheme), key=str):
        if scheme in micro or scheme in domains:
            continue
        for predicate in (OWL.versionInfo, DCTERMS.modified, DCTERMS.issued, DCTERMS.created):
            value = next(iter(sorted(graph.objects(scheme, predicate), key=str)), None)
            if value is not None and str(value).strip():
                version = str(value).strip()
                break
        if version:
            break
    return Vocabulary(concepts, groups=groups, source=str(path),
                      version=version or _version_from_name(path.name))
