"""Language identification among the six UN languages."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from fahras.text import LANGUAGES, detect_language, detect_paragraph_languages
from fahras.text._lazy import Lazy
from fahras.text.langid import DETECTOR, script_counts

SAMPLE = Path(__file__).parent / "fixtures" / "text" / "langid"


def paragraphs(lang: str) -> list[str]:
    text = (SAMPLE / f"{lang}.txt").read_text(encoding="utf-8")
    return [p.strip() for p in text.split("\n\n") if p.strip()]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_sample_paragraph_is_recognised(lang):
    found = [detect_language(p) for p in paragraphs(lang)]
    assert len(found) >= 10
    assert found == [lang] * len(found)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_short_snippets_are_recognised(lang):
    # The first five words of each sample sentence.
    snippets = [" ".join(p.split()[:5]) for p in paragraphs(lang)]
    if lang == "zh":
        snippets = [p[:6] for p in paragraphs(lang)]
    assert [detect_language(s) for s in snippets] == [lang] * len(snippets)


@pytest.mark.parametrize("text, lang", [
    ("The Council decided to renew the mandate of the mission.", "en"),
    ("Le Conseil a décidé de proroger le mandat de la mission.", "fr"),
    ("El Consejo decidió prorrogar el mandato de la misión.", "es"),
    ("Совет постановил продлить мандат миссии.", "ru"),
    ("قرر المجلس تمديد ولاية البعثة.", "ar"),
    ("安理会决定延长特派团的任务期限。", "zh"),
    # A few foreign words do not change the language of a sentence.
    ("Le Conseil salue le travail de la MONUSCO et de l'Union africaine (AU).", "fr"),
    ("أشاد المجلس بعمل بعثة MONUSCO في جمهورية الكونغو الديمقراطية.", "ar"),
    ("安理会欢迎联刚稳定团（MONUSCO）的工作。", "zh"),
])
def test_single_sentences(text, lang):
    assert detect_language(text) == lang


@pytest.mark.parametrize("text", ["", "   \n", "12 345 678", "2/5 -- 15-21698 (%)", "…!?"])
def test_no_letters_is_none(text):
    assert detect_language(text) is None


def test_long_text_is_still_right():
    # (how fast a long text is judged belongs in the benchmarks, not here: a loaded machine fails a time limit)
    text = "\n".join(paragraphs("es")) * 40
    assert len(text) > 20_000
    assert detect_language(text) == "es"
    assert detect_language(text, max_chars=len(text)) == "es"  # judged whole, the same


def test_script_counts():
    assert script_counts("Abc абв ابت 中文") == {"ar": 3, "zh": 2, "ru": 3, "latin": 3}


def test_the_detector_knows_exactly_the_six_languages():
    values = DETECTOR.get().compute_language_confidence_values("the mission")
    assert {v.language.iso_code_639_1.name.lower() for v in values} == set(LANGUAGES)


def test_mixed_document_is_split_by_language():
    en, fr, ar, zh, ru, es = (paragraphs(lang) for lang in ("en", "fr", "ar", "zh", "ru", "es"))
    blocks = ["Annex", en[0], en[1], "2", fr[2], "Public information", fr[3], ar[0], zh[0], ru[0], es[0], es[1]]
    text = "\n\n".join(blocks)
    spans = detect_paragraph_languages(text)
    assert [lang for _, _, lang in spans] == ["en", "fr", "ar", "zh", "ru", "es"]
    pieces = [text[start:end] for start, end, _ in spans]
    assert pieces[0] == "\n\n".join(["Annex", en[0], en[1], "2"])  # short lines follow their context
    assert pieces[1] == "\n\n".join([fr[2], "Public information", fr[3]])
    assert pieces[2:] == [ar[0], zh[0], ru[0], "\n\n".join([es[0], es[1]])]


def test_paragraph_languages_of_one_language_text_is_one_span():
    text = "\n".join(paragraphs("ru"))
    assert detect_paragraph_languages(text) == [(0, len(text), "ru")]


def test_paragraph_languages_edge_cases():
    assert detect_paragraph_languages("") == []
    assert detect_paragraph_languages("\n 12 \n") == [(1, 5, None)]


def test_lazy_builds_once_under_concurrency():
    calls = []

    def factory():
        calls.append(1)
        time.sleep(0.05)
        return object()

    lazy = Lazy(factory)
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(lazy.get())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len({id(v) for v in seen}) == 1 and lazy.loaded


def test_unsupported_language_heuristic():
    from fahras.text.langid import unsupported_language

    english = ("The Security Council decides to extend the mandate of the United Nations Mission in Liberia "
               "until 30 September, and calls upon all parties to respect the ceasefire and to cooperate "
               "fully with the Mission. It requests the Secretary-General to report regularly.")
    dutch = ("De Veiligheidsraad besluit het mandaat van de missie van de Verenigde Naties in Liberia te "
             "verlengen tot 30 september en roept alle partijen op het staakt-het-vuren te eerbiedigen en "
             "volledig samen te werken met de missie. Hij verzoekt de secretaris-generaal geregeld verslag "
             "uit te brengen over de uitvoering.")
    assert unsupported_language(english) is None
    assert unsupported_language("قرر مجلس الأمن تمديد ولاية البعثة") is None
    assert "six UN languages" in unsupported_language(dutch)
    assert "no words" in unsupported_language("2/5 12-34567 ***")


# The same message in Spanish and in its two neighbours that lingua, restricted to the six, calls Spanish.
NEIGHBOURS = {
    "es": ("El Consejo de Seguridad examinó el informe del Secretario General sobre la situación en el país y "
           "expresó su preocupación por el deterioro de las condiciones humanitarias. Los miembros subrayaron "
           "que la protección de los civiles debe ser una prioridad para todas las partes."),
    "Italian": ("Il Consiglio di sicurezza ha esaminato la relazione del Segretario generale sulla situazione nel "
                "paese e ha espresso la sua preoccupazione per il peggioramento delle condizioni umanitarie. I "
                "membri hanno sottolineato che la protezione dei civili deve essere una priorità per tutte le parti."),
    "Portuguese": ("O Conselho de Segurança examinou o relatório do Secretário-Geral sobre a situação no país e "
                   "manifestou a sua preocupação com a deterioração das condições humanitárias. Os membros "
                   "sublinharam que a proteção dos civis deve ser uma prioridade para todas as partes."),
}


@pytest.mark.parametrize("name", ["Italian", "Portuguese"])
def test_italian_and_portuguese_are_not_taken_for_spanish(name):
    from fahras.text.langid import detect_language, unsupported_language

    text = NEIGHBOURS[name]
    reason = unsupported_language(text)
    assert reason is not None and name in reason, (detect_language(text), reason)
    assert unsupported_language(NEIGHBOURS["es"]) is None
    assert detect_language(NEIGHBOURS["es"]) == "es"


# -- the function-word shortcut for long Latin-script texts ------------------------------
@pytest.mark.parametrize("lang", ["en", "fr", "es"])
def test_function_words_settle_a_page_of_prose_as_lingua_does(lang):
    from fahras.text.langid import _by_function_words, _lingua, letter_words

    page = " ".join(paragraphs(lang))
    words = letter_words(page.lower())
    assert _by_function_words(words) == lang == _lingua(page)


def test_function_words_leave_short_mixed_and_neighbour_texts_to_lingua():
    from fahras.text.langid import FUNCTION_WORDS_MIN_WORDS, _by_function_words, letter_words

    def words(text):
        return letter_words(text.lower())

    sentence = words(paragraphs("fr")[0])
    assert len(sentence) < FUNCTION_WORDS_MIN_WORDS and _by_function_words(sentence) is None
    # Half English, half French: no language leads by far.
    mixed = words(" ".join(paragraphs("en")[:6])) + words(" ".join(paragraphs("fr")[:6]))
    assert _by_function_words(mixed) is None
    for name in ("Italian", "Portuguese"):
        assert _by_function_words(words(NEIGHBOURS[name] * 3)) is None, name


@pytest.mark.parametrize("name", ["Italian", "Portuguese"])
def test_long_italian_and_portuguese_are_still_refused(name):
    from fahras.text.langid import detect_supported_language

    lang, reason = detect_supported_language((NEIGHBOURS[name] + "\n") * 12)
    assert reason is not None and name in reason, (lang, reason)
    assert detect_supported_language((NEIGHBOURS["es"] + "\n") * 12) == ("es", None)


def test_detect_supported_language_matches_the_two_steps():
    from fahras.text.langid import detect_supported_language, unsupported_language

    for lang in LANGUAGES:
        page = "\n".join(paragraphs(lang))
        assert detect_supported_language(page) == (detect_language(page), unsupported_language(page)) == (lang, None)
