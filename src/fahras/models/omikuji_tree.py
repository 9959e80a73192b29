"""Partitioned label trees (Parabel / Bonsai) over TF-IDF features, with omikuji.

Documents are TF-IDF vectors over the analyser's terms and bigrams
(:class:`fahras.models.features.TfidfFeatures`).  Omikuji recursively
clusters the subjects into a tree and trains a linear classifier at every
node; a document's score for a subject is the product of the node scores on
the path to that subject's leaf, averaged over the trees.  Only the best
``top_k`` subjects found by the beam search are scored; every other subject
scores 0.

The defaults give Parabel's tree settings (balanced 2-means clustering, deep
trees).  :data:`PRESETS` ``["bonsai"]`` gives Bonsai's (unbalanced 100-means
clustering, shallow trees)::

    Indexer(backend="omikuji", backend_params=PRESETS["bonsai"])

Two classifier defaults differ from omikuji's own: ``linear_weight_threshold``
is 0.01, not 0.1 (unit-length TF-IDF vectors over many n-grams need many
small weights; pruning at 0.1 cost ~0.04 nDCG@5 on the UNSC resolutions),
and ``linear_c`` is 2, not 1 (slightly better on both validation years).
A tree only forms when there are at least ``min_branch_size`` subjects;
below that every subject gets its own classifier at a single leaf
(one-vs-rest), whichever preset is used.

Training is not bit-for-bit repeatable, and cannot be made so from here:
omikuji (0.5) picks the first centroids of each k-means split, and the order
in which its liblinear-style solvers visit the examples, with Rust's
``thread_rng()``, seeded from the operating system's entropy; its API takes
no seed, and the thread count does not matter (each thread draws from its
own generator, whatever ``n_threads``).  So the trees (``flat/``)
differ from one training to the next; the features, ``idf.npy`` and
``centroids.npz`` do not (``tests/test_robust_reproducible.py``).  A saved
model scores exactly like the fitted one: the fitted backend keeps omikuji's
saved files and scores with the model read back from them.

Omikuji keeps its weights to itself, so :meth:`OmikujiBackend.explain`
points to the document's features that weigh most both in the document and
in the mean TF-IDF vector (the centroid) of the subject's training documents.

Files: ``features.json`` and ``idf.npy`` (the features), ``centroids.npz``
(subjects x features) and ``flat/`` (omikuji's trees as flat arrays, which
scoring memory-maps: :mod:`fahras.models.omikuji_fast`).  Models saved before
the flat arrays have ``omikuji/`` (omikuji's own model format) instead and
score with omikuji; saving such a model again writes ``flat/`` in its place.
Without numba (a dependency, so only in an unusual install) a new model is
saved in omikuji's format.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import threading
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from fahras.errors import UsageError
from fahras.models import register
from fahras.models.base import AnalyzedText, Backend, Evidence, FitContext, Param
from fahras.models.budget import release_free_memory
from fahras.store.files import map_file
from fahras.models.features import TFIDF_PARAMS, TfidfFeatures, feature_spans, top_shared_features
from fahras.models.omikuji_fast import FLAT_FOLDER, FlatForest, numba_available
from fahras.models.scratch import scratch_folder

#: One conversion to flat arrays at a time (see ``OmikujiBackend._flat_forest``).
_FLAT_LOCK = threading.Lock()

PRESETS: dict[str, dict] = {
    "parabel": {},
    "bonsai": {"cluster_balanced": False, "cluster_k": 100, "max_depth": 3},
}
"""Named parameter sets: ``parabel`` (the defaults) and ``bonsai``."""

_MODEL_DIR = "omikuji"
_CENTROIDS = "centroids.npz"
_LOSSES = ("hinge", "log")


@register
class OmikujiBackend(Backend):
    """Partitioned label trees (omikuji) on TF-IDF n-grams.

    Parameters
    ----------
    ngram_max, min_df, max_features : the TF-IDF features, as in ``tfidf-linear``.
    n_trees : number of trees; their scores are averaged.
    max_depth : maximum depth of a tree.
    min_branch_size : a node with fewer subjects than this becomes a leaf
        holding one classifier per subject (must be at least ``cluster_k``).
    cluster_k : number of children of a node (2 = Parabel, ~100 = Bonsai).
    cluster_balanced : split a node's subjects into equal-size clusters
        (Parabel) or let k-means decide (Bonsai).
    cluster_min_size : smallest cluster of an unbalanced split.
    centroid_threshold : drop subject-centroid weights below this when clustering.
    collapse_every_n_layers : collapse every n layers of a binary tree into one
        wide layer (AttentionXML-style); 0 = never.
    linear_loss : ``"hinge"`` (squared-hinge SVM) or ``"log"`` (logistic regression).
    linear_c : inverse regularisation strength of the node classifiers.
    linear_eps : stopping tolerance of the classifier solver.
    linear_weight_threshold : classifier weights below this are dropped (pruning).
    linear_max_iter : iteration cap of the classifier solver.
    beam_size : how many nodes per tree level the prediction beam search keeps.
    top_k : how many subjects each document is scored for (the rest score 0).
    dense_weights : a node classifier whose weights are nonzero for more than
        this share of the features is held as a dense vector once the model is
        loaded (omikuji's ``densify_weights``): the same scores, about 0.1 ms
        less per document, some memory more (45 MB on the 529 resolutions); at
        most 1/``dense_weights`` times that classifier's sparse size.  1 = never.
    n_threads : worker threads for training (0 = all cores).  Prediction runs in
        the calling thread (documents are shared out between processes
        instead, ``fahras index --jobs``).
    """

    name = "omikuji"

    params = {
        **TFIDF_PARAMS,
        "n_trees": Param(3, "number of trees; their scores are averaged", low=1),
        "max_depth": Param(20, "maximum depth of a tree", low=1),
        "min_branch_size": Param(100, "a node with fewer subjects becomes a leaf (at least cluster_k)", low=1),
        "cluster_k": Param(2, "children of a node (2: Parabel, about 100: Bonsai)", low=2),
        "cluster_balanced": Param(True, "split a node's subjects into equal-size clusters (false: k-means decides)"),
        "cluster_min_size": Param(2, "smallest cluster of an unbalanced split", low=1),
        "centroid_threshold": Param(0.0, "subject-centroid weights below this are dropped when clustering", low=0),
        "collapse_every_n_layers": Param(0, "collapse every n layers of a binary tree into one (0: never)", low=0),
        "linear_loss": Param("hinge", "node classifiers: 'hinge' (squared-hinge SVM) or 'log' (logistic)",
                             choices=_LOSSES),
        "linear_c": Param(2.0, "inverse regularisation strength of the node classifiers", low=0, low_open=True),
        "linear_eps": Param(0.1, "stopping tolerance of the classifier solver", low=0, low_open=True),
        "linear_weight_threshold": Param(0.01, "classifier weights below this are dropped (pruning)", low=0),
        "linear_max_iter": Param(20, "iteration cap of the classifier solver", low=1),
        "beam_size": Param(10, "nodes per tree level the prediction beam search keeps", low=1),
        "top_k": Param(50, "subjects each document is scored for (the rest score 0)", low=1),
        "dense_weights": Param(0.05, "classifiers denser than this share of the features are held dense once "
                               "loaded (1: never)", low=0, low_open=True, high=1),
        "n_threads": Param(0, "worker threads for training (0: all cores)", low=0),
    }

    def check_params(self) -> None:
        if int(self.cluster_k) > int(self.min_branch_size):
            # Omikuji aborts the whole process when it must split a node into
            # more clusters than the node has subjects.
            raise UsageError(f"backend 'omikuji': cluster_k ({self.cluster_k}) must not exceed min_branch_size "
                             f"({self.min_branch_size})")

    # -- training ----------------------------------------------------------------
    def _hyper_param(self):
        omikuji = _omikuji()
        hp = omikuji.Model.default_hyper_param()
        hp.n_trees = int(self.n_trees)
        hp.max_depth = int(self.max_depth)
        hp.min_branch_size = int(self.min_branch_size)
        hp.cluster_k = int(self.cluster_k)
        hp.cluster_balanced = bool(self.cluster_balanced)
        hp.cluster_min_size = int(self.cluster_min_size)
        hp.centroid_threshold = float(self.centroid_threshold)
        hp.collapse_every_n_layers = int(self.collapse_every_n_layers)
        hp.linear_loss_type = (omikuji.LossType.HINGE if self.linear_loss == "hinge" else omikuji.LossType.LOG).value
        hp.linear_c = float(self.linear_c)
        hp.linear_eps = float(self.linear_eps)
        hp.linear_weight_threshold = float(self.linear_weight_threshold)
        hp.linear_max_iter = int(self.linear_max_iter)
        return hp

    def fit(self, docs: Sequence[AnalyzedText], y: sp.csr_matrix, *,
            context: FitContext | None = None) -> "OmikujiBackend":
        features = TfidfFeatures(self.ngram_max, self.min_df, self.max_features)
        return self.fit_features(features, features.fit_transform(docs), y)

    def fit_features(self, features: TfidfFeatures, x: sp.csr_matrix, y: sp.csr_matrix, *,
                     save_to: Path | None = None) -> "OmikujiBackend":
        """Learn from ``x``, the TF-IDF rows that ``features`` (fitted with this backend's ``ngram_max``,
        ``min_df`` and ``max_features``) made of the training documents: what :meth:`fit` does after
        computing them (the cross-fitting workers get them computed, :mod:`fahras.models.crossfit`).

        With ``save_to``, the fitted backend is saved into that folder (what :meth:`save` writes) straight
        from omikuji's files, and is then what :func:`~fahras.models.load_backend` reads from it: omikuji's
        model is never read back and its files are never held in memory (at 671,068 yso titles they and
        the reloaded model took about 1 GB at the end of the fit, #19).  It scores exactly as a backend
        fitted without it and saved."""
        omikuji = _omikuji()
        hp = self._hyper_param()
        self.features_ = features
        y = sp.csr_matrix(y)
        self.n_subjects_ = int(y.shape[1])
        with scratch_folder("fahras-omikuji-") as tmp:  # removed even after a SIGKILL (by the next training)
            data = Path(tmp) / "train.txt"
            _write_xc_file(data, x, y)
            # the rows are read again only for the centroids, after the trees: a memory-mapped x's pages (41 MB
            # at 671,068 yso titles) and the writing's garbage are given back while omikuji trains (#19)
            _let_go_of_pages(x)
            release_free_memory()
            # omikuji's model as omikuji saves it, its trees trained one at a time (_train_trees); scored with
            # the model read back from those files: a reloaded omikuji model can differ from the one in
            # memory in the last float bit, and saved models must score the same.
            target = Path(tmp) / _MODEL_DIR
            with _large_blocks_mapped(save_to is not None):  # (a worker's process: #19)
                _train_trees(omikuji, data, hp, int(self.n_threads), target)
            data.unlink()
            # (the centroids are computed after the trees: not held while omikuji trains, #19)
            if save_to is not None and not numba_available():  # (saved in omikuji's format, as save() does)
                self.centroids_ = _centroids(x, y)
                self.model_files_ = _mapped_files(target)  # (read only by the save, page by page)
                self.save(Path(save_to))
                self.model_files_ = {}
                self.load_state(Path(save_to))
                return self
            if save_to is not None:
                folder = Path(save_to)
                folder.mkdir(parents=True, exist_ok=True)
                # the flat arrays written into the model folder as they are made, one tree in memory at a time
                flat = FlatForest.convert(_mapped_files(target), folder / FLAT_FOLDER)
                shutil.rmtree(target)
                self.model_files_ = {}
                self._flat, self._flat_missing = (self.model_files_, flat), False
                release_free_memory()
                self.centroids_ = _centroids(x, y)
                self.save(folder)  # (the flat arrays already there are not written again)
                del flat
                self._flat = None
                self.load_state(folder)
                return self
            self.centroids_ = _centroids(x, y)
            self.model_files_ = _read_files(target)
            self.model_ = _load_model(target, float(self.dense_weights))
        return self

    # -- scoring -------------------------------------------------------------------
    def predict_scores(self, docs: Sequence[AnalyzedText]) -> np.ndarray:
        return self.predict_sparse(docs).toarray()

    def predict_sparse(self, docs: Sequence[AnalyzedText]) -> sp.csr_matrix:
        """The scores of each document's ``top_k`` subjects as CSR (every other subject scores 0).

        Scored by omikuji's beam search compiled over flat, memory-mapped arrays
        (:mod:`fahras.models.omikuji_fast`), made from omikuji's files on first use after fitting and
        saved with the model; omikuji's own prediction where numba is missing or for a model loaded
        without the arrays (saved before them)."""
        x = self.features_.transform(docs)
        x.sort_indices()
        top_k = max(1, min(int(self.top_k), self.n_subjects_))
        flat = self._flat_forest()
        if flat is not None:
            found, scores, counts = flat.predict(x, int(self.beam_size), top_k)
            keep = (np.arange(top_k)[None, :] < counts[:, None]) & (found < self.n_subjects_)
            indptr = np.concatenate([[0], np.cumsum(keep.sum(axis=1))]).astype(np.int64)
            labels, values = found[keep], scores[keep]
        else:
            predict = _Predictor(self.model_, int(self.beam_size), top_k)
            labels, values, indptr = [], [], np.zeros(x.shape[0] + 1, dtype=np.int64)
            for i in range(x.shape[0]):
                start, end = x.indptr[i], x.indptr[i + 1]
                found, scores = predict(x.indices[start:end], x.data[start:end])
                keep = found < self.n_subjects_
                labels.append(found[keep])
                values.append(scores[keep])
                indptr[i + 1] = indptr[i] + int(keep.sum())
            labels = np.concatenate(labels) if labels else np.zeros(0, np.int64)
            values = np.concatenate(values) if values else np.zeros(0, np.float32)
        matrix = sp.csr_matrix((np.clip(values, 0.0, 1.0).astype(np.float32), labels, indptr),
                               shape=(len(docs), self.n_subjects_), dtype=np.float32)
        matrix.sum_duplicates()  # sorts the columns (omikuji returns each label once)
        matrix.eliminate_zeros()
        return matrix

    def _flat_forest(self, convert: bool = False):
        """The :class:`~fahras.models.omikuji_fast.FlatForest` this backend scores with (None: omikuji's own
        prediction): loaded with the model, or made from omikuji's files on first use after fitting (and
        made again after a new fit: it is kept with the files it was made from)."""
        files = self._model_files()
        made = self.__dict__.get("_flat")
        if made is not None and made[0] is files:
            return made[1]
        if (self.__dict__.get("_flat_missing") and not convert) or not numba_available():
            return None
        if self.__dict__.get("_flat_missing"):
            # a model loaded without the arrays keeps scoring with omikuji; saving it again adds them
            return FlatForest.from_omikuji_files(files)
        with _FLAT_LOCK:  # one conversion, even when the service's threads score at once
            made = self.__dict__.get("_flat")
            if made is None or made[0] is not files:
                made = self._flat = (files, FlatForest.from_omikuji_files(files))
        return made[1]

    def explain(self, doc: AnalyzedText, subject: int, top: int = 5) -> list[Evidence]:
        x = self.features_.transform([doc])
        names = self.features_.feature_names
        return [Evidence("term", str(names[col]), weight, feature_spans(doc, str(names[col])))
                for col, weight in top_shared_features(x, self.centroids_[subject], top)]

    # -- persistence -----------------------------------------------------------------
    def save_state(self, folder: Path) -> None:
        self.features_.save(folder)
        sp.save_npz(folder / _CENTROIDS, self.centroids_, compressed=True)
        flat = self._flat_forest(convert=True)
        if flat is not None:
            # the flat arrays are the model: omikuji's own files would double its size on disk (1.3 GB
            # against 0.7 GB at 671,000 yso titles) for a scorer that is no longer used
            flat.save(folder / FLAT_FOLDER)
        else:
            self._save_omikuji_files(folder / _MODEL_DIR)

    def _save_omikuji_files(self, target: Path) -> None:
        """omikuji's own files (models saved before the flat arrays, or without numba, are made of them)."""
        if target.exists():
            shutil.rmtree(target)
        target.mkdir()
        for name, data in self._model_files().items():
            (target / name).write_bytes(data)

    def _model_files(self) -> dict[str, bytes]:
        """omikuji's saved files: kept in memory after fitting; a loaded model reads them from its folder
        again (checked unchanged since loading) rather than holding them (230 MB at 100,000 yso titles)."""
        return self.model_files_

    @property
    def centroids_(self) -> sp.csr_matrix:
        """Subjects x features mean TF-IDF vectors (explanations only): a loaded model reads them on first use
        (from the file as it was at loading, :func:`~fahras.store.files.map_file`)."""
        centroids = self.__dict__.get("_centroids")
        if centroids is None:
            centroids = self._centroids = sp.csr_matrix(sp.load_npz(io.BytesIO(self._centroids_file)),
                                                        dtype=np.float32)
        return centroids

    @centroids_.setter
    def centroids_(self, value: sp.csr_matrix) -> None:
        self._centroids = value

    def load_state(self, folder: Path) -> None:
        self.features_ = TfidfFeatures.load(folder, self.ngram_max)
        self._centroids_file = map_file(folder / _CENTROIDS)
        with np.load(io.BytesIO(self._centroids_file), allow_pickle=False) as saved:  # the shape only
            shape = tuple(int(n) for n in saved["shape"])
        if len(shape) != 2:
            raise ValueError(f"{_CENTROIDS} is not a matrix")
        self.n_subjects_ = shape[0]
        target = folder / _MODEL_DIR
        has_flat = FlatForest.exists(folder / FLAT_FOLDER)
        if has_flat and not numba_available():
            raise OSError(f"{folder / FLAT_FOLDER}: this omikuji model is scored by a compiled beam search "
                          "that needs the numba package (pip install numba)")
        if not has_flat and not (target / "settings.json").is_file():
            raise OSError(f"{target}: omikuji model not found")
        # omikuji's files (models saved before the flat arrays), mapped rather than read (230 MB at 100,000
        # yso titles): only a save reads them; a model of flat arrays has none
        self.model_files_ = ({p.name: map_file(p) for p in sorted(target.iterdir()) if p.is_file()}
                             if target.is_dir() else {})
        self._centroids = None
        if not 0 < float(self.dense_weights) <= 1:
            raise ValueError(f"dense_weights is {self.dense_weights}, not more than 0 and at most 1")
        self._flat, self._flat_missing = None, False
        if has_flat:
            # omikuji's own model is not read at all (6 s for its 518 MB of trees at 671,000 titles)
            flat = FlatForest.load(folder / FLAT_FOLDER)
            self._flat = (self.model_files_, flat)
            n_features = flat.n_features
        else:
            self._flat_missing = True  # a model saved before the flat arrays: omikuji scores it, as then
            self.model_ = _load_model(target, float(self.dense_weights))
            n_features = self.model_.n_features
        if n_features != self.features_.n_features or shape[1] != self.features_.n_features:
            raise ValueError("feature count differs between files")


def _omikuji():
    try:
        import omikuji
    except ImportError:
        raise UsageError("the omikuji backend needs the omikuji package: pip install omikuji") from None
    return omikuji


class _Predictor:
    """``model.predict`` for one document's sorted feature columns and values, as arrays.

    omikuji's own ``Model.predict`` takes ``(feature, value)`` pairs and
    copies them one by one into C arrays in Python; this hands omikuji's C
    function the NumPy buffers directly (the same call ``Model.predict``
    makes, the same numbers), falling back to ``Model.predict`` if this
    omikuji version lacks the pieces.  Per call; nothing is kept.

    No thread pool is passed, so omikuji predicts in the calling thread:
    handing each document to its rayon pool and waiting for the answer cost
    about 70 microseconds a document here, a third of the prediction itself,
    and no pool is ever started (nothing to go wrong in a forked worker).
    """

    def __init__(self, model, beam_size: int, top_k: int):
        self.model, self.beam_size, self.top_k = model, beam_size, top_k
        try:
            from omikuji._libomikuji import ffi, lib

            self.ffi, self.lib = ffi, lib
            self.model_ptr = model._model_ptr
        except (ImportError, AttributeError):
            self.lib = None

    def __call__(self, columns: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.lib is None:
            pairs = list(zip(columns.tolist(), values.tolist()))
            found = self.model.predict(pairs, beam_size=self.beam_size, top_k=self.top_k)
            return (np.asarray([label for label, _ in found], dtype=np.int64),
                    np.asarray([score for _, score in found], dtype=np.float32))
        ffi = self.ffi
        n_columns = len(columns)
        # (a document without features still gets buffers to point at, of length 0)
        columns = np.ascontiguousarray(columns if n_columns else [0], dtype=np.uint32)
        values = np.ascontiguousarray(values if n_columns else [0.0], dtype=np.float32)
        labels = np.zeros(self.top_k, dtype=np.uint32)
        scores = np.zeros(self.top_k, dtype=np.float32)
        n = self.lib.omikuji_predict(self.model_ptr, self.beam_size, n_columns,
                                     ffi.from_buffer("uint32_t[]", columns), ffi.from_buffer("float[]", values),
                                     self.top_k, ffi.from_buffer("uint32_t[]", labels),
                                     ffi.from_buffer("float[]", scores), ffi.NULL)  # no pool: this thread
        return labels[:n].astype(np.int64), scores[:n]


def _let_go_of_pages(x: sp.spmatrix) -> None:
    """The resident pages of ``x``'s memory-mapped arrays dropped (read from their files again if touched);
    nothing for arrays in memory."""
    import mmap

    for array in (getattr(x, "data", None), getattr(x, "indices", None), getattr(x, "indptr", None)):
        base = array
        while base is not None and not isinstance(base, mmap.mmap):
            base = getattr(base, "base", None)
        if base is not None and hasattr(mmap, "MADV_DONTNEED"):
            with contextlib.suppress(OSError, ValueError):
                base.madvise(mmap.MADV_DONTNEED)


#: glibc's ``mallopt`` parameter and the values used by :func:`_large_blocks_mapped`.
_M_MMAP_THRESHOLD, _MAPPED_FROM, _GLIBC_FIRST_THRESHOLD = -3, 256 * 1024, 128 * 1024


@contextlib.contextmanager
def _large_blocks_mapped(active: bool = True) -> Iterator[bool]:
    """Within: the C heap (glibc, which omikuji's Rust code allocates from) serves every block from 256 KiB up
    with a memory map of its own, given back to the system when freed, instead of raising that threshold as
    large blocks are freed (its default) and keeping them in the heap, where later small blocks pin them.

    Measured on one tree of 200,000 yso titles: omikuji's peak 340-356 MB instead of 396-419 MB (and 250 MB
    instead of about 390 MB once trained); at 671,068 titles the worker's RSS while a tree trains 0.75-0.97
    GB instead of 0.87-1.04 GB, its peak 1,093 against 1,124 MB, for up to 10-20% more CPU in those runs
    (noisy: a shared machine; ``docs/scaling.md``).  One heap arena for all threads as well would save
    10 MB more for 25% more CPU, so it is not done.  glibc has no way back to the rising
    threshold: on leaving, it is set to its first value (128 KiB) and stays fixed, so only a cross-fitting
    worker's process (which ends after its fit) uses this; Linux with glibc only (True if in effect)."""
    mallopt = None
    if active and sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            mallopt = ctypes.CDLL("libc.so.6").mallopt
    if mallopt is None or not mallopt(_M_MMAP_THRESHOLD, _MAPPED_FROM):
        yield False
        return
    try:
        yield True
    finally:
        mallopt(_M_MMAP_THRESHOLD, _GLIBC_FIRST_THRESHOLD)


def _train_trees(omikuji, data: Path, hp, n_threads: int, target: Path) -> None:
    """omikuji's model of ``hp.n_trees`` trees trained on the data file ``data``, saved in ``target`` as omikuji
    saves it (``settings.json``, ``tree0.cbor`` ...), its trees trained one at a time: one call of omikuji
    with one tree per tree, each saved and freed before the next starts.

    omikuji trains its trees side by side (as many at once as it has threads) and holds them all until it
    saves them: at 671,068 yso titles its training peaked at about 1.5 GB with three trees, where one at a
    time holds one tree and its training's copies of the examples (#19).  The forest is the same kind: omikuji
    trains each tree independently, from the same examples, with its own random draws (no seed; see the
    module's doc), and scores a document with the mean over the trees of their leaves' scores, which is
    what it does for the files of the single-tree models put together in one folder
    (``tests/test_omikuji_mem.py`` checks it against omikuji's own scoring).  Reading the data file once
    per tree costs a few seconds (measured in ``docs/scaling.md``)."""
    n_trees = int(hp.n_trees)
    target.mkdir()
    settings = None
    for t in range(n_trees):
        hp.n_trees = 1
        with _native_output(target.parent / "omikuji.log") as log:
            try:
                model = omikuji.Model.train_on_data(str(data), hp, n_threads=n_threads)
            except RuntimeError as exc:
                raise RuntimeError(f"omikuji training failed: {exc}{log.tail()}") from None
        one = target.parent / f"tree-{t}"
        one.mkdir()
        with _native_output(None) as log:
            try:
                model.save(str(one))
            except RuntimeError as exc:
                raise RuntimeError(f"omikuji could not save its model: {exc}{log.tail()}") from None
        del model
        release_free_memory()  # this tree's training memory, before the next tree's
        trees = sorted(one.glob("tree*.cbor"))
        if len(trees) != 1 or not (one / "settings.json").is_file():
            raise RuntimeError(f"omikuji saved {[p.name for p in one.iterdir()]}, not one tree and its settings")
        if settings is None:
            settings = (one / "settings.json").read_bytes()
            (target / "settings.json").write_bytes(settings)
        elif (one / "settings.json").read_bytes() != settings:
            raise RuntimeError("omikuji saved different settings for trees of the same model")
        trees[0].replace(target / f"tree{t}.cbor")
        shutil.rmtree(one)
    hp.n_trees = n_trees


def _load_model(folder: Path, dense_weights: float = 1.0):
    """The omikuji model saved in ``folder``, its classifiers denser than ``dense_weights`` made dense."""
    omikuji = _omikuji()
    with _native_output(None) as log:
        try:
            model = omikuji.Model.load(str(folder))
        except RuntimeError as exc:
            raise ValueError(f"omikuji could not load its model: {exc}{log.tail()}") from None
        if dense_weights < 1.0:
            _densify(model, dense_weights)
    return model


def _densify(model, dense_weights: float) -> None:
    """omikuji's ``densify_weights``, run on a one-thread pool made for it and freed after.

    ``Model.densify_weights`` would start omikuji's prediction pool, or
    rayon's global one, whose threads a forked ``fahras index`` worker would
    not have; this way no thread outlives the call.  The dot products are
    the same sums in the same order, so the scores are the same bit for bit.
    """
    try:
        from omikuji._libomikuji import lib

        densify, make_pool, free_pool = (lib.densify_omikuji_model, lib.init_omikuji_thread_pool,
                                         lib.free_omikuji_thread_pool)
    except (ImportError, AttributeError):
        return  # an omikuji without these pieces: the weights stay sparse
    pool = make_pool(1)
    try:
        densify(model._model_ptr, dense_weights, pool)
    finally:
        free_pool(pool)


def _read_files(folder: Path) -> dict[str, bytes]:
    """The files of a saved omikuji model (a flat folder), by name."""
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
    if "settings.json" not in files:
        raise OSError(f"{folder}: omikuji model not found")
    return files


class _MappedFiles(Mapping):
    """The files of a saved omikuji model (a flat folder), by name: each one memory-mapped when it is looked
    up, and unmapped once the caller lets go of it (a map kept for every tree would keep each page read
    resident until the last: about 0.5 GB at 671,068 yso titles)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.names = [p.name for p in sorted(folder.iterdir()) if p.is_file()]
        if "settings.json" not in self.names:
            raise OSError(f"{folder}: omikuji model not found")

    def __getitem__(self, name: str):
        if name not in self.names:
            raise KeyError(name)
        return map_file(self.folder / name)

    def __iter__(self):
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


def _mapped_files(folder: Path) -> "_MappedFiles":
    return _MappedFiles(folder)


def _centroids(x: sp.csr_matrix, y: sp.csr_matrix) -> sp.csr_matrix:
    """Subjects x features: the mean TF-IDF vector of each subject's training documents."""
    y = sp.csr_matrix(y, dtype=np.float32)
    counts = np.asarray(y.sum(axis=0)).ravel()
    sums = sp.csr_matrix(y.T @ x, dtype=np.float32)
    inverse = sp.diags(1.0 / np.maximum(counts, 1.0)).astype(np.float32)
    centroids = sp.csr_matrix(inverse @ sums, dtype=np.float32)
    centroids.eliminate_zeros()
    centroids.sort_indices()
    return centroids


def _write_xc_file(path: Path, x: sp.csr_matrix, y: sp.csr_matrix) -> None:
    """Write documents in the Extreme Classification Repository format omikuji reads.

    A header ``documents features labels``, then per document
    ``label,label,... feature:value feature:value ...`` (0-based indices).
    """
    x = sp.csr_matrix(x)
    x.sort_indices()
    y = sp.csr_matrix(y)
    y.sort_indices()
    with open(path, "w", encoding="ascii") as out:
        out.write(f"{x.shape[0]} {x.shape[1]} {y.shape[1]}\n")
        for i in range(x.shape[0]):
            labels = ",".join(map(str, y.indices[y.indptr[i]:y.indptr[i + 1]].tolist()))
            start, end = x.indptr[i], x.indptr[i + 1]
            cols, values = x.indices[start:end].tolist(), x.data[start:end].tolist()
            features = " ".join(f"{c}:{v:.9g}" for c, v in zip(cols, values))  # exact for float32
            out.write(f"{labels} {features}\n" if features else f"{labels}\n")


class _NativeLog:
    def __init__(self, path: Path | None):
        self.path = path

    def tail(self, lines: int = 5) -> str:
        if self.path is None or not self.path.is_file():
            return ""
        text = self.path.read_text(encoding="utf-8", errors="replace").replace("\r", "\n")
        kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
        return ("; omikuji said: " + " | ".join(kept)) if kept else ""


#: File descriptors 1 and 2 are process-wide: one redirection at a time (the
#: service loads and learns models in threads; overlapping redirections would
#: restore each other's sink and leave the process's output in /dev/null).
_REDIRECTION = threading.RLock()


@contextlib.contextmanager
def _native_output(path: Path | None) -> Iterator[_NativeLog]:
    """Send the native library's log lines and progress bars to ``path`` (or nowhere).

    Omikuji logs to the process's standard output, which would corrupt
    output such as the command line's JSON.  File descriptors 1 and 2 are
    process-wide, so output of other threads is redirected meanwhile too;
    redirections of different threads wait for each other.  (Scoring never
    redirects: omikuji predicts without logging.)
    """
    with _REDIRECTION, _redirected(path) as log:
        yield log


@contextlib.contextmanager
def _redirected(path: Path | None) -> Iterator[_NativeLog]:
    log = _NativeLog(path)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        saved = (os.dup(1), os.dup(2))
    except OSError:  # no standard streams to protect
        saved = None
    if saved is None:
        yield log
        return
    sink = open(path if path is not None else os.devnull, "wb")
    try:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        yield log
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        sink.close()
