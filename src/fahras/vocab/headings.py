"""Composite headings as patterns: ``{X}--POLITICAL CONDITIONS`` filled with a thesaurus concept.

Index-to-Proceedings headings are mostly a thesaurus concept set in a fixed
pattern: ``SUDAN--POLITICAL CONDITIONS``, ``SOMALIA SITUATION``.  This module
knows the patterns as data about the vocabulary -- independent of any
backend -- so that the ``headings`` backend (which scores instances), the
ensemble (which keeps a new heading from doubling one that names its filler)
and the tools can share them:

* :func:`heading_patterns` mines templates from training headings and
  instantiates them (local concepts whose ``broader`` is the template's
  :func:`pattern_uri` and whose ``related`` is the filler concept);
* :func:`pattern_instances` finds the templates, fillers and instances again
  among the columns of a subject space;
* :func:`covering_subjects` lists, for each instance, the subjects that name
  its filler.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import replace
from typing import Sequence
from urllib.parse import quote, unquote

import numpy as np
import scipy.sparse as sp

from fahras.vocab.concept import LOCAL_URI_PREFIX, local_concept
from fahras.vocab.normalize import label_key

PATTERN_URI_PREFIX = "urn:fahras:pattern:"
SLOT = "{X}"

_WORD_CHAR = re.compile(r"\w", re.UNICODE)
_WORD_RUN = re.compile(r"\w+", re.UNICODE)


def heading_key(label: str) -> str:
    """The matching key of a heading or label, upper-cased as local subject URIs are."""
    return label_key(label).upper()


def pattern_uri(template: str, domain: str) -> str:
    """The URI naming a template whose fillers come from ``domain`` (``broader`` of its instances)."""
    return f"{PATTERN_URI_PREFIX}{quote(domain, safe='')}:{quote(template, safe='')}"


def pattern_of(uri: str) -> tuple[str, str] | None:
    """(domain, template) of a pattern URI, None for other URIs."""
    if not uri.startswith(PATTERN_URI_PREFIX):
        return None
    domain, sep, template = uri[len(PATTERN_URI_PREFIX):].partition(":")
    return (unquote(domain), unquote(template)) if sep and SLOT in unquote(template) else None


def split_template(template: str) -> tuple[str, str]:
    prefix, _, suffix = template.partition(SLOT)
    return prefix, suffix


def parse_heading(key: str, template: str) -> str | None:
    """The filler of ``key`` (a heading key) under ``template``, or None if it does not fit."""
    prefix, suffix = split_template(template)
    if len(key) <= len(prefix) + len(suffix) or not key.startswith(prefix) or not key.endswith(suffix):
        return None
    filler = key[len(prefix):len(key) - len(suffix)]
    # a filler is whole words; a qualified name ends in its parenthesis: IRAN (ISLAMIC REPUBLIC OF)
    qualified = filler.endswith(")") and "(" in filler
    if not _is_word(filler[0]) or not (_is_word(filler[-1]) or qualified):
        return None
    if (prefix and _is_word(prefix[-1])) or (suffix and _is_word(suffix[0])):
        return None
    return filler


def _is_word(ch: str) -> bool:
    return bool(_WORD_CHAR.match(ch))


def decompositions(key: str, fillers: dict[str, list]) -> list[tuple[str, str]]:
    """(template, filler key) for every label of ``fillers`` found in ``key`` at word boundaries."""
    starts = [i for i in range(len(key)) if _is_word(key[i]) and (i == 0 or not _is_word(key[i - 1]))]
    ends = [j for j in range(1, len(key) + 1) if _is_word(key[j - 1]) and (j == len(key) or not _is_word(key[j]))]
    out = []
    for i in starts:
        for j in ends:
            if j <= i or (i == 0 and j == len(key)):
                continue
            part = key[i:j]
            if part in fillers:
                out.append((key[:i] + SLOT + key[j:], part))
    return out


def domain_of(group: str) -> str:
    return group.split(".")[0]


def pattern_instances(concepts: Sequence, unknown_fillers: bool = False
                      ) -> tuple[list[str], dict[str, dict[str, str]], list[tuple[int, int, str]]]:
    """The pattern instances among the subject columns' ``concepts``.

    Templates are those the concepts' ``broader`` pattern links name (see
    :func:`heading_patterns`); every column's English label is
    parsed against them, its own templates first, then the longest.  Returns
    the templates (sorted), the fillers those links name (filler key ->
    ``{"uri", "class"}``, the class being the domain) and one ``(column,
    template index, filler key)`` per instance.  A filler no link names counts
    only with ``unknown_fillers``.
    """
    patterns = [[p for p in map(pattern_of, c.broader) if p] if c is not None else [] for c in concepts]
    templates = sorted({t for ps in patterns for _, t in ps})
    fillers: dict[str, dict[str, str]] = {}
    for c, ps in zip(concepts, patterns):
        for domain, t in ps:
            part = parse_heading(heading_key(c.label("en")), t)
            if part is not None:
                known = fillers.setdefault(part, {"uri": c.related[0] if c.related else "", "class": domain})
                known["class"] = min(known["class"], domain)
    parsed: list[tuple[int, int, str]] = []
    for col, (c, ps) in enumerate(zip(concepts, patterns)):
        if c is None or not c.labels.get("en"):
            continue
        key = heading_key(c.labels["en"])
        own = {t for _, t in ps}
        options = []
        for t_index, t in enumerate(templates):
            part = parse_heading(key, t)
            if part is None or (part not in fillers and not unknown_fillers):
                continue
            options.append((t not in own, part not in fillers, -len(t), t_index, part))
        if options:
            best = min(options)
            parsed.append((col, best[3], best[4]))
    return templates, fillers, parsed


def covering_subjects(concepts: Sequence, candidates: np.ndarray) -> sp.csr_matrix:
    """For each pattern instance, the subjects among ``candidates`` that name its filler.

    Row ``j`` (a column of ``concepts``) lists the ``candidates`` columns
    whose English label holds the label of instance ``j``'s filler as whole
    words, other than ``j`` itself and the filler's own concept: ``ERITREA--ETHIOPIA``
    and ``UN MISSION IN ETHIOPIA AND ERITREA`` name the filler of ``ETHIOPIA
    SITUATION``.  Rows of other columns are empty.  The ensemble uses it to
    keep a new heading from doubling one the document already has.
    """
    n = len(concepts)
    _, _, parsed = pattern_instances(concepts)
    words = {int(s): f" {heading_words(heading_key(concepts[s].label('en')))} " for s in candidates
             if concepts[s] is not None and concepts[s].labels.get("en")}
    rows, cols = [], []
    named: dict[str, list[int]] = {}
    for j, _, filler in parsed:
        wanted = heading_words(filler)
        if wanted not in named:
            needle = f" {wanted} "
            named[wanted] = [s for s, text in words.items() if needle in text and text.strip() != wanted]
        for s in named[wanted]:
            if s != j:
                rows.append(j)
                cols.append(s)
    return sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n, n))


def heading_words(key: str) -> str:
    """``key``'s words, separated by single spaces (punctuation is no word)."""
    return " ".join(_WORD_RUN.findall(key))




