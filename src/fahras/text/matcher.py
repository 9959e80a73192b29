"""The one label matcher: thesaurus labels found in a document's terms.

Three backends look for labels in documents -- the zero-shot backend's
lexical features (:mod:`fahras.models.lexical`), the headings backend's
filler mentions (:mod:`fahras.models.headings`) and the acronyms backend's
expansions (:mod:`fahras.models.acronyms`).  What they share is here, with
the differences as parameters:

* :func:`concept_labels` -- the labels of a concept that take part in
  matching: the preferred label, then every other label list the
  :class:`~fahras.vocab.Concept` has (alternative labels, hidden labels...);
* :class:`VariantPolicy` -- when a document term meets a label term it is
  not equal to.  ``"keys"``: both share all but the last ``chars``
  characters (at least ``min_prefix``; with ``leading``, also all but the
  first ``chars``, for Arabic derived nouns), every such label term counts;
  ``"nearest"``: the label term with the longest common prefix (at least
  ``min_prefix``), the document's term at most ``chars`` longer beyond it;
  ``"exact"``: no variants.  ``exact_first``: a document term that is a
  label term itself means that term only, not its variants as well
  (French ``refug``, from "réfugiés", is REFUGIES, not REFUGIEES);
* :class:`LabelTerms` -- the label terms of one language with the policy's
  variant index;
* phrase search, occurrences with offsets: :func:`longest_matches`
  (contiguous, longest label first, left to right, with optional one-term
  partial matches), :func:`window_matches` (every term of a label within a
  window of ``n_terms + max_gap`` tokens, in any order), :func:`raw_matches`
  (labels in the raw text, for languages whose terms are character
  n-grams); :class:`Occurrence` holds token positions and characters.

The backends compute their own features on top (what counts as a mention,
which label of a concept wins, weights).
"""

from __future__ import annotations

import bisect
import dataclasses
from dataclasses import dataclass
from itertools import compress, count
from typing import Iterable, Iterator, Mapping, Sequence

from fahras.vocab.concept import Concept

#: The label lists of a concept besides its preferred labels (``alt_labels``, and any other
#: ``*_labels`` field the Concept class has), each a dict language -> labels.
LABEL_LISTS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Concept)
                                     if f.name.endswith("_labels"))
#: The id of a document term that is no label term.
NO_TERM = -1
#: Policy modes.
MODES = ("exact", "keys", "nearest")


def concept_labels(concept: Concept, lang: str | None = None) -> list[str]:
    """The labels of ``concept`` that take part in matching, each once, preferred label first.

    ``lang``: that language's labels; None: every language's (preferred
    labels in the concept's order, then each label list's).
    """
    if lang is None:
        labels = list(concept.labels.values())
        for name in LABEL_LISTS:
            labels += [label for values in getattr(concept, name).values() for label in values]
    else:
        labels = [concept.labels.get(lang)]
        for name in LABEL_LISTS:
            labels += list(getattr(concept, name).get(lang, ()))
    return [label for label in dict.fromkeys(labels) if label]


