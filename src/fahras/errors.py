"""Errors that carry enough context to be shown to a user as one line."""

from __future__ import annotations

from pathlib import Path


class FahrasError(Exception):
    """Base class for errors Fahras reports to users without a traceback.

    ``exit_code`` is what the command line exits with.
    """

    exit_code = 1


class InputError(FahrasError):
    """Bad user input: a file, a line, a field that cannot be used.

    The message names the place (``path:line``) so a user can fix it.
    """

    exit_code = 65  # EX_DATAERR

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        self.reason = message
        self.path = str(path) if path is not None else None
        self.line = line
        super().__init__(self._format())

    def _format(self) -> str:
        if self.path is None:
            return self.reason
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.reason}"


class UsageError(FahrasError):
    """The call itself is wrong (an unknown option value, a missing model)."""

    exit_code = 64  # EX_USAGE


class ModelError(FahrasError):
    """A model directory is missing, incomplete or from an incompatible version."""

    exit_code = 66  # EX_NOINPUT
