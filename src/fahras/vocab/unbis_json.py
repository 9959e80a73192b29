"""Reader for the scraped UNBIS JSON (``all_topics.json`` + optional ``hierarchy.json``)."""

from __future__ import annotations

import json
from pathlib import Path

from fahras.errors import InputError
from fahras.vocab.checks import Warnings, check_concepts
from fahras.vocab.concept import LANGUAGES, Concept, Vocabulary


def _group_key(raw: str) -> str:
    """``040202`` -> ``04.02.02`` (the key hierarchy.json uses)."""
    return f"{raw[:2]}.{raw[2:4]}.{raw[4:6]}" if len(raw) == 6 and raw.isdigit() else raw


def read_unbis_json(path: str | Path) -> Vocabulary:
    path = Path(path)
    data = _load_json(path)
    topics = data.get("topics") if isinstance(data, dict) else None
    if not isinstance(topics, list):
        raise InputError('expected a JSON object with a "topics" list (UNBIS all_topics.json)', path)
    warnings = Warnings(str(path))
    unknown_langs: set[str] = set()
    for number, item in enumerate(topics, 1):
        if not isinstance(item, dict) or not isinstance(item.get("url"), str) or not item["url"].strip() \
                or not isinstance(item.get("labels"), dict):
            raise InputError(f'topic #{number} lacks "url" or "labels"', path)
        for lang, label in item["labels"].items():
            if not isinstance(label, str) and label is not None:
                raise InputError(f'topic #{number} ({item["url"]}): label "{lang}" is not text', path)
            if lang not in LANGUAGES:
                unknown_langs.add(str(lang))
        related = item.get("related", [])
        if not isinstance(related, list) or not all(isinstance(r, (str, int)) for r in related):
            raise InputError(f'topic #{number} ({item["url"]}): "related" must be a list of identifiers', path)
        identifier = item.get("identifier")
        if identifier is not None and not isinstance(identifier, (str, int)):
            raise InputError(f'topic #{number} ({item["url"]}): "identifier" must be text', path)
    if unknown_langs:
        warnings.add("unknown languages", "labels in languages other than the six UN ones ignored: "
                     + ", ".join(sorted(unknown_langs)))
    # The file also lists the domains and micro-thesauri (6-digit identifiers):
    # they are groups, not descriptors.  A concept's "related" mixes concept
    # identifiers and the group identifiers it belongs to.
    groups = _read_hierarchy(path.parent / "hierarchy.json")
    uri_of: dict[str, str] = {}
    for item in topics:
        identifier = _identifier(item)
        if _is_group(identifier):
            groups.setdefault(_group_key(identifier), {}).update(_labels(item))
        else:
            uri_of[identifier] = item["url"]
    concepts = []
    for item in topics:
        identifier = _identifier(item)
        if _is_group(identifier):
            continue
        refs = [str(ref) for ref in item.get("related", [])]
        concepts.append(Concept(
            uri=item["url"].strip(),
            identifier=identifier,
            labels=_labels(item),
            groups=tuple(_group_key(r) for r in refs if _is_group(r)),
            related=tuple(uri_of[r] for r in refs if r in uri_of),
        ))
    concepts = check_concepts(concepts, warnings)
    warnings.flush()
    return Vocabulary(concepts, groups=groups, source=str(path))


def _load_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", path) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", path, exc.lineno) from None
    except RecursionError:
        raise InputError("invalid JSON: nested too deeply", path) from None


def _identifier(item: dict) -> str:
    return str(item.get("identifier") or item["url"].rstrip("/").rsplit("/", 1)[-1])


def _is_group(identifier: str) -> bool:
    return len(identifier) == 6 and identifier.isdigit()


def _labels(item: dict) -> dict[str, str]:
    """The six languages' labels, stray whitespace removed (empty ones left out)."""
    labels = {lang: str(item["labels"].get(lang) or "").strip() for lang in LANGUAGES}
    return {lang: label for lang, label in labels.items() if label}


def _read_hierarchy(path: Path) -> dict[str, dict[str, str]]:
    if not path.is_file():
        return {}
    data = _load_json(path)
    nodes = data.get("nodes", []) if isinstance(data, dict) else None
    if not isinstance(nodes, list):
        raise InputError('expected a JSON object with a "nodes" list (UNBIS hierarchy.json)', path)
    groups = {}
    for number, node in enumerate(nodes, 1):
        if not isinstance(node, dict) or not isinstance(node.get("key"), str):
            raise InputError(f'node #{number} lacks a "key"', path)
        attributes = node.get("attributes") if isinstance(node.get("attributes"), dict) else {}
        label = attributes.get("label", node["key"])
        if not isinstance(label, str):
            raise InputError(f'node #{number} ({node["key"]}): "label" is not text', path)
        # Labels look like "01.01.00 - POLITICAL CONDITIONS, ..."; keep the name only.
        groups[node["key"]] = {"en": label.split(" - ", 1)[-1]}
    return groups
