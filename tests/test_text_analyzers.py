"""Analyzers of the six UN languages: exact terms, offsets, registry, settings round trip."""

from __future__ import annotations

import pickle
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fahras.errors import UsageError
from fahras.text import (
    ArabicAnalyzer,
    AutoAnalyzer,
    ChineseAnalyzer,
    SnowballAnalyzer,
    StemAnalyzer,
    Token,
    analyzer_from_config,
    get_analyzer,
)

SENTENCES = {
    "en": "The Security Council condemns the attacks on peacekeepers in Côte d'Ivoire.",
    "fr": "Le Conseil de sécurité condamne les attaques contre les soldats de la paix en Côte d’Ivoire.",
    "es": "Los niños y las niñas afectados por los conflictos armados necesitan más protección.",
    "ru": "Организация Объединённых Наций осуждает нападения на мирных жителей.",
    "ar": "أدان مجلسُ الأمـــن الهجماتِ على قوات حفظ السلام في جمهورية الكونغو الديمقراطية.",
    "zh": "安全理事会谴责对联合国维持和平人员的袭击。",
}

EXPECTED_TERMS = {
    "en": ["secur", "council", "condemn", "attack", "peacekeep", "cote", "ivoir"],
    "fr": ["conseil", "securit", "condamn", "attaqu", "soldat", "paix", "cot", "ivoir"],
    "es": ["niñ", "niñ", "afect", "conflict", "armad", "necesit", "proteccion"],
    "ru": ["организац", "объединен", "нац", "осужда", "нападен", "мирн", "жител"],
    "ar": ["ادان", "مجلس", "امن", "هجم", "قوا", "حفظ", "سلام", "جمهور", "كونغو", "ديمقراط"],
    "zh": ["安全", "全理", "理事", "理事会", "事会", "会谴", "谴责", "责对", "对联", "联合", "联合国",
           "合国", "国维", "维持", "持和", "和平", "平人", "人员", "员的", "的袭", "袭击"],
}

EXPECTED_SURFACES = {
    "en": ["Security", "Council", "condemns", "attacks", "peacekeepers", "Côte", "Ivoire"],
    "fr": ["Conseil", "sécurité", "condamne", "attaques", "soldats", "paix", "Côte", "Ivoire"],
    "es": ["niños", "niñas", "afectados", "conflictos", "armados", "necesitan", "protección"],
    "ru": ["Организация", "Объединённых", "Наций", "осуждает", "нападения", "мирных", "жителей"],
    "ar": ["أدان", "مجلسُ", "الأمـــن", "الهجماتِ", "قوات", "حفظ", "السلام", "جمهورية", "الكونغو",
           "الديمقراطية"],
}


@pytest.mark.parametrize("lang", sorted(SENTENCES))
def test_each_language_gives_the_expected_terms(lang):
    assert get_analyzer(lang).terms(SENTENCES[lang]) == EXPECTED_TERMS[lang]


@pytest.mark.parametrize("lang", sorted(EXPECTED_SURFACES))
def test_offsets_point_at_the_original_words(lang):
    text = SENTENCES[lang]
    tokens = get_analyzer(lang).tokens(text)
    assert [text[t.start:t.end] for t in tokens] == EXPECTED_SURFACES[lang]


def test_english_default_is_the_snowball_analyzer():
    analyzer = get_analyzer("en")
    assert type(analyzer) is SnowballAnalyzer
    assert analyzer.config() == {"name": "snowball", "lang": "en", "min_length": 2, "fold_accents": True,
                                 "fold_before_stem": True}
    # \w+ words, sklearn stop words, accents folded before stemming (and after).
    assert analyzer.tokens("Women_peace and the Côte-d'Ivoire") == [
        Token("cote", 20, 24), Token("ivoir", 27, 33)]


# Settings saved by models trained before fold_before_stem existed (accents folded after stemming only).
LEGACY_CONFIGS = {
    "en": {"name": "snowball", "lang": "en", "min_length": 2, "fold_accents": True},
    "fr": {"name": "stem", "lang": "fr", "min_length": 2, "fold_accents": True, "stop_words": True},
    "es": {"name": "stem", "lang": "es", "min_length": 2, "fold_accents": True, "stop_words": True},
}


