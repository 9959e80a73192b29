"""scikit-learn's convergence warnings reach the log once per fit, counted (issue #24)."""

from __future__ import annotations

import logging
import warnings

import fahras.models.tfidf_linear as tfidf_linear
from fahras.models import create_backend
from synthetic import ANALYZER, analyse, indicator, make_corpus


def test_regressions_stopped_at_the_limit_are_logged_once_not_warned_each(monkeypatch, caplog):
    texts, labels = make_corpus(40)
    docs, y = analyse(texts), indicator(labels)
    monkeypatch.setattr(tfidf_linear, "MAX_ITER", 1)  # one iteration: no regression converges
    with warnings.catch_warnings(record=True) as raised, caplog.at_level(logging.INFO):
        warnings.simplefilter("always")
        create_backend("tfidf-linear", {"min_df": 1}).fit(docs, y, ANALYZER)
    assert [w for w in raised if w.category.__name__ == "ConvergenceWarning"] == []
    lines = [r.getMessage() for r in caplog.records if "did not converge" in r.getMessage()]
    # four subjects, each in some but not all documents: four regressions, all stopped after one iteration
    assert lines == ["tfidf-linear: 4 of 4 logistic regressions did not converge in 1 iterations"]


def test_converged_fits_log_nothing(caplog):
    texts, labels = make_corpus(40)
    with caplog.at_level(logging.INFO):
        create_backend("tfidf-linear", {"min_df": 1}).fit(analyse(texts), indicator(labels), ANALYZER)
    assert not [r for r in caplog.records if "did not converge" in r.getMessage()]
