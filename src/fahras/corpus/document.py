"""The one document type every corpus reader yields."""

from __future__ import annotations

from dataclasses import dataclass, field

from fahras.textfile import decode_utf8  # noqa: F401  (re-exported: readers import it from here)


@dataclass(frozen=True)
class Document:
    """A document: its id, full text and the subjects indexers gave it.

    ``subjects`` holds what the source says, as given: thesaurus URIs or
    labels.  Matching them against a vocabulary is the subject space's job.
    ``metadata`` carries what readers or extractors learn (document symbol,
    language, source file).
    """

    id: str
    text: str
    subjects: tuple[str, ...] = ()
    metadata: dict = field(default_factory=dict, compare=False)
