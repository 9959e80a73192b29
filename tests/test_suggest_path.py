"""The fast suggestion path gives what the plain one gave: tokens, rows, scores, files (issue #4)."""

from __future__ import annotations

import copy
import pickle
import re
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fahras import Document, Indexer
from fahras.batch import RUN_MANIFEST
from fahras.errors import InputError
from fahras.models import create_backend, FitContext
from fahras.models import features as features_module
from fahras.models.features import TfidfFeatures, ngram_counts, ngrams, sharing_rows
from fahras.text import Token, get_analyzer
from fahras.text.analyzer import _WORD, splitter, words_with_ends
from fahras.text.furniture import _INLINE, _inline_lines, _lines, mask_furniture
from fahras.text.langid import _SCRIPTS, script_counts
from fahras.text.normalize import WORD
from fahras.vocab.concept import Concept, Vocabulary

from synthetic import ANALYZER, NAMES, PROBES, analyse, analysed_corpus, make_corpus
from conftest import first_test_documents

# Text mixing words of several scripts, digits, underscores, combining marks and punctuation.
TEXT = st.lists(st.sampled_from(list("abcXYZ_ 019-*()\n\t.,éñçÀ") + ["e\u0301", "ё", "й", "ال", "مُ", "中文",
                                                                      "Ⅻ", "ß", "İ", "the", "Côte"]),
                max_size=40).map("".join)


@given(TEXT)
def test_words_with_ends_is_finditer(text):
    for pattern in (_WORD, WORD):
        words, ends = words_with_ends(splitter(pattern), text)
        assert list(zip(words, ends)) == [(m.group(), m.end()) for m in pattern.finditer(text)]


@given(TEXT)
@settings(max_examples=200)
def test_analyzers_give_the_tokens_of_a_word_by_word_analysis(text):
    # Each distinct word is analysed once now; a word's tokens must not depend on that.
    for lang in ("en", "fr", "es", "ru"):
        analyzer = get_analyzer(lang)
        tokens = analyzer.tokens(text)
        one_by_one = []
        for m in (_WORD if lang == "en" else WORD).finditer(text):
            one_by_one += [Token(t.term, t.start + m.start(), t.end + m.start())
                           for t in analyzer.tokens(m.group())]
        assert tokens == one_by_one


def test_token_is_an_immutable_named_triple():
    token = Token("secur", 0, 8)
    assert (token.term, token.start, token.end) == ("secur", 0, 8) and token == Token("secur", 0, 8)
    with pytest.raises(AttributeError):
        token.term = "other"


JOB_PIECES = ["05-21201 (E)", "*0521201*", "10-41557 (A)  180105", "13-31417", "S/RES/2250 (2015)", "2/5",
              "The Council", "resolution 1503 (2003)", "\n", "\n\n", " ", "12"]


@given(st.lists(st.sampled_from(JOB_PIECES), max_size=30).map("".join))
def test_inline_hint_finds_every_line_with_inline_furniture(text):
    lines = _lines(text)
    assert _inline_lines(text, lines) == [bool(_INLINE.search(line)) for line in lines]
    masked, _ = mask_furniture(text)
    assert len(masked) == len(text)


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_script_counts_of_ascii_text(text):
    assert script_counts(text) == {name: len(p.findall(text)) for name, p in _SCRIPTS.items()}


# -- features ------------------------------------------------------------------------------
@given(st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=12), st.integers(1, 3))
def test_ngram_counts_counts_the_ngrams(terms, max_n):
    assert ngram_counts(terms, max_n) == Counter(ngrams(terms, max_n))


@pytest.fixture(scope="module")
def corpus():
    return analysed_corpus(seed=3)


