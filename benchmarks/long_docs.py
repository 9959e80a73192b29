"""Batch indexing of 50,000 long documents, Fahras and Annif 1.4.3 side by side (issue #19, throughput only).

    python -m benchmarks.long_docs [--docs 50000] [--annif-backend omikuji-bonsai] [--work DIR]
                                   [--out benchmarks/results/long-docs-DATE.json]

Both tools are trained on the 529 shared Security Council resolutions
(``../shared/data/unsc-resolutions/train``, full English texts of about
11 KB, UNBIS subjects): Fahras's default (``fahras train --vocab
unbis/all_topics.json``), Annif's ``--annif-backend`` (default: omikuji with
Bonsai settings; ``tfidf`` is the cheaper one) on the same documents and
subjects (``benchmarks/harness/data.py``: headings mapped to UNBIS concepts,
else local concepts, as Fahras maps them).

The documents indexed are the resolutions' body texts (the subject line
removed) repeated in turn until there are ``--docs`` of them
(``--mode repeat``), or each one the concatenation of two different
resolutions (``--mode concat``: resolution ``i`` and resolution ``i + 1 +
i // 529``, so no two documents are the same text), one ``.txt`` file each.
Each tool indexes the whole folder in one process:

- Fahras: ``fahras index MODEL FOLDER --out OUT --output-format jsonl
  --jobs 1`` (one ``suggestions.jsonl`` for the run);
- Annif: ``annif index PROJECT FOLDER --limit 10 --suffix .annif-long
  --force`` (one result file beside each document: Annif has no one-file
  output for a folder).

Measured for each (``benchmarks.scale.run_tree``): wall clock, CPU seconds
and peak RSS of the whole process tree (sampled every 0.2 s), documents per
second of wall clock and per CPU second (the model's load included: it is
small next to 50,000 documents; the cold load of one document is measured
separately), and the load average before and after.  The machine is shared:
compare CPU seconds.  Run it niced (``nice -n 15``).  These are throughput
figures on repeated UN text, not quality figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from benchmarks.harness.annif_runner import ANNIF_VERSION, Annif, project_id
from benchmarks.harness.data import read_documents, write_annif_folder, write_annif_vocabulary
from benchmarks.scale import StepFailed, du_mb, niced, run_tree

REPO = Path(__file__).resolve().parent.parent
DATA = (REPO / ".." / "shared" / "data").resolve()
RESOLUTIONS = DATA / "unsc-resolutions" / "train"
UNBIS = DATA / "unbis" / "all_topics.json"
RUN = "longdocs"
PROBE = "The Security Council decides to extend the mandate of the peacekeeping mission in Sudan."


def log(message: str) -> None:
    print(f"[long_docs {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def build_folder(texts: list[str], folder: Path, n: int, mode: str) -> Path:
    """``n`` documents (``NNNNN.txt``) made of ``texts`` (written once; kept for the next run)."""
    done = folder / ".complete"
    if done.exists() and done.read_text() == f"{n} {mode} {len(texts)}":
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for i in range(n):
        k = i % len(texts)
        text = texts[k]
        if mode == "concat":
            text = text + "\n\n" + texts[(k + 1 + i // len(texts)) % len(texts)]
        (folder / f"{i:05d}.txt").write_text(text + "\n", encoding="utf-8")
    done.write_text(f"{n} {mode} {len(texts)}")
    return folder


def measured(run, docs: int | None = None) -> dict:
    out = {"seconds": round(run.seconds, 1), "cpu_seconds": round(run.cpu_seconds, 1),
           "peak_rss_mb": round(run.peak_rss_mb)}
    if docs:
        out.update(docs=docs, docs_per_s=round(docs / run.seconds, 1),
                   docs_per_cpu_s=round(docs / max(run.cpu_seconds, 1e-3), 1))
    return out


def fahras_cli() -> list[str]:
    script = Path(sys.executable).parent / "fahras"
    return [str(script)] if script.exists() else [sys.executable, "-m", "fahras"]


def run_fahras(work: Path, folder: Path, n: int, logs: Path) -> dict:
    cli = [*niced(), *fahras_cli()]
    model = work / "fahras-model"
    result: dict = {"system": "fahras (default ensemble)"}
    if not (model / "manifest.json").exists():
        log("fahras train (529 resolutions)")
        shutil.rmtree(model, ignore_errors=True)
        run = run_tree([*cli, "train", "--vocab", str(UNBIS), "--out", str(model), "--quiet", str(RESOLUTIONS)],
                       cwd=REPO, log_file=logs / "fahras-train.log")
        result["train"] = {**measured(run), "load_after": load()}
    result["model_mb"] = round(du_mb(model), 1)
    cold = run_tree([*cli, "suggest", str(model), "--limit", "5"], cwd=REPO, stdin_text=PROBE + "\n",
                    log_file=logs / "fahras-suggest.log")
    result["cold_load"] = measured(cold)
    out = work / "fahras-out"
    shutil.rmtree(out, ignore_errors=True)
    log(f"fahras index ({n:,} documents, jsonl, --jobs 1)")
    before = load()
    run = run_tree([*cli, "index", str(model), str(folder), "--out", str(out), "--output-format", "jsonl",
                    "--jobs", "1", "--quiet"], cwd=REPO, log_file=logs / "fahras-index.log", check=False)
    if run.returncode not in (0, 65):
        raise StepFailed(f"fahras index exited {run.returncode} (log {logs / 'fahras-index.log'})")
    written = sum(1 for _ in open(out / "suggestions.jsonl", encoding="utf-8"))
    result["index"] = {**measured(run, n), "exit": run.returncode, "documents_written": written,
                       "output": "one suggestions.jsonl", "load_before": before, "load_after": load()}
    return result


def run_annif(work: Path, folder: Path, n: int, backend: str, logs: Path) -> dict:
    annif = Annif(work.parent)  # <work>/../annif-venv (a link to the shared one is fine)
    annif.home = work / "annif"
    version = annif.installed_version()
    if version != ANNIF_VERSION:
        raise StepFailed(f"Annif {ANNIF_VERSION} is not installed in {annif.venv} (found {version})")
    annif._write_punkt_stub()

    def call(args: list[str], name: str, stdin_text: str | None = None, check: bool = True):
        return run_tree([*niced(), str(annif.executable), *args], env=annif.env, cwd=annif.home,
                        log_file=logs / f"annif-{name}.log", stdin_text=stdin_text, check=check)

    result: dict = {"system": f"Annif {ANNIF_VERSION} {backend}"}
    pid = project_id(backend, RUN)
    from fahras.vocab import load_vocabulary

    vocab = load_vocabulary(UNBIS)
    docs = read_documents(RESOLUTIONS, vocab)
    vocab_csv = work / "annif-vocab.csv"
    write_annif_vocabulary(vocab, docs, vocab_csv)
    annif.load_vocab(vocab_csv)
    annif.add_project(backend, RUN, {})
    model = annif.home / "data" / "projects" / pid
    if not model.exists():
        train = write_annif_folder(docs, work / "annif-train")
        log(f"annif train {pid} --jobs 2 (529 resolutions)")
        run = call(["train", pid, str(train), "--jobs", "2"], "train")
        result["train"] = {**measured(run), "load_after": load()}
    result["model_mb"] = round(du_mb(model), 1)
    result["cold_load"] = measured(call(["suggest", pid, "--limit", "5"], "suggest", stdin_text=PROBE + "\n"))
    log(f"annif index {pid} ({n:,} documents)")
    before = load()
    run = call(["index", pid, str(folder), "--limit", "10", "--suffix", ".annif-long", "--force"], "index")
    written = sum(1 for _ in folder.glob("*.annif-long"))
    result["index"] = {**measured(run, n), "documents_written": written, "output": "one .annif-long file per document",
                       "load_before": before, "load_after": load()}
    return result


def commit() -> str:
    import subprocess

    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                          text=True).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.long_docs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=50_000, help="documents to index (default 50,000)")
    parser.add_argument("--mode", choices=("repeat", "concat"), default="repeat",
                        help="repeat: the resolutions in turn; concat: two different resolutions per document")
    parser.add_argument("--annif-backend", default="omikuji-bonsai",
                        help="Annif backend (benchmarks/harness/annif_runner.py BACKENDS; default omikuji-bonsai)")
    parser.add_argument("--skip-fahras", action="store_true", help="measure Annif only")
    parser.add_argument("--skip-annif", action="store_true", help="measure Fahras only")
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / ".work",
                        help="work folder (annif-venv inside; models and documents in <work>/long-docs)")
    parser.add_argument("--out", type=Path, default=None, help="JSON file for the figures")
    args = parser.parse_args(argv)
    work = (args.work / "long-docs").resolve()
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    from fahras.corpus.unexport import read_export_file

    texts = [" ".join(read_export_file(p).text.split()) for p in sorted(RESOLUTIONS.glob("*.txt"))]
    folder = build_folder(texts, work / f"docs-{args.mode}-{args.docs}", args.docs, args.mode)
    sizes = [p.stat().st_size for p in folder.glob("*.txt")]
    report = {"benchmark": "long_docs", "commit": commit(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "machine": {"cores": os.cpu_count(), "load_at_start": load(), "nice": os.nice(0)},
              "documents": {"count": len(sizes), "mode": args.mode, "source": "unsc-resolutions/train (529)",
                            "mean_kb": round(sum(sizes) / len(sizes) / 1024, 1), "total_mb": round(sum(sizes) / 2**20)},
              "systems": []}
    failures = 0
    for name, skip, step in (("fahras", args.skip_fahras, lambda: run_fahras(work, folder, args.docs, logs)),
                             ("annif", args.skip_annif,
                              lambda: run_annif(work, folder, args.docs, args.annif_backend, logs))):
        if skip:
            continue
        try:
            report["systems"].append(step())
            log(f"{name}: {json.dumps(report['systems'][-1]['index'])}")
        except StepFailed as exc:
            log(f"{name} failed: {exc}")
            failures += 1
    report["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    print("\n| system | docs | wall s | CPU s | peak RSS MB | docs/s | docs per CPU s |\n|---|---:|---:|---:|---:|---:|---:|")
    for s in report["systems"]:
        i = s["index"]
        print(f"| {s['system']} | {i['docs']:,} | {i['seconds']} | {i['cpu_seconds']} | {i['peak_rss_mb']} | "
              f"{i['docs_per_s']} | {i['docs_per_cpu_s']} |")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
