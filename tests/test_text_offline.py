"""Every text resource works from what its wheel ships: no network, no cache files, quiet stdout."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import socket

    def refuse(*args, **kwargs):
        raise OSError("network access attempted")

    socket.socket.connect = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse

    from fahras.text import detect_language, get_analyzer
    from fahras.text.arabic import ArabicAnalyzer

    texts = {
        "en": "The Council renews the mandate of the mission.",
        "fr": "Le Conseil proroge le mandat de la mission.",
        "es": "El Consejo prorroga el mandato de la misión.",
        "ru": "Совет продлевает мандат миссии.",
        "ar": "يمدد المجلس ولاية البعثة.",
        "zh": "安理会延长特派团的任务期限。",
    }
    for lang, text in texts.items():
        assert detect_language(text) == lang, lang
        assert get_analyzer(lang).terms(text), lang
        assert get_analyzer("auto").terms(text) == get_analyzer(lang).terms(text), lang
    assert ArabicAnalyzer(lemmas=True).terms(texts["ar"])
    print("ok")
""")


def test_text_pipeline_runs_offline_writes_nothing_and_prints_nothing(tmp_path):
    home, temp, cache = tmp_path / "home", tmp_path / "tmp", tmp_path / "cache"
    for folder in (home, temp, cache):
        folder.mkdir()
    env = dict(os.environ, HOME=str(home), TMPDIR=str(temp), XDG_CACHE_HOME=str(cache),
               PYTHONPATH=os.pathsep.join(p for p in sys.path if p), PYTHONDONTWRITEBYTECODE="1")
    run = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "ok\n"
    assert run.stderr == ""
    written = [p for folder in (home, temp, cache) for p in folder.rglob("*")]
    assert written == []
