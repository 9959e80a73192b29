"""The novel head on the Security Council resolutions up to 2010 (issue #16): learned from simulated novelty.

Cross-validation inside 2005-2010 sees 5 right held-out pairs of subjects new to their fold, fewer than
MIN_NOVEL_RIGHT: before ``novel_simulate`` no novel head was learned there and composed headings entered the
top 5 with their raw base score.  Slow: one training on 363 resolutions.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import RESOLUTIONS, requires_shared, year_of

pytestmark = pytest.mark.slow


def test_the_default_learns_a_novel_head_on_the_years_up_to_2010(unbis):
    requires_shared()
    from fahras import Indexer
    from fahras.corpus.unexport import read_export_file
    from fahras.models.ensemble import MIN_NOVEL_RIGHT

    paths = sorted(RESOLUTIONS.glob("*.txt"))
    train = [read_export_file(p) for p in paths if year_of(p) <= 2010]
    model = Indexer().fit(train, unbis)
    stacker = model.backend_.stacker_
    assert model.training_["novel_right"] < MIN_NOVEL_RIGHT  # the real pairs alone are too few ...
    assert model.training_["novel_simulated_right"] + model.training_["novel_right"] >= MIN_NOVEL_RIGHT
    assert stacker.novel is not None  # ... the old code kept the raw score here
    # Libya's situation, new in 2011: calibrated by the novel head, and still first for its resolution
    doc = read_export_file(next(p for p in paths if p.name.startswith("S_RES_2009_2011")))
    from fahras.vocab.concept import local_concept

    assert "LIBYA SITUATION" in doc.subjects
    col = model.subjects_.index[local_concept("LIBYA SITUATION").uri]
    assert not model.backend_.stacker_.prior[col] > 0
    text = model.analyse(doc.text)
    scores = model.backend_.predict_scores([text])[0]
    raw = max(float(s[0, col]) for s in model.backend_.base_scores([text]))
    assert int(np.argmax(scores)) == col
    assert scores[col] != pytest.approx(raw, abs=1e-4)  # not the raw pass-through
