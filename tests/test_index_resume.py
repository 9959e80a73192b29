"""`fahras index` interrupted and run again (issues #19, #21).

Killed with SIGKILL at random moments, or stopped with Ctrl-C, and then run
again with the same arguments, a run ends with exactly the files an
uninterrupted run writes, without redoing the documents already done.  A
rerun with another model or other options redoes everything.  Entries of
the folder that are not documents are reported; a missing folder exits 74.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from conftest import RESOLUTIONS, requires_shared
from proc_support import MARKER, linked_copies, run_processes
from fahras import Indexer
from fahras.store.modeldir import write_checksums
from fahras.batch import index_folder
from fahras.errors import UsageError

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")

#: Generous bound on how long a Ctrl-C'd run may take to end (seconds): promptness, not speed.
STOP_WITHIN = 15.0


@pytest.fixture(scope="module")
def documents(tmp_path_factory) -> Path:
    """The training resolutions fifteen times over (links: enough work that a run on a quiet machine is still
    going when it is killed or interrupted), plus a subfolder and an unsupported file."""
    requires_shared()
    folder = linked_copies(RESOLUTIONS, tmp_path_factory.mktemp("docs"), 15)
    (folder / "attachments").mkdir()
    (folder / "scan.tiff").write_bytes(b"II*\0")
    return folder


@pytest.fixture(scope="module")
def reference(trained_model, documents, tmp_path_factory) -> Path:
    """What an uninterrupted run writes (in this process, one worker; the options are the command's defaults)."""
    out = tmp_path_factory.mktemp("reference") / "out"
    index_folder(Indexer.load(trained_model), documents, out, model_path=trained_model)
    return out


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() if p.is_file() else "folder" for p in sorted(folder.iterdir())}


