"""The library's front door: train, suggest, evaluate, save and load a model.

The command line and (later) the REST API are thin layers over
:class:`Indexer`; a Python user calls it directly.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, NamedTuple, Sequence

import numpy as np
import scipy.sparse as sp

from fahras._version import __version__
from fahras.corpus import Document
from fahras.decision import RULE_KINDS, DecisionRule, tune_rule
from fahras.errors import InputError, ModelError, UsageError
from fahras.evaluate import bootstrap_se
from fahras.explain import surface_evidence
from fahras.formats import suggestion_dict
from fahras.models import AnalyzedText, Backend, Evidence, FitContext, backend_class, create_backend, load_backend
from fahras.models.analysed import (AnalysedCorpus, GoldSets, TrainingRecords, document_ids, document_metadata,
                                    languages_of, used_uris)
from fahras.models.budget import held_out_budget, rows_only
from fahras.models.features import sharing_rows
from fahras.models.folds import DEFAULT_FOLDS, FOLD_KINDS, group_keys, known_years, make_folds
from fahras.models.sparse_rank import as_csr, non_negative, stable_rank, top_k
from fahras.models.sparse_rank import top_columns as sparse_top_columns
from fahras.store import read_model, write_model
from fahras.subjects import MatchStats, SubjectSpace, resolve_all
from fahras.text import AutoAnalyzer, analyzer_from_config, detect_language, get_analyzer, mask_furniture
from fahras.text.langid import detect_supported_language
from fahras.vocab import LANGUAGES, Vocabulary

Progress = Callable[[str, int, int], None]
"""A progress callback: ``(stage, done, total)``."""


@dataclass(slots=True)
class Suggestion:
    """One suggested subject for one document."""

    uri: str
    label: str
    score: float
    identifier: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    local: bool = False
    evidence: list[Evidence] = field(default_factory=list)
    #: why the score may mislead, e.g. a document in a language the model was not trained on
    #: (:meth:`Indexer.language_warning`); empty if none
    warning: str = ""

    def to_dict(self, all_labels: bool = False) -> dict:
        """The suggestion in Fahras's JSON (:func:`fahras.formats.suggestion_dict`)."""
        return suggestion_dict(self, all_labels)


@dataclass
class TrainingSet:
    """What :meth:`Indexer.fit` learns from (see :meth:`Indexer.training_set`)."""

    documents: Sequence[Document]   # the documents with at least one subject, in order (TrainingRecords:
                                    # id, text, subject URIs, year and series; as given with forward_estimate)
    gold: Sequence[set[str]]        # their subjects' URIs (GoldSets)
    analysed: Sequence[AnalyzedText]  # their analysis, offsets found (an AnalysedCorpus)
    targets: sp.csr_matrix          # documents x subjects 0/1, columns in ``Indexer.subjects_`` order
    context: FitContext             # the analyzer and one concept per subject column
    backend: Backend                # a new, unfitted backend of the Indexer's settings
    space: str                      # "training" or "vocabulary"
    stats: MatchStats               # how the descriptors matched the thesaurus
    skipped: int = 0                # documents without subjects


class SubjectInfo(NamedTuple):
    """What every suggestion of one subject shares (see :meth:`Indexer.subject_info`)."""

    uri: str
    label: str
    identifier: str
    labels: dict[str, str]
    local: bool


def _sorted_gold(gold: Sequence[set[str]]) -> list[list[str]]:
    return gold.sorted_lists() if isinstance(gold, GoldSets) else [sorted(g) for g in gold]


def training_languages(analysed: Sequence[AnalyzedText]) -> dict[str, int]:
    """Language -> how many of the analysed training documents are in it (language unknown: left out)."""
    return languages_of(analysed)


def language_name(code: str) -> str:
    """The English name of a language code (the Snowball algorithm's name outside the six)."""
    names = {"ar": "Arabic", "zh": "Chinese", "en": "English", "fr": "French", "ru": "Russian", "es": "Spanish"}
    from fahras.text.analyzer import snowball_languages

    return names.get(code) or snowball_languages().get(code, code).capitalize()


def check_languages(lang: str | None = None, label_lang: str = "en", model_lang: str | None = None) -> None:
    """A :class:`UsageError` unless ``lang`` (None: detect it) is a UN language or ``model_lang``
    (the language of a model trained with one analyzer, e.g. ``fi``), and ``label_lang`` a UN language."""
    if lang is not None and lang not in LANGUAGES and lang != model_lang:
        other = (f"; this model was trained for {model_lang!r}" if model_lang and model_lang not in LANGUAGES
                 else "; other languages need a model trained with that --lang (fi, de, ...)")
        raise UsageError(f"unsupported document language {lang!r}; choose one of {', '.join(LANGUAGES)}{other}")
    if label_lang not in LANGUAGES:
        raise UsageError(f"unknown label language {label_lang!r}; choose one of {', '.join(LANGUAGES)}")


def _noop(stage: str, done: int, total: int) -> None:
    return None