@dataclass(frozen=True)
class VariantPolicy:
    """When a document term meets a label term it is not equal to (see the module docstring)."""

    mode: str = "exact"
    chars: int = 0
    min_prefix: int = 4
    leading: bool = False
    exact_first: bool = False

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown variant mode {self.mode!r}; choose one of {', '.join(MODES)}")

    @property
    def active(self) -> bool:
        if self.mode == "keys":
            return self.chars > 0
        return self.mode == "nearest" and self.chars > 0 and self.min_prefix > 0

    def keys(self, term: str) -> list[str]:
        """``"keys"`` mode: the keys under which ``term`` meets its variants."""
        if term.isdigit():
            return []
        n = len(term)
        keys = [term[:n - k] for k in range(self.chars + 1) if n - k >= self.min_prefix]
        if self.leading:
            keys += ["\x00" + term[k:] for k in range(1, self.chars + 1) if n - k >= self.min_prefix]
        return keys


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class LabelTerms:
    """The analysed label terms of one language, with the variant index of a :class:`VariantPolicy`.

    Read-only once built: an index is shared by every thread scoring with a
    model.  (A caller that looks the same document terms up again and again
    may remember :meth:`lookup`'s answers, as the headings backend does.)
    """

    def __init__(self, terms: Iterable[str], policy: VariantPolicy = VariantPolicy()):
        self.terms = list(terms)
        self.policy = policy
        self.term_id = {t: i for i, t in enumerate(self.terms)}
        self._keys: dict[str, list[int]] = {}
        self._by_prefix: dict[str, list[str]] = {}
        if policy.active and policy.mode == "keys":
            for tid, term in enumerate(self.terms):
                for key in policy.keys(term):
                    self._keys.setdefault(key, []).append(tid)
        elif policy.active:
            for term in self.terms:
                if len(term) >= policy.min_prefix:
                    self._by_prefix.setdefault(term[:policy.min_prefix], []).append(term)

    def __len__(self) -> int:
        return len(self.terms)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelTerms) and (self.terms, self.policy) == (other.terms, other.policy)

    __hash__ = None  # mutable-looking: compared by value, not hashed

    def variants(self, term: str) -> set[int]:
        """``"keys"`` mode: the ids of every label term sharing a key with ``term`` (itself included)."""
        found: set[int] = set()
        for key in self.policy.keys(term) if self._keys else ():
            found.update(self._keys.get(key, ()))
        return found

    def lookup(self, term: str) -> int:
        """The id of the label term ``term`` is, or (``"nearest"`` mode) is a variant of; :data:`NO_TERM` if none."""
        found = self.term_id.get(term)
        if found is not None:
            return found
        best, best_rank = NO_TERM, None
        prefix, chars = self.policy.min_prefix, self.policy.chars
        if self._by_prefix and len(term) >= prefix:
            for cand in self._by_prefix.get(term[:prefix], ()):
                common = _common_prefix(term, cand)
                extra, missing = len(term) - common, len(cand) - common
                # Derived forms add letters (malian, sudanes, lebanes); a document term
                # that is a mere prefix of the label's may drop one letter only
                # (syria/syrian, not liber/liberia).
                if extra > chars or missing > min(chars, 2 if extra else 1):
                    continue
                if extra and missing and common <= prefix:  # condemn/condom
                    continue
                rank = (-common, missing, extra, cand)
                if best_rank is None or rank < best_rank:
                    best, best_rank = self.term_id[cand], rank
        return best

    def positions(self, terms: Sequence[str], variant_weight: float = 1.0
                  ) -> tuple[dict[int, list[int]], dict[int, float]]:
        """``"keys"`` mode: token positions of each label term in ``terms`` (exactly or as a variant),
        and each found term's weight (1 exact, ``variant_weight`` met only as a variant).
        With the policy's ``exact_first``, a term that is a label term meets no variants."""
        positions: dict[int, list[int]] = {}
        weight: dict[int, float] = {}
        by_term: dict[str, list[int]] = {}
        for pos, term in enumerate(terms):
            by_term.setdefault(term, []).append(pos)
        for term, pos_list in by_term.items():
            tid = self.term_id.get(term)
            if tid is not None:
                positions.setdefault(tid, []).extend(pos_list)
                weight[tid] = 1.0
                if self.policy.exact_first:
                    continue
            for vid in self.variants(term):
                if vid == tid:
                    continue
                positions.setdefault(vid, []).extend(pos_list)
                weight.setdefault(vid, variant_weight)
        for pos_list in positions.values():
            pos_list.sort()
        return positions, weight


@dataclass
class Occurrence:
    """One phrase occurrence of a label: token positions and character span in the original text."""

    label: int
    first: int
    last: int
    start: int
    end: int


def longest_labels(labels: Sequence[tuple[object, tuple[int, ...]]]
                   ) -> dict[int, list[tuple[object, tuple[int, ...], int]]]:
    """First term id -> ``(owner, term ids, length)`` of the labels starting with it, longest first
    (then in the given order): the index :func:`longest_matches` reads."""
    by_first: dict[int, list[int]] = {}
    for n, (_, ids) in enumerate(labels):
        by_first.setdefault(ids[0], []).append(n)
    return {first: [(*labels[n], len(labels[n][1])) for n in sorted(ns, key=lambda n: (-len(labels[n][1]), n))]
            for first, ns in by_first.items()}


