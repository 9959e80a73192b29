"""The hierarchy around a concept, as text lines: domain, micro-thesaurus, broader chain, narrower, related."""

from __future__ import annotations

from fahras.vocab.concept import Concept, Vocabulary


def _group_name(vocab: Vocabulary, group: str, lang: str) -> str:
    names = vocab.groups.get(group, {})
    number = group.rstrip("/#").replace("#", "/").rsplit("/", 1)[-1]
    name = names.get(lang) or names.get("en") or ""
    return f"{number} {name}".strip()


def broader_chain(vocab: Vocabulary, concept: Concept) -> list[Concept]:
    """The broader concepts from the top down to the concept's direct parent (first parent each step)."""
    chain: list[Concept] = []
    seen = {concept.uri}
    current = concept
    while current.broader:
        parent = next((vocab.get(u) for u in current.broader if vocab.get(u) is not None and u not in seen), None)
        if parent is None:
            break
        chain.append(parent)
        seen.add(parent.uri)
        current = parent
    return chain[::-1]


def hierarchy_lines(vocab: Vocabulary, concept: Concept, lang: str = "en") -> list[str]:
    """Lines showing where ``concept`` sits: its domain and micro-thesaurus, the
    chain of broader concepts above it, its narrower concepts below, then its
    related concepts and scope note.  The concept itself is marked with ``*``.
    """
    def name(c: Concept) -> str:
        code = f"  [{c.notation}]" if c.notation else ""
        return f"{c.label(lang)}{code}"

    lines: list[str] = []
    depth = 0
    if concept.domain:
        lines.append(f"{_group_name(vocab, concept.domain, lang)}  (domain)")
        depth += 1
    if concept.micro_thesaurus:
        lines.append("  " * depth + f"{_group_name(vocab, concept.micro_thesaurus, lang)}  (micro-thesaurus)")
        depth += 1
    if not (concept.domain or concept.micro_thesaurus):
        for group in concept.groups:
            lines.append(f"{_group_name(vocab, group, lang)}  (group)")
        depth = 1 if concept.groups else 0
    for parent in broader_chain(vocab, concept):
        lines.append("  " * depth + name(parent))
        depth += 1
    lines.append("  " * depth + "* " + name(concept))
    narrower = sorted((vocab.get(u) or u for u in concept.narrower),
                      key=lambda c: c.label(lang) if isinstance(c, Concept) else c)
    for child in narrower:
        lines.append("  " * (depth + 1) + (name(child) if isinstance(child, Concept) else child))
    others = [vocab.get(u) for u in concept.broader[1:]]
    for other in others:
        if other is not None:
            lines.append(f"also broader: {name(other)}")
    for uri in concept.related:
        other = vocab.get(uri)
        lines.append(f"related: {name(other) if other else uri}")
    notes = concept.scope_notes.get(lang) or concept.scope_notes.get("en") or ()
    for note in notes:
        lines.append(f"scope note: {note}")
    return lines
