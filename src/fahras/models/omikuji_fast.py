"""omikuji's beam search over its trees, compiled with numba over flat arrays that are memory-mapped from the model.

omikuji (0.5) scores a document by walking each tree from the root, keeping
the ``beam_size`` best nodes of every level, and at the leaves scoring their
labels; a node's classifiers are a sparse subjects x features matrix that it
stores feature by feature (the non-empty features in order, each with its
classifiers' rows and weights).  omikuji finds the document's features in that
list by walking both lists together, so a node with 400,000 features (the root
of a tree on 671,000 yso titles) costs 400,000 steps for a ten-word title:
about 0.4 ms a title, most of a Fahras batch's time.

:class:`FlatForest` holds the same weights in a few flat arrays (every node of
every tree in one set of arrays) and :func:`_predict_range` does the same beam
search, finding each of the document's features in a node's list by binary
search.  The arithmetic is omikuji's, operation for operation, in float32: the
document vector L2-normalised with a bias feature of 1 appended, each
classifier's score summed over the document's features in feature order, the
loss's transform (squared hinge: ``-max(0, 1 - s)^2``; log: ``-log(1 + exp(-s))``)
added to the parent's log-score, the beam sorted by score and cut, leaves'
label scores ``exp(score)`` averaged over the trees, the ``top_k`` best kept.
Two orders omikuji leaves undefined are fixed here: candidates of equal score
at the beam's cut keep the earlier one (omikuji's sort is unstable), and the
trees are summed in file-name order (omikuji: in directory-listing order), so
a sum over trees can differ from omikuji's in the last bit
(``tests/test_scoring_omikuji.py`` compares the two on trained models).

The arrays are written in place of omikuji's own files (``flat/``, plain ``.npy``)
and memory-mapped when a model loads: nothing is parsed at load time (omikuji
read 518 MB of CBOR trees for 6 s at 671,000 titles), the operating system
shares the pages between the processes of ``fahras index --jobs``, and only
the pages the documents reach are ever read.  The kernel releases the GIL.
Models saved before ``flat/`` existed keep omikuji's own prediction.

Conversion reads omikuji's CBOR files one tree at a time with a compiled
reader (:mod:`fahras.models._cbor_kernel`: 0.3 s and under 100 MB for a 57 MB
tree, where ``cbor2``'s Python objects took 1.3 s and about 10 times the
memory); it runs when a fitted model first scores or is saved, and when a
model saved without the arrays is saved again.  A cross-fitting worker's
omikuji writes the arrays straight into the model folder with
:meth:`FlatForest.convert`, one tree's weights in memory at a time (#19).
"""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Mapping

import numpy as np
import scipy.sparse as sp

FLAT_FOLDER = "flat"
FORMAT = 1
_ARRAYS = ("roots", "is_leaf", "out_start", "n_out", "feat_ptr", "feat_ids", "entry_ptr", "entry_row",
           "entry_val", "labels", "bucket_at", "buckets")
#: Batches of fewer documents are scored by NumPy (the same numbers), without loading the compiled kernel.
COMPILED_MIN_DOCS = 4
#: Nodes with at least this many features get a bucket table (see ``_omikuji_kernel._node_scores``).
BUCKET_MIN_FEATURES = 1024


