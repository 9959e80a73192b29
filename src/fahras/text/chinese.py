"""Chinese analyzer: jieba word segmentation plus character bigrams of CJK runs.

jieba's dictionary ships inside its wheel.  The segmenter is built once per
process, lazily and thread-safely, straight from that dictionary: jieba's own
start-up would read or write a cache file in the temporary directory and log
to stderr, so neither path is used and jieba's logger is silenced.  Building
takes about a second.

Tokens: every jieba word that has a letter or digit, NFKC-folded (full-width
``ＵＮ`` -> ``un``) and lower-cased, minus stop words and minus single
non-CJK characters; plus, with ``bigrams=True``, every pair of adjacent CJK
characters, except pairs that are exactly a jieba word (so a two-character
word is not counted twice).  Bigrams recover words the segmenter cut
differently in a label and in a document.  Traditional characters are not
converted to simplified ones.
"""

from __future__ import annotations

import logging
import re
import unicodedata

from fahras.text._lazy import Lazy
from fahras.text.analyzer import Analyzer, Tokens, register_analyzer
from fahras.text.stopwords import stop_words

CJK = "\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF\U00020000-\U0002FFFF"
_CJK_RUN = re.compile(f"[{CJK}]{{2,}}")
_CJK_CHAR = re.compile(f"[{CJK}]")


def _build_segmenter():
    logging.getLogger("jieba").setLevel(logging.ERROR)
    import jieba

    tokenizer = jieba.Tokenizer()
    # Load the bundled dictionary directly: no cache file read or written anywhere.
    tokenizer.FREQ, tokenizer.total = tokenizer.gen_pfdict(tokenizer.get_dict_file())
    tokenizer.initialized = True
    return tokenizer


SEGMENTER = Lazy(_build_segmenter)


#: Full-width ASCII and the ideographic space, mapped one character to one
#: character (so offsets do not move): jieba cuts ``２０１５`` into four words.
_HALF_WIDTH = {0xFF01 + i: 0x21 + i for i in range(94)} | {0x3000: 0x20}


def segment(text: str, hmm: bool = True) -> list[tuple[str, int, int]]:
    """jieba's words of ``text`` as ``(word, start, end)``, whitespace and punctuation included.

    Words are taken from ``text`` itself; only the segmenter sees full-width
    letters and digits as ASCII.
    """
    if not text:
        return []
    tokenizer, folded = SEGMENTER.get(), text.translate(_HALF_WIDTH)
    return [(text[offset + start:offset + end], offset + start, offset + end)
            for offset, piece in _pieces(folded)
            for _, start, end in tokenizer.tokenize(piece, HMM=hmm)]


#: jieba's time grows faster than linearly with the length of a run of letters
#: (a 1 MB "word" took minutes; 9 s with pieces of 4,096), so text is segmented in pieces of at most this
#: many characters, cut after a character that ends jieba's own blocks (a space,
#: punctuation): the words are the same; only a longer run is cut where it must be.
MAX_PIECE = 1024
_BLOCK_END = re.compile(r"[^\u4E00-\u9FD5a-zA-Z0-9+#&._%\-\r]")


def _pieces(text: str):
    """``(offset, piece)``: ``text`` cut into pieces of at most :data:`MAX_PIECE` characters."""
    start = 0
    while len(text) - start > MAX_PIECE:
        end = start + MAX_PIECE
        last = None
        for last in _BLOCK_END.finditer(text, start + MAX_PIECE // 2, end):
            pass
        cut = last.end() if last is not None else end
        yield start, text[start:cut]
        start = cut
    yield start, text[start:]


def cjk_bigrams(text: str) -> list[tuple[str, int, int]]:
    """Every pair of adjacent CJK characters, with offsets."""
    return [(text[i:i + 2], i, i + 2)
            for m in _CJK_RUN.finditer(text) for i in range(m.start(), m.end() - 1)]


@register_analyzer
class ChineseAnalyzer(Analyzer):
    """jieba words (stop words dropped) and, optionally, CJK character bigrams."""

    name = "chinese"

    def __init__(self, bigrams: bool = True, hmm: bool = True, stop_words: bool = True):
        self.bigrams = bool(bigrams)
        self.hmm = bool(hmm)
        self.stop_words = bool(stop_words)
        self._stop = _stop_set() if self.stop_words else frozenset()

    def tokens(self, text: str) -> Tokens:
        out: list[tuple[int, int, int, str]] = []
        word_spans = set()
        for word, start, end in segment(text, self.hmm):
            word_spans.add((start, end))
            term = unicodedata.normalize("NFKC", word).lower().strip()
            if not any(ch.isalnum() for ch in term) or term in self._stop:
                continue
            if len(term) == 1 and not _CJK_CHAR.match(term):
                continue
            out.append((start, end, 0, term))
        if self.bigrams:
            out.extend((start, end, 1, gram) for gram, start, end in cjk_bigrams(text)
                       if (start, end) not in word_spans)
        out.sort()
        return Tokens([term for _, _, _, term in out], [start for start, _, _, _ in out],
                      [end for _, end, _, _ in out])

    def config(self) -> dict:
        return {"name": self.name, "bigrams": self.bigrams, "hmm": self.hmm,
                "stop_words": self.stop_words}


def _stop_set() -> frozenset[str]:
    return stop_words("zh")
