"""Checks a thesaurus reader runs on what it read: warnings for what can be used anyway.

Readers (:mod:`fahras.vocab.unbis_json`, :mod:`fahras.vocab.tabular`) raise
:class:`~fahras.errors.InputError` for what cannot be used (no URI, a label that
is not text) and log warnings, through :func:`warn`, for what can: duplicate
URIs (the first kept), concepts without labels, labels in languages other than
the six UN ones (ignored), cycles in broader/narrower links (nothing in Fahras
walks them transitively, but a thesaurus with one is damaged).
"""

from __future__ import annotations

import logging
from typing import Iterable

from fahras.vocab.concept import Concept

log = logging.getLogger("fahras.vocab")

#: How many individual warnings of one kind a file gets before a summary line.
MAX_WARNINGS = 20


class Warnings:
    """Collects a reader's warnings per kind; :meth:`flush` logs them (at most MAX_WARNINGS each)."""

    def __init__(self, source: str):
        self.source = source
        self.by_kind: dict[str, list[str]] = {}

    def add(self, kind: str, message: str) -> None:
        self.by_kind.setdefault(kind, []).append(message)

    def flush(self) -> dict[str, int]:
        """Log the warnings; return how many of each kind."""
        for kind, messages in self.by_kind.items():
            for message in messages[:MAX_WARNINGS]:
                log.warning("%s: %s", self.source, message)
            if len(messages) > MAX_WARNINGS:
                log.warning("%s: %d more %s", self.source, len(messages) - MAX_WARNINGS, kind)
        return {kind: len(messages) for kind, messages in self.by_kind.items()}


def hierarchy_cycles(concepts: Iterable[Concept]) -> list[list[str]]:
    """Cycles along ``broader`` links (and reversed ``narrower`` links), each as a list of URIs.

    Iterative depth-first search (no recursion limit on deep hierarchies).
    """
    up: dict[str, set[str]] = {}
    for c in concepts:
        up.setdefault(c.uri, set()).update(c.broader)
        for child in c.narrower:
            up.setdefault(child, set()).add(c.uri)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []
    for root in sorted(up):
        if state.get(root):
            continue
        path: list[str] = [root]
        stack = [iter(sorted(up.get(root, ())))]
        state[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
                continue
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(up.get(nxt, ()))))
    return cycles


def check_concepts(concepts: list[Concept], warnings: Warnings) -> list[Concept]:
    """``concepts`` without repeated URIs (the first kept), with warnings for the problems found."""
    seen: set[str] = set()
    kept = []
    for c in concepts:
        if c.uri in seen:
            warnings.add("duplicate URIs", f"duplicate URI {c.uri} (the first one is kept)")
            continue
        seen.add(c.uri)
        if not any(c.labels.values()):
            warnings.add("concepts without labels", f"{c.uri} has no label in any of the six UN languages")
        kept.append(c)
    for cycle in hierarchy_cycles(kept):
        warnings.add("broader/narrower cycles", "broader/narrower cycle: " + " -> ".join(cycle))
    return kept
