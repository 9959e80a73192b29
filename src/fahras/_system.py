"""Facts about the machine this process runs on (a low module: any layer may import it)."""

from __future__ import annotations

import os


def available_cores() -> int:
    """CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