def stamps(folder: Path) -> dict[str, tuple[int, int]]:
    """name -> (inode, mtime) of the suggestion files."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.glob("*.annif")}


def start(model: Path, folder: Path, out: Path, *extra) -> tuple[subprocess.Popen, str]:
    marker = uuid.uuid4().hex
    process = subprocess.Popen(
        [sys.executable, "-m", "fahras", "index", str(model), str(folder), "--out", str(out), "--jobs", "2",
         "--quiet", *extra],
        env={**os.environ, MARKER: marker}, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,  # its own process group, as in a terminal
        preexec_fn=_interruptible)
    return process, marker


def _interruptible() -> None:
    """Ctrl-C's default disposition in the run, as in a terminal's foreground job.

    A suite started as a shell's background job (``pytest ... &``) inherits SIGINT ignored, and Python
    keeps an ignored SIGINT ignored: the run would then not be interruptible at all, and the Ctrl-C
    test would measure how the suite was launched, not Fahras.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_gone(marker: str, within: float = 10.0) -> set[int]:
    """The run's processes still there after ``within`` seconds (killed, so none stays behind)."""
    deadline = time.monotonic() + within
    while (left := run_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return set(left)


def wait_written(process: subprocess.Popen, out: Path, count: int, within: float = 120.0) -> None:
    """Until ``count`` suggestion files are in ``out``, the run ends or ``within`` seconds pass: a moment in
    the run's own progress (with the compiled scoring a whole run can take under two seconds)."""
    deadline = time.monotonic() + within
    while process.poll() is None and time.monotonic() < deadline and \
            (not out.exists() or sum(1 for _ in out.glob("*.annif")) < count):
        time.sleep(0.01)


def kill_and_resume(model: Path, folder: Path, out: Path, reference: Path, kills: int, rng: random.Random):
    """SIGKILL ``kills`` runs at random moments, then finish; check each run kept what was done before it."""
    total = sum(1 for name in os.listdir(reference) if name.endswith(".annif"))
    kept_before: list[dict] = []
    for _ in range(kills):
        before = stamps(out) if out.exists() else {}
        process, marker = start(model, folder, out)
        # killed once a random share of the documents left is written (a random moment in the run's own
        # progress, not in seconds: with the compiled scoring a run can take under two seconds)
        wait_written(process, out, len(before) + rng.randint(1, max(1, (total - len(before)) // 2)))
        if process.poll() is not None:  # finished before the kill: nothing to resume
            assert kept_before, "the first run ended before it was killed: give it more work"
            break
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        assert not wait_gone(marker), "processes of the killed run remained"
        kept_before.append(before)
        after = stamps(out) if out.exists() else {}
        assert {name: after[name] for name in before} == before, "a killed run redid finished documents"
    before = stamps(out) if out.exists() else {}
    process, marker = start(model, folder, out)
    _, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    assert not wait_gone(marker)
    after = stamps(out)
    assert {name: after[name] for name in before} == before, "the resumed run redid finished documents"
    if before:
        assert f"{len(before)} already done" in err
    assert f"indexed {total - len(before)} documents" in err
    assert "2 not documents, left out (attachments/, scan.tiff)" in err
    assert folder_bytes(out) == folder_bytes(reference)  # same names, same bytes, no temporary file
    print(f"{len(kept_before)} kills; done before each run: {[len(b) for b in kept_before]}, "
          f"before the last: {len(before)} of {total}")
    return kept_before


def test_killed_runs_resume_to_the_output_of_an_uninterrupted_run(trained_model, documents, reference, tmp_path):
    kill_and_resume(trained_model, documents, tmp_path / "out", reference, kills=3, rng=random.Random())


@pytest.mark.slow
def test_killed_many_times_at_random_moments(trained_model, documents, reference, tmp_path):
    rng = random.Random()
    for attempt in range(4):
        kill_and_resume(trained_model, documents, tmp_path / str(attempt), reference, kills=5, rng=rng)


def test_ctrl_c_stops_every_worker_and_leaves_only_complete_files(trained_model, documents, reference, tmp_path):
    out = tmp_path / "out"
    process, marker = start(trained_model, documents, out)
    deadline = time.monotonic() + 120
    while len(run_processes(marker)) < 3 and time.monotonic() < deadline:  # the parent and two workers
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    # Ctrl-C once a random number of documents is written (not after a random time: with the compiled
    # scoring the whole run can end within a second or two of its workers starting)
    wait_written(process, out, random.randint(20, 500))
    assert process.poll() is None, "the run ended before Ctrl-C: give it more work"
    os.killpg(process.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C: the whole foreground group
    sent = time.monotonic()
    time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):  # an impatient second Ctrl-C: no traceback, no deadlock
        os.killpg(process.pid, signal.SIGINT)
    try:
        _, err = process.communicate(timeout=STOP_WITHIN)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"still running {STOP_WITHIN} s after Ctrl-C")
    print(f"stopped {time.monotonic() - sent:.2f} s after Ctrl-C")
    assert process.returncode == 130, err
    lines = err.strip().splitlines()
    assert lines == ["fahras: interrupted; the suggestion files written are complete: "
                     "run the same command again to index the rest"], err
    assert not wait_gone(marker, within=5.0), "a worker outlived the interrupted run"
    written, expected = folder_bytes(out), folder_bytes(reference)
    assert written and len(written) < len(expected), "Ctrl-C did not stop the run midway"
    assert {name: expected.get(name) for name in written} == written  # only complete files, no temporary one
    # and the same command finishes the work
    process, marker = start(trained_model, documents, out)
    _, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    assert folder_bytes(out) == expected


def test_another_model_or_other_options_redo_everything(trained_model, documents, reference, tmp_path):
    model = Indexer.load(trained_model)
    small = tmp_path / "in"
    small.mkdir()
    for path in sorted(documents.glob("0_*.txt"))[:3]:
        (small / path.name).symlink_to(path)
    out = tmp_path / "out"
    first = index_folder(model, small, out, model_path=trained_model)
    assert (first.indexed, first.skipped, first.redone) == (3, 0, None)
    written = {p.name: p.read_bytes() for p in out.glob("*.annif")}
    assert len(written) == 3 and written == {name: (reference / name).read_bytes() for name in written}
    again = index_folder(model, small, out, model_path=trained_model)
    assert (again.indexed, again.skipped, again.redone) == (0, 3, None)
    other = index_folder(model, small, out, model_path=trained_model, limit=2)
    assert (other.indexed, other.skipped) == (3, 0) and "other options" in other.redone
    assert all(len(p.read_text().splitlines()) <= 2 for p in out.glob("*.annif"))
    copy = tmp_path / "model-copy"
    shutil.copytree(trained_model, copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["created"] = "2000-01-01T00:00:00+00:00"  # another model (as a retraining would make it) ...
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    write_checksums(copy)  # ... whose checksum manifest says so
    moved = index_folder(model, small, out, model_path=copy, limit=2)
    assert (moved.indexed, moved.skipped) == (3, 0) and "another model" in moved.redone
    forced = index_folder(model, small, out, model_path=copy, limit=2, force=True)
    assert (forced.indexed, forced.skipped, forced.redone) == (3, 0, None)


def test_not_documents_are_reported_and_a_missing_folder_exits_74(trained_model, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for n in range(12):
        (folder / f"sub{n:02d}").mkdir()
    (folder / ".hidden").write_text("not counted")
    report = index_folder(Indexer.load(trained_model), folder, tmp_path / "out")
    assert report.indexed == 0 and report.ignored == [f"sub{n:02d}/" for n in range(12)]
    assert report.ignored_summary() == "12 not documents, left out (" + \
        ", ".join(f"sub{n:02d}/" for n in range(10)) + ", ...)"
    missing = subprocess.run([sys.executable, "-m", "fahras", "index", str(trained_model), str(tmp_path / "nope"),
                              "--out", str(tmp_path / "out2"), "--quiet"], capture_output=True, text=True)
    assert missing.returncode == 74, missing.stderr
    assert missing.stderr.strip().splitlines() == [f"fahras: error: {tmp_path / 'nope'}: folder not found"]


def test_jsonl_is_one_file_per_run_and_resumes_to_the_same_bytes(trained_model, documents, tmp_path):
    model = Indexer.load(trained_model)
    small = tmp_path / "in"
    small.mkdir()
    names = [p.name for p in sorted(documents.glob("0_*.txt"))[:5]]
    for name in names:
        (small / name).symlink_to(documents / name)
    (small / "z-empty.txt").write_text("  ", encoding="utf-8")  # fails: no line for it
    whole = tmp_path / "whole"
    report = index_folder(model, small, whole, model_path=trained_model, output_format="annif,jsonl", jobs=2)
    assert report.indexed == 5 and list(report.failures) == [str(small / "z-empty.txt")]
    lines = [json.loads(line) for line in (whole / "suggestions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [line["document"] for line in lines] == names
    for name, line in zip(names, lines):  # the same suggestions as the document's Annif file
        annif = (whole / (Path(name).stem + ".annif")).read_text(encoding="utf-8").splitlines()
        assert [f"<{r['uri']}>\t{r['label']}\t{r['score']:.6f}" for r in line["results"]] == annif
    # a run that did only part of the work, then the rest: the same files
    part = tmp_path / "part"
    index_folder(model, small, part, model_path=trained_model, output_format="annif,jsonl")
    for name in names[2:]:
        (part / (Path(name).stem + ".annif")).unlink()
    (part / "suggestions.jsonl").unlink()
    resumed = index_folder(model, small, part, model_path=trained_model, output_format="annif,jsonl")
    assert (resumed.indexed, resumed.skipped) == (3, 2)
    assert folder_bytes(part) == folder_bytes(whole)
    assert folder_bytes(part / ".fahras-jsonl") == folder_bytes(whole / ".fahras-jsonl")
    with pytest.raises(UsageError, match="output format"):
        index_folder(model, small, part, output_format="annif,xml")