def longest_matches(ids: Sequence[int], by_first: Mapping[int, list], single: Mapping[int, object] | None = None,
                    starters: frozenset | set | None = None) -> Iterator[tuple[int, int, object, bool]]:
    """Contiguous label matches in the term ids ``ids``: ``(first, last, owner, whole)``, left to right.

    At each position the longest label of :func:`longest_labels`' ``by_first``
    that the ids spell is taken (``whole`` True), and the scan resumes after
    it; where none fits, a term of ``single`` (term id -> owner) matches
    alone (``whole`` False, e.g. a term unique to one label).  ``starters``:
    the term ids a match can start with (default: ``by_first``'s and
    ``single``'s keys).
    """
    if not isinstance(ids, tuple):
        ids = tuple(ids)  # compared slice by slice with the labels' tuples
    single = single or {}
    if starters is None:
        starters = frozenset(by_first) | frozenset(single)
    labels_from, alone = by_first.get, single.get
    resume = 0
    for i in compress(count(), map(starters.__contains__, ids)):
        if i < resume:  # inside a match found before
            continue
        t = ids[i]
        for owner, seq, length in labels_from(t, ()):  # longest first
            if ids[i:i + length] == seq:  # (shorter, so unequal, past the end)
                resume = i + length
                yield i, resume - 1, owner, True
                break
        else:
            owner = alone(t)
            if owner is not None:
                yield i, i, owner, False


def window_matches(pos_lists: list[list[int]], n_terms: int, max_gap: int) -> list[tuple[int, int]]:
    """Non-overlapping windows ``(first, last)`` of at most ``n_terms + max_gap`` tokens holding a
    position from each of ``pos_lists`` (the sorted positions of each distinct term of a label)."""
    if len(pos_lists) == 1:
        return [(p, p) for p in pos_lists[0]]
    width = max(n_terms, len(pos_lists)) - 1 + max_gap
    anchor = min(range(len(pos_lists)), key=lambda k: len(pos_lists[k]))
    found: list[tuple[int, int]] = []
    last_end = -1
    for p in pos_lists[anchor]:
        lo, hi = p, p
        ok = True
        for k, plist in enumerate(pos_lists):
            if k == anchor:
                continue
            q = _nearest(plist, p, lo, hi)
            if q is None:
                ok = False
                break
            lo, hi = min(lo, q), max(hi, q)
            if hi - lo > width:
                ok = False
                break
        if ok and lo > last_end:
            found.append((lo, hi))
            last_end = hi
    return found


def _nearest(plist: list[int], p: int, lo: int, hi: int) -> int | None:
    """The position in ``plist`` that widens the window [lo, hi] least."""
    i = bisect.bisect_left(plist, p)
    best, cost = None, None
    for j in (i - 1, i):
        if 0 <= j < len(plist):
            q = plist[j]
            c = max(hi, q) - min(lo, q)
            if cost is None or c < cost:
                best, cost = q, c
    return best


def occurrences(label: int, windows: Iterable[tuple[int, int]], starts: Sequence[int],
                ends: Sequence[int]) -> list[Occurrence]:
    """:class:`Occurrence` objects of token windows, with their characters (``starts``/``ends``: the tokens')."""
    return [Occurrence(label, lo, hi, starts[lo], max(ends[lo:hi + 1])) for lo, hi in windows]


def raw_matches(text: str, labels: Iterable[tuple[object, str]]) -> Iterator[tuple[object, int, int]]:
    """``(owner, start, end)`` of every non-overlapping occurrence of each label in ``text`` (as given:
    casefold both first for a case-blind search), label by label."""
    for owner, label in labels:
        pos = text.find(label) if label else -1
        while pos >= 0:
            yield owner, pos, pos + len(label)
            pos = text.find(label, pos + len(label))


def token_span(starts: Sequence[int], start: int, end: int) -> tuple[int, int]:
    """The first and last token (by their sorted ``starts``) that characters ``start``..``end`` fall in."""
    first = max(bisect.bisect_right(starts, start) - 1, 0)
    return first, max(bisect.bisect_left(starts, end) - 1, first)

