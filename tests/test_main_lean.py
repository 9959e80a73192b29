"""The main process of training at library scale (issue 19, main-lean): the analysis stored compactly
(:class:`fahras.models.analysed.AnalysedCorpus`) gives back exactly the analysis it was given, the TF-IDF
features learned from its term ids are exactly those learned from the terms, and its memory goes back to the
system when it is released."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ARABIC_EXAMPLE, RESOLUTIONS, ROOT, requires_shared
from fahras.models.analysed import AnalysedCorpus, GoldSets, TrainingRecords, take
from fahras.models.base import AnalyzedText
from fahras.models.features import TfidfFeatures
from fahras.text import Tokens, get_analyzer


def _same(a: AnalyzedText, b: AnalyzedText) -> None:
    assert a.text == b.text
    assert a.terms == b.terms
    assert a.tokens.starts == b.tokens.starts and a.tokens.ends == b.tokens.ends
    assert a.lang == b.lang


@pytest.fixture(scope="module")
def un_texts() -> list[str]:
    requires_shared()
    texts = [p.read_text(encoding="utf-8") for p in sorted(RESOLUTIONS.glob("*.txt"))[:120]]
    return texts + [ARABIC_EXAMPLE.read_text(encoding="utf-8")]


@pytest.fixture(scope="module")
def un_analysed(un_texts) -> list[AnalyzedText]:
    analyzer = get_analyzer("en")
    return [AnalyzedText(t, analyzer.tokens(t), "en") for t in un_texts]


# -- the analysis, exactly ----------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", ["en", "auto", "ar", "fr"])
def test_the_compact_analysis_gives_back_the_same_texts_terms_offsets_and_languages(un_texts, spec):
    from fahras.indexer import Indexer

    indexer = Indexer(analyzer=spec)
    indexer.analyzer_ = get_analyzer(spec)
    docs = [indexer.analyse(t, deferred_offsets=False) for t in un_texts]
    corpus = AnalysedCorpus.of(docs)
    assert len(corpus) == len(docs)
    for a, b in zip(docs, corpus):
        _same(a, b)
    for i in (0, 5, -1):
        _same(docs[i], corpus[i])
    # views share the buffers and give the same documents
    rows = [7, 3, 3, 0, len(docs) - 1]
    for a, b in zip([docs[i] for i in rows], corpus.take(rows)):
        _same(a, b)
    for a, b in zip(docs[2:40:3], corpus[2:40:3]):
        _same(a, b)
    for a, b in zip([docs[i] for i in rows][1:4], corpus.take(rows)[1:4]):
        _same(a, b)
    assert corpus.languages() == {lang: sum(d.lang == lang for d in docs) for lang in {d.lang for d in docs} if lang}


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80) | st.lists(
    st.sampled_from(["Water", "water", "WATERS", "Ünïcode", "σΣς", "İstanbul", "ﬁne", "the", "a_b", "42", "日本語",
                     "مياه", "ß", " ", "\n", "--", "x\u0301y"]), max_size=30).map(" ".join)


@settings(max_examples=60, deadline=None)
@given(st.lists(_TEXT, max_size=8))
def test_the_compact_analysis_is_exact_on_generated_text(texts):
    analyzer = get_analyzer("en")
    docs = [AnalyzedText(t, analyzer.tokens(t), lang) for t, lang in zip(texts, ["en", None, "fr"] * 3)]
    corpus = AnalysedCorpus.of(docs)
    assert len(corpus) == len(docs)
    for a, b in zip(docs, corpus):
        _same(a, b)
    ids, ptr = corpus.term_rows()
    table = corpus.term_table()
    assert [[table[j] for j in ids[ptr[i]:ptr[i + 1]]] for i in range(len(docs))] == [d.terms for d in docs]
    back = pickle.loads(pickle.dumps(corpus.take(list(range(len(docs)))[::-1])))  # (as sent to a cluster)
    for a, b in zip(docs[::-1], back):
        _same(a, b)


def test_lone_surrogates_and_given_tokens_survive():
    text = "bad \udcff byte and water"
    doc = AnalyzedText(text, Tokens(["bad", "water"], [0, 17], [3, 22]), None)
    _same(doc, AnalysedCorpus.of([doc])[0])


def test_a_released_corpus_is_empty_for_every_holder():
    docs = [AnalyzedText(t, get_analyzer("en").tokens(t)) for t in ["water supply", "mining copper", "health"]]
    corpus = AnalysedCorpus.of(docs)
    view = corpus.take([2, 0])
    assert not corpus.released and len(view) == 2
    corpus.release()
    assert corpus.released and len(corpus) == 0 and len(view) == 0 and list(view) == []
    with pytest.raises(IndexError):
        corpus[0]


def test_take_on_a_list_is_a_list_and_bad_rows_are_refused():
    docs = AnalysedCorpus.of([AnalyzedText("water", get_analyzer("en").tokens("water"))])
    assert take(["a", "b", "c"], [2, 0]) == ["c", "a"]
    with pytest.raises(IndexError):
        docs.take([1])
    with pytest.raises(IndexError):
        docs[3]


def test_gold_and_records_give_back_the_subjects_ids_and_fold_metadata():
    from fahras.corpus import Document
    from fahras.subjects import SubjectSpace

    gold = GoldSets()
    given = [{"u:b", "u:a"}, {"u:c"}, {"u:a", "u:z"}]
    for g in given:
        gold.append(g)
    assert [gold[i] for i in range(3)] == given and gold.union() == {"u:a", "u:b", "u:c", "u:z"}
    assert gold.sorted_lists() == [sorted(g) for g in given]
    space = SubjectSpace(["u:a", "u:b", "u:c"])  # u:z outside the space: ignored, as indicator() ignores it
    assert (gold.indicator(space) != space.indicator(given)).nnz == 0
    records = TrainingRecords(gold)
    docs = [Document("A/1", "one", ("b",), {"year": 2001, "symbol": "S/1"}), Document("A/2", "two", ("c",), {}),
            Document("A/3", "three", ("a",), {"series": "S", "year": 2003})]
    for d in docs:
        records.append(d)
    assert records.ids() == ["A/1", "A/2", "A/3"]
    assert records.metadata("year") == [2001, None, 2003] and records.metadata("series") == [None, None, "S"]
    assert records[2].id == "A/3" and records[2].subjects == ("u:a", "u:z") and records[2].metadata["year"] == 2003
    records.clear()
    assert len(records) == 0


# -- the features from term ids, exactly ---------------------------------------------------------------------
@pytest.mark.parametrize("settings_", [(1, 1, None), (2, 2, 200_000), (2, 2, 300), (2, 1, 1_000), (1, 2, 50),
                                       (2, 3, None), (3, 2, 2_000)])
def test_features_from_term_ids_are_those_from_the_terms(un_analysed, settings_):
    docs = un_analysed
    corpus = AnalysedCorpus.of(docs)
    plain, compact = TfidfFeatures(*settings_), TfidfFeatures(*settings_)
    x_plain = plain.fit_transform(list(docs))
    x_compact = compact.fit_transform(corpus)
    assert list(compact.feature_names_) == list(plain.feature_names_)
    assert compact.vocabulary_ == plain.vocabulary_
    np.testing.assert_array_equal(compact.idf_, plain.idf_)  # to the bit
    assert compact.key_ == plain.key_
    _same_rows(x_compact, x_plain)
    rows = np.array([5, 1, 1, 30, len(docs) - 1])
    _same_rows(plain.transform(corpus.take(rows)), plain.transform([docs[i] for i in rows]))
    # a fold's features: fitted on a view
    fold = TfidfFeatures(*settings_)
    _same_rows(fold.fit_transform(corpus.take(np.arange(0, len(docs), 2))),
               TfidfFeatures(*settings_).fit_transform(docs[::2]))


def _same_rows(a: sp.csr_matrix, b: sp.csr_matrix) -> None:
    assert a.shape == b.shape
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.data, b.data)
    assert a.data.dtype == b.data.dtype == np.float32


def test_the_max_features_cut_keeps_the_same_ties(un_analysed):
    # many features of equal frequency at the cut: CountVectorizer's (unstable) order of them is reproduced
    corpus = AnalysedCorpus.of(un_analysed)
    for limit in (17, 1_001, 4_321):
        plain, compact = TfidfFeatures(2, 1, limit), TfidfFeatures(2, 1, limit)
        plain.fit(list(un_analysed))
        compact.fit(corpus)
        assert list(compact.feature_names_) == list(plain.feature_names_)


@settings(max_examples=40, deadline=None)
@given(st.lists(_TEXT, min_size=1, max_size=10), st.integers(1, 2), st.integers(1, 3), st.sampled_from([None, 3, 10]))
def test_features_from_term_ids_on_generated_text(texts, ngram_max, min_df, max_features):
    analyzer = get_analyzer("en")
    docs = [AnalyzedText(t, analyzer.tokens(t)) for t in texts]
    plain, compact = TfidfFeatures(ngram_max, min_df, max_features), TfidfFeatures(ngram_max, min_df, max_features)
    try:
        x_plain = plain.fit_transform(docs)
    except ValueError as exc:  # no feature at all: the same error from the term ids' path
        with pytest.raises(ValueError, match=str(exc)[:20]):
            compact.fit_transform(AnalysedCorpus.of(docs))
        return
    _same_rows(compact.fit_transform(AnalysedCorpus.of(docs)), x_plain)
    assert list(compact.feature_names_) == list(plain.feature_names_)
    np.testing.assert_array_equal(compact.idf_, plain.idf_)


def test_features_fall_back_to_the_terms_when_a_term_holds_the_separator():
    docs = [AnalyzedText("x", Tokens(["new york", "city", "new york"], [0, 0, 0], [1, 1, 1])),
            AnalyzedText("y", Tokens(["city", "new york", "hall"], [0, 0, 0], [1, 1, 1]))]
    plain, compact = TfidfFeatures(2, 1, None), TfidfFeatures(2, 1, None)
    _same_rows(compact.fit_transform(AnalysedCorpus.of(docs)), plain.fit_transform(docs))
    assert list(compact.feature_names_) == list(plain.feature_names_)


# -- the training set: streamed, compact, the same analysis ----------------------------------------------------
def test_the_training_set_is_analysed_as_analyse_does_and_kept_compactly(un_texts):
    from fahras import Indexer
    from fahras.corpus import Document
    from synthetic import corpus_documents

    documents, vocab = corpus_documents()
    indexer = Indexer(analyzer="auto")
    data = indexer.training_set(iter(documents), vocab)
    assert isinstance(data.analysed, AnalysedCorpus) and isinstance(data.gold, GoldSets)
    assert len(data.analysed) == len(documents)
    for doc, analysed in zip(documents, data.analysed):
        _same(indexer.analyse(doc.text, deferred_offsets=False), analysed)
    assert [d.id for d in data.documents] == [d.id for d in documents]
    assert data.documents[3].text == documents[3].text and isinstance(data.documents[3], Document)
    # the subject matrix: the subject space's indicator of the same sets
    assert (data.targets != indexer.subjects_.indicator([data.gold[i] for i in range(len(documents))])).nnz == 0


# -- the memory goes back ------------------------------------------------------------------------------------
_RELEASE_SCRIPT = textwrap.dedent("""
    import json, random, sys
    from fahras.models.analysed import AnalysedCorpus
    from fahras.models.base import AnalyzedText
    from fahras.models.budget import release_free_memory
    from fahras.text import get_analyzer

    def rss_mb():
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:")) / 1024

    compact = sys.argv[1] == "compact"
    rng = random.Random(3)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9))) for _ in range(5000)]
    analyzer = get_analyzer("en")
    release_free_memory()
    before = rss_mb()
    docs = AnalysedCorpus() if compact else []
    kept = []  # what lives on beside the analysis (in training: the subject space, the folds...)
    for i in range(60000):
        text = " ".join(rng.choice(words) for _ in range(12))
        docs.append(AnalyzedText(text, analyzer.tokens(text), "en"))
        if i % 50 == 0:
            kept.append(f"document {i}")
    held = rss_mb()
    if compact:
        docs.release()
    else:
        docs.clear()
    release_free_memory()
    print(json.dumps({"before": before, "held": held, "after": rss_mb()}))
