"""The headings backend's features: what a document says about a filler, and the model's columns.

:class:`Mentions` collects one document's mentions of one filler (whole-label
and partial, where, what template words are near); :data:`FEATURES` names
the columns of the (document, instance) pairs the backend's logistic head
reads (:mod:`fahras.models.headings`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fahras.models.base import AnalyzedText

#: What the document says about the filler (per document, filler and template).
MENTION_FEATURES = (
    "full",          # log(1 + phrase mentions of a whole filler label)
    "partial",       # log(1 + mentions of a term unique to the filler's label, outside whole mentions)
    "share",         # mentions / mentions of the document's most mentioned filler
    "top",           # 1 if no filler is mentioned more often
    "first",         # 1 - relative position of the first mention
    "first_rank",    # 1 / (1 + rank of the first mention among the mentioned fillers)
    "near",          # best share of the template's words found within ``window`` terms of a mention
    "near_count",    # log(1 + mentions with all of the template's words nearby)
)
#: How the template fared in training.
PATTERN_FEATURES = (
    "pattern_prior",    # log(1 + training documents with the template) / log(1 + documents)
    "pattern_fillers",  # log(1 + distinct fillers of the template in training) / log(1 + documents)
)
#: How the filler and the instance fared in training.
HISTORY_FEATURES = (
    "seen",            # 1 if this instance is a training heading
    "instance_prior",  # log(1 + training documents with this instance) / log(1 + documents)
    "filler_prior",    # log(1 + training documents with the filler in some instance) / log(1 + documents)
)
#: The model's features, in column order: mention and template features get
#: separate weights for fillers known from training and for new ones.
FEATURES = (
    tuple(f"{f}:known" for f in MENTION_FEATURES) + tuple(f"{f}:new" for f in MENTION_FEATURES)
    + PATTERN_FEATURES + tuple(f"{f}:new" for f in PATTERN_FEATURES) + HISTORY_FEATURES + ("new_filler",)
)


@dataclass
class Mentions:
    """What one document says about one filler."""

    full: int = 0
    partial: int = 0
    first: int = -1                               # token position of the first mention
    #: where the mentions are: (first, last) token positions, or (start, end)
    #: characters for languages matched in the raw text; one kind per document
    spans: list[tuple[int, int]] = field(default_factory=list)
    token_positions: bool = False                 # the spans are token positions
    #: the template words (see :meth:`HeadingsBackend._template_words`) within ``window``
    #: terms of each of the first 64 mentions: all that the "near" features look at
    windows: list[frozenset] = field(default_factory=list)

    @property
    def count(self) -> int:
        return self.full + self.partial

    def char_spans(self, doc: AnalyzedText) -> list[tuple[int, int]]:
        """The mentions' (start, end) characters in ``doc``, in text order."""
        if not self.token_positions:
            return sorted(self.spans)
        starts, ends = doc.tokens.starts, doc.tokens.ends
        return sorted((starts[first], ends[last]) for first, last in self.spans)
