"""What the ensemble's stacker is trained from, built as ``Indexer.fit`` builds it.

The benchmarks that study the stacker or the decision rule cross-fit the
base backends themselves; this gives them the same subject space, concepts,
subject matrix and analysed documents as a real training run.
"""

from __future__ import annotations

from dataclasses import dataclass

import scipy.sparse as sp

from fahras import Indexer
from fahras.models.ensemble import EnsembleBackend
from fahras.subjects import SubjectSpace, resolve_all


@dataclass
class StackingInputs:
    model: Indexer            # a tfidf-linear Indexer fitted on the documents: its vocabulary and analysis
    subjects: SubjectSpace    # the ensemble's subject space (training subjects and composed headings)
    concepts: list            # the concept of each subject, in column order
    y: sp.csr_matrix          # documents x subjects
    analysed: list            # the documents analysed, offsets found (as in training)


def stacking_inputs(train, vocab) -> StackingInputs:
    """:class:`StackingInputs` of the training documents ``train`` (``fahras.corpus.Document``)."""
    model = Indexer(cv_folds=0, backend="tfidf-linear").fit(train, vocab)
    gold = [resolve_all(d.subjects, model.vocab_) for d in train]
    extra = EnsembleBackend().extra_subjects(vocab, gold)
    subjects = SubjectSpace(sorted(set().union(*gold) | {c.uri for c in extra}))
    composed = {c.uri: c for c in extra}
    concepts = [model.vocab_.get(u) or composed[u] for u in subjects.uris]
    analysed = [model.analyse(d.text, deferred_offsets=False) for d in train]
    return StackingInputs(model, subjects, concepts, subjects.indicator(gold), analysed)
