"""Model folders follow the umask (not tempfile's 0700), so colleagues and services can read them."""

from __future__ import annotations

import os
import stat
import sys

import pytest

from synthetic import corpus_documents

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")


@pytest.fixture()
def umask():
    def set_mask(mask: int) -> None:
        os.umask(mask)

    old = os.umask(0o022)
    os.umask(old)
    yield set_mask
    os.umask(old)


def _modes(folder):
    paths = [folder, *folder.rglob("*")]
    return {p.relative_to(folder).as_posix() or ".": stat.S_IMODE(p.stat().st_mode) for p in paths}


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077])
def test_saved_model_follows_the_umask(tmp_path, umask, mask):
    from fahras import Indexer

    documents, vocab = corpus_documents()
    indexer = Indexer(cv_folds=0).fit(documents, vocab)
    umask(mask)
    model = indexer.save(tmp_path / "models" / "m")
    modes = _modes(model)
    assert any(name.startswith("backend/") for name in modes)  # the backend's own files are checked too
    for name, mode in modes.items():
        is_dir = (model / name).is_dir()
        expected = (0o777 if is_dir else 0o666) & ~mask
        assert mode == expected, f"{name}: {oct(mode)} != {oct(expected)}"
    # replacing the model keeps it readable and leaves no temporary folders
    indexer.save(model)
    assert _modes(model)["."] == 0o777 & ~mask
    assert sorted(p.name for p in model.parent.iterdir()) == ["m"]
