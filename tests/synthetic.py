"""A small synthetic corpus shared by the backend tests: four subjects with distinctive words."""

from __future__ import annotations

import random

import numpy as np
import scipy.sparse as sp

from fahras.models import AnalyzedText, load_backend
from fahras.text import get_analyzer

SUBJECTS = {
    "WATER": "river irrigation drought reservoir rainfall aquifer flooding wells",
    "HEALTH": "vaccine hospital malaria clinic nurses epidemic medicine cholera",
    "EDUCATION": "school teachers pupils curriculum literacy classroom textbooks university",
    "MINING": "mine copper diamonds quarry miners gold excavation mineral",
}
NAMES = list(SUBJECTS)
FILLER = "the council notes the report of the committee and welcomes the efforts of member states".split()


def make_corpus(n_docs: int = 40, seed: int = 11) -> tuple[list[str], list[list[int]]]:
    """Short documents: filler words plus distinctive words of one (sometimes two) subjects."""
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n_docs):
        main = i % len(NAMES)
        words = rng.sample(FILLER, 8) + rng.sample(SUBJECTS[NAMES[main]].split(), 4)
        subjects = [main]
        if i % 5 == 0:
            other = (main + 1 + i // 5) % len(NAMES)
            if other != main:
                words += rng.sample(SUBJECTS[NAMES[other]].split(), 3)
                subjects.append(other)
        rng.shuffle(words)
        texts.append(" ".join(words) + ".")
        labels.append(subjects)
    return texts, labels


ANALYZER = get_analyzer("en")


def analyse(texts: list[str]) -> list[AnalyzedText]:
    return [AnalyzedText(t, ANALYZER.tokens(t)) for t in texts]


def analysed_corpus(n_docs: int = 40, seed: int = 11) -> tuple[list[AnalyzedText], sp.csr_matrix]:
    """``make_corpus`` analysed: the documents and their subject indicator matrix."""
    texts, labels = make_corpus(n_docs, seed)
    return analyse(texts), indicator(labels)


def corpus_with_folds(n_docs: int = 30, n_folds: int = 3):
    """``analysed_corpus`` with shuffled K folds (seeded) over its documents."""
    from sklearn.model_selection import KFold

    docs, y = analysed_corpus(n_docs)
    return docs, y, list(KFold(n_folds, shuffle=True, random_state=0).split(docs))


def indicator(labels: list[list[int]]) -> sp.csr_matrix:
    y = np.zeros((len(labels), len(NAMES)), dtype=np.float32)
    for i, subjects in enumerate(labels):
        y[i, subjects] = 1
    return sp.csr_matrix(y)


PROBES = [
    ("The committee discussed drought, irrigation and the rainfall in the reservoir.", 0),
    ("Member states reported malaria and cholera in every clinic and hospital.", 1),
    ("Teachers and pupils need textbooks and a new literacy curriculum.", 2),
    ("The miners at the copper mine and the diamonds quarry went on strike.", 3),
]


def assert_round_trip(fitted, folder, subject: int) -> None:
    """Saving and loading a fitted backend keeps its scores, parameters and explanations."""
    fitted.save(folder)
    loaded = load_backend(folder)
    probes = analyse([text for text, _ in PROBES])
    assert np.array_equal(loaded.predict_scores(probes), fitted.predict_scores(probes))
    assert loaded.get_params() == fitted.get_params()
    doc = probes[subject]
    assert [e.to_dict() for e in loaded.explain(doc, subject)] == [e.to_dict() for e in fitted.explain(doc, subject)]


def assert_term_evidence(fitted, text: str, subject: int) -> list:
    """Explanations of ``subject`` for ``text``: at most 3 weighted terms, best first, pointing at its words."""
    evidence = fitted.explain(analyse([text])[0], subject, top=3)
    assert evidence and len(evidence) <= 3
    assert all(e.kind == "term" and e.weight > 0 for e in evidence)
    assert [e.weight for e in evidence] == sorted((e.weight for e in evidence), reverse=True)
    found = {text[s:e].lower() for ev in evidence for s, e in ev.spans}
    assert found & set(SUBJECTS[NAMES[subject]].split())
    return evidence


def corpus_documents():
    """The synthetic corpus as indexed documents, with a vocabulary of its four subjects."""
    from fahras.corpus.document import Document
    from fahras.vocab.concept import Concept, Vocabulary

    vocab = Vocabulary([Concept(uri=f"http://example.org/{name.lower()}", identifier=name.lower(),
                                labels={"en": name}) for name in NAMES])
    texts, labels = make_corpus()
    documents = [Document(f"d{i}", text, tuple(NAMES[j] for j in subjects))
                 for i, (text, subjects) in enumerate(zip(texts, labels))]
    return documents, vocab


def assert_params_round_trip(name: str, params: dict) -> None:
    """``params`` (every parameter of backend ``name``) survive get_params -> create_backend unchanged."""
    from fahras.models import create_backend

    backend = create_backend(name, params)
    assert backend.get_params() == params
    assert create_backend(name, backend.get_params()).get_params() == params
    assert set(create_backend(name).get_params()) == set(params)


def assert_no_pickles(folder) -> None:
    """No file of a saved backend is a pickle (by name or by its first byte)."""
    for path in folder.rglob("*"):
        if path.is_file():
            assert not path.name.endswith((".pkl", ".pickle", ".joblib")), path.name
            assert not path.read_bytes().startswith(b"\x80"), f"{path.name} looks like a pickle"
