"""Coverage-guided fuzzing with atheris (slow; skipped where atheris is not installed).

One harness feeds the bytes atheris generates to every reader Fahras owns
(the first byte picks which): the UN export parser, the Annif TSV and JSONL
readers (plain and gzipped), the UNBIS JSON, table and SKOS (Turtle, RDF/XML)
vocabulary readers, the MARCXML reader, and extraction under each suffix.  Anything but an :class:`InputError` (or a
result) is a crash: atheris stops and the test fails, printing the input.
Fixed seed and run count (``FAHRAS_ATHERIS_RUNS``, default 3000).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow

HARNESS = textwrap.dedent('''
    import gzip, logging, os, sys, tempfile
    from pathlib import Path
    import atheris

    with atheris.instrument_imports(include=["fahras"]):
        from fahras.corpus import read_corpus
        from fahras.corpus.marcxml import iter_marcxml_bytes
        from fahras.corpus.unexport import parse_export
        from fahras.errors import InputError
        from fahras.text import extract_bytes
        from fahras.vocab import load_vocabulary

    logging.disable(logging.CRITICAL)
    WORK = Path(tempfile.mkdtemp(prefix="fahras-atheris-"))
    SUFFIXES = [".txt", ".pdf", ".docx", ".html", ""]

    def target(data: bytes) -> None:
        if not data:
            return
        choice, data = data[0] % 11, data[1:]
        try:
            if choice == 0:
                parse_export(data, "doc.txt")
            elif choice in (1, 2):
                path = WORK / ("c.tsv" if choice == 1 else "c.jsonl")
                path.write_bytes(data)
                list(read_corpus(path))
            elif choice == 3:
                path = WORK / "c.tsv.gz"
                path.write_bytes(gzip.compress(data)[: max(10, len(data))])
                list(read_corpus(path))
            elif choice == 4:
                path = WORK / "v.json"
                path.write_bytes(data)
                load_vocabulary(path)
            elif choice == 5:
                path = WORK / "v.csv"
                path.write_bytes(data)
                load_vocabulary(path)
            elif choice in (8, 9):
                path = WORK / ("v.ttl" if choice == 8 else "v.rdf")
                path.write_bytes(data)
                load_vocabulary(path)
                for cache in WORK.glob("*.fahras-cache.json"):
                    cache.unlink()
            elif choice == 10:
                list(iter_marcxml_bytes(data, "records.xml"))
            else:
                suffix = SUFFIXES[data[0] % len(SUFFIXES)] if data else ""
                extract_bytes(data[1:], "doc" + suffix, detect=choice == 7)
        except InputError:
            pass

    atheris.Setup(sys.argv, target)
    atheris.Fuzz()
''')


def test_atheris_finds_no_crash(tmp_path):
    pytest.importorskip("atheris")
    runs = int(os.environ.get("FAHRAS_ATHERIS_RUNS", "3000"))
    script = tmp_path / "harness.py"
    script.write_text(HARNESS)
    proc = subprocess.run([sys.executable, str(script), f"-runs={runs}", "-seed=1", "-max_len=4096",
                           "-rss_limit_mb=2048", "-timeout=60", f"-artifact_prefix={tmp_path}/"],
                          capture_output=True, text=True, timeout=3600)
    tail = proc.stderr[-4000:]
    assert proc.returncode == 0, tail
    assert f"Done {runs} runs" in proc.stderr, tail