def heading_patterns(vocab, gold: Sequence[set[str]], min_pattern_count: int = 2, filler_scope: str = "domain",
                     max_instances: int = 3000) -> list:
    """Instances of the templates learned from the training documents' headings (``gold``: URIs per document).

    A template seen with at least ``min_pattern_count`` distinct fillers of
    one domain is kept and instantiated for every concept of its fillers'
    micro-thesauri (``filler_scope="group"``) or of their whole domain
    (``"domain"``), at most ``max_instances`` in all.  Deterministic:
    templates are ordered by their number of distinct fillers, then
    alphabetically; fillers by URI.
    """
    by_label: dict[str, list] = defaultdict(list)
    for concept in vocab:
        if not concept.local and concept.labels.get("en"):
            by_label[heading_key(concept.labels["en"])].append(concept)
    fillers = {k: sorted(cs, key=lambda c: c.uri) for k, cs in by_label.items()}
    headings = sorted({u for uris in gold for u in uris})
    seen: dict[tuple[str, str], set[str]] = defaultdict(set)   # (template, domain) -> filler keys
    groups: dict[tuple[str, str], set[str]] = defaultdict(set)
    for uri in headings:
        concept = vocab.get(uri)
        if concept is not None:
            key = heading_key(concept.labels.get("en", ""))
        elif uri.startswith(LOCAL_URI_PREFIX):
            key = unquote(uri[len(LOCAL_URI_PREFIX):])
        else:
            continue
        if not key:
            continue
        for template, part in decompositions(key, fillers):
            for filler in fillers[part]:
                for group in filler.groups:
                    seen[(template, domain_of(group))].add(part)
                    groups[(template, domain_of(group))].add(group)
    kept = sorted(((t, d) for (t, d), parts in seen.items() if len(parts) >= int(min_pattern_count)),
                  key=lambda td: (-len(seen[td]), td))
    members: dict[str, list] = defaultdict(list)
    for concept in sorted(vocab, key=lambda c: c.uri):
        if concept.local or not concept.labels.get("en"):
            continue
        for group in concept.groups:
            members[group].append(concept)
            if group != domain_of(group):
                members[domain_of(group)].append(concept)
    out: dict[str, object] = {}
    for template, domain in kept:
        scope = sorted(groups[(template, domain)]) if filler_scope == "group" else [domain]
        candidates = {c.uri: c for g in scope for c in members.get(g, ())}
        prefix, suffix = split_template(template)
        for uri in sorted(candidates):
            if len(out) >= int(max_instances):
                return list(out.values())
            filler = candidates[uri]
            heading = prefix + filler.labels["en"].strip() + suffix
            known = vocab.find(heading)
            if known is not None and not known.local:
                # A thesaurus concept already (SOMALIA SITUATION): offered as it is.
                out.setdefault(known.uri, known)
                continue
            concept = local_concept(heading)
            if concept.uri not in out:
                out[concept.uri] = replace(concept, broader=(pattern_uri(template, domain),),
                                           related=(filler.uri,))
    return list(out.values())
