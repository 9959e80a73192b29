"""Explanations as a reader sees them: the words as written in the text, once each.

Backends explain a suggestion by the features that led to it: analysed terms
(stems such as ``organiz`` or ``januari``, bigrams such as ``organiz
particular``), each with the places it occurs in the text.  An ensemble
gathers the explanations of its bases, so the same word can come twice, once
as the acronyms backend wrote it (``UNAMID``) and once as a stem (``unamid``).

:func:`surface_evidence` turns them into what a cataloguer can check against
the document: each term is shown as it stands in the text (``text[start:end]``
of its occurrences, the most frequent spelling, ``Organization``, ``January
2012``, ``Organization, in particular``), and terms that read the same
(ignoring case) are merged into one, keeping the highest weight and all their
occurrences.

:func:`export_header_length` and :func:`shift_evidence` make offsets point
into a file as it was given: the text of a UN export file is read without its
``%%%`` header line and the empty line after it, so its offsets count from
after them until shifted by the header's length.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Iterable, Sequence

from fahras.models.base import Evidence

__all__ = ["export_header_length", "shift_evidence", "surface_evidence", "surface_form"]

_EXPORT_HEADER = "%%%"


def surface_form(text: str, spans: Sequence[tuple[int, int]]) -> str | None:
    """The most frequent spelling (case ignored) of ``text[start:end]`` over ``spans``, as first written.

    White space inside is shown as single spaces; None if no span has text.
    """
    forms = [" ".join(text[start:end].split()) for start, end in spans if 0 <= start < end <= len(text)]
    forms = [f for f in forms if f]
    if not forms:
        return None
    counts = Counter(f.casefold() for f in forms)
    best = max(counts.values())
    return next(f for f in forms if counts[f.casefold()] == best)


def surface_evidence(text: str, evidence: Iterable[Evidence]) -> list[Evidence]:
    """``evidence`` with surface forms for terms, merged by surface form (case ignored), best first.

    A merged item keeps the highest weight of its parts and the union of their
    spans (sorted).  Passages are kept as they are (merged only when their
    text is the same).  The order is by weight, highest first, ties in the
    order given.
    """
    merged: dict[tuple[str, str], Evidence] = {}
    for ev in evidence:
        shown = (surface_form(text, ev.spans) if ev.kind == "term" else None) or ev.text
        key = (ev.kind, shown.casefold())
        previous = merged.get(key)
        if previous is None:
            merged[key] = replace(ev, text=shown, spans=sorted(set(map(tuple, ev.spans))))
            continue
        spans = sorted(set(map(tuple, previous.spans)) | set(map(tuple, ev.spans)))
        best = ev if ev.weight > previous.weight else previous
        merged[key] = replace(previous, weight=best.weight, spans=spans)
    return sorted(merged.values(), key=lambda e: -e.weight)


def shift_evidence(evidence: Iterable[Evidence], offset: int) -> list[Evidence]:
    """Evidence whose spans are moved ``offset`` characters later (offset 0: the items unchanged)."""
    if not offset:
        return list(evidence)
    return [replace(ev, spans=[(start + offset, end + offset) for start, end in ev.spans]) for ev in evidence]


def export_header_length(raw: str) -> int:
    """Characters before the text of a UN export file: its ``%%%`` line and the empty line after it.

    ``raw`` is the whole file, decoded (a leading byte-order mark dropped);
    0 for text not in the export format.  The same lines are dropped as when
    such a file is read as a document (:mod:`fahras.text.extract`).
    """
    if not raw.startswith(_EXPORT_HEADER):
        return 0
    header, newline, rest = raw.partition("\n")
    if not newline:
        return len(raw)
    second, newline2, _ = rest.partition("\n")
    length = len(header) + 1
    if not second.strip():
        length += len(second) + len(newline2)
    return length
