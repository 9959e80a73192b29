"""Shared fixtures.  Real data is read from ../shared/data (read-only)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
UNBIS_JSON = SHARED / "unbis" / "all_topics.json"
RESOLUTIONS = SHARED / "unsc-resolutions" / "train"
ARABIC_EXAMPLE = SHARED / "examples" / "000_5a894c35c2768328.txt"


def year_of(path: Path) -> int:
    return int(re.search(r"_(\d{4})_\.txt$", path.name).group(1))


def requires_shared() -> None:
    if not UNBIS_JSON.is_file() or not RESOLUTIONS.is_dir():
        pytest.skip("shared data not found at ../shared/data")


@pytest.fixture(scope="session")
def unbis():
    requires_shared()
    from fahras import load_vocabulary

    return load_vocabulary(UNBIS_JSON)


@pytest.fixture(scope="session")
def time_split(tmp_path_factory) -> tuple[Path, Path]:
    """Train = 2005-2011 resolutions, test = 2012-2013, as folders of copies."""
    requires_shared()
    base = tmp_path_factory.mktemp("split")
    train, test = base / "train", base / "test"
    train.mkdir()
    test.mkdir()
    for path in sorted(RESOLUTIONS.glob("*.txt")):
        shutil.copy(path, (train if year_of(path) <= 2011 else test) / path.name)
    return train, test


@pytest.fixture(scope="session")
def trained_model(time_split, unbis, tmp_path_factory) -> Path:
    """A model trained once per test session on the 2005-2011 resolutions."""
    from fahras import Indexer, read_corpus

    out = tmp_path_factory.mktemp("models") / "unsc"
    Indexer(cv_folds=3).fit(read_corpus(time_split[0]), unbis).save(out)
    return out
