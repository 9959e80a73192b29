"""Reader for the scraped UNBIS JSON (``all_topics.json`` + optional ``hierarchy.json``)."""

from __future__ import annotations

import json
from pathlib import Path

from fahras.errors import InputError
from fahras.vocab.concept import LANGUAGES, Concept, Vocabulary


def _group_key(raw: str) -> str:
    """``040202`` -> ``04.02.02`` (the key hierarchy.json uses)."""
    return f"{raw[:2]}.{raw[2:4]}.{raw[4:6]}" if len(raw) == 6 and raw.isdigit() else raw


def read_unbis_json(path: str | Path) -> Vocabulary:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", path) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", path, exc.lineno) from None
    topics = data.get("topics") if isinstance(data, dict) else None
    if not isinstance(topics, list):
        raise InputError('expected a JSON object with a "topics" list (UNBIS all_topics.json)', path)
    for number, item in enumerate(topics, 1):
        if not isinstance(item, dict) or not item.get("url") or not isinstance(item.get("labels"), dict):
            raise InputError(f'topic #{number} lacks "url" or "labels"', path)
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
            uri=item["url"],
            identifier=identifier,
            labels=_labels(item),
            groups=tuple(_group_key(r) for r in refs if _is_group(r)),
            related=tuple(uri_of[r] for r in refs if r in uri_of),
        ))
    return Vocabulary(concepts, groups=groups, source=str(path))


def _identifier(item: dict) -> str:
    return str(item.get("identifier") or item["url"].rstrip("/").rsplit("/", 1)[-1])


def _is_group(identifier: str) -> bool:
    return len(identifier) == 6 and identifier.isdigit()


def _labels(item: dict) -> dict[str, str]:
    return {lang: item["labels"][lang] for lang in LANGUAGES if item["labels"].get(lang)}


def _read_hierarchy(path: Path) -> dict[str, dict[str, str]]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"unreadable hierarchy file: {exc}", path) from None
    groups = {}
    for node in data.get("nodes", []):
        label = node.get("attributes", {}).get("label", node.get("key", ""))
        # Labels look like "01.01.00 - POLITICAL CONDITIONS, ..."; keep the name only.
        groups[node["key"]] = {"en": label.split(" - ", 1)[-1]}
    return groups
