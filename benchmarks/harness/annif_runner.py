"""Drive Annif through its command line, in a virtual environment of its own.

Annif lives in ``<work>/annif-venv`` so that its dependencies never mix with
Fahras's.  Every Annif call gets an environment pointing at files in the work
folder: ``ANNIF_PROJECTS`` (the generated ``projects.cfg``), ``ANNIF_DATADIR``
(trained models, loaded vocabularies) and ``NLTK_DATA``.

NLTK data cannot be downloaded on this machine, and Annif's analyzers call
NLTK's word tokenizer, which first splits sentences with the Punkt model
``tokenizers/punkt_tab/english``.  We provide that model as four empty
parameter files, i.e. an untrained Punkt splitter (no known abbreviations);
for bag-of-words backends the only effect is on sentence boundaries, which
they do not use.

Backends are configuration: :data:`BACKENDS` maps a name to the keys of its
``projects.cfg`` section, the pip extra it needs and its kind: a *base*
backend trains on the training part; an *ensemble* combines base projects
(``{sources}`` in its settings) and trains on nothing; an *nn_ensemble*
combines base projects and trains on the validation part.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.harness.measure import Measurement, StepFailed, run_measured

ANNIF_VERSION = "1.4.3"
VOCAB_ID = "unsc"
VOCAB_HOLDER = "vocab-holder"
_ANALYZER = "snowball(english)"


@dataclass(frozen=True)
class BackendSpec:
    """One Annif backend as benchmarked: its project settings and install needs."""

    settings: dict[str, str]
    pip_extra: str | None = None
    kind: str = "base"  # "base", "ensemble" or "nn_ensemble"
    label: str = ""

    @property
    def combines(self) -> bool:
        return self.kind != "base"


#: pip extra -> module whose import proves the extra works
EXTRA_MODULES = {"omikuji": "omikuji", "fasttext": "fasttext", "nn": "tensorflow"}

BACKENDS: dict[str, BackendSpec] = {
    "tfidf": BackendSpec({"backend": "tfidf", "analyzer": _ANALYZER, "limit": "100"}, label="Annif tfidf"),
    "svc": BackendSpec({"backend": "svc", "analyzer": _ANALYZER, "limit": "100"}, label="Annif svc"),
    "mllm": BackendSpec({"backend": "mllm", "analyzer": _ANALYZER, "limit": "100"}, label="Annif mllm"),
    # Annif's omikuji defaults emulate Parabel (cluster_balanced=True, cluster_k=2, max_depth=20);
    # its documentation's Bonsai emulation is cluster_balanced=False, cluster_k=100, max_depth=3.
    "omikuji-parabel": BackendSpec({"backend": "omikuji", "analyzer": _ANALYZER, "limit": "100",
                                    "cluster_balanced": "True", "cluster_k": "2", "max_depth": "20"},
                                   pip_extra="omikuji", label="Annif omikuji Parabel"),
    "omikuji-bonsai": BackendSpec({"backend": "omikuji", "analyzer": _ANALYZER, "limit": "100",
                                   "cluster_balanced": "False", "cluster_k": "100", "max_depth": "3"},
                                  pip_extra="omikuji", label="Annif omikuji Bonsai"),
    # fasttext: the best of 8 variants (loss hs/ova x lr 0.5/1.0 x epoch 100/200, dim 100) by nDCG@5
    # on the time3 validation year (2012); Annif's example settings (lr 0.25, 5 epochs) are far too
    # little training for a few hundred documents.
    "fasttext": BackendSpec({"backend": "fasttext", "analyzer": _ANALYZER, "limit": "100", "dim": "100",
                             "lr": "0.5", "epoch": "200", "loss": "ova", "chunksize": "24"},
                            pip_extra="fasttext", label="Annif fasttext"),
    "ensemble": BackendSpec({"backend": "ensemble", "sources": "{sources}", "limit": "100"},
                            kind="ensemble", label="Annif ensemble"),
    "nn_ensemble": BackendSpec({"backend": "nn_ensemble", "sources": "{sources}", "limit": "100"},
                               pip_extra="nn", kind="nn_ensemble", label="Annif nn_ensemble"),
}
#: names accepted by --annif-backends that stand for several backends
ALIASES = {"omikuji": ["omikuji-parabel", "omikuji-bonsai"], "all": list(BACKENDS)}


def project_id(backend: str, run: str) -> str:
    return f"{backend}-{run}"


@dataclass
class Annif:
    """An Annif installation and the configuration folder it works in."""

    work: Path
    venv: Path = field(init=False)
    home: Path = field(init=False)

    def __post_init__(self) -> None:
        self.work = self.work.resolve()
        self.venv = self.work / "annif-venv"
        self.home = self.work / "annif"

    @property
    def executable(self) -> Path:
        return self.venv / "bin" / "annif"

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(NLTK_DATA=str(self.work / "nltk_data"), ANNIF_PROJECTS=str(self.home / "projects.cfg"),
                   ANNIF_DATADIR=str(self.home / "data"))
        env.pop("PYTHONPATH", None)  # keep Fahras's sources out of Annif's interpreter
        return env

    # -- installation ---------------------------------------------------------------------
    def installed_version(self) -> str | None:
        if not self.executable.exists():
            return None
        proc = subprocess.run([str(self.executable), "--version"], capture_output=True, text=True,
                              env=self.env)
        return proc.stdout.strip().split()[-1] if proc.returncode == 0 and proc.stdout.strip() else None

    def install(self, backends: list[str], log) -> dict[str, str]:
        """Create the venv and install Annif (plus the extras of ``backends``) if needed.

        A failing extra is not fatal: returns ``{backend: why it cannot run}``
        for the backends whose extra could not be installed or imported.
        """
        extras = sorted({BACKENDS[b].pip_extra for b in backends if BACKENDS[b].pip_extra})
        version = self.installed_version()
        if version is not None and version != ANNIF_VERSION:
            raise StepFailed(f"{self.venv} holds Annif {version}, not {ANNIF_VERSION}; "
                             f"delete that folder to reinstall")
        if version is None:
            log(f"installing Annif {ANNIF_VERSION} into {self.venv} (one time, about a minute)")
            self._run_pip_setup()
        broken: dict[str, str] = {}
        for extra in extras:
            if self._import_error(extra) is None:
                continue
            spec = f"annif[{extra}]=={ANNIF_VERSION}"
            log(f"installing Annif extra {extra}: pip install {spec}")
            try:
                self._pip(["install", spec], f"pip install {spec}")
            except StepFailed as exc:
                broken[extra] = str(exc)
                continue
            error = self._import_error(extra)
            if error is not None:
                broken[extra] = f"{spec} installed, but 'import {EXTRA_MODULES[extra]}' fails: {error}"
        self._write_punkt_stub()
        return {b: f"Annif extra [{BACKENDS[b].pip_extra}] unavailable: {broken[BACKENDS[b].pip_extra]}"
                for b in backends if BACKENDS[b].pip_extra in broken}

    def _run_pip_setup(self) -> None:
        if not (self.venv / "bin" / "python").exists():
            proc = subprocess.run(["python3", "-m", "venv", str(self.venv)], capture_output=True, text=True)
            if proc.returncode != 0:
                raise StepFailed(f"python3 -m venv {self.venv} failed:\n{proc.stderr.strip()}")
        self._pip(["index", "versions", "annif"], "pip index versions annif", expect=ANNIF_VERSION)
        self._pip(["install", f"annif=={ANNIF_VERSION}"], f"pip install annif=={ANNIF_VERSION}")

    def _pip(self, args: list[str], what: str, expect: str | None = None) -> None:
        quiet = [] if expect is not None else ["-q"]  # "pip -q index versions" prints nothing
        proc = subprocess.run([str(self.venv / "bin" / "python"), "-m", "pip", *quiet, *args],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            errors = [ln for ln in proc.stderr.splitlines() if not ln.startswith("WARNING: Location")]
            raise StepFailed(f"{what} failed:\n" + "\n".join(errors[-8:]))
        if expect is not None and expect not in proc.stdout:
            raise StepFailed(f"the package index does not offer Annif {expect} "
                             f"(it lists: {proc.stdout.strip()[:200]})")

    def _import_error(self, extra: str) -> str | None:
        """None when the extra's module imports in Annif's venv, else the last error line."""
        module = EXTRA_MODULES.get(extra, extra)
        proc = subprocess.run([str(self.venv / "bin" / "python"), "-c", f"import {module}"],
                              capture_output=True, text=True, env=self.env)
        if proc.returncode == 0:
            return None
        lines = proc.stderr.strip().splitlines()
        return lines[-1] if lines else f"exit code {proc.returncode}"

    def _write_punkt_stub(self) -> None:
        folder = self.work / "nltk_data" / "tokenizers" / "punkt_tab" / "english"
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("collocations.tab", "sent_starters.txt", "abbrev_types.txt", "ortho_context.tab"):
            (folder / name).touch()

    # -- configuration ----------------------------------------------------------------------
    _sections: dict[str, str] = field(init=False, default_factory=dict)

    def add_project(self, backend: str, run: str, overrides: dict[str, dict[str, str]],
                    sources: list[str] | None = None, weights: dict[str, float] | None = None) -> str:
        """Add (or replace) the project of ``backend`` for ``run`` in ``projects.cfg``.

        ``sources`` are the base backends an ensemble combines, with ``weights``
        (by project id; default: equal weights).  Returns the project id.
        """
        project = project_id(backend, run)
        source_ids = ",".join(project_id(b, run) + (f":{weights[project_id(b, run)]:.4f}" if weights else "")
                              for b in sources or [])
        settings = self.settings(backend, overrides)
        lines = [f"[{project}]", f"name={BACKENDS[backend].label} ({run})", "language=en", f"vocab={VOCAB_ID}"]
        lines += [f"{k}={v.format(run=run, sources=source_ids)}" for k, v in settings.items()]
        self._sections[project] = "\n".join(lines)
        self._write_config()
        return project

    def _write_config(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "projects.cfg").write_text("\n\n".join(self._sections.values()) + "\n", encoding="utf-8")

    @staticmethod
    def settings(backend: str, overrides: dict[str, dict[str, str]]) -> dict[str, str]:
        return {**BACKENDS[backend].settings, **overrides.get(backend, {})}

    # -- commands -------------------------------------------------------------------------------
    def _call(self, args: list[str], what: str, log_name: str, stdin_text: str | None = None) -> Measurement:
        return run_measured([str(self.executable), *args], env=self.env, cwd=self.home,
                            log=self.home / "logs" / f"{log_name}.log", stdin_text=stdin_text, what=what)

    def load_vocab(self, vocab_file: Path) -> Measurement:
        # Annif finds a vocabulary id only through a project that names it: on a
        # fresh work folder no project exists yet, so a dummy one holds the id.
        self._sections.setdefault(VOCAB_HOLDER, "\n".join([
            f"[{VOCAB_HOLDER}]", "name=vocabulary holder", "language=en", "backend=dummy", f"vocab={VOCAB_ID}"]))
        self._write_config()
        return self._call(["load-vocab", "--force", VOCAB_ID, str(vocab_file)],
                          "annif load-vocab", "load-vocab")

    def train(self, project: str, corpus: Path) -> Measurement:
        return self._call(["train", project, str(corpus)], f"annif train {project}", f"train-{project}")

    def hyperopt(self, project: str, corpus: Path, trials: int, metric: str = "NDCG@5"
                 ) -> tuple[dict[str, float], float | None, Measurement]:
        """``annif hyperopt`` of an ensemble: the source weights with the best ``metric`` on
        ``corpus``; returns ``(weights by project id, best score, measurement)``."""
        run = self._call(["hyperopt", project, str(corpus), "--trials", str(trials), "--metric", metric],
                         f"annif hyperopt {project}", f"hyperopt-{project}-{corpus.name}")
        weights = parse_hyperopt_sources(run.stdout)
        if not weights:
            raise StepFailed(f"annif hyperopt {project}: no 'sources=' line in its output (see {run.log})")
        score = re.search(r"Got best \S+ score ([\d.]+)", run.stdout)
        return weights, float(score.group(1)) if score else None, run

    def optimize(self, project: str, corpus: Path) -> tuple[int, float, float, Measurement]:
        """``annif optimize``: the limit and threshold with the best document-averaged F1
        on ``corpus``; returns ``(limit, threshold, F1 there, measurement)``."""
        run = self._call(["optimize", project, str(corpus)], f"annif optimize {project}",
                         f"optimize-{project}-{corpus.name}")
        match = _BEST_F1.search(run.stdout)
        if not match:
            raise StepFailed(f"annif optimize {project}: no 'Best F1 score (doc avg)' line in its output "
                             f"(see {run.log})")
        return int(match.group(2)), float(match.group(3)), float(match.group(1)), run

    def index(self, project: str, corpus: Path, limit: int = 100) -> Measurement:
        """Write ``<doc>.annif`` (``<uri><TAB>label<TAB>score`` lines) beside each ``<doc>.txt``."""
        return self._call(["index", project, str(corpus), "--limit", str(limit), "--threshold", "0",
                           "--suffix", ".annif", "--force"],
                          f"annif index {project}", f"index-{project}-{corpus.name}")

    def suggest_one(self, project: str, text: str) -> Measurement:
        """A cold start: new process, load the model, suggest for one short text."""
        return self._call(["suggest", project, "--limit", "1"], f"annif suggest {project}",
                          f"suggest-{project}", stdin_text=text)


_BEST_F1 = re.compile(r"Best\s+F1 score \(doc avg\):\s*([\d.]+)\s+Limit:\s*(\d+)\s+Threshold:\s*([\d.]+)")


def parse_hyperopt_sources(stdout: str) -> dict[str, float] | None:
    """The ``sources=a:w,b:w`` line ``annif hyperopt`` recommends for an ensemble."""
    for line in stdout.splitlines():
        if line.strip().startswith("sources="):
            weights = {}
            for item in line.strip()[len("sources="):].split(","):
                name, _, weight = item.partition(":")
                weights[name.strip()] = float(weight) if weight else 1.0
            return weights
    return None


def read_rankings(corpus: Path, doc_ids: list[str], suffix: str = ".annif") -> list[list[tuple[str, float]]]:
    """Annif's ranked suggestions per document, best first, as ``(uri, score)``."""
    rankings = []
    for doc_id in doc_ids:
        path = corpus / f"{doc_id}{suffix}"
        if not path.exists():
            raise StepFailed(f"Annif wrote no suggestions for {doc_id}: {path} is missing")
        hits = []
        for line in path.read_text(encoding="utf-8").splitlines():
            fields = line.split("\t")
            if len(fields) < 3:
                continue
            uri = fields[0].strip()
            if uri.startswith("<") and uri.endswith(">"):
                uri = uri[1:-1]
            hits.append((uri, float(fields[-1])))
        hits.sort(key=lambda hit: -hit[1])  # stable: Annif's order among equal scores is kept
        rankings.append(hits)
    return rankings


