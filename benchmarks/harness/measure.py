"""Run a command as a subprocess and measure its wall clock time and peak memory.

Peak resident memory comes from GNU ``/usr/bin/time -v`` when it is installed
(the figure is for the measured process and its children).  Without it, the
fallback is ``resource.getrusage(RUSAGE_CHILDREN)``, which only reports the
largest child process seen so far; results say which source was used.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

GNU_TIME = "/usr/bin/time"

#: When this benchmark run started (the harness is imported at a benchmark's start).
_START = time.perf_counter()


def elapsed() -> float:
    """Seconds since the benchmark run started."""
    return time.perf_counter() - _START


def log(message: str) -> None:
    """A progress line on stderr, stamped with the seconds since the run started."""
    print(f"[{elapsed():7.1f}s] {message}", file=sys.stderr, flush=True)


class StepFailed(RuntimeError):
    """A measured command exited non-zero; the message says which and where the log is."""


@dataclass
class Measurement:
    """What one measured command cost."""

    command: list[str]
    seconds: float
    peak_rss_mb: float | None
    rss_source: str
    returncode: int
    log: Path | None = None
    stdout: str = field(default="", repr=False)
    cpu_seconds: float | None = None

    def to_dict(self) -> dict:
        return {"seconds": round(self.seconds, 3),
                "cpu_seconds": None if self.cpu_seconds is None else round(self.cpu_seconds, 2),
                "peak_rss_mb": None if self.peak_rss_mb is None else round(self.peak_rss_mb, 1),
                "rss_source": self.rss_source, "log": str(self.log) if self.log else None}


def _gnu_time_available() -> bool:
    if not os.access(GNU_TIME, os.X_OK):
        return False
    probe = subprocess.run([GNU_TIME, "-v", "true"], capture_output=True, text=True)
    return "Maximum resident set size" in probe.stderr


_HAS_GNU_TIME: bool | None = None


def _peak_from_gnu_time(report: str) -> float | None:
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", report)
    return int(match.group(1)) / 1024 if match else None


def _cpu_from_gnu_time(report: str) -> float | None:
    """User plus system CPU seconds: steadier than wall clock on a busy machine."""
    times = re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", report)
    return sum(map(float, times)) if len(times) == 2 else None


def run_measured(command: list[str], *, env: dict | None = None, cwd: Path | None = None,
                 log: Path | None = None, stdin_text: str | None = None,
                 check: bool = True, what: str = "") -> Measurement:
    """Run ``command``; keep its stdout, send its stderr to ``log``; time it.

    With ``check`` a non-zero exit raises :class:`StepFailed` naming the log
    file and quoting the last lines of the command's error output.
    """
    global _HAS_GNU_TIME
    if _HAS_GNU_TIME is None:
        _HAS_GNU_TIME = _gnu_time_available()
    if shutil.which(command[0]) is None and not Path(command[0]).exists():
        raise StepFailed(f"{what or 'command'}: program not found: {command[0]}")
    with tempfile.NamedTemporaryFile("r", suffix=".time", delete=False) as handle:
        time_report = Path(handle.name)
    wrapped = [GNU_TIME, "-v", "-o", str(time_report), *command] if _HAS_GNU_TIME else command
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(wrapped, env=env, cwd=cwd, input=stdin_text, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    cpu = None
    if _HAS_GNU_TIME:
        report = time_report.read_text(errors="replace")
        peak, cpu, source = _peak_from_gnu_time(report), _cpu_from_gnu_time(report), "gnu-time"
    else:
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        peak, source = (after / 1024 if after > before else None), "getrusage-children"
    time_report.unlink(missing_ok=True)
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"$ {' '.join(command)}\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}",
                       encoding="utf-8")
    result = Measurement(command, seconds, peak, source, proc.returncode, log, proc.stdout, cpu)
    if check and proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-8:]) or "(no error output)"
        where = f" (full output: {log})" if log else ""
        raise StepFailed(f"{what or command[0]} failed with exit code {proc.returncode}{where}:\n{tail}")
    return result
