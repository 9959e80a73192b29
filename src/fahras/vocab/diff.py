"""What changed between two editions of a thesaurus: added, removed and relabelled concepts."""

from __future__ import annotations

from dataclasses import dataclass, field

from fahras.vocab.concept import Concept, Vocabulary


@dataclass
class Relabelled:
    uri: str
    old: dict[str, str]   # preferred labels by language, before
    new: dict[str, str]   # and after (only the languages that changed)


@dataclass
class VocabularyDiff:
    added: list[Concept] = field(default_factory=list)
    removed: list[Concept] = field(default_factory=list)
    relabelled: list[Relabelled] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.relabelled)

    def summary(self) -> str:
        return (f"{len(self.added)} added, {len(self.removed)} removed, "
                f"{len(self.relabelled)} relabelled")

    def to_dict(self, lang: str = "en") -> dict:
        return {
            "added": [{"uri": c.uri, "label": c.label(lang)} for c in self.added],
            "removed": [{"uri": c.uri, "label": c.label(lang)} for c in self.removed],
            "relabelled": [{"uri": r.uri, "old": r.old, "new": r.new} for r in self.relabelled],
        }


def diff_vocabularies(old: Vocabulary, new: Vocabulary) -> VocabularyDiff:
    """Compare two thesauri concept by concept (local subjects are ignored).

    Concepts are paired by URI, else by T-code (``notation``), so a concept
    whose URI changed between dump styles is not reported as removed and added.
    """
    def thesaurus(vocab: Vocabulary) -> list[Concept]:
        return [c for c in vocab if not c.local]

    new_by_notation = {c.notation: c for c in thesaurus(new) if c.notation}
    paired_new: set[str] = set()
    result = VocabularyDiff()
    for concept in thesaurus(old):
        other = new.get(concept.uri)
        if (other is None or other.local) and concept.notation:
            other = new_by_notation.get(concept.notation)
        if other is None or other.local:
            result.removed.append(concept)
            continue
        paired_new.add(other.uri)
        changed = sorted(lang for lang in set(concept.labels) | set(other.labels)
                         if concept.labels.get(lang, "") != other.labels.get(lang, ""))
        if changed:
            result.relabelled.append(Relabelled(
                uri=other.uri,
                old={lang: concept.labels.get(lang, "") for lang in changed},
                new={lang: other.labels.get(lang, "") for lang in changed}))
    result.added = [c for c in thesaurus(new) if c.uri not in paired_new]
    for items in (result.added, result.removed):
        items.sort(key=lambda c: c.uri)
    result.relabelled.sort(key=lambda r: r.uri)
    return result