@pytest.mark.parametrize("lang, accented, plain, legacy_terms", [
    ("fr", "réfugiés", "REFUGIES", (["refugi"], ["refug"])),
    ("fr", "sécurité", "SECURITE", (["secur"], ["securit"])),
    ("es", "piratería", "PIRATERIA", (["pirat"], ["pirateri"])),
    ("en", "résumés", "RESUMES", (["resume"], ["resum"])),
])
def test_accented_words_meet_their_unaccented_spelling(lang, accented, plain, legacy_terms):
    # UNBIS writes French and Spanish labels without accents: a word and its label must give one term.
    assert get_analyzer(lang).terms(accented) == get_analyzer(lang).terms(plain)
    # A model saved before keeps its analysis (stems folded after stemming): the terms differ there.
    legacy = analyzer_from_config(LEGACY_CONFIGS[lang])
    assert (legacy.terms(accented), legacy.terms(plain)) == legacy_terms
    assert legacy.config() == {**LEGACY_CONFIGS[lang], "fold_before_stem": False}


def test_legacy_auto_settings_keep_each_language_as_it_was():
    saved = get_analyzer("auto").config()
    for sub in saved["analyzers"].values():
        sub.pop("fold_before_stem", None)  # as written before the setting existed
    legacy = analyzer_from_config(saved)
    assert legacy.analyzer_for("fr").terms("réfugiés") == ["refugi"]
    assert legacy.analyzer_for("es").terms("piratería") == ["pirat"]
    assert get_analyzer("auto").analyzer_for("fr").terms("réfugiés") == ["refug"]


def test_language_defaults():
    assert isinstance(get_analyzer("fr"), StemAnalyzer)
    assert isinstance(get_analyzer("es"), StemAnalyzer)
    assert isinstance(get_analyzer("ru"), StemAnalyzer)
    assert isinstance(get_analyzer("ar"), ArabicAnalyzer)
    assert isinstance(get_analyzer("zh"), ChineseAnalyzer)
    assert isinstance(get_analyzer("auto"), AutoAnalyzer)
    # The plain Snowball analyzer stays reachable for any language it had.
    assert get_analyzer("snowball:fr").config()["name"] == "snowball"
    assert get_analyzer("snowball:ar").terms("الأمم المتحدة") == ["امم", "متحد"]


@pytest.mark.parametrize("spec", ["en", "fr", "es", "ru", "ar", "zh", "auto", "auto:paragraph",
                                  "arabic:lemmas", "stem:en", "snowball:ru"])
def test_config_round_trips_and_pickles(spec):
    analyzer = get_analyzer(spec)
    rebuilt = analyzer_from_config(analyzer.config())
    assert rebuilt.config() == analyzer.config()
    assert type(rebuilt) is type(analyzer)
    text = " ".join(SENTENCES.values())
    assert rebuilt.tokens(text) == analyzer.tokens(text)
    assert pickle.loads(pickle.dumps(analyzer)).tokens(text) == analyzer.tokens(text)


@pytest.mark.parametrize("spec", ["xx", "stem:zh", "snowball:zh", "auto:sideways", "arabic:stems"])
def test_bad_specs_are_usage_errors(spec):
    with pytest.raises(UsageError):
        get_analyzer(spec)


def test_bad_config_is_a_usage_error():
    with pytest.raises(UsageError):
        analyzer_from_config({"name": "arabic", "colour": "blue"})
    with pytest.raises(UsageError):
        analyzer_from_config({"name": "auto", "analyzers": {"de": {"name": "snowball"}}})


def test_french_drops_stop_words_and_elided_articles():
    assert get_analyzer("fr").terms("l’Organisation et d'autres États qu'il a réunis") == [
        "organis", "autr", "etat", "reun"]


def test_french_decomposed_accents_are_one_word():
    decomposed = "se\u0301curite\u0301"  # "sécurité" typed with combining accents
    assert get_analyzer("fr").tokens(decomposed) == [Token("securit", 0, 10)]


def test_spanish_keeps_enye_but_folds_other_accents():
    assert get_analyzer("es").terms("año situación") == ["año", "situacion"]


