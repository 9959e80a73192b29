"""A truly cold load: ``fahras suggest`` of one title with the model's files out of the page cache, beside Annif.

Usage (from the repository root)::

    nice -n 10 .venv/bin/python -m benchmarks.cold_load --fahras-model MODEL \\
        [--annif-data DATA --annif-project omikuji-bonsai-671068] [--runs 3] [--copy]

Each run evicts every file of the model folder from the page cache
(``posix_fadvise(POSIX_FADV_DONTNEED)`` on each file: its clean pages are
dropped, as ``echo 1 > /proc/sys/vm/drop_caches`` would drop them, which a
container cannot write), checks with ``mincore`` that no page of them is left
in memory, then starts ``fahras suggest MODEL --lang en --limit 5`` with one
title on standard input and records its wall and CPU seconds, peak RSS and
major page faults (the pages it had to read from disk), from ``wait4``.
Fahras is measured in two states of its checksum cache (``FAHRAS_CACHE_DIR``,
where :mod:`fahras.store.modeldir` remembers the model files it has verified):

- ``fahras (checksums cached)``: the cache holds the model's files (made by a
  warm-up run), its own file evicted too: what every load after the first is;
- ``fahras (checksums cleared)``: an empty cache, so every model file is read
  whole and hashed: the first load of a model on a machine.

Annif (``annif suggest PROJECT --limit 5``, the venv in
``benchmarks/.work/annif-venv``) is measured the same way with its project's
folder and its vocabulary's folder evicted.  The Python installations stay in
the page cache for both (only the models are cold), and Fahras's modules are
byte-compiled by the warm-up (``PYTHONDONTWRITEBYTECODE`` is unset for it, as
an installed package's are; Annif's venv has them from its install).  With ``--copy`` the
models are first copied into ``--work`` (so that evicting them does not slow
anyone else reading the originals) and measured there.  Results (every run,
and the load average before each) go to ``benchmarks/results/cold-load-<date>.json``.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import mmap
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness.annif_runner import trained_omikuji
from benchmarks.harness.measure import StepFailed
from fahras.batch import write_atomic

REPO = Path(__file__).resolve().parent.parent
TITLE = "Economic history of the Nordic countries in the nineteenth century"


def log(message: str) -> None:
    print(f"[cold-load {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def files_under(folders: list[Path]) -> list[Path]:
    return sorted(p for folder in folders for p in Path(folder).rglob("*") if p.is_file())


def evict(paths: list[Path]) -> None:
    """Drop the clean page-cache pages of each file (``POSIX_FADV_DONTNEED``)."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


_LIBC = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def resident_pages(path: Path) -> tuple[int, int]:
    """(pages of ``path`` in the page cache, pages of ``path``), from ``mincore`` on a mapping of it."""
    size = path.stat().st_size
    if size == 0:
        return 0, 0
    page = mmap.PAGESIZE
    n_pages = (size + page - 1) // page
    with open(path, "rb") as file:
        mapped = mmap.mmap(file.fileno(), size, access=mmap.ACCESS_COPY)  # mapping reads no page
        view = ctypes.c_char.from_buffer(mapped)
        vector = (ctypes.c_ubyte * n_pages)()
        failed = _LIBC.mincore(ctypes.c_void_p(ctypes.addressof(view)), ctypes.c_size_t(size), vector)
        del view
        mapped.close()
    if failed != 0:
        raise OSError(ctypes.get_errno(), "mincore failed", str(path))
    resident = sum(v & 1 for v in vector)
    return resident, n_pages


def resident_total(paths: list[Path]) -> tuple[int, int]:
    total = [0, 0]
    for path in paths:
        resident, pages = resident_pages(path)
        total[0] += resident
        total[1] += pages
    return total[0], total[1]


