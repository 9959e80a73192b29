"""The REST service under load: N concurrent clients on loopback, bounded in number and time.

Each client sends ``POST /v1/projects/{id}/suggest`` (form-encoded ``text``
and ``limit=10``, Annif's API v1) with resolution-sized texts, one request
after the other, until the time is up; the report gives requests per second,
latency percentiles (p50, p95, p99, max) and errors (transport failures and
any status other than 200).

Two ways to run it:

- against a running server::

      python -m benchmarks.load --url http://127.0.0.1:8080 --project unsc --clients 32 --seconds 60

- side by side (the figures in ``docs/benchmarks.md``): trains a Fahras model
  and an Annif 1.4.3 project of the same kind (``--kind omikuji``: Fahras's
  ``omikuji`` backend and Annif's ``omikuji`` with Parabel settings;
  ``--kind tfidf``: Fahras's ``tfidf-linear`` and Annif's ``tfidf``) on the
  2005-2011 resolutions, starts ``fahras serve`` and ``annif run`` on free
  loopback ports, and loads each in turn with the 2012-2013 resolutions'
  texts::

      nice -n 10 python -m benchmarks.load --compare --kind omikuji --clients 32 --seconds 60

Annif lives in ``benchmarks/.work/annif-venv`` (installed once, as
``vs_annif.py`` does).  The clients run in this process (one asyncio loop,
httpx); on a 2-core machine they share the CPU with the server, for both
servers alike.  Each server is warmed up (models loaded, first requests
answered) before it is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import shlex
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

MAX_CLIENTS = 256
MAX_SECONDS = 600
RESOLUTIONS = REPO.parent / "shared" / "data" / "unsc-resolutions" / "train"
THESAURUS = REPO.parent / "shared" / "data" / "unbis" / "all_topics.json"
KINDS = {"omikuji": ("omikuji", "omikuji-parabel"), "tfidf": ("tfidf-linear", "tfidf")}


@dataclass
class LoadResult:
    """What one load run measured."""

    target: str
    clients: int
    seconds: float
    latencies: list[float] = field(default_factory=list)  # seconds, of the answered 200s
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def percentile(self, q: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        rank = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
        return ordered[rank]

    def to_dict(self) -> dict:
        ms = {f"p{q}_ms": None if self.percentile(q) is None else round(1000 * self.percentile(q), 1)
              for q in (50, 95, 99)}
        return {"target": self.target, "clients": self.clients, "seconds": round(self.seconds, 2),
                "requests": self.ok + self.error_count, "ok": self.ok, "errors": self.error_count,
                "error_kinds": self.errors, "requests_per_second": round(self.ok / self.seconds, 2),
                **ms, "max_ms": round(1000 * max(self.latencies), 1) if self.latencies else None}


async def _load(url: str, texts: list[str], clients: int, seconds: float, limit: int, target: str) -> LoadResult:
    import httpx

    result = LoadResult(target=target, clients=clients, seconds=seconds)
    deadline = time.perf_counter() + seconds
    counter = 0

    async def client(k: int, session: httpx.AsyncClient) -> None:
        nonlocal counter
        while time.perf_counter() < deadline:
            text = texts[counter % len(texts)]
            counter += 1
            started = time.perf_counter()
            try:
                response = await session.post(url, data={"text": text, "limit": str(limit)})
            except httpx.HTTPError as exc:
                kind = type(exc).__name__
                result.errors[kind] = result.errors.get(kind, 0) + 1
                continue
            if response.status_code == 200 and "results" in response.json():
                result.latencies.append(time.perf_counter() - started)
            else:
                kind = f"HTTP {response.status_code}"
                result.errors[kind] = result.errors.get(kind, 0) + 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(60.0)) as session:
        started = time.perf_counter()
        await asyncio.gather(*(client(k, session) for k in range(clients)))
        result.seconds = time.perf_counter() - started
    return result


def run_load(base_url: str, project: str, texts: list[str], clients: int, seconds: float, limit: int = 10,
             target: str = "") -> LoadResult:
    """``clients`` concurrent clients for ``seconds`` against ``base_url``'s project ``project``."""
    if not 1 <= clients <= MAX_CLIENTS:
        raise SystemExit(f"--clients must be between 1 and {MAX_CLIENTS}")
    if not 0 < seconds <= MAX_SECONDS:
        raise SystemExit(f"--seconds must be more than 0 and at most {MAX_SECONDS}")
    url = f"{base_url.rstrip('/')}/v1/projects/{project}/suggest"
    return asyncio.run(_load(url, texts, clients, seconds, limit, target or base_url))