def test_russian_folds_yo_and_keeps_short_i():
    analyzer = get_analyzer("ru")
    assert analyzer.terms("объединённых") == analyzer.terms("объединенных") == ["объединен"]
    assert analyzer.terms("район") == ["район"]
    assert analyzer.terms("её и его") == []  # stop words, with ё folded


def test_arabic_diacritics_and_tatweel_do_not_change_terms():
    analyzer = get_analyzer("ar")
    assert analyzer.terms("الأمـــن") == analyzer.terms("الأمن") == analyzer.terms("الامن") == ["امن"]
    assert analyzer.terms("مُحَمَّد") == analyzer.terms("محمد") == ["محمد"]
    assert analyzer.terms("مستشفى") == analyzer.terms("مستشفي")


def test_arabic_stop_words_and_digits():
    analyzer = get_analyzer("ar")
    assert analyzer.terms("في على إلى من هذه التي") == []
    # Snowball's light stemmer leaves the proclitic ل on (the lemma option recovers عام).
    assert analyzer.terms("القرار ١٣٢٥ لعام ۲۰۰۰") == ["قرار", "1325", "لعام", "2000"]
    assert "عام" in ArabicAnalyzer(lemmas=True).terms("لعام")


def test_arabic_terms_never_contain_teh_marbuta():
    text = "الجمعية العامة للأمم المتحدة والمساعدة الإنسانية"
    terms = ArabicAnalyzer(lemmas=True).terms(text)
    assert terms and not any("ة" in term for term in terms)


def test_arabic_lemmas_are_extra_tokens_at_the_same_offsets():
    text = SENTENCES["ar"]
    plain = ArabicAnalyzer().tokens(text)
    with_lemmas = ArabicAnalyzer(lemmas=True).tokens(text)
    assert set(plain) <= set(with_lemmas)
    extra = [t for t in with_lemmas if t not in plain]
    assert [(t.term, text[t.start:t.end]) for t in extra] == [
        ("هجمه", "الهجماتِ"), ("قوه", "قوات"), ("ديمقراطيه", "الديمقراطية")]


def test_latin_words_inside_arabic_and_chinese_text():
    assert get_analyzer("ar").terms("بعثة UNOCI في") == ["بعث", "unoci"]
    assert "unoci" in get_analyzer("zh").terms("联科行动（UNOCI）")


def test_auto_dispatches_on_the_detected_language():
    auto = get_analyzer("auto")
    for lang, text in SENTENCES.items():
        assert auto.terms(text) == EXPECTED_TERMS[lang], lang
    assert auto.detect("12 345") == "en"  # no letters: the fallback
    assert AutoAnalyzer(fallback="fr").terms("2015") == ["2015"]


def test_auto_paragraph_mode_analyses_each_language_with_its_own_analyzer():
    parts = [SENTENCES["fr"], SENTENCES["ar"], SENTENCES["zh"], SENTENCES["en"]]
    text = "\n\n".join(parts)
    tokens = get_analyzer("auto:paragraph").tokens(text)
    expected = EXPECTED_TERMS["fr"] + EXPECTED_TERMS["ar"] + EXPECTED_TERMS["zh"] + EXPECTED_TERMS["en"]
    assert [t.term for t in tokens] == expected
    # Offsets are into the whole text.
    assert text[tokens[0].start:tokens[0].end] == "Conseil"
    assert text[tokens[-1].start:tokens[-1].end] == "Ivoire"
    # Document mode would have used one language for everything.
    assert get_analyzer("auto").terms(text) != expected


def test_auto_accepts_custom_analyzers_and_round_trips():
    auto = AutoAnalyzer(analyzers={"ar": {"name": "arabic", "lemmas": True},
                                   "fr": StemAnalyzer("fr", stop_words=False)})
    config = auto.config()
    assert config["analyzers"]["ar"]["lemmas"] is True
    assert config["analyzers"]["fr"]["stop_words"] is False
    assert analyzer_from_config(config).config() == config