def test_equal_features_share_rows_within_a_block_only(corpus, monkeypatch):
    docs, _ = corpus
    one, two = TfidfFeatures(), TfidfFeatures()
    plain = one.fit_transform(docs)
    two.fit(docs)
    assert one.key_ == two.key_
    calls = []
    original = TfidfFeatures._row
    monkeypatch.setattr(TfidfFeatures, "_row", lambda self, doc: calls.append(doc) or original(self, doc))
    with sharing_rows():
        first, second = one.transform(docs), two.transform(docs[:7])
        assert len(calls) == len(docs)
        assert (first != plain).nnz == 0 and (second != plain[:7]).nnz == 0
        with sharing_rows():  # nested: the same memo
            one.transform(docs[:3])
        assert len(calls) == len(docs)
    one.transform(docs)
    assert len(calls) == 2 * len(docs)
    assert features_module._SHARED_ROWS.get() is None


def test_other_features_do_not_share_rows(corpus):
    docs, _ = corpus
    unigrams, bigrams = TfidfFeatures(ngram_max=1), TfidfFeatures(ngram_max=2)
    u, b = unigrams.fit_transform(docs), bigrams.fit_transform(docs)
    assert unigrams.key_ != bigrams.key_
    with sharing_rows():
        assert (unigrams.transform(docs) != u).nnz == 0 and (bigrams.transform(docs) != b).nnz == 0


def test_omikuji_predictor_is_model_predict(corpus):
    from fahras.models.omikuji_tree import _Predictor

    docs, y = corpus
    backend = create_backend("omikuji", {"n_threads": 1}).fit(docs, y, context=FitContext(ANALYZER))
    x = backend.features_.transform(analyse([text for text, _ in PROBES] + ["", "unknown words only"]))
    predict = _Predictor(backend.model_, 10, 3)
    assert predict.lib is not None
    for i in range(x.shape[0]):
        cols, vals = x.indices[x.indptr[i]:x.indptr[i + 1]], x.data[x.indptr[i]:x.indptr[i + 1]]
        labels, scores = predict(cols, vals)
        expected = backend.model_.predict(list(zip(cols.tolist(), vals.tolist())), beam_size=10, top_k=3)
        assert list(zip(labels.tolist(), scores.tolist())) == [(a, pytest.approx(b, abs=0)) for a, b in expected]


# -- the indexer -----------------------------------------------------------------------------
def _vocab() -> Vocabulary:
    return Vocabulary([Concept(uri=f"http://example.org/{n}", identifier=str(n), labels={"en": name})
                       for n, name in enumerate(NAMES)])


@pytest.fixture(scope="module")
def indexer():
    texts, labels = make_corpus(seed=5)
    docs = [Document(str(i), t, tuple(NAMES[j] for j in ls)) for i, (t, ls) in enumerate(zip(texts, labels))]
    return Indexer(backend="ensemble", cv_folds=2,
                   backend_params={"backends": [{"name": "tfidf-linear"}, {"name": "knn"},
                                                {"name": "omikuji", "params": {"n_threads": 1}}],
                                   "cv_folds": 2}).fit(docs, _vocab())


GERMAN = ("Der Sicherheitsrat beschließt, das Mandat der Mission der Vereinten Nationen in Liberia bis zum "
          "30. September zu verlängern, und fordert alle Parteien auf, die Waffenruhe einzuhalten und mit der "
          "Mission uneingeschränkt zusammenzuarbeiten.")


def test_analyse_detects_once_for_check_and_analysis(indexer, monkeypatch):
    import fahras.indexer as indexer_module

    calls = []
    detect, detect_supported = indexer_module.detect_language, indexer_module.detect_supported_language
    monkeypatch.setattr(indexer_module, "detect_language", lambda text: calls.append(text) or detect(text))
    monkeypatch.setattr(indexer_module, "detect_supported_language",
                        lambda text: calls.append(text) or detect_supported(text))
    text = PROBES[0][0]
    analysed = indexer.analyse(text, check=True)
    assert len(calls) == 1 and analysed.lang == "en"
    assert analysed == indexer.analyse(text)
    with pytest.raises(InputError, match="six UN languages"):
        indexer.analyse(GERMAN, check=True)
    with pytest.raises(InputError, match="no words"):
        indexer.analyse("12 345 -- 2/5", check=True)
    assert indexer.analyse(GERMAN, lang="en", check=True).lang == "en"  # a given language is not checked