""")


def _release_run(kind: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _RELEASE_SCRIPT, kind], capture_output=True, text=True,
                         check=True, cwd=ROOT, timeout=300)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_released_analysis_goes_back_to_the_system():
    """60,000 analysed titles: the compact store's memory is given back when released.  A list of AnalyzedText
    objects, cleared, keeps most of its memory: a few objects allocated meanwhile and kept (one per 50 titles
    here) hold Python's small-object arenas."""
    compact = _release_run("compact")
    objects = _release_run("objects")
    held_compact = compact["held"] - compact["before"]
    held_objects = objects["held"] - objects["before"]
    assert held_compact < 0.4 * held_objects  # compact: a few large buffers
    assert compact["after"] - compact["before"] < 0.35 * held_compact + 3  # given back (the term table may stay)
    assert objects["after"] - objects["before"] > 0.5 * held_objects  # (what the compact store avoids)


# -- the workers' results wait until the workers are done ---------------------------------------------------
def test_on_a_large_corpus_nothing_is_loaded_beside_the_workers_and_the_scores_are_the_same(monkeypatch):
    import multiprocessing

    from fahras.models import crossfit
    from fahras.models.budget import FitOnce
    from fahras.models.crossfit import cross_fit
    from fahras.vocab import Concept
    from synthetic import ANALYZER, NAMES, analysed_corpus

    docs, y = analysed_corpus(60, seed=5)
    docs, y = docs * 2, sp.vstack([y, y]).tocsr()
    n = len(docs)
    words = {"WATER": "drought", "HEALTH": "malaria", "EDUCATION": "literacy", "MINING": "copper mine"}
    concepts = [Concept(f"http://x/{name}", name, {"en": words[name]}) for name in NAMES]
    folds = FitOnce([(np.arange(0, n - 12), np.arange(n - 12, n))])
    specs = [{"name": "knn", "params": {"k": 5}}, {"name": "labels"}, {"name": "knn", "params": {"k": 3}}]
    kept, held_kept = cross_fit(specs, AnalysedCorpus.of(docs), y, ANALYZER, folds, concepts=concepts, n_jobs=2)
    alive_at_load, real_load = [], crossfit.load_backend

    def load(folder):
        alive_at_load.append(len(multiprocessing.active_children()))
        return real_load(folder)

    monkeypatch.setattr(crossfit, "load_backend", load)
    corpus = AnalysedCorpus.of(docs)
    corpus.releasable = True
    fitted, held_out = cross_fit(specs, corpus, y, ANALYZER, folds, concepts=concepts, n_jobs=2, release_docs=True)
    assert corpus.released and alive_at_load == [0, 0]  # the models loaded once every worker has ended
    for a, b, ha, hb in zip(kept, fitted, held_kept, held_out):
        np.testing.assert_array_equal(ha, hb)  # the labels' held-out sample scored after the release: the same
        probe = AnalysedCorpus.of(docs).take(range(0, n, 9))
        np.testing.assert_array_equal(a.predict_scores(probe), b.predict_scores(probe))