# -- side by side ----------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_answering(url: str, project: str, text: str, proc: subprocess.Popen, log: Path, timeout: float = 300) -> float:
    """Wait until the server suggests (models loaded); returns the seconds it took."""
    import httpx

    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}; see {log}")
        try:
            response = httpx.post(f"{url}/v1/projects/{project}/suggest", data={"text": text, "limit": "10"},
                                  timeout=120)
            if response.status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"server at {url} did not answer within {timeout} s; see {log}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def compare(args) -> list[dict]:
    from benchmarks.harness.annif_runner import Annif
    from benchmarks.harness.data import read_documents, split_documents, write_annif_folder, write_annif_vocabulary

    from fahras import Indexer, load_vocabulary
    from fahras.corpus import Document

    fahras_backend, annif_backend = KINDS[args.kind]
    work = args.work.resolve() / "load"
    work.mkdir(parents=True, exist_ok=True)
    log = lambda message: print(f"[load] {message}", file=sys.stderr, flush=True)  # noqa: E731
    vocab = load_vocabulary(THESAURUS)
    parts = split_documents(read_documents(RESOLUTIONS, vocab), "time")
    texts = [d.text for d in parts["test"]]
    log(f"{len(parts['train'])} training documents, {len(texts)} test texts "
        f"({sum(map(len, texts)) // len(texts)} characters on average)")

    model = work / f"fahras-{fahras_backend}"
    log(f"training Fahras {fahras_backend} -> {model}")
    Indexer(backend=fahras_backend).fit(
        [Document(d.id, d.text, tuple(c.uri for c in d.subjects)) for d in parts["train"]], vocab).save(model)

    annif = Annif(args.work)
    broken = annif.install([annif_backend], log)
    if broken:
        raise SystemExit(broken[annif_backend])
    vocab_file = work / "annif-vocab.csv"
    write_annif_vocabulary(vocab, parts["train"] + parts["test"], vocab_file)
    annif.load_vocab(vocab_file)
    project = annif.add_project(annif_backend, "load", {})
    log(f"training Annif {annif_backend} ({project})")
    annif.train(project, write_annif_folder(parts["train"], work / "annif-train"))

    results = []
    servers = [  # (label, command without the port, project id, environment, working folder)
        ("Fahras " + fahras_backend, [sys.executable, "-m", "fahras", "serve", str(model), "--db", "none",
                                       "--log-level", "warning", "--host", "127.0.0.1"],
         model.name, os.environ | {"PYTHONPATH": str(REPO / "src")}, work),
        ("Annif 1.4.3 " + annif_backend, [str(annif.venv / "bin" / "annif"), "run", "--host", "127.0.0.1"],
         project, annif.env, annif.home),
    ]
    for label, command, project_name, env, cwd in servers:
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        server_log = work / f"{label.split()[0].lower()}-server.log"
        with open(server_log, "w") as out:
            proc = subprocess.Popen([*command, "--port", str(port)], stdout=out, stderr=subprocess.STDOUT, env=env,
                                    cwd=cwd)
        try:
            ready = _wait_answering(url, project_name, texts[0], proc, server_log)
            log(f"{label}: answering after {ready:.1f} s; warming up")
            run_load(url, project_name, texts, min(args.clients, 4), 5.0)
            log(f"{label}: {args.clients} clients for {args.seconds:g} s")
            result = run_load(url, project_name, texts, args.clients, args.seconds, target=label)
            results.append({**result.to_dict(), "server": " ".join(shlex.quote(c) for c in command)})
            log(json.dumps(results[-1]))
        finally:
            _stop(proc)
    return results


def _table(results: list[dict]) -> str:
    lines = ["| server | clients | seconds | requests/s | p50 ms | p95 ms | p99 ms | max ms | errors |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        lines.append(f"| {r['target']} | {r['clients']} | {r['seconds']:.0f} | {r['requests_per_second']:.1f} | "
                     f"{r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | {r['max_ms']} | {r['errors']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="A running server's base URL (http://127.0.0.1:8080).")
    parser.add_argument("--project", default="unsc", help="Project id on that server.")
    parser.add_argument("--compare", action="store_true",
                        help="Train both tools, start fahras serve and annif run, load each in turn.")
    parser.add_argument("--kind", choices=sorted(KINDS), default="omikuji",
                        help="Model type of both servers with --compare.")
    parser.add_argument("--clients", type=int, default=32, help=f"Concurrent clients (1-{MAX_CLIENTS}).")
    parser.add_argument("--seconds", type=float, default=60.0, help=f"Duration of the run (at most {MAX_SECONDS}).")
    parser.add_argument("--texts", type=Path, default=None,
                        help="Folder of UN export files to send (default: the 2012-2013 shared resolutions).")
    parser.add_argument("--work", type=Path, default=HERE / ".work", help="Work folder (models, Annif's venv).")
    parser.add_argument("--json", type=Path, default=None, help="Also write the results as JSON here.")
    args = parser.parse_args(argv)
    started = dt.datetime.now(dt.timezone.utc)
    if args.compare:
        results = compare(args)
    else:
        if not args.url:
            parser.error("give --url (a running server) or --compare")
        from fahras.corpus.unexport import read_export_file

        folder = args.texts or RESOLUTIONS
        texts = [read_export_file(p).text for p in sorted(folder.glob("*.txt"))
                 if args.texts or p.name.rsplit("_", 2)[-2] in ("2012", "2013")]
        results = [run_load(args.url, args.project, texts, args.clients, args.seconds).to_dict()]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO).stdout.strip()
    report = {"command": " ".join(shlex.quote(a) for a in [Path(sys.argv[0]).name, *sys.argv[1:]]),
              "commit": commit, "date": started.isoformat(timespec="seconds"), "machine":
              f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}", "results": results}
    print(_table(results))
    print(f"\ncommand: {report['command']}; commit {commit}; {report['date']}; {report['machine']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
