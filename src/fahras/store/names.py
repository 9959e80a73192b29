"""File names made from data (document ids, symbols, file names of a corpus or a record).

The one place that decides what name a writer may give a file whose name comes
from data, so that nothing is written outside its folder and no two outputs
share a file:

* :func:`safe_name` -- an ASCII name from any text (a symbol ``S/RES/2532
  (2020)`` -> ``S_RES_2532_(2020)``): the connectors' corpus names;
* :func:`portable_name` -- a name kept as given when it is already a plain file
  name on every system (any script: ``قرار.txt`` stays), else made safe with a
  hash of the original so that distinct names stay distinct;
* :class:`NameSet` -- the names given in one folder, compared case-insensitively
  (NFC, casefolded), so that two names differing only in case get two files on
  a case-insensitive file system too (the later one gets ``-2``, ``-3``...).

A name is never empty, ``.`` or ``..``; holds no ``/``, ``\\``, NUL or other
control character, nor ``< > : " | ? *``; does not start with a dot (hidden),
nor end with a dot or space (Windows drops them); is not a Windows device name
(``CON``, ``PRN``, ``AUX``, ``NUL``, ``COM0-9``, ``LPT0-9``, with any
extension); and is at most :data:`MAX_NAME_BYTES` bytes in UTF-8, which leaves
room for the temporary names atomic writes use beside it (``.NAME.tmp``) under
the usual 255-byte limit.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

#: Windows device names: reserved with any extension, in any case.
RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10)),
                      "COM¹", "COM²", "COM³", "LPT¹", "LPT²", "LPT³", "CONIN$", "CONOUT$"})
#: Longest name given (UTF-8 bytes): 255 less room for ``.NAME.tmp`` / ``.NAME.XXXXXXXX.part``.
MAX_NAME_BYTES = 200
#: Longest :func:`safe_name` (characters), as the connectors have always used.
MAX_NAME = 100

_NOT_PORTABLE = re.compile(r'[\x00-\x1f\x7f/\\<>:"|?*]')


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def is_reserved(name: str) -> bool:
    """Whether ``name`` is a Windows device name (``CON``, ``con.txt``, ``COM1.tar.gz``, ``NUL ``...)."""
    return name.split(".")[0].rstrip(" ").upper() in RESERVED


def is_portable(name: str, max_bytes: int = MAX_NAME_BYTES) -> bool:
    """Whether ``name`` is a plain file name on every system (see the module docstring)."""
    return (bool(name) and name not in (".", "..") and not _NOT_PORTABLE.search(name)
            and not name.startswith(".") and not name.endswith((".", " ")) and not is_reserved(name)
            and len(name.encode("utf-8", "surrogatepass")) <= max_bytes)


def _cut(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` UTF-8 bytes, never inside a character."""
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) <= max_bytes:
        return text
    return raw[:max_bytes].decode("utf-8", "ignore")


def safe_name(symbol: str, max_length: int = MAX_NAME) -> str:
    """An ASCII file name (without extension) derived from a document symbol, safe on every system.

    ``S/RES/2532 (2020)`` -> ``S_RES_2532_(2020)``: ASCII letters, digits,
    ``( ) . - _`` only; no leading dot, no path separators, no Windows reserved
    name (``CON``, ``NUL``, ``COM1`` ...), at most ``max_length`` characters
    (longer symbols are cut and given a hash of the whole).
    """
    text = unicodedata.normalize("NFKC", symbol)
    text = re.sub(r"[^A-Za-z0-9().\-]+", "_", text)
    text = re.sub(r"_+", "_", text).strip("._-")
    if not text:
        text = "record"
    if is_reserved(text):
        text = "_" + text
    if len(text) > max_length:
        digest = _digest(symbol)
        text = text[: max_length - 9].rstrip("._-") + "-" + digest
    return text


def portable_name(stem: str, suffix: str = "", max_bytes: int = MAX_NAME_BYTES) -> str:
    """``stem + suffix`` when that is a portable name, else a safe one made from ``stem``.

    The safe form keeps the stem's letters (any script), turns everything else
    that is not portable into ``_``, and ends with ``-`` and a hash of the
    original stem, so that two stems made equal by the cleaning stay apart.
    ``suffix`` (``.txt``, ``.annif``) must itself be portable and short.
    """
    if is_portable(stem + suffix, max_bytes) and not stem.startswith(" "):
        return stem + suffix
    text = unicodedata.normalize("NFC", stem)
    text = _NOT_PORTABLE.sub("_", text)
    text = re.sub(r"_+", "_", text).strip(" ._")
    if is_reserved(text):
        text = "_" + text
    digest = "-" + _digest(stem)
    text = _cut(text, max_bytes - len(suffix.encode("utf-8")) - len(digest)).rstrip(" .")
    return (text or "document") + digest + suffix


class NameSet:
    """Names given in one folder; :meth:`claim` returns a name no other claim of the set shares,
    ignoring case (NFC casefold), so that names differing only in case get different files."""

    def __init__(self, taken=()):
        self._keys: set[str] = {self.key(n) for n in taken}

    @staticmethod
    def key(name: str) -> str:
        return unicodedata.normalize("NFC", name).casefold()

    def __contains__(self, name: str) -> bool:
        return self.key(name) in self._keys

    def add(self, name: str) -> None:
        self._keys.add(self.key(name))

    def claim(self, stem: str, suffix: str = "", max_bytes: int = MAX_NAME_BYTES) -> str:
        """A portable name for ``stem + suffix`` (see :func:`portable_name`) that no earlier claim has;
        the second of two clashing names gets ``-2`` before the suffix, the third ``-3``..."""
        name = portable_name(stem, suffix, max_bytes)
        base = name[: len(name) - len(suffix)] if suffix else name
        n = 1
        while self.key(name) in self._keys:
            n += 1
            tail = f"-{n}"
            name = _cut(base, max_bytes - len((tail + suffix).encode("utf-8"))).rstrip(" .") + tail + suffix
        self._keys.add(self.key(name))
        return name
