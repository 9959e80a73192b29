"""Suggest throughput of a trained model: ``fahras index`` and ``Indexer.suggest_batch``, side by side.

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.index_throughput MODEL FOLDER [--src OTHER/src ...] [--jobs 1 --jobs 2]

``FOLDER`` holds the documents (plain text, e.g. the 2012-2013 resolutions
repeated to at least 1000 documents, as ``benchmarks/vs_annif.py`` writes them).  Each
source tree (``--src``, default this repository's ``src``; give another
checkout's ``src`` to compare versions) is measured in turn, rounds
interleaved so that the load of a shared machine hits all of them alike:

* ``index``: docs/s of ``fahras index MODEL FOLDER --out TMP --limit 100
  --threshold 0 --force --quiet [--jobs N]``, wall clock minus the cold start
  of one ``fahras suggest`` (what ``vs_annif.py`` reports);
* ``stages`` (in process, after loading): milliseconds per document spent
  reading the files, analysing them (furniture, language, tokens) and in each
  base backend's ``predict_scores`` (blocks of 64 documents, as ``fahras
  index`` predicts), and docs/s of ``suggest_batch`` on texts already read;
  each tree ``--stage-runs`` times, alternating, keeping each stage's fastest
  run;
* ``--check``: whether every source tree gives the first one's scores
  (``np.allclose`` and bit for bit), tokens and explained suggestions.

With ``--annif PROJECT`` (e.g. ``ensemble-time3``) the same ``index``
measurement is made for an Annif project that ``vs_annif.py`` trained
(``benchmarks/.work/annif-venv``, ``benchmarks/.work/annif``).  ``annif
index`` 1.4.3 has no ``--jobs``: at N jobs, N ``annif index`` processes run at
once, each on 1/N of the documents (one cold start is taken out, as for
Fahras), which is how a user would parallelise it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

_STAGES = r"""
import contextlib, json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from fahras import Indexer
from fahras.text import detect_language, mask_furniture
try:
    from fahras.models.features import sharing_rows
except ImportError:  # before rows were shared
    sharing_rows = contextlib.nullcontext
model, folder = sys.argv[1], Path(sys.argv[2])
indexer = Indexer.load(model)
load = time.perf_counter() - t0
paths = sorted(p for p in folder.iterdir() if p.suffix == ".txt")
t0 = time.perf_counter()
texts = [p.read_text(encoding="utf-8") for p in paths]
read = time.perf_counter() - t0
out = {"docs": len(texts), "load": load, "read": read}
indexer.suggest_batch(texts[:2], limit=100, threshold=0)  # warm-up (lingua, stemmers)


def timed(name, call):
    t0 = time.perf_counter()
    result = call()
    out[name] = time.perf_counter() - t0
    return result


masked = timed("  mask_furniture", lambda: [mask_furniture(t)[0] for t in texts])
langs = timed("  detect_language", lambda: [detect_language(m) for m in masked])
analyzer = indexer.analyzer_
tokenizers = [analyzer.analyzer_for(lang) if hasattr(analyzer, "analyzer_for") else analyzer for lang in langs]
timed("  tokens", lambda: [getattr(a, "deferred_tokens", a.tokens)(m) for a, m in zip(tokenizers, masked)])
analysed = timed("analyse (all)", lambda: [indexer.analyse(t) for t in texts])
backend = indexer.backend_
bases = getattr(backend, "bases_", [backend])
# in blocks of 64 documents, as `fahras index` predicts (a single call over every
# document would time the stacker on matrices far larger than it ever sees)
blocks = [analysed[i:i + 64] for i in range(0, len(analysed), 64)]


def per_block(call):
    return lambda: [call(block) for block in blocks]


with sharing_rows():
    first = next((b for b in bases if hasattr(b, "features_")), None)
    if first is not None:
        timed("  features (one space)", per_block(first.features_.transform))
    for n, base in enumerate(bases):
        timed(f"  predict {n} {base.name}", per_block(base.predict_scores))
    timed("  stacker etc.", per_block(backend.predict_scores))
out["  stacker etc."] -= sum(v for k, v in out.items() if k.startswith("  predict"))
with sharing_rows():
    timed("predict (all)", per_block(backend.predict_scores))
timed("suggest_batch (texts)", lambda: indexer.suggest_batch(texts, limit=100, threshold=0))
print(json.dumps(out))
"""


_SCORES = r"""
import json, sys
from pathlib import Path
import numpy as np
from fahras import Indexer
from fahras.text import extract
model, folder, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
indexer = Indexer.load(model)
texts = [extract(p, strip=False).text for p in sorted(folder.iterdir()) if p.suffix == ".txt"]
np.save(out / "scores.npy", indexer.scores(texts))
tokens = [[list(t) if isinstance(t, tuple) else [t.term, t.start, t.end] for t in indexer.analyse(x).tokens]
          for x in texts]