def test_analyzers_can_be_shared_between_threads():
    text = "\n".join(SENTENCES.values()) * 20
    analyzer = get_analyzer("auto:paragraph")
    expected = analyzer.tokens(text)
    results = []

    def work():
        results.append(analyzer.tokens(text) == expected)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 4


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from("aéz ё йЖ\u0301ـأة٣中国人 _-'\n\u064e"), max_size=40),
       st.sampled_from(["en", "fr", "es", "ru", "ar", "zh", "auto", "auto:paragraph", "arabic:lemmas"]))
def test_tokens_are_well_formed_for_any_text(text, spec):
    for token in get_analyzer(spec).tokens(text):
        assert 0 <= token.start < token.end <= len(text)
        assert token.term
        assert text[token.start:token.end].strip() == text[token.start:token.end]


def _snowball_reference(text: str) -> list[tuple[str, int, int]]:
    """What the English analyzer means, spelled out word by word: each ``\\w+`` word lower-cased,
    kept if 2+ characters, not a stop word and without ``_``, accents folded, Snowball-stemmed, accents
    folded again."""
    import re
    import unicodedata

    import Stemmer

    from fahras.text.stopwords import stop_words

    stemmer, stop = Stemmer.Stemmer("english"), stop_words("en")
    out = []
    for m in re.finditer(r"\w+", text):
        word = m.group().lower()
        if len(word) >= 2 and word not in stop and "_" not in word:
            word = "".join(ch for ch in unicodedata.normalize("NFKD", word) if not unicodedata.combining(ch))
            stem = "".join(ch for ch in unicodedata.normalize("NFKD", stemmer.stemWord(word))
                           if not unicodedata.combining(ch))
            out.append((stem, m.start(), m.end()))
    return out


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("aAbBeEéÉnN_ΣσςİıǅǄßẞⅫⅻ'’ -–.\n09"), max_size=60))
def test_english_tokens_are_the_lowered_stemmed_words_at_their_offsets(text):
    # The analyzer lower-cases the whole text at once where that keeps offsets
    # (no İ, no capital sigma) and word by word elsewhere: both must mean this.
    assert get_analyzer("en").tokens(text) == _snowball_reference(text)


def test_english_tokens_of_text_whose_lowering_moves_offsets():
    text = "İstanbul hosted the ΣΥΝΟΔΟΣ'Α conference on WOMEN"
    tokens = get_analyzer("en").tokens(text)
    assert tokens == _snowball_reference(text)
    assert [text[t.start:t.end] for t in tokens][-2:] == ["conference", "WOMEN"]


def test_tokens_behave_as_a_sequence_of_token_tuples():
    from fahras.models import AnalyzedText
    from fahras.text import Tokens

    text = "The Council condemns attacks on peacekeepers."
    tokens = get_analyzer("en").tokens(text)
    assert isinstance(tokens, Tokens)
    as_list = list(tokens)
    assert all(type(t) is Token for t in as_list)
    assert tokens == as_list and as_list == list(Tokens.of(as_list))
    assert tokens[1] == as_list[1] and tokens[-1].term == "peacekeep"
    assert tokens[1:3] == as_list[1:3] and isinstance(tokens[1:3], Tokens)
    assert tokens.terms == [t.term for t in as_list]
    assert tokens != as_list[:-1] and tokens != "council"
    shifted = tokens.shifted(10)
    assert [(t.start, t.end) for t in shifted] == [(t.start + 10, t.end + 10) for t in as_list]
    with pytest.raises(ValueError):
        Tokens(["a"], [0, 1], [1])
    doc = pickle.loads(pickle.dumps(AnalyzedText(text, as_list, "en")))
    assert isinstance(doc.tokens, Tokens) and doc.tokens == tokens and doc.terms == tokens.terms
    empty = pickle.loads(pickle.dumps(AnalyzedText("", [], None)))
    assert len(empty.tokens) == 0 and empty.terms == []


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("aAbBeEzZ09_ .,;\n-'’éΣİ"), max_size=60),
       st.sampled_from(["en", "fr", "ar", "zh", "auto"]))
