"""Strip United Nations page furniture and recognise the document symbol.

A UN document printed from its PDF carries, on every page, furniture that
says nothing about its subject and would otherwise become index terms:

* the job number and barcode: ``05-21201 (E)``, ``10-41557 (A)  180105``,
  ``*0521201*``, often with the page number: ``2 13-31417``, ``3/5 13-31417``;
* page marks alone on a line: ``2/5``, or a bare page number next to other
  furniture or ending the text;
* the running header repeating the document symbol: ``S/RES/2250 (2015)``;
* the distribution line ``Distr.: General 18 January 2005`` and
  ``Original: English``;
* ``Please recycle``.

Only whole lines are removed, except job numbers with their language code
and barcodes, which are unmistakable and are cut out of a line too (text
exported as one long line has them inline).  A mention such as ``resolution
1503 (2003)`` or ``(S/2005/9)`` inside a sentence is never touched, and a
line that is only a symbol is removed only when it is the document's own
symbol (the masthead's) or repeats as a running header.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from itertools import accumulate

_SEGMENT = r"[A-Za-z0-9]+(?:[.\-][A-Za-z0-9]+)*"
_SYMBOL_BODY = rf"[A-Z]{{1,8}}(?:/{_SEGMENT})+"
_YEAR = r"\s?\((?:19|20)\d\d\)"

#: A document symbol: ``S/RES/2250 (2015)``, ``A/64/842``, ``E/CN.4/2005/L.10``...
SYMBOL = re.compile(rf"(?<![\w/.])({_SYMBOL_BODY})({_YEAR})?(?![\w/])")

_SYMBOL_LINE = re.compile(
    rf"\s*{_SYMBOL_BODY}(?:{_YEAR})?(?:\s*[-\u2013\u2014]\s*{_SYMBOL_BODY}(?:{_YEAR})?)*\s*\**\)?\s*")

_JOB = r"(?:[A-Z]{1,2}\.)?\d{2}-\d{5}[A-Z]?\*{0,2}(?:\s*\([AECFRS]\))?(?:\s+\d{6})?"
_BARCODE = r"\*\d{7,9}\*"
_PAGE_MARK = r"\d{1,3}/\d{1,3}"
_NUMBER = r"\d{1,3}"

_JOB_LINE = re.compile(
    rf"\s*(?:(?:{_PAGE_MARK}|{_NUMBER})\s+)?(?:{_JOB}|{_BARCODE})"
    rf"(?:\s+(?:{_JOB}|{_BARCODE}|{_PAGE_MARK}|{_NUMBER}))*\s*")
_PAGE_MARK_LINE = re.compile(rf"\s*{_PAGE_MARK}\s*")
_NUMBER_LINE = re.compile(rf"\s*{_NUMBER}\s*")
_DISTR_LINE = re.compile(
    r"\s*Distr\.?\s*:?\s*(?:general|générale|limited|limitée|limitada|restricted|restreinte|reservada)\b"
    r"[^\n]{0,40}", re.IGNORECASE)
_DISTR_DATE_LINE = re.compile(r"\s*\d{1,2}\s+\w+\s+\d{4}\s*")
_ORIGINAL_LINE = re.compile(r"\s*Original\s*:\s*\w+(?:\s*/\s*\w+)?\s*")
_RECYCLE_LINE = re.compile(r"\s*(?:\u2672\s*)?(?:Please\s+recycle\b[^\n]*|\u2672)\s*", re.IGNORECASE)

_INLINE_ITEM = (rf"(?<![\w-])\d{{2}}-\d{{5}}[A-Z]?\*{{0,2}}\s*\([AECFRS]\)(?:\s+\d{{6}})?(?!\w)"
                rf"|(?<![\w*]){_BARCODE}(?![\w*])")
_INLINE = re.compile(rf"(?:[ \t]*(?:{_INLINE_ITEM}))+[ \t]*")
#: What every match of ``_INLINE`` contains (a job number's ``-12345`` or a barcode's
#: ``*12345``): a cheap test that spares the costly ``_INLINE`` search on the lines
#: without it.  Starting with a character class, it is found three times faster
#: than the exact ``\d\d-\d{5}|\*\d{7}``.
_INLINE_HINT = re.compile(r"[-*]\d{5}")


def _inline_lines(joined: str, lines: list[str]) -> list[bool]:
    """Which ``lines`` hold inline job numbers or barcodes; ``joined`` is ``"\\n".join(lines)``.

    The text is scanned once for the hint; only the lines it is found in are searched.
    """
    inline = [False] * len(lines)
    hints = [m.start() for m in _INLINE_HINT.finditer(joined)]
    if not hints:
        return inline
    starts = list(accumulate(len(line) + 1 for line in lines))  # where each next line starts
    for k in {bisect_right(starts, at) for at in hints}:
        inline[k] = bool(_INLINE.search(lines[k]))
    return inline


#: How many non-blank lines at the top of a document make its masthead.
MASTHEAD_LINES = 12
_MASTHEAD_MARK = re.compile(f"{_DISTR_LINE.pattern}|{_ORIGINAL_LINE.pattern}|{_JOB_LINE.pattern}",
                            re.IGNORECASE)


def normalize_symbol(body: str, year: str | None = None) -> str:
    """``S/RES/2250`` + ``(2015)`` -> ``S/RES/2250 (2015)``."""
    return f"{body} {year.strip()}" if year else body


def _symbols_of_line(line: str) -> list[str] | None:
    """The symbols of a line that holds nothing but symbols (joint ones: ``A/64/842-S/2010/334``)."""
    if not _SYMBOL_LINE.fullmatch(line):
        return None
    found = [normalize_symbol(m.group(1), m.group(2)) for m in SYMBOL.finditer(line)]
    return found if found and all(any(ch.isdigit() for ch in s) for s in found) else None


def _symbol_lines(lines: list[str]) -> dict[int, list[str]]:
    """Line number -> the symbols of each line that holds nothing but symbols."""
    return {i: syms for i, line in enumerate(lines) if (syms := _symbols_of_line(line))}


def _primary_symbol(lines: list[str], symbols: dict[int, list[str]] | None = None) -> tuple[str | None, set[str]]:
    """The document symbol, and every symbol whose symbol-only lines are headers.

    ``symbols``: :func:`_symbol_lines` of ``lines``, if known.
    """
    symbol_lines = list((_symbol_lines(lines) if symbols is None else symbols).items())
    if not symbol_lines:
        return None, set()
    counts = Counter(s for _, syms in symbol_lines for s in syms)
    headers = {s for s, n in counts.items() if n >= 2}
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    top = nonblank[:MASTHEAD_LINES]
    # A symbol-only line in the masthead is the document's symbol when the
    # masthead really is one: it opens the text, or carries a distribution
    # line or a job number, or the symbol repeats as a running header.
    looks_official = any(_MASTHEAD_MARK.fullmatch(lines[i]) for i in top)
    for i, syms in symbol_lines:
        if i > top[-1]:
            break
        if i == top[0] or looks_official or any(s in headers for s in syms):
            headers.update(syms)
            return syms[0], headers
    if headers:
        best = max(symbol_lines, key=lambda item: counts[item[1][0]])
        return best[1][0], headers
    return None, set()


def find_symbol(text: str) -> str | None:
    """The document symbol of ``text`` (from its masthead or running headers), or None."""
    return _primary_symbol(_lines(text))[0]


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").split("\n")


#: A line that is a job number, page mark, "Original:" or "Please recycle" line: one
#: regular expression for the four (each with its own flags), one call per line.
_OTHER_FURNITURE_LINE = re.compile("|".join(
    f"(?{'i' if p.flags & re.IGNORECASE else ''}:{p.pattern})"
    for p in (_JOB_LINE, _PAGE_MARK_LINE, _ORIGINAL_LINE, _RECYCLE_LINE)))


def _furniture(lines: list[str]) -> tuple[list[bool], str | None]:
    """Which lines are furniture, and the document symbol.

    A non-blank line is furniture if it is a job number, page mark,
    distribution, "Original:" or "Please recycle" line; a date right after a
    distribution line (the previous non-blank line); or a line of symbols
    that are all headers (see :func:`_primary_symbol`).  Bare page numbers
    are then judged by their neighbours (:func:`_drop_page_numbers`).
    """
    symbols = _symbol_lines(lines)
    symbol, headers = _primary_symbol(lines, symbols)
    drop = [False] * len(lines)
    after_distr = False
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        distr = _DISTR_LINE.fullmatch(line) is not None
        syms = symbols.get(i)
        drop[i] = (distr or _OTHER_FURNITURE_LINE.fullmatch(line) is not None
                   or (after_distr and _DISTR_DATE_LINE.fullmatch(line) is not None)
                   or (syms is not None and all(s in headers for s in syms)))
        after_distr = distr
    _drop_page_numbers(lines, drop)
    return drop, symbol


def strip_furniture(text: str) -> tuple[str, str | None]:
    """``(text without page furniture, document symbol or None)``.

    Line ends become ``\\n``.  Where furniture is removed, the blank lines
    around it go too, so a sentence cut by a page break is joined again by a
    single line break.
    """
    lines = _lines(text)
    drop, symbol = _furniture(lines)
    inline = _inline_lines("\n".join(lines), lines)
    out: list[str] = []
    region: list[int] = []  # pending run of blank or dropped lines
    for i, line in enumerate(lines):
        if drop[i] or not line.strip():
            region.append(i)
            continue
        if region and not any(drop[j] for j in region):
            out.extend(lines[j] for j in region)
        region = []
        out.append(_INLINE.sub(" ", line).strip(" \t") if inline[i] else line)
    if region and not any(drop[j] for j in region):
        out.extend(lines[j] for j in region)
    clean = "\n".join(out)
    if lines[-1] == "" and out and out[-1] != "":  # keep the final line break
        clean += "\n"
    return clean, symbol


_LINE_BREAK = re.compile(r"(\r\n|\r|\n|\f)")


def mask_furniture(text: str) -> tuple[str, str | None]:
    """Like :func:`strip_furniture`, but furniture is overwritten with spaces.

    The result has exactly the length of ``text`` and every character that is
    not furniture stays at its offset, so tokens found in the masked text
    point into the original (what evidence offsets need).
    """
    other_breaks = "\r" in text or "\f" in text
    # Only "\n" (the usual case): a plain split, and the lines joined again by "\n".
    parts = _LINE_BREAK.split(text) if other_breaks else text.split("\n")
    step = 2 if other_breaks else 1
    lines = parts[0::2] if other_breaks else list(parts)
    drop, symbol = _furniture(lines)
    inline = _inline_lines("\n".join(lines) if other_breaks else text, lines)
    for k, line in enumerate(lines):
        if drop[k]:
            parts[step * k] = " " * len(line)
        elif inline[k]:
            parts[step * k] = _INLINE.sub(lambda m: " " * len(m.group()), line)
    return ("".join(parts) if other_breaks else "\n".join(parts)), symbol


def _drop_page_numbers(lines: list[str], drop: list[bool]) -> None:
    """A bare number is a page number when furniture is next to it, when a page gap
    (two or more blank lines) follows or precedes it, or when it ends the text."""
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    for k, i in enumerate(nonblank):
        if drop[i] or not _NUMBER_LINE.fullmatch(lines[i]):
            continue
        prev_i = nonblank[k - 1] if k > 0 else None
        next_i = nonblank[k + 1] if k + 1 < len(nonblank) else None
        before = prev_i is not None and (drop[prev_i] or i - prev_i > 2)
        after = next_i is None or drop[next_i] or next_i - i > 2
        if before or after:
            drop[i] = True
