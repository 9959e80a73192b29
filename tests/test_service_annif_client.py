"""Annif 1.4.3 itself as a client: its ``http`` backend pointed at a running Fahras server.

Slow: the first run installs Annif from PyPI into its own virtual
environment (about 3 minutes on the 2-core machine with the omikuji extra,
less without).  ``benchmarks/.work/annif-venv`` (the benchmarks' Annif) is
reused when it holds Annif 1.4.3.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from service_support import ROOT, Server, body_of, small_model, test_texts  # noqa: E402,F401  (fixtures)

ANNIF_VERSION = "1.4.3"


def annif_venv(tmp_path_factory) -> Path:
    """A virtual environment holding Annif 1.4.3: the benchmarks' one if present, else a new one."""
    shared = ROOT / "benchmarks" / ".work" / "annif-venv"
    for venv in (shared,):
        annif = venv / "bin" / "annif"
        if annif.exists():
            proc = subprocess.run([str(annif), "--version"], capture_output=True, text=True)
            if proc.returncode == 0 and proc.stdout.strip().split()[-1:] == [ANNIF_VERSION]:
                return venv
    venv = tmp_path_factory.mktemp("annif") / "venv"
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    proc = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", f"annif=={ANNIF_VERSION}"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"pip install annif=={ANNIF_VERSION} failed:\n{proc.stderr[-2000:]}")
    print(f"installed Annif {ANNIF_VERSION} in {time.monotonic() - started:.0f} s")
    return venv


@pytest.mark.slow
def test_annif_http_backend_returns_fahras_suggestions(small_model, test_texts, tmp_path, tmp_path_factory):
    from fahras import Indexer

    venv = annif_venv(tmp_path_factory)
    indexer = Indexer.load(small_model)
    with Server([str(small_model), "--db", "none"], cwd=tmp_path) as server:
        home = tmp_path / "annif"
        (home / "data").mkdir(parents=True)
        # Annif's vocabulary: the model's subjects with their English labels (the http backend
        # maps the URIs it receives onto it)
        subjects = home / "subjects.tsv"
        subjects.write_text("".join(f"<{info.uri}>\t{info.label}\n" for info in
                                    (indexer.subject_info(j) for j in range(len(indexer.subjects_)))),
                            encoding="utf-8")
        (home / "projects.cfg").write_text(
            "[fahras-http]\nname=Fahras over HTTP\nlanguage=en\nbackend=http\nvocab=unsc\n"
            f"endpoint={server.url}/v1/projects/unsc/suggest\n", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env.update(ANNIF_PROJECTS=str(home / "projects.cfg"), ANNIF_DATADIR=str(home / "data"))
        annif = str(venv / "bin" / "annif")
        loaded = subprocess.run([annif, "load-vocab", "--language", "en", "unsc", str(subjects)],
                                capture_output=True, text=True, env=env, cwd=home)
        assert loaded.returncode == 0, loaded.stderr
        checked = 0
        for raw in test_texts[:4]:
            text = body_of(raw)
            proc = subprocess.run([annif, "suggest", "fahras-http", "--limit", "10"], input=text,
                                  capture_output=True, text=True, env=env, cwd=home)
            assert proc.returncode == 0, proc.stderr
            through_annif = [line.split("\t")[0].strip("<>") for line in proc.stdout.splitlines() if line.strip()]
            own = httpx.post(f"{server.url}/v1/projects/unsc/suggest", data={"text": text, "limit": 10},
                             timeout=60).json()["results"]
            library = [s.uri for s in indexer.suggest(text, limit=10) if s.score > 0]
            assert through_annif == [r["uri"] for r in own] == library
            assert len(through_annif) == 10
            checked += 1
        assert checked == 4
