"""The labels and acronyms backends' own sparse scoring equals the dense scores, value for value."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from fahras.models import FitContext, create_backend
from fahras.models.base import as_csr

from synthetic import ANALYZER, NAMES, PROBES, analyse, analysed_corpus, indicator
from test_backend_acronyms import _doc, _fit as _fit_acronyms
from test_ensemble_bases import _concepts


def _same(sparse: sp.csr_matrix, dense: np.ndarray) -> None:
    want = as_csr(dense)
    assert sparse.shape == want.shape and sparse.dtype == want.dtype == np.float32
    np.testing.assert_array_equal(sparse.indptr, want.indptr)
    np.testing.assert_array_equal(sparse.indices, want.indices)
    np.testing.assert_array_equal(sparse.data, want.data)


def test_labels_sparse_scores_are_the_dense_ones():
    docs, y = analysed_corpus()
    concepts = _concepts({"FISHERIES": "fishing boats", "COMMITTEES": "committee"})
    y5 = indicator([[int(c) for c in row.indices] for row in y]).toarray()
    y5 = np.hstack([y5, np.zeros((y5.shape[0], 2), dtype=y5.dtype)])
    backend = create_backend("labels").fit(docs, sp.csr_matrix(y5), context=FitContext(ANALYZER, concepts))
    probes = analyse([text for text, _ in PROBES] + ["The fishing boats came back.", "", "Nothing to see.",
                                                     "a drought and a fishing boats show to the committee"])
    probes += list(docs[:40])
    sparse = backend.predict_sparse(probes)
    _same(sparse, backend.predict_scores(probes))
    assert sparse.nnz > len(probes) // 2  # real matches were compared
    assert backend.predict_sparse([]).shape == (0, len(NAMES) + 2)


def test_acronyms_sparse_scores_are_the_dense_ones():
    backend = _fit_acronyms()
    texts = ["UNMIL and UNMIL again, with UNOCI", "nothing here", "", "the CAR, the CAR and UNAMID (UNMISS)"]
    docs = [_doc(t) for t in texts]
    sparse = backend.predict_sparse(docs)
    _same(sparse, backend.predict_scores(docs))
    assert sparse.nnz >= 4
