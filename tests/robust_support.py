"""Helpers of the robustness and fuzz tests (tests/test_robust_*.py, tests/test_fuzz_*.py).

Hypothesis profiles: ``fuzz`` (the default run: few examples, fixed seed) and
``fuzz-long`` (the slow run in CI: a fixed, larger budget, fixed seed).  Both
are derandomized, so a run is reproducible; ``FAHRAS_FUZZ_EXAMPLES`` overrides
the slow budget.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from hypothesis import HealthCheck, settings

FUZZ_EXAMPLES = 60
FUZZ_LONG_EXAMPLES = int(os.environ.get("FAHRAS_FUZZ_EXAMPLES", "2000"))

settings.register_profile("fuzz", max_examples=FUZZ_EXAMPLES, derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                 HealthCheck.function_scoped_fixture],
                          database=None)
settings.register_profile("fuzz-long", parent=settings.get_profile("fuzz"),
                          max_examples=FUZZ_LONG_EXAMPLES)
FUZZ = settings.get_profile("fuzz")
FUZZ_LONG = settings.get_profile("fuzz-long")


def run_measured(code: str, timeout: float = 600) -> dict:
    """Run ``code`` in a fresh Python; return its printed JSON plus ``peak_mb`` and ``seconds``.

    ``code`` may print one JSON object as its last line (or nothing).  Peak
    RSS is the child's own high-water mark (``resource.getrusage``), so the
    test process's memory does not count.
    """
    wrapper = textwrap.dedent("""
        import json, resource, sys, time
        _t0 = time.perf_counter()
        _result = {}
        exec(compile(sys.stdin.read(), "<measured>", "exec"))
        _result["seconds"] = time.perf_counter() - _t0
        _result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        try:  # Linux: the high-water mark of this program alone (ru_maxrss keeps a forking parent's)
            with open("/proc/self/status") as _status:
                _result["peak_mb"] = next(int(l.split()[1]) for l in _status if l.startswith("VmHWM:")) / 1024
        except (OSError, StopIteration):
            pass
        print(json.dumps(_result))
    """)
    proc = subprocess.run([sys.executable, "-c", wrapper], input=textwrap.dedent(code), text=True,
                          capture_output=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"measured code failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def baseline_mb() -> float:
    """Peak RSS of a child that imports Fahras's text pipeline and does nothing else."""
    return run_measured("import fahras.text, fahras.corpus\n")["peak_mb"]
