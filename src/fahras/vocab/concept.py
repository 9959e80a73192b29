"""The in-memory thesaurus: concepts, labels in the six UN languages, groups, relations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator

from fahras.vocab.normalize import label_key

#: The six official UN languages, in the order the UN lists them.
LANGUAGES = ("ar", "zh", "en", "fr", "ru", "es")


@dataclass(frozen=True)
class Concept:
    """One thesaurus concept (or a local subject that the thesaurus lacks).

    ``labels`` maps a language code to the preferred label; ``alt_labels`` maps
    it to alternative labels where the source has them.  ``groups`` are the ids
    of the domains / micro-thesauri the concept belongs to.

    From the official SKOS dump also: ``hidden_labels`` (``skos:hiddenLabel``,
    misspellings and old forms: matched, never shown), ``scope_notes`` per
    language, ``notation`` (the UNBIS T-code, ``dcterms:identifier``), and the
    concept's ``micro_thesaurus`` and ``domain`` (group URIs).  All default to
    empty, so models saved before they existed load unchanged.
    """

    uri: str
    identifier: str
    labels: dict[str, str]
    alt_labels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    groups: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    broader: tuple[str, ...] = ()
    narrower: tuple[str, ...] = ()
    local: bool = False
    hidden_labels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    scope_notes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    notation: str = ""
    micro_thesaurus: str = ""
    domain: str = ""

    def label(self, lang: str = "en") -> str:
        """The preferred label in ``lang``, falling back to English, then to any label."""
        for code in (lang, "en"):
            if self.labels.get(code):
                return self.labels[code]
        for value in self.labels.values():
            if value:
                return value
        return self.identifier

    def matching_labels(self, lang: str | None = None) -> list[tuple[str, str, str]]:
        """Every label that should match text: ``(language, label, kind)`` triples.

        ``kind`` is ``"pref"``, ``"alt"`` or ``"hidden"``; ``lang`` restricts to
        one language.  Hidden labels match but are never shown to users.
        """
        found = []
        for kind, source in (("pref", {k: (v,) for k, v in self.labels.items()}),
                             ("alt", self.alt_labels), ("hidden", self.hidden_labels)):
            for code, values in source.items():
                if lang is None or code == lang:
                    found.extend((code, value, kind) for value in values if value)
        return found

    def to_dict(self) -> dict:
        data = {"uri": self.uri, "identifier": self.identifier, "labels": dict(self.labels)}
        for name in ("groups", "related", "broader", "narrower"):
            if getattr(self, name):
                data[name] = list(getattr(self, name))
        if self.alt_labels:
            data["alt_labels"] = {k: list(v) for k, v in self.alt_labels.items()}
        if self.local:
            data["local"] = True
        for name in ("hidden_labels", "scope_notes"):
            if getattr(self, name):
                data[name] = {k: list(v) for k, v in getattr(self, name).items()}
        for name in ("notation", "micro_thesaurus", "domain"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Concept":
        return cls(
            uri=data["uri"],
            identifier=data.get("identifier", data["uri"]),
            labels=dict(data.get("labels", {})),
            alt_labels={k: tuple(v) for k, v in data.get("alt_labels", {}).items()},
            groups=tuple(data.get("groups", ())),
            related=tuple(data.get("related", ())),
            broader=tuple(data.get("broader", ())),
            narrower=tuple(data.get("narrower", ())),
            local=bool(data.get("local", False)),
            hidden_labels={k: tuple(v) for k, v in data.get("hidden_labels", {}).items()},
            scope_notes={k: tuple(v) for k, v in data.get("scope_notes", {}).items()},
            notation=data.get("notation", ""),
            micro_thesaurus=data.get("micro_thesaurus", ""),
            domain=data.get("domain", ""),
        )


LOCAL_URI_PREFIX = "urn:fahras:local:"


def local_concept(label: str) -> Concept:
    """A subject the thesaurus does not have, kept under its own label.

    Its URI is stable (derived from the matching key of the label), so the
    same heading gets the same URI in every model.
    """
    from urllib.parse import quote

    key = label_key(label)
    uri = LOCAL_URI_PREFIX + quote(key.upper(), safe="")
    return Concept(uri=uri, identifier=key.upper(), labels={"en": label.strip()}, local=True)


class Vocabulary:
    """A set of concepts with lookup by URI, identifier and label.

    ``groups`` maps a group id (domain or micro-thesaurus) to its labels.
    ``version`` (e.g. the dump's date) and ``checksum`` (SHA-256 of the source
    file) say which edition of the thesaurus this is, where the reader knows.
    """

    def __init__(self, concepts: Iterable[Concept], groups: dict[str, dict[str, str]] | None = None,
                 source: str = "", version: str = "", checksum: str = ""):
        self.source = source
        self.version = version
        self.checksum = checksum
        self.groups = dict(groups or {})
        self._by_notation: dict[str, Concept] = {}
        self._by_uri: dict[str, Concept] = {}
        self._by_id: dict[str, Concept] = {}
        self._label_index: dict[str, Concept] | None = None
        for concept in concepts:
            self.add(concept)

    def add(self, concept: Concept) -> None:
        """Add a concept; a concept with the same URI is replaced."""
        self._by_uri[concept.uri] = concept
        self._by_id[concept.identifier] = concept
        if concept.notation:
            self._by_notation[concept.notation] = concept
        if self._label_index is not None:
            self._index_labels(concept)
            for hiddens in concept.hidden_labels.values():
                for hidden in hiddens:
                    self._label_index.setdefault(label_key(hidden), concept)

    @property
    def _by_label(self) -> dict[str, Concept]:
        """Label key -> concept, built on first use (loading a model does not need it).

        Where labels collide, English preferred labels win over preferred labels
        in other languages, which win over alternative labels, which win over
        hidden labels.
        """
        if self._label_index is None:
            self._label_index = {}
            concepts = list(self._by_uri.values())
            for concept in concepts:
                if "en" in concept.labels:
                    self._label_index.setdefault(label_key(concept.labels["en"]), concept)
            for concept in concepts:
                self._index_labels(concept)
            for concept in concepts:
                for hiddens in concept.hidden_labels.values():
                    for hidden in hiddens:
                        self._label_index.setdefault(label_key(hidden), concept)
        return self._label_index

    def _index_labels(self, concept: Concept) -> None:
        index = self._label_index
        for label in concept.labels.values():
            index.setdefault(label_key(label), concept)
        for alts in concept.alt_labels.values():
            for alt in alts:
                index.setdefault(label_key(alt), concept)

    def __len__(self) -> int:
        return len(self._by_uri)

    def __iter__(self) -> Iterator[Concept]:
        return iter(self._by_uri.values())

    def __contains__(self, uri: object) -> bool:
        return uri in self._by_uri

    def get(self, uri: str) -> Concept | None:
        return self._by_uri.get(uri)

    def by_identifier(self, identifier: str) -> Concept | None:
        return self._by_id.get(identifier)

    def find(self, label_or_uri: str) -> Concept | None:
        """Look a descriptor up by URI, identifier or label (case and accents ignored)."""
        text = label_or_uri.strip()
        return (self._by_uri.get(text) or self._by_id.get(text) or self._by_notation.get(text)
                or self._by_label.get(label_key(text)))

    def to_dict(self) -> dict:
        data = {"source": self.source, "groups": self.groups, "concepts": [c.to_dict() for c in self]}
        if self.version:
            data["version"] = self.version
        if self.checksum:
            data["checksum"] = self.checksum
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Vocabulary":
        return cls((Concept.from_dict(c) for c in data["concepts"]), groups=data.get("groups"),
                   source=data.get("source", ""), version=data.get("version", ""),
                   checksum=data.get("checksum", ""))