class FlatForest:
    """An omikuji forest as flat arrays (see the module's doc); :meth:`predict` scores CSR documents."""

    def __init__(self, arrays: Mapping[str, np.ndarray], n_features: int, loss: str, n_labels: int):
        self.arrays = {name: arrays[name] for name in _ARRAYS}
        self.n_features, self.loss, self.n_labels = int(n_features), str(loss), int(n_labels)
        if self.loss not in ("Hinge", "Log"):
            raise ValueError(f"unknown omikuji loss {loss!r}")
        a = self.arrays
        n_nodes = len(a["is_leaf"])
        if not (len(a["out_start"]) == len(a["n_out"]) == n_nodes and len(a["feat_ptr"]) == n_nodes + 1
                and len(a["entry_ptr"]) == len(a["feat_ids"]) + 1 and len(a["entry_row"]) == len(a["entry_val"])):
            raise ValueError("the flat omikuji arrays do not fit together")
        self.max_out = int(a["n_out"].max()) if n_nodes else 1
        self.folder: Path | None = None  # the folder its arrays are mapped from (None: in memory)

    # -- conversion ------------------------------------------------------------------
    @classmethod
    def from_omikuji_files(cls, files: Mapping[str, bytes]) -> "FlatForest":
        """The forest of omikuji's saved files (``settings.json``, ``tree*.cbor``, by name), in memory."""
        n_features, loss = _settings(files)
        builder = _Builder(n_features)
        _add_trees(builder, files)
        arrays = builder.arrays()
        arrays.update(_bucket_tables(arrays["feat_ptr"], arrays["feat_ids"], n_features + 1))
        n_labels = int(arrays["labels"].max()) + 1 if len(arrays["labels"]) else 0
        return cls(arrays, n_features, loss, n_labels)

    @classmethod
    def convert(cls, files: Mapping[str, bytes], folder: Path) -> "FlatForest":
        """The forest of omikuji's saved files written into ``folder`` (what :meth:`save` writes) as it is made,
        and loaded from there (memory-mapped).  The same arrays as :meth:`from_omikuji_files`; only one
        tree's weights are in memory at a time: each tree's are appended to files in ``folder`` once it is
        read, and the arrays are copied from those files into their ``.npy`` files in blocks (in memory,
        the parts and the arrays made of them were 1.1 GB at 671,068 yso titles, #19)."""
        n_features, loss = _settings(files)
        folder.mkdir(parents=True, exist_ok=True)
        builder = _Builder(n_features, spill=folder)
        try:
            _add_trees(builder, files)
            n_labels = builder.write(folder)
        finally:
            builder.discard()
        feat_ids = np.load(folder / "feat_ids.npy", mmap_mode="r", allow_pickle=False)
        feat_ptr = np.load(folder / "feat_ptr.npy", allow_pickle=False)
        for name, array in _bucket_tables(feat_ptr, feat_ids, n_features + 1).items():
            np.save(folder / f"{name}.npy", array, allow_pickle=False)
        del feat_ids, feat_ptr
        _write_meta(folder, n_features, loss, n_labels)
        return cls.load(folder)

    # -- files -----------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        if self.folder is not None and folder.exists() and folder.resolve() == self.folder.resolve():
            return  # its own files (memory-mapped: writing them again would cut the maps' pages away)
        folder.mkdir(parents=True, exist_ok=True)
        for name, array in self.arrays.items():
            np.save(folder / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
        _write_meta(folder, self.n_features, self.loss, self.n_labels)

    @classmethod
    def load(cls, folder: Path) -> "FlatForest":
        """The forest saved in ``folder``, its arrays memory-mapped (read only where documents reach)."""
        meta = json.loads((folder / "forest.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"{folder}: flat omikuji format {meta.get('format')} is not {FORMAT}")
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in _ARRAYS}
        forest = cls(arrays, meta["n_features"], meta["loss"], meta["n_labels"])
        forest.folder = folder
        return forest

    @staticmethod
    def exists(folder: Path) -> bool:
        return (folder / "forest.json").is_file()

    # -- scoring -----------------------------------------------------------------------
    def predict(self, x: sp.csr_matrix, beam_size: int, top_k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each row of ``x`` (documents x ``n_features``, sorted columns): its ``top_k`` labels and scores,
        best first, and how many it has (``labels[i, :count[i]]``)."""
        x = sp.csr_matrix(x, dtype=np.float32)
        if x.shape[1] != self.n_features:
            raise ValueError(f"{x.shape[1]} features, the forest has {self.n_features}")
        x.sort_indices()
        n = x.shape[0]
        labels = np.zeros((n, top_k), dtype=np.int64)
        scores = np.zeros((n, top_k), dtype=np.float32)
        counts = np.zeros(n, dtype=np.int64)
        if n == 0 or len(self.arrays["roots"]) == 0:
            return labels, scores, counts
        a = self.arrays
        if n < COMPILED_MIN_DOCS and self.loss == "Hinge":
            for i in range(n):
                found, values = self._predict_one(x.indices[x.indptr[i]:x.indptr[i + 1]],
                                                  x.data[x.indptr[i]:x.indptr[i + 1]], int(beam_size), int(top_k))
                counts[i] = len(found)
                labels[i, :len(found)] = found
                scores[i, :len(found)] = values
            return labels, scores, counts
        kernel = _kernel()
        kernel(0, n, x.indptr.astype(np.int64), x.indices.astype(np.int64), x.data, self.n_features,
               self.loss == "Log", int(beam_size), int(top_k), a["roots"], a["is_leaf"], a["out_start"], a["n_out"],
               a["feat_ptr"], a["feat_ids"], a["entry_ptr"], a["entry_row"], a["entry_val"], a["labels"],
               a["bucket_at"], a["buckets"], max(self.n_labels, 1), self.max_out, labels, scores, counts)
        return labels, scores, counts


    def _node_raw(self, node: int, f_idx: np.ndarray, f_val: np.ndarray) -> np.ndarray:
        """A node's classifiers' raw scores, summed in the document's feature order as the kernel sums them."""
        a = self.arrays
        lo, hi = int(a["feat_ptr"][node]), int(a["feat_ptr"][node + 1])
        ids = a["feat_ids"][lo:hi]
        at = np.searchsorted(ids, f_idx)
        at_c = np.minimum(at, max(hi - lo - 1, 0))
        hit = (at < hi - lo) & (ids[at_c] == f_idx) if hi > lo else np.zeros(len(f_idx), dtype=bool)
        acc = np.zeros(int(a["n_out"][node]), dtype=np.float32)
        positions = lo + at_c[hit]
        if not len(positions):
            return acc
        starts, ends = a["entry_ptr"][positions], a["entry_ptr"][positions + 1]
        lengths = ends - starts
        entries = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths) + \
            np.arange(int(lengths.sum()))
        products = a["entry_val"][entries] * np.repeat(f_val[hit], lengths)
        np.add.at(acc, a["entry_row"][entries].astype(np.int64), products)  # in order: the kernel's sums
        return acc

    def _predict_one(self, cols: np.ndarray, vals: np.ndarray, beam_size: int,
                     top_k: int) -> tuple[np.ndarray, np.ndarray]:
        """The kernel's beam search for one document in NumPy (squared-hinge models): the same numbers, for a
        few documents without loading the compiled kernel (0.7 s of a cold ``fahras suggest``)."""
        a = self.arrays
        vals = np.asarray(vals, dtype=np.float32)
        norm = np.sqrt(np.cumsum(vals * vals, dtype=np.float32)[-1]) if len(vals) else np.float32(0.0)
        f_idx = np.concatenate([np.asarray(cols, dtype=np.int64), [self.n_features]])
        f_val = np.concatenate([vals / np.float32(norm), [np.float32(1.0)]]).astype(np.float32)
        one = np.float32(1.0)
        totals: dict[int, np.float32] = {}
        for root in a["roots"]:
            beam_nodes, beam_scores = np.array([int(root)]), np.zeros(1, dtype=np.float32)
            while not a["is_leaf"][beam_nodes].all():
                nodes, scores = [], []
                for node, score in zip(beam_nodes.tolist(), beam_scores):
                    if a["is_leaf"][node]:
                        nodes.append(np.array([node]))
                        scores.append(np.array([score], dtype=np.float32))
                        continue
                    d = np.maximum(one - self._node_raw(node, f_idx, f_val), np.float32(0.0))
                    first = int(a["out_start"][node])
                    nodes.append(np.arange(first, first + int(a["n_out"][node])))
                    scores.append((-(d * d) + score).astype(np.float32))
                beam_nodes, beam_scores = np.concatenate(nodes), np.concatenate(scores)
                if len(beam_nodes) > beam_size:
                    keep = np.argsort(-beam_scores, kind="mergesort")[:beam_size]
                    beam_nodes, beam_scores = beam_nodes[keep], beam_scores[keep]
            for leaf, score in zip(beam_nodes.tolist(), beam_scores):
                d = np.maximum(one - self._node_raw(leaf, f_idx, f_val), np.float32(0.0))
                values = np.exp((-(d * d) + score).astype(np.float32).astype(np.float64)).astype(np.float32)
                keep = np.argsort(-values, kind="mergesort")[:beam_size] if len(values) > beam_size \
                    else np.arange(len(values))
                first = int(a["out_start"][leaf])
                for label, value in zip(a["labels"][first + keep].tolist(), values[keep]):
                    totals[label] = np.float32(totals.get(label, np.float32(0.0)) + value)
        found = np.fromiter(totals.keys(), dtype=np.int64, count=len(totals))
        means = np.fromiter(totals.values(), dtype=np.float32, count=len(totals)) / np.float32(len(a["roots"]))
        order = np.argsort(-means, kind="mergesort")[:top_k]
        return found[order], means[order].astype(np.float32)


def _settings(files: Mapping[str, bytes]) -> tuple[int, str]:
    settings = json.loads(bytes(files["settings.json"]).decode("utf-8"))
    return int(settings["n_features"]), str(settings["classifier_loss_type"])


def _add_trees(builder: "_Builder", files: Mapping[str, bytes]) -> None:
    """Each ``tree*.cbor`` of ``files`` into ``builder``, in file-name order, one decoded tree at a time."""
    from fahras.models._cbor_kernel import decode

    for name in sorted(n for n in files if n.startswith("tree") and n.endswith(".cbor")):
        tree = decode(files[name])
        try:
            builder.add_tree(tree)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"omikuji {name}: not a tree this Fahras reads ({exc!r})") from None
        del tree
        gc.collect()  # the decoded tree is only freed by the collector: 0.5 GB a tree at 671,068 yso titles (#19)
        builder.spill()


def _write_meta(folder: Path, n_features: int, loss: str, n_labels: int) -> None:
    (folder / "forest.json").write_text(json.dumps({"format": FORMAT, "n_features": int(n_features),
                                                    "loss": str(loss), "n_labels": int(n_labels)}),
                                        encoding="utf-8")


#: The parts :meth:`_Builder.spill` writes to files (name: dtype of the part files).
_SPILLED = {"feat_ids": np.uint32, "entry_counts": np.int64, "entry_row": np.uint32, "entry_val": np.float32,
            "labels": np.int64}
#: Elements copied at a time from a part file into its array's ``.npy`` file.
_BLOCK = 1 << 22


class _Builder:
    """Collects the nodes of omikuji trees (decoded CBOR) into the flat arrays, breadth first."""

    def __init__(self, n_features: int, spill: Path | None = None):
        self.n_features = n_features
        self.spill_to = spill  # with a folder: each tree's weights go to part files there (spill(), write())
        self.spilled = {name: 0 for name in _SPILLED}
        self.discard()  # (part files a killed conversion left are not appended to)
        self.roots: list[int] = []
        self.is_leaf: list[int] = []
        self.out_start: list[int] = []
        self.n_out: list[int] = []
        self.feat_counts: list[int] = []
        self.feat_ids: list[np.ndarray] = []
        self.entry_counts: list[np.ndarray] = []
        self.entry_row: list[np.ndarray] = []
        self.entry_val: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []
        self.n_labels_total = 0

    def add_tree(self, tree: dict) -> None:
        self.roots.append(len(self.is_leaf))
        level = [tree]
        while level:
            # the nodes of a level are numbered in order; the children of its branches follow the whole level
            next_start = len(self.is_leaf) + len(level)
            following: list = []
            for node in level:
                if not isinstance(node, dict) or len(node) != 1:
                    raise ValueError("omikuji tree: a node is not a one-key map")
                (kind, body), = node.items()
                n_out = self._add_weights(body["weights"])
                if kind == "Branch":
                    children = body["children"]
                    if len(children) != n_out:
                        raise ValueError("omikuji tree: a branch's weights and children differ in number")
                    self.is_leaf.append(0)
                    self.out_start.append(next_start + len(following))
                    following.extend(children)
                elif kind == "Leaf":
                    labels = np.array(body["labels"], dtype=np.int64)
                    if len(labels) != n_out:
                        raise ValueError("omikuji tree: a leaf's weights and labels differ in number")
                    self.is_leaf.append(1)
                    self.out_start.append(self.n_labels_total)
                    self.labels.append(labels)
                    self.n_labels_total += len(labels)
                else:
                    raise ValueError(f"omikuji tree: unknown node kind {kind!r}")
                self.n_out.append(n_out)
            level = following

    def _add_weights(self, weights: dict) -> int:
        (kind, w), = weights.items()
        if kind == "Sparse":
            n_rows = int(w["inner_dim"])
            if int(w["outer_dim"]) != self.n_features + 1:
                raise ValueError("omikuji tree: weights of another feature count")
            feats = self._keep(w["outer_inds"], np.uint32)
            indptr = np.asarray(w["indptr"], dtype=np.int64)
            rows = self._keep(w["inner_inds"], np.uint32)  # (classifier rows; kept narrow, #19)
            values = self._keep(w["data"], np.float32)
            if len(indptr) != len(feats) + 1 or indptr[-1] != len(rows) or len(rows) != len(values):
                raise ValueError("omikuji tree: a sparse weight matrix does not fit together")
        elif kind == "Dense":
            dim = [int(d) for d in w["dim"]]
            if len(dim) != 2 or self.n_features + 1 not in dim:
                raise ValueError("omikuji tree: weights of another feature count")
            dense = np.asarray(w["data"], dtype=np.float32).reshape(dim)
            if dim[0] == self.n_features + 1:  # omikuji 0.5 keeps dense weights as features x classifiers
                dense = dense.T
            n_rows = dense.shape[0]  # classifiers x features from here
            csc = sp.csc_matrix(dense)
            csc.sort_indices()
            nonempty = np.flatnonzero(np.diff(csc.indptr))
            feats = nonempty.astype(np.int64)
            counts = np.diff(csc.indptr)[nonempty]
            indptr = np.concatenate([[0], np.cumsum(counts)])
            rows = csc.indices.astype(np.uint32)
            values = csc.data.astype(np.float32)
        else:
            raise ValueError(f"omikuji tree: unknown weight kind {kind!r}")
        self.feat_counts.append(len(feats))
        self.feat_ids.append(feats.astype(np.uint32, copy=False))
        self.entry_counts.append(np.diff(indptr))
        self.entry_row.append(rows)
        self.entry_val.append(values)
        return n_rows

    def _keep(self, array, dtype) -> np.ndarray:
        """``array`` (decoded) as ``dtype``: a copy when the builder keeps its parts in memory (the decoded
        arrays are views of one buffer per tree, which a view kept would keep whole), as it is (if of that
        type) when it spills them after each tree."""
        if self.spill_to is None:
            return np.array(array, dtype=dtype)
        return np.asarray(array, dtype=dtype)

    def _part_file(self, name: str) -> Path:
        return self.spill_to / f"{name}.part"

    def spill(self) -> None:
        """With a spill folder: the weights collected so far appended to its part files, and let go."""
        if self.spill_to is None:
            return
        for name, dtype in _SPILLED.items():
            parts = getattr(self, name)
            setattr(self, name, [])
            with open(self._part_file(name), "ab") as out:
                for part in parts:
                    part = np.ascontiguousarray(part, dtype=dtype)
                    out.write(memoryview(part).cast("B"))
                    self.spilled[name] += len(part)
            del parts

    def discard(self) -> None:
        """The part files removed (after :meth:`write`, or when the conversion failed)."""
        if self.spill_to is not None:
            for name in _SPILLED:
                self._part_file(name).unlink(missing_ok=True)

    def write(self, folder: Path) -> int:
        """The arrays of a spilling builder as ``.npy`` files in ``folder`` (the buckets apart), copied from the
        part files a block at a time; returns the number of labels (the largest label + 1)."""
        self.spill()
        n_out = np.asarray(self.n_out, dtype=np.int64)
        row_type = np.uint16 if (n_out.max(initial=0) <= np.iinfo(np.uint16).max) else np.uint32
        small = {"roots": np.asarray(self.roots, dtype=np.int64), "is_leaf": np.asarray(self.is_leaf, dtype=np.uint8),
                 "out_start": np.asarray(self.out_start, dtype=np.int64), "n_out": n_out.astype(np.int32),
                 "feat_ptr": np.concatenate([[0], np.cumsum(self.feat_counts, dtype=np.int64)]).astype(np.int64)}
        for name, array in small.items():
            np.save(folder / f"{name}.npy", array, allow_pickle=False)
        self._copy("feat_ids", folder / "feat_ids.npy", np.uint32)
        self._copy("entry_row", folder / "entry_row.npy", row_type)
        self._copy("entry_val", folder / "entry_val.npy", np.float32)
        n_labels = self._copy("labels", folder / "labels.npy", np.int64, track_max=True)
        # entry_ptr: 0 and the running sum of the entry counts
        total = self.spilled["entry_counts"]
        with open(folder / "entry_ptr.npy", "wb") as out:
            np.lib.format.write_array_header_1_0(out, {"descr": np.lib.format.dtype_to_descr(np.dtype(np.int64)),
                                                       "fortran_order": False, "shape": (total + 1,)})
            out.write(np.zeros(1, np.int64).tobytes())
            offset = np.int64(0)
            for block in self._blocks("entry_counts"):
                sums = np.cumsum(block, dtype=np.int64) + offset
                out.write(sums.tobytes())
                offset = sums[-1]
        return n_labels

    def _blocks(self, name: str):
        dtype = np.dtype(_SPILLED[name])
        with open(self._part_file(name), "rb") as source:
            while True:
                block = np.fromfile(source, dtype=dtype, count=_BLOCK)
                if not len(block):
                    return
                yield block

    def _copy(self, name: str, path: Path, dtype, track_max: bool = False) -> int:
        """Part file ``name`` as the ``.npy`` file ``path`` of ``dtype``; with ``track_max``, returns its largest
        element + 1 (0 if empty)."""
        dtype = np.dtype(dtype)
        top = 0
        with open(path, "wb") as out:
            np.lib.format.write_array_header_1_0(out, {"descr": np.lib.format.dtype_to_descr(dtype),
                                                       "fortran_order": False, "shape": (self.spilled[name],)})
            for block in self._blocks(name):
                if track_max:
                    top = max(top, int(block.max()) + 1)
                out.write(block.astype(dtype, copy=False).tobytes())
        return top

    def arrays(self) -> dict[str, np.ndarray]:
        """The flat arrays; the builder's parts are given up as each array is made (the parts and the
        arrays side by side were 3.2 GB at 671,068 yso titles, more than omikuji's training, #19)."""
        def cat(name, dtype):
            parts = getattr(self, name)
            setattr(self, name, [])
            out = np.concatenate(parts) if parts else np.zeros(0, dtype)
            del parts
            return out if out.dtype == dtype else out.astype(dtype)

        n_out = np.asarray(self.n_out, dtype=np.int64)
        row_type = np.uint16 if (n_out.max(initial=0) <= np.iinfo(np.uint16).max) else np.uint32
        entry_counts = cat("entry_counts", np.int64)
        entry_ptr = np.concatenate([[0], np.cumsum(entry_counts, dtype=np.int64)]).astype(np.int64)
        del entry_counts
        return {
            "roots": np.asarray(self.roots, dtype=np.int64),
            "is_leaf": np.asarray(self.is_leaf, dtype=np.uint8),
            "out_start": np.asarray(self.out_start, dtype=np.int64),
            "n_out": n_out.astype(np.int32),
            "feat_ptr": np.concatenate([[0], np.cumsum(self.feat_counts, dtype=np.int64)]).astype(np.int64),
            "feat_ids": cat("feat_ids", np.uint32),
            "entry_ptr": entry_ptr,
            "entry_row": cat("entry_row", row_type),
            "entry_val": cat("entry_val", np.float32),
            "labels": cat("labels", np.int64),
        }


def _bucket_tables(feat_ptr: np.ndarray, feat_ids: np.ndarray, n_ids: int) -> dict[str, np.ndarray]:
    """For each node with at least BUCKET_MIN_FEATURES features: the position in ``feat_ids`` of its first
    feature id ``>= b << BUCKET_BITS`` for every bucket ``b`` (and its end), all tables in one array."""
    from fahras.models._omikuji_kernel import BUCKET_BITS

    n_buckets = (n_ids >> BUCKET_BITS) + 1
    counts = np.diff(feat_ptr)
    big = np.flatnonzero(counts >= BUCKET_MIN_FEATURES)
    bucket_at = np.full(len(counts), -1, dtype=np.int64)
    tables = []
    edges = np.arange(n_buckets + 1, dtype=np.int64) << BUCKET_BITS
    for k, node in enumerate(big):
        lo, hi = int(feat_ptr[node]), int(feat_ptr[node + 1])
        bucket_at[node] = k * (n_buckets + 1)
        tables.append(lo + np.searchsorted(feat_ids[lo:hi].astype(np.int64), edges))
    buckets = np.concatenate(tables).astype(np.int64) if tables else np.zeros(1, np.int64)
    return {"bucket_at": bucket_at, "buckets": buckets}


def _kernel():
    """The compiled beam search (compiled on first use, then cached on disk by numba; Python keeps the
    imported module, so nothing here is state of Fahras's own)."""
    from fahras.models._omikuji_kernel import predict_range

    return predict_range


def numba_available() -> bool:
    """Whether numba is installed (found, not imported: importing it takes 0.2 s)."""
    import importlib.util

    return importlib.util.find_spec("numba") is not None


__all__ = ["FLAT_FOLDER", "FlatForest", "numba_available"]
