import numpy as np
import pytest
import scipy.sparse as sp

from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_old_rules_load_as_threshold_rules():
    rule = DecisionRule.from_dict({"limit": 3, "threshold": 0.4, "min_one": True})
    assert rule.kind == "threshold" and rule == DecisionRule(3, 0.4, True)
    assert "gold_scale" not in rule.to_dict()  # written as before


def test_expected_f1_rule_round_trip():
    rule = DecisionRule(10, 0.0, True, gold_scale=0.8, gold_offset=0.25)
    assert rule.kind == "expected-f1" and DecisionRule.from_dict(rule.to_dict()) == rule
    assert "expected F1" in rule.describe()


def test_expected_f1_keeps_as_many_as_the_document_warrants():
    rule = DecisionRule(10, 0.0, True, gold_scale=1.0, gold_offset=0.0)
    # two likely subjects: F1 expected 0.63 with one, 0.91 with both, 0.76 with three
    assert rule.select(np.array([0.9, 0.85, 0.1])) == 2
    # one likely subject: 0.81 with it alone, 0.75 with the next
    assert rule.select(np.array([0.95, 0.3, 0.1])) == 1
    # the whole document's scores count, not only the ranked ones given
    assert rule.select(np.array([0.9, 0.85]), total=6.0) == 2
    assert DecisionRule(1, 0.0, True, 1.0, 0.0).select(np.array([0.9, 0.85, 0.1])) == 1  # the limit bounds it
    assert DecisionRule(10, 0.5, False, 1.0, 0.0).select(np.array([0.4, 0.3])) == 0  # and the threshold


# Worked out by hand, not with the module's formula.  Scores 0.9, 0.5, 0.4 (sum 1.8); the
# document is expected to have n = scale x 1.8 + offset subjects (never fewer than 0), and
# keeping the top j expects F1 = 2 x (sum of the top j) / (j + n):
#   scale 1,   offset 0:     n = 1.8   j=1: 1.8/2.8 = 0.643  j=2: 2.8/3.8 = 0.737  j=3: 3.6/4.8 = 0.750  -> 3
#   scale 1,   offset -0.75: n = 1.05  j=1: 1.8/2.05 = 0.878 j=2: 2.8/3.05 = 0.918 j=3: 3.6/4.05 = 0.889 -> 2
#   scale 0.5, offset 0:     n = 0.9   j=1: 1.8/1.9 = 0.947  j=2: 2.8/2.9 = 0.966  j=3: 3.6/3.9 = 0.923  -> 2
#   scale 0,   offset 0:     n = 0     j=1: 1.8/1 = 1.8      j=2: 2.8/2 = 1.4      j=3: 3.6/3 = 1.2      -> 1
#   scale 0,   offset -2:    n = 0 (not -2): as above                                                   -> 1
#   scale 2,   offset 3:     n = 6.6   j=1: 1.8/7.6 = 0.237  j=2: 2.8/8.6 = 0.326  j=3: 3.6/9.6 = 0.375  -> 3
@pytest.mark.parametrize("scale, offset, kept", [(1.0, 0.0, 3), (1.0, -0.75, 2), (0.5, 0.0, 2), (0.0, 0.0, 1),
                                                 (0.0, -2.0, 1), (2.0, 3.0, 3)])
def test_expected_f1_choice_worked_out_by_hand(scale, offset, kept):
    assert DecisionRule(10, 0.0, True, scale, offset).select(np.array([0.9, 0.5, 0.4])) == kept


def test_tuned_expected_f1_worked_out_by_hand():
    # Two documents, two subjects.  Doc 1 (gold: a) scores a 0.9, b 0.6; doc 2 (gold: a, b) scores
    # a 0.8, b 0.7.  Both sums are 1.5, so both documents expect the same n = scale x 1.5 + offset.
    # Doc 1 keeps one rather than two when 1.8/(1+n) > 3.0/(2+n), i.e. 3.6 + 1.8n > 3 + 3n, n < 0.5;
    # doc 2 when 1.6/(1+n) > 3.0/(2+n), i.e. 3.2 + 1.6n > 3 + 3n, n < 1/7.  So an n in [1/7, 0.5)
    # keeps a alone in doc 1 and both in doc 2: every document's F1 is 1.0, so is their mean (e.g.
    # scale 0.5, offset -0.5: n = 0.25).  Keeping two everywhere: doc 1 2x1/(2+1) = 0.667, mean 0.833.
    scores = np.array([[0.9, 0.6], [0.8, 0.7]])
    truth = sp.csr_matrix(np.array([[1, 0], [1, 1]]))
    rule, f1 = tune_rule(scores, truth, kind="expected-f1")
    assert f1 == pytest.approx(1.0)
    assert 1 / 7 <= max(rule.gold_scale * 1.5 + rule.gold_offset, 0.0) < 0.5
    assert (rule.select(scores[0]), rule.select(scores[1])) == (1, 2)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=12), st.floats(0, 2), st.floats(-0.75, 3),
       st.integers(1, 12))
def test_expected_f1_choice_is_the_best_count(scores, scale, offset, limit):
    ranked = np.sort(np.array(scores))[::-1]
    k = DecisionRule(limit, 0.0, True, scale, offset).select(ranked)
    n = max(scale * ranked.sum() + offset, 0.0)
    value = [2 * ranked[:j].sum() / (j + n) for j in range(1, min(limit, len(ranked)) + 1)]
    assert 1 <= k <= min(limit, len(ranked)) and value[k - 1] >= max(value) - 1e-9


def test_expected_f1_beats_one_threshold_on_calibrated_scores():
    # Scores are the subjects' true probabilities.  A third subject at 0.4 is
    # worth keeping next to two others at 0.4 (expected F1 0.57 against 0.50),
    # not next to two at 0.95 (0.87 against 0.88): no single threshold does both.
    rng = np.random.default_rng(7)

    def sample(n_docs):
        p = np.full((n_docs, 12), 0.01)
        sure = rng.uniform(size=n_docs) < 0.5
        p[sure, :3] = [0.95, 0.95, 0.4]
        p[~sure, :3] = [0.4, 0.4, 0.4]
        p = p[:, rng.permutation(12)]
        truth = rng.uniform(size=p.shape) < p
        truth[truth.sum(axis=1) == 0, 0] = True
        return p, sp.csr_matrix(truth.astype(float))

    tune, test = sample(1000), sample(1000)
    by_threshold, _ = tune_rule(*tune)
    by_expectation, _ = tune_rule(*tune, kind="expected-f1")
    assert by_expectation.kind == "expected-f1"

    def f1(rule, p, truth):
        dense, out = truth.toarray() > 0, []
        for row, gold in zip(p, dense):
            order = np.argsort(-row, kind="stable")[: rule.limit]
            kept = order[: rule.select(row[order], total=row.sum())]
            hits = gold[kept].sum()
            out.append(2 * hits / (len(kept) + gold.sum()))
        return np.mean(out)

    assert f1(by_expectation, *test) > f1(by_threshold, *test) + 0.005
    with pytest.raises(ValueError, match="kind"):
        tune_rule(*tune, kind="oracle")
