"""Tampered model files, no pickle, --out checked before training, and a save killed at random moments.

Issue 21 ("Tampered and foreign files", "Killed runs"): every model folder
carries ``checksums.json`` and loading verifies it; nothing in a model is a
pickle; ``fahras train --out X`` refuses a bad X before the work; a retraining
killed with SIGKILL leaves the complete old or the complete new model.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from clirun import run
from conftest import RESOLUTIONS, ROOT, UNBIS_JSON, requires_shared, year_of
from fahras.errors import ModelError

PROBE = "The Security Council condemns the attacks on civilians in Darfur and calls for a ceasefire in Sudan."


def _subset(folder: Path, years: range, limit: int) -> Path:
    folder.mkdir(parents=True)
    for path in sorted(RESOLUTIONS.glob("*.txt")):
        if year_of(path) in years and len(list(folder.iterdir())) < limit:
            shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> dict:
    """Two small corpora (old and new training data) and a fast model trained on the first."""
    requires_shared()
    from fahras import Indexer, load_vocabulary, read_corpus

    base = tmp_path_factory.mktemp("tamper")
    old_docs = _subset(base / "old", range(2005, 2008), 30)
    new_docs = _subset(base / "new", range(2009, 2012), 40)
    vocab = load_vocabulary(UNBIS_JSON)
    model = base / "model"
    Indexer(backend="tfidf-linear", cv_folds=0).fit(read_corpus(old_docs), vocab).save(model)
    return {"base": base, "old_docs": old_docs, "new_docs": new_docs, "model": model}


@pytest.fixture
def model(small, tmp_path) -> Path:
    copy = tmp_path / "m"
    shutil.copytree(small["model"], copy)
    return copy


def _uris(path: Path) -> list[str]:
    from fahras import Indexer

    return [s.uri for s in Indexer.load(path).suggest(PROBE, lang="en", limit=10)]


def _backend_file(model: Path, name: str) -> Path:
    found = sorted(model.glob(f"backend/**/{name}"))
    assert found, f"no {name} in {model}/backend"
    return found[0]


def _refused(capsys, model: Path, name: str) -> None:
    """Both the library and the CLI refuse ``model``, naming ``name``, in one line with exit 66."""
    from fahras import Indexer

    with pytest.raises(ModelError, match=re.escape(name)):
        Indexer.load(model)
    result = run(capsys, "suggest", model, "-", "--lang", "en")
    assert result.code == 66, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and "Traceback" not in result.err, result.err


# -- checksums --------------------------------------------------------------------------------------


def test_a_saved_model_lists_every_file_with_its_checksum(model):
    data = json.loads((model / "checksums.json").read_text())
    files = {str(p.relative_to(model)) for p in model.rglob("*") if p.is_file()} - {"checksums.json"}
    assert set(data["files"]) == files
    assert any(name.endswith("coef.npz") for name in files)
    for name, entry in data["files"].items():
        assert entry["size"] == (model / name).stat().st_size
        assert re.fullmatch(r"[0-9a-f]{64}", entry["sha256"])
    assert _uris(model)


def test_an_edited_coef_npz_is_refused_naming_it(model, capsys):
    coef = _backend_file(model, "coef.npz")  # tfidf-linear's sparse weights (uncompressed npz)
    with np.load(coef, allow_pickle=False) as npz:
        arrays = dict(npz)
    arrays["data"] = arrays["data"].copy()
    arrays["data"][0] += 1.0  # same size, one number changed: loaded silently before checksums
    np.savez(coef, **arrays)
    _refused(capsys, model, "coef.npz")


def test_subjects_json_with_ten_entries_dropped_is_refused(model, capsys):
    path = model / "subjects.json"
    subjects = json.loads(path.read_text())
    path.write_text(json.dumps(subjects[10:]))  # the wrong descriptor names with exit 0 before
    _refused(capsys, model, "subjects.json")


def test_swapped_files_are_refused(model, capsys):
    a, b = _backend_file(model, "active.npy"), _backend_file(model, "intercept.npy")
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)
    _refused(capsys, model, "active.npy")


def test_truncated_missing_and_extra_files_are_refused(model, small, tmp_path, capsys):
    coef = _backend_file(model, "coef.npz")
    coef.write_bytes(coef.read_bytes()[:100])
    _refused(capsys, model, "coef.npz")

    shutil.rmtree(model)
    shutil.copytree(small["model"], model)
    _backend_file(model, "intercept.npy").unlink()
    _refused(capsys, model, "intercept.npy")

    shutil.rmtree(model)
    shutil.copytree(small["model"], model)
    (model / "backend" / "extra.bin").write_bytes(b"\x80\x04 not ours")
    _refused(capsys, model, "extra.bin")


def test_a_model_without_checksums_still_loads_with_a_warning(model, caplog):
    expected = _uris(model)
    (model / "checksums.json").unlink()
    with caplog.at_level(logging.WARNING):
        assert _uris(model) == expected
    assert any("unverified" in r.getMessage() and str(model) in r.getMessage() for r in caplog.records)


def test_learning_models_carry_checksums_over_their_memory_too(model, tmp_path):
    from fahras.learning import Learner

    out = tmp_path / "learned"
    Learner.load(model).save(out)
    listed = set(json.loads((out / "checksums.json").read_text())["files"])
    assert any(name.startswith("learning/") for name in listed)
    assert listed == {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()} - {"checksums.json"}
    Learner.load(out)  # verifies


# -- no pickle --------------------------------------------------------------------------------------


def test_the_default_ensemble_model_holds_no_pickle(trained_model):
    files = [p for p in trained_model.rglob("*") if p.is_file()]
    assert len(files) > 5 and any(p.suffix == ".npy" for p in files)
    for path in files:
        assert path.suffix.lower() not in (".pkl", ".pickle", ".joblib"), path
        with open(path, "rb") as handle:
            assert handle.read(1) != b"\x80", f"{path} starts like a pickle"
    # .npy arrays must not hold objects (those are pickled inside the file)
    for path in trained_model.rglob("*.npy"):
        np.load(path, allow_pickle=False)
    for path in trained_model.rglob("*.npz"):
        with np.load(path, allow_pickle=False) as data:
            for key in data.files:
                data[key]


def test_np_load_is_always_called_without_pickle():
    calls = 0
    for path in sorted((ROOT / "src").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"\bnp\.load\(", text):
            calls += 1
            depth, end = 0, match.end() - 1
            for end in range(match.end() - 1, len(text)):
                depth += {"(": 1, ")": -1}.get(text[end], 0)
                if depth == 0:
                    break
            call = text[match.start():end + 1]
            assert "allow_pickle=False" in call, f"{path}: {call}"
        assert "allow_pickle=True" not in text, path
    assert calls >= 5


# -- --out checked first ------------------------------------------------------------------------------


def test_train_refuses_a_bad_out_before_reading_anything(tmp_path, capsys):
    # The corpus and the vocabulary do not exist: an error about --out proves it came first.
    missing = tmp_path / "no-such-corpus"
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(b"x")
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me")
    for out in (folder, a_file):
        result = run(capsys, "train", "--vocab", tmp_path / "no-such-vocab.json", "--out", out, missing)
        lines = result.err.strip().splitlines()
        assert result.code == 64 and len(lines) == 1 and "--out" in lines[0] and str(out) in lines[0], result.err
    assert (folder / "holiday.jpg").exists() and a_file.read_text() == "keep me"
    under_file = a_file / "model"
    result = run(capsys, "train", "--vocab", tmp_path / "no-such-vocab.json", "--out", under_file, missing)
    assert result.code == 74 and len(result.err.strip().splitlines()) == 1 and str(a_file) in result.err
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        result = run(capsys, "train", "--vocab", tmp_path / "no-such-vocab.json", "--out", locked / "m", missing)
        assert result.code == 74 and str(locked) in result.err


# -- the swap -------------------------------------------------------------------------------------------


def test_stale_leftovers_of_dead_processes_go_and_live_ones_stay(tmp_path):
    from fahras.store import atomic_directory

    target = tmp_path / "m"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = os.getppid()
    stale = [tmp_path / f".m.tmp-{dead.pid}-0123abcd", tmp_path / f".m.old-{dead.pid}-89abcdef"]
    kept = [tmp_path / f".m.tmp-{live}-00000000", tmp_path / ".other.tmp-1-00000000"]
    for folder in stale + kept:
        (folder / "x").mkdir(parents=True)
    with atomic_directory(target) as tmp:
        (tmp / "manifest.json").write_text("{}")
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in kept)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["m"] + [p.name for p in kept])


def test_the_swap_exchanges_in_place(tmp_path, monkeypatch):
    """With renameat2 the old folder is exchanged, never renamed away (the target always exists)."""
    from fahras.store import atomic_directory, modeldir

    target = tmp_path / "m"
    with atomic_directory(target) as tmp:
        (tmp / "manifest.json").write_text('"old"')
    renames = []
    real_rename = os.rename
    monkeypatch.setattr(modeldir.os, "rename", lambda a, b: (renames.append((a, b)), real_rename(a, b)))
    with atomic_directory(target) as tmp:
        (tmp / "manifest.json").write_text('"new"')
    if modeldir._renameat2 is False:
        pytest.skip("renameat2 not available here: the two-rename fallback is used")
    assert renames == []
    assert (target / "manifest.json").read_text() == '"new"'
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def _train_command(docs: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "fahras.cli", "train", "--vocab", str(UNBIS_JSON), "--out", str(out),
            "--backend", "tfidf-linear", "--cv-folds", "0", "--quiet", str(docs)]


def _killed_retrainings(small, tmp_path, moments: int, seed: int) -> None:
    model = tmp_path / "M"
    shutil.copytree(small["model"], model)
    old = _uris(model)
    reference = tmp_path / "reference"
    start = time.perf_counter()
    subprocess.run(_train_command(small["new_docs"], reference), check=True, capture_output=True)
    duration = time.perf_counter() - start
    new = _uris(reference)
    assert new != old  # else the test could not tell them apart
    rng = random.Random(seed)
    seen = {"old": 0, "new": 0}
    for _ in range(moments):
        proc = subprocess.Popen(_train_command(small["new_docs"], model), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3 * duration, 1.1 * duration))  # the save comes at the end
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        from fahras.store import verify_checksums

        assert verify_checksums(model) is True
        got = _uris(model)
        assert got in (old, new)
        seen["old" if got == old else "new"] += 1
        if got == new:  # retrain the old one back in, so later kills can catch a swap again
            shutil.rmtree(model)
            shutil.copytree(small["model"], model)
    subprocess.run(_train_command(small["new_docs"], model), check=True, capture_output=True)
    assert _uris(model) == new
    assert sorted(p.name for p in tmp_path.iterdir()) == ["M", "reference"]  # no .M.tmp-* / .M.old-* left


def test_a_killed_retraining_leaves_the_old_or_the_new_model(small, tmp_path):
    _killed_retrainings(small, tmp_path, moments=3, seed=21)


@pytest.mark.slow
def test_a_retraining_killed_at_twenty_moments_leaves_the_old_or_the_new_model(small, tmp_path):
    _killed_retrainings(small, tmp_path, moments=20, seed=2021)