def test_deferred_tokens_are_the_tokens(text, spec):
    analyzer = get_analyzer(spec)
    deferred = analyzer.deferred_tokens(text)
    eager = analyzer.tokens(text)
    assert deferred.terms == eager.terms  # before any offset is asked for
    assert deferred == eager and list(deferred) == list(eager)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet=st.sampled_from("aé_9 .\xad–’\xa0\u2009\u0301ΣСон\u0660،ك中\x1c\x85"))))
def test_words_of_finds_the_runs_of_word_characters(text):
    import re

    from fahras.text.analyzer import words_of

    assert words_of(text) == re.findall(r"\w+", text)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet=st.sampled_from("aé_9 .\xad–’\xa0ΣСон\u0660،ك中ß\u02bc"))))
def test_letter_words_and_script_counts_are_the_regular_expressions(text):
    import re

    from fahras.text.langid import _SCRIPTS, letter_words, script_counts

    assert letter_words(text) == re.findall(r"[^\W\d_]+", text)
    assert script_counts(text) == {name: len(p.findall(text)) for name, p in _SCRIPTS.items()}


def test_character_runs_know_every_white_space_character():
    import sys

    from fahras.text.normalize import WHITE_SPACE, CharacterRuns

    assert set(WHITE_SPACE) == {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}
    with pytest.raises(ValueError):
        CharacterRuns(r"[\w\s]")


def test_words_of_survives_a_lone_surrogate():
    from fahras.text.analyzer import words_of

    assert words_of("peace\udc80keeping côte") == ["peace", "keeping", "côte"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("aAbBeEsS_ .'’éΣ"), max_size=40), min_size=2, max_size=4),
       st.sampled_from(["en", "fr", "es", "ru"]))
def test_remembered_terms_change_nothing(texts, lang):
    # An analyzer remembers each word's term from call to call; a fresh one must agree with it.
    used = SnowballAnalyzer(lang)
    for text in texts:
        assert used.tokens(text) == SnowballAnalyzer(lang).tokens(text)
        assert used.deferred_tokens(text).terms == SnowballAnalyzer(lang).deferred_tokens(text).terms


def test_remembered_terms_are_bounded_and_not_pickled(monkeypatch):
    import fahras.text.analyzer as analyzer_module

    monkeypatch.setattr(analyzer_module, "TERM_CACHE_SIZE", 50)
    analyzer = SnowballAnalyzer("en")
    for n in range(20):
        text = " ".join(f"word{n}x{k}" for k in range(10))
        assert analyzer.deferred_tokens(text).terms == [f"word{n}x{k}" for k in range(10)]
        assert len(analyzer._terms) <= 50
    assert analyzer._terms and pickle.loads(pickle.dumps(analyzer))._terms == {}


def test_deferred_offsets_are_found_once_on_first_use():
    from fahras.text import Tokens

    calls = []
    eager = Tokens(["council", "attack"], [4, 20], [11, 26])
    deferred = Tokens.deferred(["council", "attack"], lambda: calls.append(1) or eager)
    assert len(deferred) == 2 and deferred.terms == ["council", "attack"] and not calls
    assert deferred[1] == Token("attack", 20, 26) and deferred.starts == [4, 20] and list(deferred) == list(eager)
    assert len(calls) == 1
    wrong = Tokens.deferred(["council"], lambda: eager)
    with pytest.raises(RuntimeError):
        wrong.starts


def test_an_english_resolution_has_its_offsets_deferred():
    text = ("The Security Council, recalling its resolutions on Liberia, decides to extend the mandate of "
            "the United Nations Mission in Liberia (UNMIL) until 30 September.")
    tokens = get_analyzer("en").deferred_tokens(text)
    assert tokens._spans is None  # nothing located yet: the terms alone were needed
    assert [text[t.start:t.end] for t in tokens][:3] == ["Security", "Council", "recalling"]


def test_lowering_never_turns_a_word_character_into_another_kind():
    # What SnowballAnalyzer's whole-text lowering relies on (text/analyzer.py, _keeps_offsets).
    import re
    import sys

    word = re.compile(r"\w")
    for code in range(sys.maxunicode + 1):
        ch = chr(code)
        lowered = ch.lower()
        if len(lowered) == 1:
            assert bool(word.match(ch)) == bool(word.match(lowered)), hex(code)