def test_suggest_batch_takes_analysed_texts_and_explains_without_analysing_again(indexer, monkeypatch):
    texts = [text for text, _ in PROBES]
    plain = indexer.suggest_batch(texts, limit=3, explain=True)
    analysed = [indexer.analyse(t) for t in texts]
    calls = []
    original = Indexer.analyse
    monkeypatch.setattr(Indexer, "analyse", lambda self, *a, **k: calls.append(a) or original(self, *a, **k))
    again = indexer.suggest_batch(analysed, limit=3, explain=True, batch_size=3)
    assert calls == []
    assert [[s.to_dict(all_labels=True) for s in r] for r in again] == \
        [[s.to_dict(all_labels=True) for s in r] for r in plain]
    assert np.array_equal(indexer.scores(analysed), indexer.scores(texts))
    calls.clear()
    indexer.suggest_batch(texts, limit=3, explain=True)
    assert len(calls) == len(texts)  # once each, explanations included
    first, second = again[0][0], indexer.suggest(texts[0], limit=1)[0]
    first.labels["en"] = "changed"  # suggestions do not share their label dicts
    assert second.labels["en"] != "changed"
    assert pickle.loads(pickle.dumps(again)) == again  # suggestions travel (batch workers)


def test_headings_scoring_leaves_the_model_unchanged():
    from test_backend_headings import MALI_TEXT, SYRIA_TEXT, make_documents, make_vocab

    model = Indexer(backend="headings", analyzer="en", cv_folds=0).fit(make_documents(), make_vocab())
    backend = model.backend_
    before = copy.deepcopy(backend.__dict__)
    scores = model.scores([MALI_TEXT, SYRIA_TEXT, "Malian and Syrian and Lebanese authorities"])
    assert scores.max() > 0
    after = backend.__dict__
    assert set(after) == set(before)

    def learned(index):
        return {key: value for key, value in vars(index).items() if key != "_known"}

    for name, index in after["langs_"].items():
        assert learned(index) == learned(before["langs_"][name])
        # what scoring leaves behind is a memo of term ids, nothing else
        for (prefix, chars), memo in index._known.items():
            assert memo == index.term_ids(list(memo), prefix, chars)
    assert any(index._known for index in after["langs_"].values())


def test_headings_term_memo_is_bounded_and_changes_no_score(monkeypatch):
    from test_backend_headings import MALI_TEXT, SYRIA_TEXT, make_documents, make_vocab

    import fahras.models.headings as headings

    texts = [MALI_TEXT, SYRIA_TEXT, "Malian and Syrian and Lebanese authorities"]
    model = Indexer(backend="headings", analyzer="en", cv_folds=0).fit(make_documents(), make_vocab())
    fresh = pickle.loads(pickle.dumps(model))  # pickling leaves the memo behind
    assert not any(index._known for index in fresh.backend_.langs_.values())
    expected = fresh.scores(texts)
    monkeypatch.setattr(headings, "TERM_MEMO_SIZE", 8)
    # a full memo starts afresh with the terms of the document at hand
    bound = max(8, *(len(set(model.analyse(t).terms)) for t in texts))
    for _ in range(2):
        assert np.array_equal(model.scores(texts), expected)
        assert all(len(memo) <= bound for index in model.backend_.langs_.values()
                   for memo in index._known.values())


# -- the command line with worker processes -----------------------------------------------
def fahras(*args):
    return subprocess.run([sys.executable, "-m", "fahras", *map(str, args)], capture_output=True, timeout=300)


