import numpy as np
import pytest
import scipy.sparse as sp

from fahras.decision import DecisionRule, tune_rule


def test_rule_select():
    scores = np.array([0.9, 0.6, 0.4, 0.1])
    assert DecisionRule(3, 0.5).select(scores) == 2
    assert DecisionRule(1, 0.5).select(scores) == 1
    assert DecisionRule(3, 0.95, min_one=True).select(scores) == 1
    assert DecisionRule(3, 0.95, min_one=False).select(scores) == 0


def test_tune_finds_the_separating_threshold():
    # Gold subjects always score >= 0.6, wrong ones <= 0.3; documents have 1-3 gold subjects.
    rng = np.random.default_rng(1)
    n_docs, n_subjects = 60, 8
    truth = np.zeros((n_docs, n_subjects))
    for i in range(n_docs):
        truth[i, rng.choice(n_subjects, rng.integers(1, 4), replace=False)] = 1
    scores = np.where(truth > 0, rng.uniform(0.6, 1.0, truth.shape), rng.uniform(0.0, 0.3, truth.shape))
    rule, f1 = tune_rule(scores, sp.csr_matrix(truth))
    assert f1 == pytest.approx(1.0)
    assert 0.3 <= rule.threshold <= 0.6 and rule.limit >= 3


def test_tune_counts_gold_outside_the_space():
    scores = np.array([[0.9, 0.1]])
    truth = sp.csr_matrix(np.array([[1, 0]]))
    _, f1_inside = tune_rule(scores, truth)
    _, f1_with_unknown = tune_rule(scores, truth, n_gold=np.array([2]))
    assert f1_inside == pytest.approx(1.0)
    assert f1_with_unknown == pytest.approx(2 * 1 / 3)


def test_rule_round_trip():
    rule = DecisionRule(4, 0.25, False)
    assert DecisionRule.from_dict(rule.to_dict()) == rule