def _versions() -> dict:
    import numpy
    import scipy
    import sklearn

    return {"fahras": __version__, "python": platform.python_version(), "numpy": numpy.__version__,
            "scipy": scipy.__version__, "scikit-learn": sklearn.__version__}


class Indexer:
    """Suggests subjects for documents; learns from indexed documents.

    Parameters
    ----------
    backend : name of the backend (see :func:`fahras.models.backend_names`).
    backend_params : keyword parameters of the backend.
    analyzer : analyzer spec: ``"auto"`` (detect each document's language among the
        six UN languages), ``"en"``, ``"ar"``, ... see :func:`fahras.text.get_analyzer`.
    strip_furniture : ignore UN page furniture (job numbers, page marks, running
        headers) when analysing; offsets still point into the original text.
    subject_space : which subjects the model can suggest: ``"training"`` (those
        of the training documents), ``"vocabulary"`` (every thesaurus concept,
        plus the training documents' local subjects; what zero-shot backends
        need), or ``"auto"`` (``"vocabulary"`` when there are no training
        documents, else ``"training"``).
    cv_folds : folds of the cross-validation whose held-out predictions tune the
        decision rule and train an ensemble's stacker (0 = no tuning; keep the
        default rule).  3 folds gave the quality of 5 on both time splits of the
        Security Council resolutions (nDCG@5 within 0.002) for 2/3 of the fits.
    max_limit : the largest number of subjects the tuned rule may assign.
    decision : the kind of decision rule tuned (see :mod:`fahras.decision`):
        ``"expected-f1"`` keeps, per document, the number of suggestions
        with the best expected F1; ``"threshold"`` keeps those above one
        tuned score threshold.
    random_state : seed of the cross-validation split.
    folds : the kind of cross-validation folds (see :mod:`fahras.models.folds`):
        ``"grouped"`` keeps documents with the same heading set (or the same
        ``series`` in their metadata) in one fold, ``"time"`` holds out
        contiguous periods (dates from the metadata's ``year`` or the year in
        the document id), ``"random"`` is shuffled K-fold.
    forward_estimate : ``"auto"`` (``fahras train --forward-estimate``): when the documents carry
        years (metadata ``year`` or a year in the id) and the last year and the ones
        before it are large enough (:data:`FORWARD_MIN_HELD`, :data:`FORWARD_MIN_TRAIN`),
        also estimate the quality on *next* year's documents by forward chaining: a
        model of the same settings trained on the years before the last one, tested
        on the last one (one more training, on fewer documents).  ``training_``
        holds ``forward_*`` next to ``cv_*``; ``estimate_*`` is the cross-validated
        one when there is one (:func:`next_year_estimate`).  ``False`` (the default,
        which keeps the training cost): the cross-validated estimate alone.
    """

    def __init__(self, backend: str = "ensemble", backend_params: dict | None = None,
                 analyzer: str = "auto", strip_furniture: bool = True, subject_space: str = "auto",
                 cv_folds: int = 3, max_limit: int = 10, decision: str = "expected-f1", random_state: int = 0,
                 folds: str = DEFAULT_FOLDS, forward_estimate: bool | str = False):
        self.backend = backend
        self.backend_params = backend_params
        self.analyzer = analyzer
        self.strip_furniture = strip_furniture
        self.subject_space = subject_space
        self.cv_folds = cv_folds
        self.max_limit = max_limit
        self.decision = decision
        self.random_state = random_state
        self.folds = folds
        self.forward_estimate = forward_estimate

    # -- training --------------------------------------------------------------
    def training_set(self, documents: Iterable[Document], vocab: Vocabulary,
                     progress: Progress = _noop) -> "TrainingSet":
        """What :meth:`fit` learns from, built as it builds it: documents with subjects, analysed; the
        subject space (with the backend's extra subjects); the subject matrix; the concepts.

        Sets the Indexer's vocabulary snapshot (``vocab_``, with the local
        subjects), subject space (``subjects_``) and analyzer (``analyzer_``,
        so :meth:`analyse` works), as :meth:`fit` does.  For tools that fit
        backends or stackers themselves (the benchmarks, learning from
        feedback).

        Each document is analysed as it is read and kept compactly (#19):
        ``analysed`` is an :class:`~fahras.models.analysed.AnalysedCorpus`
        (a sequence of :class:`~fahras.models.base.AnalyzedText` made on
        access), ``gold`` a :class:`~fahras.models.analysed.GoldSets` and
        ``documents`` a :class:`~fahras.models.analysed.TrainingRecords`,
        whose items are documents with the id, the text, the subject URIs and
        the ``year``/``series`` metadata (the documents as given with
        ``forward_estimate``).
        """
        analyzer = get_analyzer(self.analyzer)
        if self.folds not in FOLD_KINDS:
            raise UsageError(f"unknown kind of folds {self.folds!r}; choose one of {', '.join(FOLD_KINDS)}")
        if self.decision not in RULE_KINDS:
            raise UsageError(f"unknown decision rule {self.decision!r}; choose one of {', '.join(RULE_KINDS)}")
        if self.subject_space not in ("auto", "training", "vocabulary"):
            raise UsageError(f"unknown subject space {self.subject_space!r}; choose auto, training or vocabulary")
        stats = MatchStats()
        # Each document is analysed as it is read and kept compactly (#19): its analysis in the buffers of an
        # AnalysedCorpus, its id, fold metadata and subjects in TrainingRecords; no Document is held (but
        # for the forward-chaining estimate, which refits from them).
        analysed, gold = AnalysedCorpus(), GoldSets()
        docs = TrainingRecords(gold, analysed, keep=bool(self.forward_estimate))
        skipped = 0
        for doc in documents:
            uris = resolve_all(doc.subjects, vocab, stats)
            if not uris:
                skipped += 1
                continue
            docs.append(doc)
            gold.append(uris)
            # Training keeps every document's tokens: offsets found now, not a recipe for them.
            analysed.append(self._analyse_with(analyzer, doc.text, deferred_offsets=False))
            progress("read and analyse", len(docs), 0)
        space = self.subject_space if self.subject_space != "auto" else ("training" if len(docs) else "vocabulary")
        backend = create_backend(self.backend, self.backend_params)
        if len(docs) < 2 and not (space == "vocabulary" and backend_class(self.backend).zero_shot):
            raise InputError(f"need at least 2 documents with subjects to train the {self.backend!r} backend, "
                             f"found {len(docs)} (without documents, use a zero-shot backend)")
        extra = {c.uri: c for c in backend.extra_subjects(vocab, gold)}
        new_concepts = {uri: c for uri, c in extra.items() if vocab.get(uri) is None}
        self.vocab_ = _with_local_subjects(vocab, {**new_concepts, **stats.local_concepts})
        uris = used_uris(gold) | set(extra)
        if space == "vocabulary":
            uris |= {c.uri for c in vocab}
        self.subjects_ = SubjectSpace(sorted(uris))
        self.analyzer_ = analyzer
        return TrainingSet(documents=docs, gold=gold, analysed=analysed, targets=gold.indicator(self.subjects_),
                           context=FitContext(analyzer, [self.vocab_.get(uri) for uri in self.subjects_.uris]),
                           backend=backend, space=space, stats=stats, skipped=skipped)

    def fit(self, documents: Iterable[Document], vocab: Vocabulary, progress: Progress = _noop) -> "Indexer":
        """Learn from indexed documents; descriptors are matched against ``vocab``."""
        started = time.perf_counter()
        data = self.training_set(documents, vocab, progress)
        # The analysis is handed over as releasable: the ensemble empties it once its fits have read it (#19)
        analyzed = data.analysed
        analyzed.releasable = True
        y, context, backend = data.targets, data.context, data.backend
        docs, stats, skipped, space = data.documents, data.stats, data.skipped, data.space
        n_docs, languages = len(docs), training_languages(analyzed)

        cv_f1, cv_quality = None, {}
        self.rule_ = DecisionRule(limit=self.max_limit, threshold=0.0, min_one=True)
        try:
            if self.cv_folds and len(docs) >= self.cv_folds * 2:
                folds = self.make_folds(docs, data.gold)
                # Large corpora: held-out scores of a sample only (fahras.models.budget).
                folds, sample = held_out_budget(folds, len(analyzed), y.shape[1], seed=self.random_state,
                                                fit_once=self.folds != "time",  # (time: no later documents)
                                                groups=(lambda: self.fold_groups(docs, data.gold))
                                                if self.folds == "grouped" else None)
                if not self.forward_estimate:  # the documents' texts and subjects are read no more (#19)
                    data.documents.clear()
                    data.gold.clear()
                with rows_only(sample is not None):
                    oof = backend.fit_out_of_fold(analyzed, y, folds, context=context, progress=progress)
                if sample is not None:
                    oof, y_held = oof[sample], y[sample]
                else:
                    y_held = y
                self.rule_, cv_f1 = tune_rule(oof, y_held, max_limit=self.max_limit, kind=self.decision)
                cv_quality = held_out_quality(oof, y_held)
                stacker = getattr(backend, "stacker_", None)
                pairs = getattr(stacker, "novel_pairs", None)
                if pairs is not None:  # how the ensemble calibrated subjects no training document has
                    cv_quality.update({"novel_pairs": int(pairs[0]), "novel_right": int(pairs[1])})
                    cv_quality["novel_head"] = stacker.novel is not None
                simulated = getattr(stacker, "novel_simulated", None)
                if simulated is not None:  # and the pairs of subjects hidden from their fold (simulated novelty)
                    cv_quality.update({"novel_simulated": int(simulated[0]), "novel_simulated_right": int(simulated[1])})
            else:
                progress("fit", 0, 1)
                backend.fit(analyzed, y, context=context)
                progress("fit", 1, 1)
        except ValueError as exc:  # out-of-range parameters, degenerate data (e.g. no usable term)
            raise UsageError(f"training the {self.backend!r} backend failed: {exc}") from None
        self.backend_ = backend
        self.training_ = {
            "documents": n_docs,
            "documents_without_subjects": skipped,
            "subjects": len(self.subjects_),
            **stats.to_dict(),
            "subject_space": space,
            "cv_folds": self.cv_folds,
            "folds": self.folds,
            "cv_f1": cv_f1,
            **cv_quality,
            "seconds": round(time.perf_counter() - started, 2),
            "languages": languages,
        }
        forward = self._forward_quality(docs, vocab, progress)
        self.training_.update(forward)
        self.training_.update(next_year_estimate(self.training_))
        self.training_["seconds"] = round(time.perf_counter() - started, 2)
        return self

    def _forward_quality(self, docs: Sequence[Document], vocab: Vocabulary, progress: Progress) -> dict:
        """The forward-chaining estimate (see ``forward_estimate``): ``forward_ndcg@5``, ``forward_precision@1``,
        ``forward_f1`` of a model of the same settings trained on the documents dated before the last year
        and tested on those of the last year, with ``forward_year``, ``forward_documents`` and
        ``forward_ndcg@5_se`` (bootstrap standard error over the test documents); {} when not made."""
        if self.forward_estimate not in ("auto", True, False):
            raise UsageError(f"forward_estimate must be 'auto', true or false, got {self.forward_estimate!r}")
        if not self.forward_estimate:
            return {}
        years = known_years([d.id for d in docs], len(docs), [d.metadata.get("year") for d in docs])
        dated = [y for y in years if y is not None]
        if not dated:
            return {}
        last = max(dated)
        held = [d for d, y in zip(docs, years) if y == last]
        earlier = [d for d, y in zip(docs, years) if y is not None and y < last]
        if len(held) < FORWARD_MIN_HELD or len(earlier) < FORWARD_MIN_TRAIN:
            return {}
        params = {k: getattr(self, k) for k in ("backend", "backend_params", "analyzer", "strip_furniture",
                                                 "subject_space", "cv_folds", "max_limit", "decision",
                                                 "random_state", "folds")}

        def step(stage: str, done: int, total: int) -> None:
            progress(f"forward estimate: {stage}", done, total)

        earlier_model = type(self)(**params, forward_estimate=False).fit(earlier, vocab, step)
        quality = earlier_model._held_out_year(held)
        return {"forward_year": int(last), "forward_documents": len(held),
                "forward_trained_on": len(earlier), **quality}

    def _held_out_year(self, documents: Sequence[Document]) -> dict:
        """``forward_ndcg@5``, ``forward_precision@1``, ``forward_f1`` (this model's decision rule) and the
        bootstrap standard error of the nDCG@5 on ``documents``, document-averaged as :mod:`fahras.evaluate`."""
        from fahras.evaluate import f1_of_sets, ndcg_at, precision_at

        ndcg, p1, f1 = [], [], []
        matrix = self.scores([d.text for d in documents])
        for doc, row in zip(documents, matrix):
            gold = resolve_all(doc.subjects, self.vocab_, MatchStats())
            if not gold:
                continue
            ranked = [self.subjects_.uris[j] for j in np.argsort(-row, kind="stable")[:5]]
            ndcg.append(ndcg_at(ranked, gold, 5))
            p1.append(precision_at(ranked, gold, 1))
            f1.append(f1_of_sets({self.subjects_.uris[j] for j in self.rule_.apply(row)}, gold))
        if not ndcg:
            return {}
        return {"forward_ndcg@5": round(float(np.mean(ndcg)), 4), "forward_precision@1": round(float(np.mean(p1)), 4),
                "forward_f1": round(float(np.mean(f1)), 4), "forward_ndcg@5_se": bootstrap_se(ndcg)}

    def fold_groups(self, documents: Sequence[Document], gold: Sequence[set[str]]) -> list:
        """Each document's group key as grouped folds keep them together (:func:`fahras.models.folds.group_keys`:
        the metadata's ``series``, else the heading set and the year)."""
        series = document_metadata(documents, "series")
        years = document_metadata(documents, "year")
        return group_keys(_sorted_gold(gold), series if any(s is not None for s in series) else None,
                          known_years(document_ids(documents), len(documents),
                                      years if any(isinstance(y, (int, float)) for y in years) else None))

    def make_folds(self, documents: Sequence[Document], gold: Sequence[set[str]]) -> list:
        """The cross-validation folds of :meth:`fit` over ``documents`` (with subject URIs ``gold``):
        ``cv_folds`` (training rows, held-out rows) pairs of the kind ``folds``
        (:func:`fahras.models.folds.make_folds`; the metadata's ``series`` and ``year`` are used when present)."""
        series = document_metadata(documents, "series")
        years = document_metadata(documents, "year")
        return make_folds(self.cv_folds, self.folds, subjects=_sorted_gold(gold), ids=document_ids(documents),
                          series=series if any(s is not None for s in series) else None,
                          order=years if any(isinstance(y, (int, float)) for y in years) else None,
                          random_state=self.random_state)

    # -- suggesting ------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "backend_"):
            raise UsageError("this Indexer is not trained: call fit() or Indexer.load()")

    def analyse(self, text: str, lang: str | None = None, check: bool = False,
                deferred_offsets: bool = True) -> AnalyzedText:
        """Tokens of ``text`` (furniture masked), analysed in ``lang`` or the detected language.

        With ``check`` and no ``lang``, text in none of the six UN languages is
        refused with an :class:`InputError` (see
        :func:`fahras.text.langid.unsupported_language`).  The language is
        detected once, on the masked text, for the check and the analysis.
        With ``deferred_offsets`` the tokens' offsets may be found only when
        first needed (:meth:`fahras.text.Analyzer.deferred_tokens`): scoring
        reads the terms alone.
        """
        if not hasattr(self, "analyzer_"):
            raise UsageError("this Indexer is not trained: call fit() or Indexer.load()")
        return self._analyse_with(self.analyzer_, text, lang, check, deferred_offsets)

    def _analyse_with(self, analyzer, text: str, lang: str | None = None, check: bool = False,
                      deferred_offsets: bool = True) -> AnalyzedText:
        """:meth:`analyse` with ``analyzer``."""
        masked = mask_furniture(text)[0] if self.strip_furniture else text
        by_document = isinstance(analyzer, AutoAnalyzer) and analyzer.mode == "document"
        if lang is None and (check or by_document):
            if check:
                detected, problem = detect_supported_language(masked)
                if problem:
                    raise InputError(problem)
            else:
                detected = detect_language(masked)
            if by_document:
                lang = detected or analyzer.fallback
        if by_document:
            analyzer = analyzer.analyzer_for(lang)
        tokens = analyzer.deferred_tokens(masked) if deferred_offsets else analyzer.tokens(masked)
        return AnalyzedText(text, tokens, lang if by_document else lang or getattr(analyzer, "lang", None))

    def _analysed(self, texts: Sequence[str | AnalyzedText], lang: str | None) -> list[AnalyzedText]:
        return [t if isinstance(t, AnalyzedText) else self.analyse(t, lang) for t in texts]

    def _batch_scores(self, texts: Sequence[str | AnalyzedText], batch_size: int, lang: str | None, *,
                      sparse: bool) -> list:
        """The backend's scores of ``texts``, one part per batch of ``batch_size`` (dense or CSR)."""
        self._check_fitted()
        predict = self.backend_.predict_sparse if sparse else self.backend_.predict_scores
        parts = []
        for start in range(0, len(texts), batch_size):
            chunk = self._analysed(texts[start:start + batch_size], lang)
            with sharing_rows():
                parts.append(predict(chunk))
        return parts

    def scores(self, texts: Sequence[str | AnalyzedText], batch_size: int = 256,
               lang: str | None = None) -> np.ndarray:
        """Documents x subjects scores (columns in ``self.subjects_.uris`` order).

        ``texts`` may hold texts or what :meth:`analyse` made of them.
        """
        parts = self._batch_scores(texts, batch_size, lang, sparse=False)
        return np.vstack(parts) if parts else np.zeros((0, len(self.subjects_)))

    def rule(self, limit: int | None = None, threshold: float | None = None) -> DecisionRule:
        """The model's rule with the user's overrides.

        ``limit`` alone means "the top ``limit``" (threshold 0); ``threshold``
        alone keeps the model's limit.
        """
        self._check_fitted()
        if limit is None and threshold is None:
            return self.rule_
        if limit is not None and limit < 1:
            raise UsageError("limit must be at least 1")
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise UsageError("threshold must be between 0 and 1")
        return DecisionRule(limit=limit if limit is not None else self.rule_.limit,
                            threshold=threshold if threshold is not None else (0.0 if limit else self.rule_.threshold),
                            min_one=limit is not None or self.rule_.min_one)

    def suggest_batch(self, texts: Sequence[str | AnalyzedText], limit: int | None = None,
                      threshold: float | None = None, label_lang: str = "en", explain: bool = False,
                      lang: str | None = None, batch_size: int = 256) -> list[list[Suggestion]]:
        """Suggestions for each text, best first, chosen by the decision rule.

        ``texts`` may hold texts or what :meth:`analyse` made of them;
        ``lang`` is the documents' language (None: detect each one);
        ``label_lang`` the language of the labels returned.
        """
        check_languages(lang, label_lang, self.language())
        self._check_fitted()
        rule = self.rule(limit, threshold)
        subjects: dict[int, SubjectInfo] = {}  # column -> what its suggestions share (this call only)
        results = []
        for start in range(0, len(texts), batch_size):
            chunk = self._analysed(texts[start:start + batch_size], lang)
            with sharing_rows():  # explanations transform the documents again
                chosen = _decided_sparse(self.backend_.predict_sparse(chunk), rule)
                for analysed, (columns, scores) in zip(chunk, chosen):
                    context = analysed if explain else None
                    results.append([self._suggestion(j, score, label_lang, context, subjects)
                                    for j, score in zip(columns, scores)])
                    warning = self.language_warning(analysed)
                    for suggestion in results[-1] if warning else ():
                        suggestion.warning = warning
        return results

    def language(self) -> str | None:
        """The one language the model's analyzer is for (``fi`` for ``--lang fi``); None for ``auto``."""
        return getattr(getattr(self, "analyzer_", None), "lang", None)

    def language_warning(self, doc: AnalyzedText) -> str:
        """A warning if ``doc`` is in a language none of the model's training documents was in
        (its scores are not calibrated there); empty otherwise, and for models that do not
        know their training languages (saved before they were recorded, or trained without
        documents)."""
        trained = (getattr(self, "training_", None) or {}).get("languages") or {}
        if not trained or doc.lang is None or doc.lang in trained:
            return ""
        counts = ", ".join(f"{n} {lang}" for lang, n in sorted(trained.items(), key=lambda kv: (-kv[1], kv[0])))
        return (f"the document is in {language_name(doc.lang)} ({doc.lang}), but the model was trained on "
                f"documents in other languages only ({counts}): its scores are not calibrated for it")

    def decide_batch(self, texts: Sequence[str | AnalyzedText], limit: int | None = None,
                     threshold: float | None = None, lang: str | None = None,
                     batch_size: int = 256) -> list[tuple[list[int], list[float]]]:
        """What :meth:`suggest_batch` chooses, as (subject columns, scores) per text, best first.

        For batch jobs that write the suggestions out themselves: no
        :class:`Suggestion` is made; :meth:`subject_info` describes a column.
        """
        check_languages(lang, model_lang=self.language())
        self._check_fitted()
        rule = self.rule(limit, threshold)
        results: list[tuple[list[int], list[float]]] = []
        for start in range(0, len(texts), batch_size):
            results.extend(_decided_sparse(self.sparse_scores(texts[start:start + batch_size], batch_size, lang),
                                           rule))
        return results

    def sparse_scores(self, texts: Sequence[str | AnalyzedText], batch_size: int = 256,
                      lang: str | None = None) -> sp.csr_matrix:
        """:meth:`scores` as a CSR matrix (no stored zeros): the same scores, without a documents x
        subjects array (:meth:`fahras.models.base.Backend.predict_sparse`)."""
        parts = self._batch_scores(texts, batch_size, lang, sparse=True)
        if not parts:
            return sp.csr_matrix((0, len(self.subjects_)), dtype=np.float32)
        return sp.csr_matrix(sp.vstack(parts, format="csr"))

    def subject_info(self, column: int, label_lang: str = "en") -> "SubjectInfo":
        """The subject of score column ``column``: its URI and labels (``label`` in ``label_lang``)."""
        self._check_fitted()
        uri = self.subjects_.uris[column]
        concept = self.vocab_.get(uri)
        return SubjectInfo(uri, concept.label(label_lang), concept.identifier,
                           {code: concept.label(code) for code in LANGUAGES}, concept.local)

    def suggest(self, text: str | AnalyzedText, **options) -> list[Suggestion]:
        return self.suggest_batch([text], **options)[0]

    def _suggestion(self, column: int, score: float, lang: str, analysed: AnalyzedText | None,
                    subjects: dict[int, SubjectInfo]) -> Suggestion:
        info = subjects.get(column)
        if info is None:
            info = subjects[column] = self.subject_info(column, lang)
        evidence = (surface_evidence(analysed.text, self.backend_.explain(analysed, column))
                    if analysed is not None else [])
        return Suggestion(info.uri, info.label, score, info.identifier, dict(info.labels), info.local,
                          evidence)  # a copy of the labels each: a suggestion is mutable

    # -- evaluation --------------------------------------------------------------
    def evaluate(self, documents: Iterable[Document], progress: Progress = _noop,
                 limit: int | None = None, threshold: float | None = None) -> dict:
        """Quality on indexed documents: ranking metrics and the decision rule's F1."""
        from fahras.evaluate import evaluate

        self._check_fitted()
        rule = self.rule(limit, threshold)
        stats = MatchStats()
        ranked, gold, decided, unknown = [], [], [], 0
        batch: list[Document] = []

        def flush() -> None:
            # each document's top subjects and its gold subjects' places, not its whole ranking
            matrix = self.sparse_scores([d.text for d in batch])
            first = len(ranked)
            ranked.extend(self._top_rankings(matrix, gold[first:first + len(batch)]))
            decided.extend({self.subjects_.uris[j] for j in columns} for columns, _ in _decided_sparse(matrix, rule))
            progress("evaluate", len(ranked), 0)
            batch.clear()

        for doc in documents:
            truth = resolve_all(doc.subjects, self.vocab_, stats)
            unknown += sum(1 for uri in truth if uri not in self.subjects_.index)
            gold.append(truth)
            batch.append(doc)
            if len(batch) >= 64:
                flush()
        if batch:
            flush()
        result = evaluate(ranked, gold, decided, n_candidates=len(self.subjects_))
        result["gold_subjects_unknown_to_model"] = unknown
        result["decision_rule"] = rule.to_dict()
        return result

    def _top_rankings(self, matrix: sp.csr_matrix, gold: Sequence[set[str]]) -> list:
        """Each row's :class:`~fahras.evaluate.TopRanking`: the first subjects of its stable descending
        order (``np.argsort(-row, kind="stable")``) and its ``gold`` subjects' places in that order."""
        from fahras.evaluate import TOP_KEPT, TopRanking

        uris, index, n_cols = self.subjects_.uris, self.subjects_.index, matrix.shape[1]
        exact = non_negative(matrix)
        out = []
        for i, truth in enumerate(gold):
            start, end = matrix.indptr[i], matrix.indptr[i + 1]
            cols, vals = matrix.indices[start:end], matrix.data[start:end]
            if not exact:  # negative scores: the zero columns are not last; rank the dense row
                order = np.argsort(-matrix[i].toarray().ravel(), kind="stable")
                out.append(TopRanking.of([uris[j] for j in order], truth))
                continue
            positions = {}
            for uri in truth:
                column = index.get(uri)
                if column is not None:
                    at = np.searchsorted(cols, column)
                    value = vals[at] if at < len(cols) and cols[at] == column else 0.0
                    positions[uri] = stable_rank(cols, vals, column, value) + 1
            out.append(TopRanking([uris[j] for j in sparse_top_columns(cols, vals, n_cols, TOP_KEPT)],
                                  positions, n_cols))
        return out

    def optimize(self, documents: Iterable[Document], max_limit: int | None = None,
                 kind: str | None = None) -> dict:
        """Re-tune the decision rule on indexed documents (e.g. a validation set).

        ``kind`` is the kind of rule tuned (see :data:`fahras.decision.RULE_KINDS`;
        default: the model's).  Gold descriptors unknown to the model count as
        misses.  Returns the new rule with the F1 it reaches on ``documents``;
        the Indexer keeps it (save the model to persist it).
        """
        self._check_fitted()
        kind = kind or self.rule_.kind
        if kind not in RULE_KINDS:
            raise UsageError(f"unknown decision rule {kind!r}; choose one of {', '.join(RULE_KINDS)}")
        texts, gold = [], []
        for doc in documents:
            truth = resolve_all(doc.subjects, self.vocab_)
            if truth:
                texts.append(doc.text)
                gold.append(truth)
        if not texts:
            raise InputError("no documents with descriptors to tune the decision rule on")
        scores = self.scores(texts)
        n_gold = np.array([len(g) for g in gold])
        previous = self.rule_
        self.rule_, f1 = tune_rule(scores, self.subjects_.indicator(gold), n_gold=n_gold,
                                   max_limit=max_limit or self.max_limit, kind=kind)
        self.training_ = {**self.training_, "optimized_on": len(texts), "optimized_f1": f1}
        return {"documents": len(texts), "f1": f1, "decision_rule": self.rule_.to_dict(),
                "previous_rule": previous.to_dict()}

    # -- persistence -------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the model as one self-contained folder, atomically (layout: :mod:`fahras.store.model`)."""
        self._check_fitted()
        manifest = {
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "versions": _versions(),
            "params": {"backend": self.backend, "backend_params": self.backend_params,
                       "analyzer": self.analyzer, "strip_furniture": self.strip_furniture,
                       "subject_space": self.subject_space,
                       "cv_folds": self.cv_folds, "folds": self.folds,
                       "max_limit": self.max_limit, "decision": self.decision,
                       "random_state": self.random_state, "forward_estimate": self.forward_estimate},
            "analyzer": self.analyzer_.config(),
            "decision_rule": self.rule_.to_dict(),
            "training": self.training_,
            # Which thesaurus edition the model was trained on ('fahras info MODEL --vocab FILE' compares).
            "vocabulary": {"source": Path(self.vocab_.source).name if self.vocab_.source else "",
                           "version": getattr(self.vocab_, "version", ""),
                           "checksum": getattr(self.vocab_, "checksum", "")},
        }
        return write_model(path, manifest, self.vocab_.to_dict(), self.subjects_.uris, self.backend_.save)

    @classmethod
    def load(cls, path: str | Path) -> "Indexer":
        files = read_model(path)
        manifest = files.manifest
        rule = DecisionRule.from_dict(manifest["decision_rule"])
        indexer = cls(**{"decision": rule.kind, **manifest["params"]})  # older models: the kind of their rule
        indexer.analyzer_ = analyzer_from_config(manifest["analyzer"])
        indexer.rule_ = rule
        indexer.training_ = manifest.get("training", {})
        indexer.manifest_ = manifest
        indexer.vocab_ = Vocabulary.from_dict(files.vocab)
        indexer.subjects_ = SubjectSpace(files.subjects)
        missing = [u for u in indexer.subjects_.uris if u not in indexer.vocab_]
        if missing:
            raise ModelError(f"{path}: subjects missing from the vocabulary snapshot, e.g. {missing[0]}")
        indexer.backend_ = load_backend(files.backend_folder)
        return indexer