explained = [[s.to_dict(all_labels=True) for s in r] for r in indexer.suggest_batch(texts[:10], limit=5, explain=True)]
(out / "rest.json").write_text(json.dumps({"tokens": tokens, "explained": explained}, ensure_ascii=False))
"""


def check(srcs: list[Path], model: Path, folder: Path) -> None:
    """Scores, tokens and explained suggestions of every source tree against the first one's."""
    import numpy as np

    with tempfile.TemporaryDirectory(prefix="fahras-check-") as tmp:
        found = []
        for n, src in enumerate(srcs):
            out = Path(tmp) / str(n)
            out.mkdir()
            run = subprocess.run([sys.executable, "-c", _SCORES, str(model), str(folder), str(out)], env=_env(src),
                                 capture_output=True, text=True)
            if run.returncode != 0:
                raise SystemExit(run.stderr[-2000:])
            found.append((np.load(out / "scores.npy"), json.loads((out / "rest.json").read_text(encoding="utf-8"))))
        scores, rest = found[0]
        for src, (other_scores, other_rest) in zip(srcs[1:], found[1:]):
            print(f"check {src} against {srcs[0]} on {scores.shape[0]} documents x {scores.shape[1]} subjects: "
                  f"allclose {np.allclose(scores, other_scores)}, identical {np.array_equal(scores, other_scores)}, "
                  f"max |diff| {np.abs(scores - other_scores).max():.3g}; tokens identical "
                  f"{rest['tokens'] == other_rest['tokens']}; explained suggestions identical "
                  f"{rest['explained'] == other_rest['explained']}")