def timed(command: list[str], env: dict, cwd: Path | None, stdin_text: str) -> dict:
    """Run ``command``; its wall and CPU seconds, peak RSS and major faults (``wait4``: this child alone)."""
    with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as err:
        stdin.write(stdin_text.encode("utf-8"))
        stdin.seek(0)
        start = time.perf_counter()
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdin=stdin, stdout=subprocess.PIPE, stderr=err)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"failed ({proc.returncode}): {' '.join(command)}\n"
                             f"{err.read().decode('utf-8', 'replace')[-2000:]}")
    return {"wall_s": round(seconds, 3), "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
            "peak_rss_mb": round(usage.ru_maxrss / 1024), "major_faults": usage.ru_majflt,
            "first_line": out.decode("utf-8", "replace").splitlines()[0] if out.strip() else ""}


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cold_load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--fahras-model", type=Path, required=True, help="a trained Fahras model folder")
    parser.add_argument("--annif-data", type=Path, help="an Annif data folder (projects/, vocabs/)")
    parser.add_argument("--annif-project", help="the Annif project id, e.g. omikuji-bonsai-671068 (Bonsai settings)")
    parser.add_argument("--annif-vocab", default="yso", help="the Annif project's vocabulary id")
    parser.add_argument("--runs", type=int, default=3, help="cold runs of each (default: 3)")
    parser.add_argument("--copy", action="store_true",
                        help="copy the models into --work first and measure the copies (others reading the "
                             "originals are then not slowed by the evictions)")
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / ".work" / "cold-load")
    parser.add_argument("--title", default=TITLE, help="the one text suggested for")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" /
                        f"cold-load-{time.strftime('%Y-%m-%d')}.json")
    args = parser.parse_args(argv)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    model = args.fahras_model.resolve()
    annif_data = args.annif_data.resolve() if args.annif_data else None
    if args.copy:
        copy = work / "fahras-model"
        if not copy.exists():
            log(f"copying {model} to {copy}")
            shutil.copytree(model, copy.with_suffix(".tmp"))
            copy.with_suffix(".tmp").rename(copy)
        model = copy
        if annif_data is not None and args.annif_project:
            data = work / "annif-data"
            if not (data / "projects" / args.annif_project).exists():
                log(f"copying the Annif project {args.annif_project} and vocabulary {args.annif_vocab}")
                shutil.rmtree(data, ignore_errors=True)
                shutil.copytree(annif_data / "projects" / args.annif_project, data / "projects" / args.annif_project,
                                ignore=shutil.ignore_patterns("*-train.txt"))
                shutil.copytree(annif_data / "vocabs" / args.annif_vocab, data / "vocabs" / args.annif_vocab)
            annif_data = data

    script = Path(sys.executable).parent / "fahras"
    fahras = [str(script)] if script.exists() else [sys.executable, "-m", "fahras"]
    cache = work / "checksum-cache"
    systems: dict[str, dict] = {}
    fahras_files = files_under([model])

    def fahras_system(cleared: bool) -> dict:
        env = {**os.environ, "FAHRAS_CACHE_DIR": str(cache)}
        # byte-compiled modules written (the warm-up writes them), as an installed package has them
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        return {"command": [*fahras, "suggest", str(model), "--lang", "en", "--limit", "5"], "env": env,
                "cwd": None, "files": fahras_files, "cache": cache, "clear": cleared}

    systems["fahras (checksums cached)"] = fahras_system(False)
    systems["fahras (checksums cleared)"] = fahras_system(True)
    if annif_data is not None and args.annif_project:
        home = work / "annif-home"
        annif, env = trained_omikuji(home, annif_data, args.annif_project, args.annif_vocab)
        systems["annif " + args.annif_project] = {
            "command": [*annif, "suggest", args.annif_project, "--limit", "5"], "env": env,
            "cwd": home, "files": files_under([annif_data / "projects" / args.annif_project,
                                                annif_data / "vocabs" / args.annif_vocab]),
            "cache": None, "clear": False}

    results = {"commit": _commit(), "fahras_model": str(args.fahras_model), "measured_model": str(model),
               "annif_project": args.annif_project, "title": args.title, "runs": args.runs,
               "machine": {"cores": os.cpu_count(), "load_at_start": [round(x, 2) for x in os.getloadavg()]},
               "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "systems": {}}

    def save() -> None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(args.out, json.dumps(results, indent=1) + "\n")

    # the checksum cache made once, warm (it is what any load after a model's first finds)
    log("warm-up: fahras suggest with an empty checksum cache (fills it)")
    shutil.rmtree(cache, ignore_errors=True)
    warm = systems["fahras (checksums cached)"]
    timed(warm["command"], warm["env"], warm["cwd"], args.title + "\n")
    cache_files = files_under([cache])
    for run in range(args.runs):  # rounds interleaved: a busy moment hits every system alike
        for name, system in systems.items():
            files = list(system["files"])
            if system["cache"] is not None:
                if system["clear"]:
                    saved = cache.with_name(cache.name + ".kept")
                    shutil.rmtree(saved, ignore_errors=True)
                    shutil.copytree(cache, saved)
                    shutil.rmtree(cache)
                files += files_under([cache])
            evict(files)
            resident, pages = resident_total(files)
            load = [round(x, 2) for x in os.getloadavg()]
            measured = timed(system["command"], system["env"], system["cwd"], args.title + "\n")
            if system["cache"] is not None and system["clear"]:
                shutil.rmtree(cache, ignore_errors=True)
                saved.rename(cache)  # the cache as the warm runs find it
            measured.update({"resident_pages_before": resident, "pages": pages, "load_before": load})
            results["systems"].setdefault(name, []).append(measured)
            log(f"run {run + 1} {name}: {measured['wall_s']:.2f} s wall, {measured['cpu_s']:.2f} s CPU, "
                f"{measured['peak_rss_mb']} MB, {measured['major_faults']} major faults "
                f"({resident} of {pages} pages resident before; load {load[0]})")
            save()
    results["cache_files"] = [str(p) for p in cache_files]
    results["summary"] = {name: {key: statistics.median(r[key] for r in runs)
                                 for key in ("wall_s", "cpu_s", "peak_rss_mb", "major_faults")}
                          for name, runs in results["systems"].items()}
    results["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    save()
    print("\n| system | wall s (median) | CPU s | peak RSS MB | major faults | pages resident before |\n"
          "|---|---:|---:|---:|---:|---:|")
    for name, runs in results["systems"].items():
        s = results["summary"][name]
        print(f"| {name} | {s['wall_s']:.2f} ({min(r['wall_s'] for r in runs):.2f}-"
              f"{max(r['wall_s'] for r in runs):.2f}) | {s['cpu_s']:.2f} | {s['peak_rss_mb']:.0f} | "
              f"{s['major_faults']:.0f} | {max(r['resident_pages_before'] for r in runs)} of {runs[0]['pages']} |")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except StepFailed as exc:  # a step that cannot run (Annif not installed, a command that failed): say which
        print(f"{Path(sys.argv[0]).stem}: {exc}", file=sys.stderr)
        sys.exit(2)