#: The forward-chaining estimate needs at least this many documents in the last year (its test set; with fewer,
#: one year's sampling noise outweighs what it tells: the bootstrap standard error of nDCG@5 on 47-66
#: resolutions is already about 0.02) ...
FORWARD_MIN_HELD = 30
#: ... and at least this many in the years before (its training set).
FORWARD_MIN_TRAIN = 100


def next_year_estimate(training: dict) -> dict:
    """The estimate of the quality on next year's documents (``estimate_ndcg@5``, ``estimate_precision@1``,
    ``estimate_f1`` and ``estimate_kind``) from a model's ``training_``: the cross-validated estimate
    (``cv_*``) when there is one, else the forward-chaining one (``forward_*``); {} without either.

    Why not the forward one, or the mean of both: on the rolling benchmark (benchmarks/rolling.py,
    docs/benchmarks.md) the cross-validated estimate of the default (grouped folds) missed next year's
    nDCG@5 by 0.025 on average over four years, the forward one by 0.033 and their mean by 0.029 (with the
    novel head always on: 0.031, 0.045, 0.038): one year's documents (47-66 resolutions, bootstrap standard
    error 0.025-0.038) are a noisier measure than cross-validation over every year once near-duplicates
    stay in one fold.  The forward estimate stays a check beside it, with its standard error
    (``forward_ndcg@5_se``)."""
    out: dict = {}
    kinds = set()
    for key in ("ndcg@5", "precision@1", "f1"):
        for kind in ("cv", "forward"):
            if training.get(f"{kind}_{key}") is not None:
                out[f"estimate_{key}"] = training[f"{kind}_{key}"]
                kinds.add(kind)
                break
    if out:
        out["estimate_kind"] = ",".join(sorted(kinds))
    return out


