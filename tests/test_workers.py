"""Worker processes end when their parent ends, however it ends (issue #24).

A training (`fahras train --jobs 2`, the cross-fitting pool) and an indexing
run (`fahras index --jobs 2`) are started as subprocesses and killed with
SIGKILL; within a few seconds no process of the run may remain -- no pool
worker and no multiprocessing resource tracker.  A run's processes are found
through /proc by an environment variable only that run has.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from proc_support import MARKER, linked_copies, run_processes

from conftest import RESOLUTIONS, UNBIS_JSON, requires_shared

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")

#: How long the processes of a killed run may take to end (seconds).  A worker that has reached its
#: initializer ends at once (Linux parent-death signal); one still starting ends when it gets there,
#: after importing fahras: about 1.3 s on an idle machine, several seconds on this 2-core machine at
#: load 15 (a first version of this test with 5 s failed there once on such a worker, 2026-12-05).
GRACE = 20.0


def start(args: list, tmp_path: Path) -> tuple[subprocess.Popen, str]:
    marker = uuid.uuid4().hex
    env = {**os.environ, MARKER: marker, "TMPDIR": str(tmp_path)}  # leaked scratch folders stay in tmp_path
    process = subprocess.Popen([sys.executable, "-m", "fahras", *map(str, args)], env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return process, marker


def wait_for_workers(process: subprocess.Popen, marker: str, workers: int, timeout: float = 120) -> set[int]:
    """The pids of the run's children once ``workers`` of them run (the pool may add a resource tracker)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = {pid for pid, parent in run_processes(marker).items() if parent == process.pid}
        if len(children) >= workers:
            return children
        if process.poll() is not None:
            pytest.fail(f"the run ended (exit code {process.returncode}) before it had {workers} workers")
        time.sleep(0.05)
    process.kill()
    pytest.fail(f"no {workers} workers within {timeout} s")


def kill_and_check(process: subprocess.Popen, marker: str, seen: set[int]) -> None:
    """SIGKILL the run's parent; every process of the run must end within GRACE seconds."""
    assert process.poll() is None, "the run ended before it was killed: give it more work"
    seen |= {pid for pid, parent in run_processes(marker).items() if parent == process.pid}
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    killed = time.monotonic()
    while (left := run_processes(marker)) and time.monotonic() < killed + GRACE:
        time.sleep(0.05)
    print(f"the run's processes ended {time.monotonic() - killed:.2f} s after its parent was killed")
    for pid in left:  # do not leave them behind for the next test
        os.kill(pid, signal.SIGKILL)
    assert not left, f"still running {GRACE} s after the parent was killed: {sorted(left)} (children were {sorted(seen)})"


def train_args(tmp_path: Path) -> list:
    return ["train", "--vocab", UNBIS_JSON, "--out", tmp_path / "model", "--jobs", "2", "--quiet", RESOLUTIONS]


@pytest.fixture(scope="module")
def many_documents(tmp_path_factory) -> Path:
    """The training resolutions sixteen times over (links): enough work for two indexing workers for a while."""
    requires_shared()
    return linked_copies(RESOLUTIONS, tmp_path_factory.mktemp("many"), 16)


def index_args(model: Path, folder: Path, tmp_path: Path) -> list:
    return ["index", model, folder, "--out", tmp_path / "out", "--jobs", "2", "--quiet"]


def test_killed_training_leaves_no_worker(tmp_path):
    requires_shared()
    process, marker = start(train_args(tmp_path), tmp_path)
    children = wait_for_workers(process, marker, 2)
    time.sleep(random.uniform(0, 2))  # workers busy with their first fits, or still loading their work
    kill_and_check(process, marker, children)


def test_killed_indexing_leaves_no_worker(trained_model, many_documents, tmp_path):
    process, marker = start(index_args(trained_model, many_documents, tmp_path), tmp_path)
    children = wait_for_workers(process, marker, 2)
    time.sleep(random.uniform(0, 0.5))
    kill_and_check(process, marker, children)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["train", "index"])
def test_killed_at_random_moments_leaves_nothing(command, trained_model, many_documents, tmp_path):
    """Five kills per command at moments drawn from the start (before any worker) to well into the work.

    The moments are drawn up to a bound that shrinks to 80% of a run's length whenever a run ends before
    its moment (faster machines and code finish the training sooner than the first bound); a run that
    fails instead of ending, or ten runs that end before their moments, fail the test."""
    rng = random.Random()
    bound = 20.0 if command == "train" else 4.0
    kills = finished = 0
    while kills < 5:
        run = tmp_path / str(kills + finished)
        run.mkdir()
        args = train_args(run) if command == "train" else index_args(trained_model, many_documents, run)
        started = time.monotonic()
        process, marker = start(args, run)
        moment = rng.uniform(0.2, bound)
        deadline = started + moment
        seen: set[int] = set()
        while time.monotonic() < deadline and process.poll() is None:
            seen |= {pid for pid, parent in run_processes(marker).items() if parent == process.pid}
            time.sleep(0.05)
        if process.poll() is not None:
            took = time.monotonic() - started
            assert process.returncode == 0, f"{command} failed (exit code {process.returncode}) after {took:.1f} s"
            finished += 1
            assert finished < 10, f"{command} ended before its moment {finished} times; last run {took:.1f} s"
            bound = max(0.5, 0.8 * took)
            continue
        kill_and_check(process, marker, seen)
        kills += 1


def test_bind_to_parent_in_a_plain_pool(tmp_path):
    """The mechanism alone, on a pool that sleeps: its workers go with their killed parent."""
    script = tmp_path / "pool.py"
    script.write_text(
        "import time\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "import multiprocessing\n"
        "from fahras.workers import pool_arguments\n"
        "if __name__ == '__main__':\n"
        "    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context('spawn'),\n"
        "                             **pool_arguments()) as pool:\n"
        "        list(pool.map(time.sleep, [60, 60]))\n", encoding="utf-8")
    marker = uuid.uuid4().hex
    process = subprocess.Popen([sys.executable, str(script)], env={**os.environ, MARKER: marker})
    children = wait_for_workers(process, marker, 3, timeout=60)  # two workers and the resource tracker
    kill_and_check(process, marker, children)
