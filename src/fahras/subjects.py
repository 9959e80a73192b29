"""A model's subject space: the ordered list of subjects it can suggest.

Descriptors in training documents are matched to thesaurus concepts by URI,
identifier or preferred label (case and accents ignored); a descriptor the
thesaurus lacks becomes a *local* subject under its own label instead of
being dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from fahras.vocab import Concept, Vocabulary, local_concept


@dataclass
class MatchStats:
    """How descriptors of a corpus matched the thesaurus."""

    thesaurus_occurrences: int = 0
    local_occurrences: int = 0
    thesaurus_subjects: set[str] = field(default_factory=set)
    local_subjects: set[str] = field(default_factory=set)
    local_concepts: dict[str, Concept] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "thesaurus_occurrences": self.thesaurus_occurrences,
            "local_occurrences": self.local_occurrences,
            "thesaurus_subjects": len(self.thesaurus_subjects),
            "local_subjects": len(self.local_subjects),
        }


def resolve(descriptor: str, vocab: Vocabulary) -> Concept:
    """The concept a descriptor names: a thesaurus concept, or a local subject."""
    found = vocab.find(descriptor)
    if found is not None:
        return found
    local = local_concept(descriptor)
    return vocab.get(local.uri) or local


def resolve_all(descriptors: Iterable[str], vocab: Vocabulary, stats: MatchStats | None = None) -> set[str]:
    uris = set()
    for descriptor in descriptors:
        concept = resolve(descriptor, vocab)
        uris.add(concept.uri)
        if stats is not None:
            if concept.local:
                stats.local_occurrences += 1
                stats.local_subjects.add(concept.uri)
                stats.local_concepts.setdefault(concept.uri, concept)
            else:
                stats.thesaurus_occurrences += 1
                stats.thesaurus_subjects.add(concept.uri)
    return uris


class SubjectSpace:
    """Subjects in a fixed order: column ``i`` of every score matrix is ``uris[i]``."""

    def __init__(self, uris: Sequence[str]):
        self.uris = list(uris)
        self.index = {uri: i for i, uri in enumerate(self.uris)}

    def __len__(self) -> int:
        return len(self.uris)

    def indicator(self, gold: Sequence[set[str]]) -> sp.csr_matrix:
        """Documents x subjects 0/1 matrix; subjects outside the space are ignored."""
        rows, cols = [], []
        for r, uris in enumerate(gold):
            for uri in uris:
                if uri in self.index:
                    rows.append(r)
                    cols.append(self.index[uri])
        data = np.ones(len(rows), dtype=np.float32)
        return sp.csr_matrix((data, (rows, cols)), shape=(len(gold), len(self.uris)))

    @classmethod
    def from_gold(cls, gold: Iterable[set[str]]) -> "SubjectSpace":
        return cls(sorted(set().union(*gold)))
