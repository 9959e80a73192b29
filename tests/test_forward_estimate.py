"""The estimate of a model's quality on next year's documents (forward chaining, issue #16)."""

from __future__ import annotations

import numpy as np
import pytest

from fahras import Indexer
from fahras.corpus import Document
from fahras.indexer import FORWARD_MIN_HELD, FORWARD_MIN_TRAIN, bootstrap_se, next_year_estimate
from fahras.vocab import Vocabulary
from synthetic import NAMES, make_corpus


def _dated(n_docs: int, per_year: int, seed: int = 3) -> list[Document]:
    texts, labels = make_corpus(n_docs=n_docs, seed=seed)
    for i in range(3, n_docs, 4):  # every fourth document indexed under its neighbour's subjects: not all is easy
        labels[i] = labels[i - 1]
    return [Document(id=f"S/RES/{1700 + i} ({2005 + i // per_year})", text=t, subjects=tuple(NAMES[j] for j in lab))
            for i, (t, lab) in enumerate(zip(texts, labels))]


def test_forward_estimate_is_a_model_of_the_earlier_years_tested_on_the_last_one():
    docs = _dated(160, 40)  # 2005-2008, 40 documents a year
    settings = dict(backend="tfidf-linear", analyzer="en", cv_folds=3)
    ix = Indexer(**settings, forward_estimate="auto").fit(docs, Vocabulary([]))
    t = ix.training_
    assert (t["forward_year"], t["forward_documents"], t["forward_trained_on"]) == (2008, 40, 120)
    # the same as training those settings on 2005-2007 and evaluating on 2008 by hand
    earlier = Indexer(**settings, forward_estimate=False).fit(docs[:120], Vocabulary([]))
    assert "forward_ndcg@5" not in earlier.training_
    by_hand = earlier.evaluate(docs[120:])
    assert t["forward_ndcg@5"] == pytest.approx(by_hand["ndcg@5"], abs=1e-4)
    assert t["forward_precision@1"] == pytest.approx(by_hand["precision@1"], abs=1e-4)
    assert t["forward_f1"] == pytest.approx(by_hand["f1"], abs=1e-4)
    assert 0 < t["forward_ndcg@5_se"] < 0.2
    # the headline estimate stays the cross-validated one (next_year_estimate says why)
    assert t["estimate_ndcg@5"] == t["cv_ndcg@5"] and t["estimate_kind"] == "cv"
    # the main model is still trained on every year
    assert t["documents"] == 160
    assert Indexer.load(ix.save(_tmp(ix))).forward_estimate == "auto"
    assert Indexer().forward_estimate is False  # the class keeps its training cost; `fahras train` asks for it


def _tmp(ix):
    import tempfile
    from pathlib import Path

    return Path(tempfile.mkdtemp()) / "m"


def test_no_forward_estimate_without_years_enough_documents_or_when_switched_off():
    undated = [Document(id=f"doc{i}", text=d.text, subjects=d.subjects) for i, d in enumerate(_dated(160, 40))]
    t = Indexer(backend="tfidf-linear", analyzer="en", forward_estimate="auto").fit(undated, Vocabulary([])).training_
    assert "forward_ndcg@5" not in t and t["estimate_kind"] == "cv"
    assert t["estimate_ndcg@5"] == t["cv_ndcg@5"]
    few = _dated(60, 15)  # 15 documents in the last year: too few to tell a year's quality
    assert FORWARD_MIN_HELD > 15 and FORWARD_MIN_TRAIN > 45
    assert "forward_ndcg@5" not in Indexer(backend="tfidf-linear", analyzer="en", forward_estimate="auto").fit(
        few, Vocabulary([])).training_
    off = Indexer(backend="tfidf-linear", analyzer="en").fit(_dated(160, 40), Vocabulary([]))  # the default
    assert "forward_ndcg@5" not in off.training_


def test_next_year_estimate_and_bootstrap_se():
    assert next_year_estimate({"cv_ndcg@5": 0.9, "forward_ndcg@5": 0.8, "cv_f1": 0.7})["estimate_ndcg@5"] == 0.9
    only_forward = next_year_estimate({"forward_ndcg@5": 0.8, "forward_precision@1": 0.7, "forward_f1": 0.6})
    assert only_forward["estimate_ndcg@5"] == 0.8 and only_forward["estimate_kind"] == "forward"
    assert next_year_estimate({}) == {}
    assert bootstrap_se([1.0]) is None and bootstrap_se([0.3] * 10) == 0.0
    values = np.tile([0.0, 1.0], 30)
    assert bootstrap_se(values) == pytest.approx(0.5 / np.sqrt(60), rel=0.1)


def test_fahras_train_prints_the_forward_estimate(tmp_path):
    import json

    from click.testing import CliRunner

    from conftest import RESOLUTIONS, UNBIS_JSON, requires_shared, year_of
    from fahras.cli import cli

    requires_shared()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    years = {}
    for path in sorted(RESOLUTIONS.glob("*.txt")):
        if 2009 <= year_of(path) <= 2011:
            (corpus / path.name).symlink_to(path.resolve())
            years[year_of(path)] = years.get(year_of(path), 0) + 1
    before = years[2009] + years[2010]
    assert before >= FORWARD_MIN_TRAIN and years[2011] >= FORWARD_MIN_HELD
    common = ["train", "--vocab", str(UNBIS_JSON), "--backend", "knn", "--cv-folds", "2", "--quiet", str(corpus)]
    result = CliRunner().invoke(cli, [*common, "--out", str(tmp_path / "m"), "--forward-estimate"])
    assert result.exit_code == 0, result.output
    assert f"forward estimate: trained on the {before} documents before 2011, tested on the {years[2011]} of 2011" \
        in result.output
    assert "estimated quality on next year's documents (from the cv estimate)" in result.output
    training = json.loads((tmp_path / "m" / "manifest.json").read_text())["training"]
    assert training["forward_year"] == 2011 and 0 < training["forward_ndcg@5"] <= 1
    plain = CliRunner().invoke(cli, [*common, "--out", str(tmp_path / "n")])  # the default: no second training
    assert plain.exit_code == 0 and "forward estimate" not in plain.output
