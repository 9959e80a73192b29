"""The zero-shot backend's time per MB: linear, with the same scores as before.

Before, the lexical features checked every label occurrence against every
formula and every name occurrence of the document (quadratic): 0.5 MB of
resolutions took 55 s, a 50 MB file did not finish in 10 minutes.  The spans
are now found by bisection (:class:`fahras.models.lexical._Spans`); the
answers must be exactly those of the full scan.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fahras import Indexer
from fahras.models import lexical
from fahras.vocab import Vocabulary, load_vocabulary

from robust_support import FUZZ

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
pytestmark = pytest.mark.skipif(not (DATA / "unbis" / "all_topics.json").exists(), reason="shared data missing")

span = st.tuples(st.integers(0, 60), st.integers(0, 12)).map(lambda t: (t[0], t[0] + t[1]))
named = st.tuples(span, st.integers(0, 4)).map(lambda t: (*t[0], t[1]))
occurrence = st.tuples(span, st.integers(0, 4))


@FUZZ
@given(st.lists(span, max_size=12), st.lists(named, max_size=12), st.lists(occurrence, min_size=1, max_size=10))
def test_span_index_gives_the_answers_of_the_full_scan(formulas, names, occurrences):
    indexed_formulas, indexed_names = lexical._Spans(formulas), lexical._Spans()
    indexed_names.extend(names)
    for (first, last), col in occurrences:
        o = lexical.Occurrence(0, first, last, 0, 0)
        assert lexical._outside_formulas(o, indexed_formulas) == lexical._outside_formulas(o, list(formulas))
        assert lexical._outside_names(o, col, indexed_names) == lexical._outside_names(o, col, list(names))


def _texts() -> list[str]:
    paths = sorted((DATA / "unsc-resolutions" / "train").glob("*.txt"))
    texts = [p.read_text(encoding="utf-8").split("\n", 2)[-1] for p in paths]
    return texts


@pytest.fixture(scope="module")
def model() -> Indexer:
    """Label matching only (no encoder), over a third of the real thesaurus (a few seconds to build)."""
    vocab = load_vocabulary(DATA / "unbis" / "all_topics.json")
    concepts = sorted(vocab, key=lambda c: c.uri)[::3]
    return Indexer(backend="zeroshot", backend_params={"semantic": False}).fit(
        [], Vocabulary(concepts, groups=vocab.groups, source=vocab.source))


def test_scores_are_unchanged_on_the_shared_examples(model, monkeypatch):
    texts = [(DATA / "examples" / "000_5a894c35c2768328.txt").read_text(encoding="utf-8").split("\n", 2)[-1]]
    all_texts = _texts()
    texts += all_texts[::60] + ["\n\n".join(all_texts[:40])]  # and one long document (about 200 KB)
    docs = [model.analyse(t) for t in texts]
    fast = model.backend_.predict_scores(docs)
    monkeypatch.setattr(lexical, "_Spans", list)  # the full scan of before
    slow = model.backend_.predict_scores(docs)
    assert np.array_equal(fast, slow)
    assert (fast.max(axis=1) > 100 * np.median(fast, axis=1)).all()  # labels were found in every document


def test_time_per_mb_is_bounded(model):
    text = "\n\n".join(_texts())
    text = (text * (1 + 2 ** 21 // len(text)))[: 2 ** 21]  # 2 MB of resolutions
    doc = model.analyse(text, lang="en")
    start = time.perf_counter()
    model.backend_.predict_scores([doc])
    seconds = time.perf_counter() - start
    # before: about 4 minutes for 2 MB; now about 5 s on the loaded machine (generous bound)
    assert seconds < 40, seconds