def held_out_quality(scores: np.ndarray, targets: sp.csr_matrix) -> dict:
    """The cross-validated ranking quality of held-out ``scores`` (documents x subjects, an array or CSR) against
    ``targets``: ``cv_ndcg@5`` and ``cv_precision@1``, document-averaged as :mod:`fahras.evaluate` does.
    (Documents whose subjects are all unknown to their fold count as misses.)"""
    from fahras.evaluate import ndcg_at, precision_at

    targets = sp.csr_matrix(targets)
    if not scores.shape[0]:
        return {}
    k = min(5, scores.shape[1])
    if sp.issparse(scores) and non_negative(as_csr(scores)):  # (#19: a held-out sample's CSR scores)
        top = top_k(as_csr(scores), k)[0]  # the same columns as the dense rows' stable argsort
    else:
        scores = scores.toarray() if sp.issparse(scores) else scores
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    ndcg = p1 = 0.0
    for i, row in enumerate(top):
        gold = set(targets.indices[targets.indptr[i]:targets.indptr[i + 1]].tolist())
        ranked = row.tolist()
        ndcg += ndcg_at(ranked, gold, 5)
        p1 += precision_at(ranked, gold, 1)
    n = scores.shape[0]
    return {"cv_ndcg@5": round(ndcg / n, 4), "cv_precision@1": round(p1 / n, 4)}