def test_the_profile_reports_the_main_process_beside_busy_workers():
    from benchmarks.train_profile import peaks

    samples = [{"stage": "read and analyse", "main_mb": 300.0, "workers_mb": {}, "tree_mb": 300.0},
               {"stage": "features (x)", "main_mb": 450.0, "workers_mb": {"7": 12.0}, "tree_mb": 462.0},
               {"stage": "fit", "main_mb": 220.0, "workers_mb": {"7": 900.0, "8": 12.0}, "tree_mb": 1132.0},
               {"stage": "fit", "main_mb": 1200.0, "workers_mb": {"8": 12.0}, "tree_mb": 1212.0},
               {"stage": "stacker", "main_mb": 1900.0, "workers_mb": {"8": 12.0}, "tree_mb": 1912.0}]
    lines = peaks(samples)
    assert lines[0].startswith("tree peak: 1912 MB in 'stacker'")
    assert "main process peak 220 MB, tree peak 1132 MB" in lines[1]  # (not the 1,200 MB after the workers)
    assert lines[2].endswith("main process peak 450 MB")


def test_a_worker_reads_the_subject_matrix_and_folds_at_its_first_task_not_at_its_start(tmp_path):
    from fahras.models import crossfit

    y = sp.csr_matrix(np.eye(4, 3, dtype=np.float32))
    try:
        crossfit._init_worker(str(tmp_path))  # nothing there yet: a worker that gets no task reads nothing
        assert set(crossfit._WORK) == {"scratch"}
        sp.save_npz(tmp_path / crossfit._Y_FILE, y)
        np.savez(tmp_path / crossfit._FOLDS_FILE, train0=np.arange(3), held0=np.array([3]))
        assert (crossfit._work("y") != y).nnz == 0
        np.testing.assert_array_equal(crossfit._work("folds")[0][1], [3])
    finally:
        crossfit._WORK.clear()
