"""Run the ``fahras`` command in this process (faster than a subprocess), as a user would."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Result:
    code: int
    out: str
    err: str


def run(capsys, *args) -> Result:
    """``fahras ARGS``: exit code, stdout and stderr (the command's error handling included)."""
    from fahras.cli import main

    capsys.readouterr()  # drop what came before
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)
