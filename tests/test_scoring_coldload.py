"""Cold loading: verified model files are not hashed again while unchanged; any change is still found."""

from __future__ import annotations

import os
import time

import pytest

from fahras.errors import ModelError
from fahras.store import modeldir


@pytest.fixture()
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("FAHRAS_CACHE_DIR", str(tmp_path / "cache"))
    model = tmp_path / "model"
    model.mkdir()
    (model / "big.bin").write_bytes(os.urandom(modeldir.VERIFIED_MIN_BYTES + 10))
    (model / "small.json").write_text("{}", encoding="utf-8")
    modeldir.write_checksums(model)
    return model


def _count_hashes(monkeypatch):
    hashed = []
    real = modeldir._file_digest

    def digest(path):
        hashed.append(os.path.basename(path))
        return real(path)
    monkeypatch.setattr(modeldir, "_file_digest", digest)
    return hashed


def test_an_unchanged_large_file_is_hashed_once(folder, monkeypatch):
    hashed = _count_hashes(monkeypatch)
    assert modeldir.verify_checksums(folder)
    assert sorted(hashed) == ["big.bin", "small.json"]
    hashed.clear()
    assert modeldir.verify_checksums(folder)
    assert hashed == ["small.json"]  # small files are always hashed; the large one is remembered


@pytest.mark.parametrize("change", ["same-size-edit", "replaced"])
def test_a_changed_file_is_hashed_again_and_refused(folder, monkeypatch, change):
    assert modeldir.verify_checksums(folder)
    hashed = _count_hashes(monkeypatch)
    time.sleep(0.05)  # a later change time, even on coarse file-system clocks
    big = folder / "big.bin"
    data = bytearray(big.read_bytes())
    data[100] ^= 0xFF
    if change == "same-size-edit":
        stat = big.stat()
        with open(big, "r+b") as handle:
            handle.write(bytes(data))
        os.utime(big, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even with the modification time set back
    else:
        other = folder / "other.tmp"
        other.write_bytes(bytes(data))
        os.replace(other, big)
    with pytest.raises(ModelError, match="checksum mismatch"):
        modeldir.verify_checksums(folder)
    assert "big.bin" in hashed


def test_an_unwritable_cache_only_costs_the_hashing(folder, monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("FAHRAS_CACHE_DIR", str(blocker / "cache"))
    hashed = _count_hashes(monkeypatch)
    assert modeldir.verify_checksums(folder)
    assert modeldir.verify_checksums(folder)
    assert hashed.count("big.bin") == 2
