"""Finding the processes of one run through /proc, and folders of linked documents (shared by the
tests that kill runs: tests/test_workers.py, tests/test_index_resume.py)."""

from __future__ import annotations

import os
from pathlib import Path

#: The environment variable that marks every process of one run (inherited by its workers).
MARKER = "FAHRAS_TEST_RUN"


def run_processes(marker: str) -> dict[int, int]:
    """pid -> parent pid of the live (not zombie) processes whose environment holds ``MARKER=marker``."""
    found = {}
    needle = f"{MARKER}={marker}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if needle not in Path(f"/proc/{entry}/environ").read_bytes().split(b"\0"):
                continue
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:  # ended meanwhile, or not ours
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        if fields.get("State", "").startswith("Z"):
            continue
        found[int(entry)] = int(fields["PPid"])
    return found


def linked_copies(source: Path, folder: Path, times: int) -> Path:
    """``folder`` holding ``times`` links to each ``*.txt`` of ``source`` (``N_NAME``): a large corpus for free."""
    for path in sorted(source.glob("*.txt")):
        for n in range(times):
            (folder / f"{n}_{path.name}").symlink_to(path)
    return folder
