"""Drive Fahras through its command line, exactly as a user would.

``fahras train`` and ``fahras eval --json`` run as subprocesses, measured the
same way as Annif's commands.  When no ``fahras`` script sits beside the
running interpreter (the package is not installed yet), the CLI is started
as ``python -c 'from fahras.cli import main; main()'`` with the repository's
``src`` on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness.measure import Measurement, StepFailed, run_measured


@dataclass
class Fahras:
    repo: Path
    logs: Path

    def command(self) -> list[str]:
        script = Path(sys.executable).parent / "fahras"
        if script.exists():
            return [str(script)]
        if not (self.repo / "src" / "fahras" / "cli.py").exists():
            raise StepFailed("the Fahras command line is not available: no 'fahras' script next to "
                             f"{sys.executable} and no {self.repo / 'src/fahras/cli.py'}")
        return [sys.executable, "-c", "from fahras.cli import main; main()"]

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        src = str(self.repo / "src")
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        return env

    def _call(self, args: list[str], what: str, log_name: str, stdin_text: str | None = None) -> Measurement:
        return run_measured([*self.command(), *args], env=self.env, cwd=self.repo,
                            log=self.logs / f"{log_name}.log", stdin_text=stdin_text, what=what)

    def train(self, vocab: Path, model: Path, corpora: list[Path], backend: str | None = None,
              params: list[str] = ()) -> Measurement:
        """``fahras train [--backend B] [--param K=V ...] --vocab V --out M CORPUS...``"""
        options = ["--backend", backend] if backend else []
        for param in params:
            options += ["--param", param]
        return self._call(["train", "--quiet", *options, "--vocab", str(vocab), "--out", str(model),
                           *map(str, corpora)], "fahras train", f"train-{model.name}")

    def backends(self) -> list[str] | None:
        """Backend names listed by ``fahras backends`` (None if that command fails)."""
        try:
            run = self._call(["backends"], "fahras backends", "backends")
        except StepFailed:
            return None
        return [line.split(":")[0].strip() for line in run.stdout.splitlines()
                if line and not line[0].isspace() and ":" in line]

    def evaluate(self, model: Path, corpus: Path) -> tuple[dict, Measurement]:
        run = self._call(["eval", str(model), str(corpus), "--json", "--quiet"],
                         "fahras eval", f"eval-{model.name}")
        return parse_json_output(run.stdout, "fahras eval --json"), run

    def index(self, model: Path, folder: Path, out: Path) -> Measurement:
        """``fahras index``: rank up to 100 subjects for every document of ``folder``."""
        return self._call(["index", str(model), str(folder), "--out", str(out), "--limit", "100",
                           "--threshold", "0", "--force", "--quiet"], "fahras index", f"index-{model.name}")

    def suggest_one(self, model: Path, text: str) -> Measurement:
        return self._call(["suggest", str(model), "--limit", "1"], "fahras suggest",
                          f"suggest-{model.name}", stdin_text=text)


def parse_json_output(stdout: str, what: str) -> dict:
    """The JSON object a command printed (the last line that parses as one)."""
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                break
    try:
        return json.loads(stdout)
    except json.JSONDecodeError:
        raise StepFailed(f"{what} printed no JSON object; its output began with: {stdout[:200]!r}") from None