def _env(src: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(src)
    return env


def _cli(src: Path) -> list[str]:
    return [sys.executable, "-c", "from fahras.cli import main; main()"]


#: CPU seconds (user + system) of the last command run by :func:`_timed`, workers included
LAST_CPU = [0.0]


def _timed(cmd: list[str], env: dict | None = None, stdin: str | None = None, cwd: Path | None = None) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    run = subprocess.run(cmd, env=env, input=stdin, text=True, capture_output=True, cwd=cwd)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_CPU[0] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if run.returncode != 0:
        raise SystemExit(f"failed ({run.returncode}): {' '.join(cmd)}\n{run.stderr[-2000:]}")
    return seconds


def fahras_index(src: Path, model: Path, folder: Path, jobs: int, probe: str,
                 lang: str | None = None) -> tuple[float, float, float]:
    """(index seconds, cold-start seconds of one suggest, CPU seconds of index minus those of the suggest)."""
    env = _env(src)
    lang_args = ["--lang", lang] if lang else []
    cold = _timed([*_cli(src), "suggest", str(model), "--limit", "1", *lang_args], env, probe)
    cold_cpu = LAST_CPU[0]
    with tempfile.TemporaryDirectory(prefix="fahras-thr-") as out:
        extra = ["--jobs", str(jobs)] if jobs != 1 else []
        busy = _timed([*_cli(src), "index", str(model), str(folder), "--out", out, "--limit", "100",
                       "--threshold", "0", "--force", "--quiet", *lang_args, *extra], env)
    return busy, cold, LAST_CPU[0] - cold_cpu


def _annif_env() -> tuple[dict[str, str], Path]:
    work = REPO / "benchmarks" / ".work"
    env = dict(os.environ)
    env.update(NLTK_DATA=str(work / "nltk_data"), ANNIF_PROJECTS=str(work / "annif" / "projects.cfg"),
               ANNIF_DATADIR=str(work / "annif" / "data"))
    env.pop("PYTHONPATH", None)
    return env, work / "annif"


def annif_index(annif: Path, project: str, folder: Path, jobs: int, probe: str) -> tuple[float, float, float]:
    """(seconds, cold start) of ``annif index`` (which has no --jobs): with ``jobs`` > 1, that many
    ``annif index`` processes at once, each on its share of the documents (what a user would do)."""
    env, home = _annif_env()
    cold = _timed([str(annif), "suggest", project, "--limit", "1"], env, probe, cwd=home)
    cold_cpu = LAST_CPU[0]
    with tempfile.TemporaryDirectory(prefix="annif-thr-") as tmp:
        docs = sorted(p for p in folder.iterdir() if p.suffix == ".txt")
        parts = []
        for j in range(jobs):
            part = Path(tmp) / f"part{j}"
            part.mkdir()
            for doc in docs[j::jobs]:
                shutil.copy(doc, part / doc.name)
            parts.append(part)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        procs = [subprocess.Popen([str(annif), "index", project, str(part), "--limit", "100", "--threshold", "0",
                                   "--force"], env=env, cwd=home, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True) for part in parts]
        for proc in procs:
            _, err = proc.communicate()
            if proc.returncode != 0:
                raise SystemExit(f"annif index failed: {err[-2000:]}")
        busy = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return busy, cold, cpu - jobs * cold_cpu


def stages(src: Path, model: Path, folder: Path) -> dict:
    run = subprocess.run([sys.executable, "-c", _STAGES, str(model), str(folder)], env=_env(src),
                         capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(run.stderr[-2000:])
    return json.loads(run.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--src", type=Path, action="append", help="source tree(s) to compare (default: ./src)")
    parser.add_argument("--jobs", type=int, action="append", help="job counts for fahras index (default: 1)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-stages", action="store_true")
    parser.add_argument("--stage-runs", type=int, default=3,
                        help="measure the stages this many times per tree, alternating, and keep each "
                             "stage's fastest (default: 3)")
    parser.add_argument("--check", action="store_true",
                        help="compare the scores, tokens and explanations of the source trees first")
    parser.add_argument("--lang", help="the documents' language (passed to fahras as --lang; default: detected)")
    parser.add_argument("--annif", help="also measure this Annif project (e.g. ensemble) at the same job counts")
    args = parser.parse_args()
    srcs = [s.resolve() for s in (args.src or [REPO / "src"])]
    if args.check:
        check(srcs, args.model, args.folder)
    jobs = args.jobs or [1]
    docs = sorted(p for p in args.folder.iterdir() if p.suffix == ".txt")
    probe = docs[0].read_text(encoding="utf-8")[:1000]
    n = len(docs)
    results: dict[tuple[str, int], list[float]] = {}
    cpu_rates: dict[tuple[str, int], list[float]] = {}
    has_jobs = {src: "--jobs" in subprocess.run([*_cli(src), "index", "--help"], env=_env(src),
                                                capture_output=True, text=True).stdout for src in srcs}
    for r in range(args.rounds):
        for src in srcs:
            for j in jobs:
                if j != 1 and not has_jobs[src]:
                    continue
                busy, cold, cpu = fahras_index(src, args.model, args.folder, j, probe, args.lang)
                rate = n / (busy - cold)
                results.setdefault((str(src), j), []).append(rate)
                cpu_rates.setdefault((str(src), j), []).append(n / cpu)
                print(f"round {r + 1}: {src} --jobs {j}: index {busy:.2f} s, cold {cold:.2f} s, "
                      f"{rate:.1f} docs/s; {n / cpu:.1f} docs per CPU second", flush=True)
        if args.annif:
            annif = REPO / "benchmarks/.work/annif-venv/bin/annif"
            for j in jobs:
                busy, cold, cpu = annif_index(annif, args.annif, args.folder, j, probe)
                rate = n / (busy - cold)
                results.setdefault((f"annif {args.annif}", j), []).append(rate)
                cpu_rates.setdefault((f"annif {args.annif}", j), []).append(n / cpu)
                print(f"round {r + 1}: annif {args.annif} --jobs {j}: index {busy:.2f} s, cold {cold:.2f} s, "
                      f"{rate:.1f} docs/s; {n / cpu:.1f} docs per CPU second", flush=True)
    print(f"\n| source | jobs | docs/s (median of {args.rounds}) | best | docs per CPU s (median) |\n"
          "|---|---:|---:|---:|---:|")
    for key, rates in results.items():
        per_cpu = f"{statistics.median(cpu_rates[key]):.1f}" if key in cpu_rates else "n/a"
        print(f"| {key[0]} | {key[1]} | {statistics.median(rates):.1f} | {max(rates):.1f} | {per_cpu} |")
    if not args.no_stages:
        # each tree's stages in a fresh process, trees alternating; each stage's
        # fastest run (a busy moment only ever slows a stage down)
        runs: dict[Path, list[dict]] = {src: [] for src in srcs}
        for _ in range(max(1, args.stage_runs)):
            for src in srcs:
                runs[src].append(stages(src, args.model, args.folder))
        for src in srcs:
            st = {key: (min(r[key] for r in runs[src]) if key != "docs" else runs[src][0][key])
                  for key in runs[src][0]}
            print(f"\nstages for {src} ({st['docs']} docs; ms per document, the fastest of "
                  f"{len(runs[src])} runs):")
            for key, value in st.items():
                if key != "docs":
                    print(f"  {key:28s} {1000 * value / (1 if key == 'load' else st['docs']):8.2f}"
                          + (" (ms in all)" if key == "load" else ""))
            print(f"  suggest_batch docs/s         {st['docs'] / st['suggest_batch (texts)']:8.1f}")


if __name__ == "__main__":
    main()