def trained_omikuji(home: Path, annif_data: Path, project: str, vocab: str = "yso") -> tuple[list[str], dict[str, str]]:
    """The ``annif`` command and its environment for an omikuji ``project`` already trained in ``annif_data``
    (the scoring benchmarks reuse a training's models): ``home`` gets the ``projects.cfg`` that names it,
    with Bonsai's settings where the project's id says ``bonsai``.

    Annif is the one in ``benchmarks/.work/annif-venv`` (installed by ``python -m benchmarks.scale``, or a
    link to one); a missing venv is a :class:`StepFailed` that says so, not a failed command later on.
    """
    work = Path(__file__).resolve().parents[1] / ".work"
    executable = work / "annif-venv" / "bin" / "annif"
    if not executable.exists():
        raise StepFailed(f"Annif {ANNIF_VERSION} is not installed at {executable.parent.parent}: run "
                         "`python -m benchmarks.scale` once (it installs it there), or link an existing Annif "
                         "venv to that path")
    if not (annif_data / "projects" / project).is_dir():
        raise StepFailed(f"{annif_data / 'projects' / project}: no trained Annif project {project!r} there "
                         "(--annif-data is Annif's data folder, --annif-project the project's id)")
    home.mkdir(parents=True, exist_ok=True)
    section = [f"[{project}]", f"name={project}", "language=en", f"vocab={vocab}", "backend=omikuji",
               "analyzer=snowball(english)", "limit=100"]
    if "bonsai" in project:
        section += ["cluster_balanced=False", "cluster_k=100", "max_depth=3"]
    (home / "projects.cfg").write_text("\n".join(section) + "\n", encoding="utf-8")
    env = {**os.environ, "ANNIF_PROJECTS": str(home / "projects.cfg"), "ANNIF_DATADIR": str(annif_data),
           "NLTK_DATA": str(work / "nltk_data")}
    env.pop("PYTHONPATH", None)  # keep Fahras's sources out of Annif's interpreter
    return [str(executable)], env

