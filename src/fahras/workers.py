"""Worker processes that end when the process that started them ends.

A pool's worker processes outlive their parent when the parent is killed
(SIGKILL from an operator, a job scheduler or the out-of-memory killer):
they are re-parented to init and go on, holding their memory.  Every
process pool of Fahras (the cross-fitting of ``fahras train``, the workers
of ``fahras index --jobs``, any pool of the service) passes
:func:`bind_to_parent` as, or calls it from, its worker initializer::

    ProcessPoolExecutor(..., initializer=bound_initializer,
                        initargs=(os.getpid(), setup, *setup_args))

Two mechanisms, the first where it exists:

* Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)``.  The kernel sends the
  signal when the parent ends, however it ends, even while the worker is
  busy in native code that holds the GIL (omikuji, liblinear).  The signal
  comes when the *thread* that started the worker ends, so a pool must be
  used and shut down by the thread that made it (ours are).
* Elsewhere (and as a second guard on Linux): a daemon thread that ends
  the worker once the parent is gone.  On POSIX it checks every
  :data:`POLL_SECONDS` whether the worker's parent pid is still the one it
  started with (an orphan is re-parented); elsewhere it waits for the
  parent's pipe (``multiprocessing.parent_process().sentinel``) to close.
  It needs the GIL, so a long native call delays it until that returns.

The ``multiprocessing`` resource tracker of a *spawn* pool is not a pool
worker: it ends by itself once every process holding its pipe (the parent
and the workers) has ended.

No module state changes except in the worker process itself.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from typing import Any, Callable

log = logging.getLogger(__name__)

#: How often the watching thread checks the parent (seconds).
POLL_SECONDS = 0.5
#: prctl option number (linux/prctl.h).
_PR_SET_PDEATHSIG = 1


def _set_parent_death_signal(sig: int) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent ends; False where that cannot be done."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):  # no libc with prctl (e.g. a static build)
        return False


def _end_now(sig: int) -> None:
    os._exit(128 + int(sig))  # no clean-up: the parent is gone, and nothing of ours should outlive it


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (POSIX; one owned by another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: exists, owned by another user
        return True
    return True


def _watch(parent_pid: int, direct: bool, sentinel, sig: int) -> None:
    """Return once the parent is gone.

    POSIX: a direct child is re-parented when its parent ends; a worker of a
    fork server (not the pool maker's child) checks that the pid still
    exists.  Elsewhere: the parent's pipe closes.
    """
    if os.name == "posix":
        while (os.getppid() == parent_pid) if direct else pid_alive(parent_pid):
            threading.Event().wait(POLL_SECONDS)
    elif sentinel is not None:
        from multiprocessing.connection import wait

        with contextlib.suppress(OSError):
            wait([sentinel])
    else:
        while True:  # nothing to watch with
            threading.Event().wait(3600)


def _watch_then_end(parent_pid: int, direct: bool, sentinel, sig: int) -> None:
    _watch(parent_pid, direct, sentinel, sig)
    _end_now(sig)


def bind_to_parent(parent_pid: int, sig: int = signal.SIGKILL if hasattr(signal, "SIGKILL") else 9,
                   watch: bool = True) -> None:
    """Make this (worker) process end when the process ``parent_pid`` ends.

    Call it first thing in a worker process (a pool initializer) with the
    pid of the process that made the pool.  If that process is already
    gone, this one ends at once.
    """
    import multiprocessing

    direct = os.getppid() == parent_pid
    if direct:
        # (A fork server's worker is not the pool maker's child: the death signal
        # would follow the fork server, so only the watching thread serves there.)
        _set_parent_death_signal(sig)
        if os.getppid() != parent_pid:  # the parent ended before the signal was asked for
            _end_now(sig)
    elif os.name == "posix" and not pid_alive(parent_pid):
        _end_now(sig)
    parent = multiprocessing.parent_process()
    sentinel = getattr(parent, "sentinel", None) if parent is not None else None
    if watch:
        threading.Thread(target=_watch_then_end, args=(parent_pid, direct, sentinel, sig),
                         name="fahras-parent-watch", daemon=True).start()


def bound_initializer(parent_pid: int, initializer: Callable[..., Any] | None = None, *args: Any) -> None:
    """A pool initializer: :func:`bind_to_parent`, then ``initializer(*args)`` if given."""
    bind_to_parent(parent_pid)
    if initializer is not None:
        initializer(*args)


def pool_arguments(initializer: Callable[..., Any] | None = None, initargs: tuple = ()) -> dict:
    """``initializer`` and ``initargs`` for a ``ProcessPoolExecutor`` whose workers end with this process."""
    return {"initializer": bound_initializer, "initargs": (os.getpid(), initializer, *initargs)}
