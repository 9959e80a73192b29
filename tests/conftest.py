"""Shared fixtures.  Real data is read from ../shared/data (read-only).

Without that folder the tests that need it are skipped, each listed with its
reason (pytest runs with ``-rs``).  In CI (``CI`` set to ``true`` or ``1``, as
``.ci/run`` and most CI services do) a missing shared folder is a failure
instead: there, every test must run.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

# No per-example time limit: a loaded machine (CI, or two cores shared by several runs) would
# fail property tests on time alone.  Speed belongs in the benchmarks.
settings.register_profile("fahras", deadline=None)
settings.load_profile("fahras")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
UNBIS_JSON = SHARED / "unbis" / "all_topics.json"
RESOLUTIONS = SHARED / "unsc-resolutions" / "train"
ARABIC_EXAMPLE = SHARED / "examples" / "000_5a894c35c2768328.txt"


def year_of(path: Path) -> int:
    return int(re.search(r"_(\d{4})_\.txt$", path.name).group(1))


#: Set in CI: what a developer's machine may lack (the shared data) must be there.
IN_CI = os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")
SHARED_MISSING = "shared data not found at ../shared/data"


def requires_shared() -> None:
    if not UNBIS_JSON.is_file() or not RESOLUTIONS.is_dir():
        if IN_CI:
            pytest.fail(f"{SHARED_MISSING} (CI is set: the shared data is required)", pytrace=False)
        pytest.skip(SHARED_MISSING)


def pytest_configure(config):
    """The user's cache folder stays out of the tests: one fresh ``FAHRAS_CACHE_DIR`` per run.

    Loading a model records its files' checksums in the cache folder
    (``store.modeldir``); without this, the tests would write into ``~/.cache/fahras`` and
    one run's verified files could let a later run skip a check it should make.
    Subprocesses (the CLI tests) inherit it.  Tests that need their own set their own.
    """
    import tempfile

    config._fahras_cache = tempfile.mkdtemp(prefix="fahras-test-cache-")
    config._fahras_cache_before = os.environ.get("FAHRAS_CACHE_DIR")
    os.environ["FAHRAS_CACHE_DIR"] = config._fahras_cache


def pytest_unconfigure(config):
    folder = getattr(config, "_fahras_cache", None)
    if folder is None:
        return
    if config._fahras_cache_before is None:
        os.environ.pop("FAHRAS_CACHE_DIR", None)
    else:
        os.environ["FAHRAS_CACHE_DIR"] = config._fahras_cache_before
    shutil.rmtree(folder, ignore_errors=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI, a test skipped for want of the shared data fails (skipif markers of other files included)."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and "shared data" in str(report.longrepr):
        report.outcome = "failed"
        report.longrepr = f"{item.nodeid}: skipped in CI for want of the shared data: {report.longrepr}"


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


def first_test_documents(time_split: tuple[Path, Path], folder: Path, n: int) -> Path:
    """``folder`` (made here) holding copies of the first ``n`` documents of the time split's test years."""
    folder.mkdir()
    for path in sorted(time_split[1].iterdir())[:n]:
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="session")
def trained_model(time_split, unbis, tmp_path_factory) -> Path:
    """A model trained once per test session on the 2005-2011 resolutions."""
    from fahras import Indexer, read_corpus

    out = tmp_path_factory.mktemp("models") / "unsc"
    Indexer(cv_folds=3).fit(read_corpus(time_split[0]), unbis).save(out)
    return out
