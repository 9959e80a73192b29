"""The compiled CBOR reader of omikuji's trees (fahras.models._cbor_kernel) against hand-made encodings."""

from __future__ import annotations

import struct

import numpy as np
import pytest

pytest.importorskip("numba")

from fahras.models._cbor_kernel import decode  # noqa: E402


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def test_what_serde_writes_is_read():
    # {"Leaf": {"weights": {"Sparse": {"outer_dim": 300, "data": [1.5 (half), 0.1 (single), 2.5 (double)],
    #  "inner_inds": [0, 23, 24, 255, 256, 65536, 4294967296]}}, "labels": [], "neg": -7, "t": true, "n": null}}
    body = (b"\xa1\x64Leaf\xa5"
            b"\x67weights\xa1\x66Sparse\xa3"
            b"\x69outer_dim\x19\x01\x2c"
            b"\x64data\x83\xf9\x3e\x00\xfa" + struct.pack(">f", 0.1) + b"\xfb" + struct.pack(">d", 2.5) +
            b"\x6ainner_inds\x87\x00\x17\x18\x18\x18\xff\x19\x01\x00\x1a\x00\x01\x00\x00\x1b" +
            struct.pack(">Q", 1 << 32) +
            b"\x66labels\x80"
            b"\x63neg\x26"
            b"\x61t\xf5"
            b"\x61n\xf6")
    got = decode(body)
    data = got["Leaf"]["weights"]["Sparse"]["data"]
    assert data.dtype == np.float32 and data.tolist() == [1.5, np.float32(0.1), 2.5]
    assert got["Leaf"]["weights"]["Sparse"]["inner_inds"].tolist() == [0, 23, 24, 255, 256, 65536, 1 << 32]
    assert _plain(got) == {"Leaf": {"weights": {"Sparse": {"outer_dim": 300, "data": data.tolist(),
                                                           "inner_inds": [0, 23, 24, 255, 256, 65536, 1 << 32]}},
                                    "labels": [], "neg": -7, "t": True, "n": None}}


def test_nested_arrays_of_maps_keep_their_order():
    # [{"a": [1, 2]}, {"b": [{"c": 3}]}]
    body = b"\x82\xa1\x61a\x82\x01\x02\xa1\x61b\x81\xa1\x61c\x03"
    assert _plain(decode(body)) == [{"a": [1, 2]}, {"b": [{"c": 3}]}]


@pytest.mark.parametrize("body", [
    b"\x9f\x01\x02\xff",  # indefinite-length array: serde never writes one
    b"\x42ab",  # a byte string
    b"\x82\x01",  # one item short
    b"\x82\x01\x02\x03",  # trailing data
])
def test_what_serde_does_not_write_is_refused(body):
    with pytest.raises(ValueError):
        decode(body)


def test_a_real_tree_reads_as_cbor2_reads_it():
    cbor2 = pytest.importorskip("cbor2")
    from fahras.models import FitContext, create_backend
    from fahras.models.omikuji_tree import PRESETS

    from synthetic import ANALYZER, analysed_corpus

    docs, y = analysed_corpus(seed=2)
    backend = create_backend("omikuji", {**PRESETS["bonsai"], "n_threads": 1, "min_branch_size": 2,
                                         "cluster_k": 2}).fit(docs, y, context=FitContext(ANALYZER))
    raw = backend.model_files_["tree0.cbor"]
    want = cbor2.loads(raw)
    got = _plain(decode(raw))
    assert got.keys() == want.keys()

    def same(a, b):
        if isinstance(b, list) and b and isinstance(b[0], float):
            np.testing.assert_array_equal(np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32))
        elif isinstance(b, dict):
            assert list(a) == list(b)
            for k in b:
                same(a[k], b[k])
        elif isinstance(b, list):
            assert len(a) == len(b)
            for u, v in zip(a, b):
                same(u, v)
        else:
            assert a == b
    same(got, want)
