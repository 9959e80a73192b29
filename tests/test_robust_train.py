"""Training on a corpus with a few bad documents: the good ones are used, the bad ones named and counted."""

from __future__ import annotations

import json
import logging

import pytest

from fahras import Indexer, InputError, read_corpus
from fahras.cli import main
from fahras.corpus.unexport import write_export
from fahras.corpus.document import Document
from fahras.vocab import Concept, Vocabulary

from synthetic import NAMES, make_corpus

BAD = {
    "empty.txt": b"%%%WATER|\n\n",
    "blank.txt": b"%%%WATER|\n\n   \n\t\n",
    "cp1252.txt": "%%%WATER|\n\nLe Conseil de sécurité".encode("cp1252"),
    "utf16.txt": "%%%WATER|\n\nThe Council".encode("utf-16"),
    "noheader.txt": b"WATER|\n\nThe council notes the report.",
    "binary.txt": bytes(range(256)) * 8,
    "zero.txt": b"",
}


@pytest.fixture
def corpus_with_bad_documents(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    texts, labels = make_corpus(24)
    for i, (text, subjects) in enumerate(zip(texts, labels)):
        write_export(Document(f"good{i:02d}", text, tuple(NAMES[s] for s in subjects)), folder)
    for name, data in BAD.items():
        (folder / name).write_bytes(data)
    vocab = tmp_path / "vocab.csv"
    vocab.write_text("uri,label_en\n" + "".join(f"http://x/{n},{n}\n" for n in NAMES))
    return folder, vocab


def test_reader_skips_and_names_each_bad_document(corpus_with_bad_documents, caplog):
    folder, _ = corpus_with_bad_documents
    with caplog.at_level(logging.WARNING, logger="fahras.corpus"):
        corpus = read_corpus(folder)
        ids = [d.id for d in corpus]
    assert ids == [f"good{i:02d}" for i in range(24)]
    assert corpus.skipped == len(BAD)
    assert sorted(e.path.rsplit("/", 1)[-1] for e in corpus.errors) == sorted(BAD)
    warned = "\n".join(r.getMessage() for r in caplog.records)
    for name in BAD:
        assert f"{folder / name}" in warned


def test_strict_reader_stops_at_the_first_bad_document(corpus_with_bad_documents):
    folder, _ = corpus_with_bad_documents
    with pytest.raises(InputError) as info:
        list(read_corpus(folder, strict=True))
    assert info.value.path == str(folder / "binary.txt")  # the first bad one by name


def test_indexer_trains_on_the_good_documents(corpus_with_bad_documents):
    folder, vocab_path = corpus_with_bad_documents
    vocab = Vocabulary([Concept(f"http://x/{n}", n, {"en": n}) for n in NAMES])
    corpus = read_corpus(folder)
    indexer = Indexer(backend="tfidf-linear", cv_folds=0).fit(corpus, vocab)
    assert indexer.training_["documents"] == 24 and corpus.skipped == len(BAD)
    [suggestions] = indexer.suggest_batch([indexer.analyse("drought river irrigation reservoir wells")])
    assert suggestions[0].label == "WATER"


def test_train_command_skips_counts_and_strict_refuses(corpus_with_bad_documents, tmp_path, capsys):
    folder, vocab = corpus_with_bad_documents
    out = tmp_path / "model"
    main(["train", "--vocab", str(vocab), "--out", str(out), "--backend", "tfidf-linear", "--cv-folds", "0",
          "--lang", "en", "--quiet", str(folder)])
    err = capsys.readouterr().err
    assert f"skipped {len(BAD)} bad documents" in err
    assert "24 documents" in err
    assert out.is_dir() and any(out.iterdir())

    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--vocab", str(vocab), "--out", str(tmp_path / "strict"), "--backend", "tfidf-linear",
              "--cv-folds", "0", "--lang", "en", "--quiet", "--strict", str(folder)])
    assert exit_info.value.code == InputError.exit_code
    err = capsys.readouterr().err
    assert "binary.txt" in err and "Traceback" not in err
    assert not (tmp_path / "strict").exists()