def _decided(matrix: np.ndarray, rule: DecisionRule) -> list[tuple[list[int], list[float]]]:
    """(columns, scores) that ``rule`` keeps of each row of ``matrix``, best first."""
    out = []
    for row in matrix:
        keep = rule.apply(row)
        out.append((keep.tolist(), row[keep].tolist()))
    return out


def _decided_sparse(matrix: sp.csr_matrix, rule: DecisionRule) -> list[tuple[list[int], list[float]]]:
    """:func:`_decided` of a CSR matrix (no stored zeros), row by row on the stored entries: the same
    columns and scores (ties in column order, zero columns after the stored ones)."""
    matrix = sp.csr_matrix(matrix)
    if not non_negative(matrix):
        return _decided(matrix.toarray(), rule)
    matrix.sort_indices()
    n_cols = matrix.shape[1]
    # an expected-F1 rule reads the sum of the whole row: summed as the dense row is summed
    row = np.zeros(n_cols, dtype=matrix.dtype) if rule.gold_scale is not None else None
    out = []
    for i in range(matrix.shape[0]):
        start, end = matrix.indptr[i], matrix.indptr[i + 1]
        cols, vals = matrix.indices[start:end], matrix.data[start:end]
        order = sparse_top_columns(cols, vals, n_cols, rule.limit)
        at = np.minimum(np.searchsorted(cols, order), max(len(cols) - 1, 0))
        stored = (at < len(cols)) & (cols[at] == order) if len(cols) else np.zeros(len(order), dtype=bool)
        scores = np.where(stored, vals[at] if len(cols) else 0, 0).astype(matrix.dtype)
        total = None
        if row is not None:
            row[cols] = vals
            total = float(row.sum(dtype=np.float64))
            row[cols] = 0
        keep = rule.select(scores, total=total) if total is not None else rule.select(scores, total=0.0)
        out.append((order[:keep].tolist(), scores[:keep].tolist()))
    return out


def _with_local_subjects(vocab: Vocabulary, local: dict) -> Vocabulary:
    """A copy of the vocabulary that also holds the local subjects found in training."""
    return Vocabulary([*vocab, *local.values()], groups=vocab.groups, source=vocab.source,
                      version=getattr(vocab, "version", ""), checksum=getattr(vocab, "checksum", ""))