def test_index_with_jobs_writes_the_same_files_and_errors(trained_model, time_split, tmp_path):
    folder = first_test_documents(time_split, tmp_path / "in", 5)
    (folder / "a_broken.txt").write_bytes(b"\xff\xfe bad bytes")
    (folder / "m_german.txt").write_text(GERMAN, encoding="utf-8")
    (folder / "z_empty.txt").write_text("", encoding="utf-8")
    blocked = sorted(time_split[1].iterdir())[5]  # its suggestion file cannot be written
    (folder / ("c_" + blocked.name)).write_bytes(blocked.read_bytes())
    runs = {}
    for jobs in (1, 2, 0):
        out = tmp_path / f"out{jobs}"
        (out / f"c_{blocked.stem}.annif").mkdir(parents=True)  # a folder where the file should go
        result = fahras("index", trained_model, folder, "--out", out, "--quiet", "--jobs", jobs,
                        "--limit", "20", "--threshold", "0", "--force")
        stderr = result.stderr.decode()
        assert result.returncode == 65 and "Traceback" not in stderr, stderr
        errors = [line.replace(str(out), "OUT") for line in stderr.splitlines() if line.startswith("fahras: error:")]
        assert [re.search(r"/(\w+)\.txt", e).group(1) for e in errors] == [
            "a_broken", "c_" + blocked.stem, "m_german", "z_empty"]
        assert "cannot write its suggestions" in errors[1] and "indexed 5 documents" in stderr
        runs[jobs] = ({p.name: p.read_text(encoding="utf-8") for p in out.iterdir()
                     if p.is_file() and p.name != RUN_MANIFEST}, errors)
        assert len(runs[jobs][0]) == 5 and not any(p.name.endswith(".tmp") for p in out.iterdir())
    assert runs[1] == runs[2] == runs[0]


def test_jobs_option_is_validated(tmp_path):
    # refused while the arguments are read, before any model is looked for
    result = fahras("index", tmp_path / "no-model", tmp_path, "--out", tmp_path / "o", "--jobs", "-1")
    assert result.returncode == 2 and "--jobs" in result.stderr.decode()
    assert "Traceback" not in result.stderr.decode() and not (tmp_path / "o").exists()


# -- the fast paths against values worked out by hand (the property tests above compare them
# -- with the module's own lists and patterns, which would agree with a wrong list) -----------
def test_script_counts_by_hand():
    # Latin: C ô t e, d, I v o i r e, a n d = 4 + 1 + 6 + 3 = 14 (the apostrophe and digits are no
    # letters); Cyrillic: Р о с с и я = 6; Han: 中 文 = 2; Arabic: ا ل ع ر ب ي ة = 7.
    assert script_counts("Côte d'Ivoire, Россия, 中文 and العربية 2005") == {"ar": 7, "zh": 2, "ru": 6, "latin": 14}


def test_non_ascii_characters_by_hand():
    from fahras.text.normalize import non_ascii_characters

    assert non_ascii_characters("Côte d’Ivoire — 中文") == {"ô", "’", "—", "中", "文"}
    assert non_ascii_characters("plain ASCII, 2005 (E)") == set()


def test_language_markers_by_hand():
    from fahras.text.langid import Markers

    markers = Markers.of("the council decides that the mission and le conseil".split())
    # English function words: the, that, the, and = 4 (council, decides, mission are content words);
    # "le" is a French article and a Spanish pronoun: one in each of those stop lists, in neither
    # language's exclusive list.
    assert markers.n_words == 9
    assert {name: n for name, n in markers.counts.items() if n} == {"only:en": 4, "stop:en": 4, "stop:fr": 1,
                                                                    "stop:es": 1}


@given(st.text(st.characters(exclude_categories=()), max_size=80))  # lone surrogates too
def test_non_ascii_characters_are_those_of_the_text(text):
    from fahras.text.normalize import non_ascii_characters

    assert non_ascii_characters(text) == {char for char in text if ord(char) > 127}


@given(st.lists(st.sampled_from("the of and le la des el los las y il della não um i sus ello council "
                                "décide resolución uma".split()), max_size=120))
def test_language_markers_count_each_list_as_a_pass_over_the_words_would(words):
    from fahras.text.langid import Markers, _exclusive_function_words, _NEIGHBOURS, _SPANISH_ONLY
    from fahras.text.stopwords import stop_words

    lists = {f"only:{lang}": ws for lang, ws in _exclusive_function_words().items()}
    lists |= {f"stop:{lang}": stop_words(lang) for lang in ("en", "fr", "es")}
    lists |= {"Spanish": _SPANISH_ONLY, **_NEIGHBOURS}
    markers = Markers.of(words)
    assert markers.n_words == len(words)
    assert {name: markers.counts[name] for name in lists} == {name: sum(w in ws for w in words)
                                                               for name, ws in lists.items()}
