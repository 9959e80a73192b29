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

      python -m benchmarks.load --compare --kind omikuji --clients 32 --seconds 60

  (not under ``nice``: the servers are what is measured, and they inherit it).

The load generator (``--generator``) is the same for both servers: ``wrk``
(C, epoll; Debian's package ``wrk``; a Lua script sends the form bodies in
turn) where it is installed, else Python clients (asyncio and httpx, in
``--client-processes`` processes).  On a 2-core machine the generator shares
the CPU with the server; wrk used about 1 % of a core at these rates, the
Python clients 10-20 %, and being slow themselves they added most of the tail of the
first measurements (their own delays count in each latency).  The Python
clients give latencies by text length too.

Each server is warmed up (models loaded, 5 s of 4 clients) before it is
measured.  The report gives, per server: requests/s, p50/p95/p99/max
latency, errors (transport failures and any status but 200), the load
average at the start (``/proc/loadavg``: the machine may be shared), the CPU
seconds the server and the generator used during the run, and, where the
server sends ``Server-Timing`` (Fahras does), the p50/p99/max of each part of
the server's own time (``app`` = all of it; ``read``, ``queue``, ``score``,
``resume``: see ``fahras/service/timing.py``).  Annif lives in
``benchmarks/.work/annif-venv`` (installed once, as ``vs_annif.py`` does);
``--reuse-models`` reuses both trained models of an earlier run.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import shlex
import shutil
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
    chars: list[int] = field(default_factory=list)  # the text length of each answered request
    server: list[dict] = field(default_factory=list)  # its Server-Timing figures (ms), where the server sends them
    client_cpu: float = 0.0  # CPU seconds the load generator itself used
    server_cpu: float | None = None  # CPU seconds the server process used (with --compare)
    loadavg: str = ""  # /proc/loadavg at the start
    generator: str = "python"  # what generated the load: python (asyncio, httpx) or wrk
    summary: dict | None = None  # wrk: requests, ok and latency percentiles (s), instead of each latency

    @property
    def ok(self) -> int:
        return self.summary["ok"] if self.summary else len(self.latencies)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def percentile(self, q: float) -> float | None:
        if self.summary:
            return self.summary.get(f"p{q:g}")
        return _percentile(self.latencies, q)

    def server_percentiles(self) -> dict[str, dict[str, float]]:
        """p50/p99/max (ms) of each Server-Timing part the server reported."""
        names = [n for n in _SERVER_PARTS if any(n in f for f in self.server)]
        return {name: {f"p{q}": round(_percentile(values, q), 1) for q in (50, 99)} | {"max": round(max(values), 1)}
                for name in names if (values := [f[name] for f in self.server if name in f])}

    def by_length(self, groups: int = 4) -> list[dict]:
        """Latency percentiles for the texts in each length quartile (shortest first)."""
        pairs = sorted(zip(self.chars, self.latencies))
        out = []
        for g in range(groups):
            part = pairs[g * len(pairs) // groups:(g + 1) * len(pairs) // groups]
            if part:
                lat = [p[1] for p in part]
                out.append({"chars": f"{part[0][0]}-{part[-1][0]}", "requests": len(part),
                            "p50_ms": round(1000 * _percentile(lat, 50), 1),
                            "p99_ms": round(1000 * _percentile(lat, 99), 1)})
        return out

    def to_dict(self) -> dict:
        ms = {f"p{q}_ms": None if self.percentile(q) is None else round(1000 * self.percentile(q), 1)
              for q in (50, 95, 99)}
        out = {"target": self.target, "clients": self.clients, "seconds": round(self.seconds, 2),
               "requests": self.ok + self.error_count, "ok": self.ok, "errors": self.error_count,
               "error_kinds": self.errors, "requests_per_second": round(self.ok / self.seconds, 2),
               **ms, "max_ms": round(1000 * self.summary["max"], 1) if self.summary else
               round(1000 * max(self.latencies), 1) if self.latencies else None, "generator": self.generator,
               "loadavg_at_start": self.loadavg, "client_cpu_s": round(self.client_cpu, 1),
               "server_cpu_s": None if self.server_cpu is None else round(self.server_cpu, 1),
               "by_text_length": self.by_length()}
        if self.server:
            out["server_timing_ms"] = self.server_percentiles()
        return out


_SERVER_PARTS = ["app", "read", "queue", "score", "resume"]


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return ""


def _form_body(text: str, limit: int) -> bytes:
    from urllib.parse import urlencode

    return urlencode({"text": text, "limit": str(limit)}).encode("ascii")


def _generate(url: str, texts: list[str], clients: int, seconds: float, limit: int, first: int) -> dict:
    """One generator process: ``clients`` asyncio clients on one httpx pool; raw results."""
    import httpx

    bodies = [_form_body(t, limit) for t in texts]  # encoded once: the clients' own work stays small
    headers = {"content-type": "application/x-www-form-urlencoded"}
    out = {"latencies": [], "chars": [], "server": [], "errors": {}}

    async def run() -> float:
        deadline = time.perf_counter() + seconds
        counter = first

        async def client(session: httpx.AsyncClient) -> None:
            nonlocal counter
            while time.perf_counter() < deadline:
                k = counter % len(texts)
                counter += 1
                started = time.perf_counter()
                try:
                    response = await session.post(url, content=bodies[k], headers=headers)
                except httpx.HTTPError as exc:
                    kind = type(exc).__name__
                    out["errors"][kind] = out["errors"].get(kind, 0) + 1
                    continue
                if response.status_code == 200 and b'"results"' in response.content:
                    out["latencies"].append(time.perf_counter() - started)
                    out["chars"].append(len(texts[k]))
                    figures = response.headers.get("server-timing")
                    if figures:
                        from fahras.service.timing import parse_header

                        out["server"].append(parse_header(figures))
                else:
                    kind = f"HTTP {response.status_code}"
                    out["errors"][kind] = out["errors"].get(kind, 0) + 1

        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(60.0)) as session:
            started = time.perf_counter()
            await asyncio.gather(*(client(session) for _ in range(clients)))
            return time.perf_counter() - started

    cpu = time.process_time()
    out["seconds"] = asyncio.run(run())
    out["cpu"] = time.process_time() - cpu
    return out


def _generate_in_child(args) -> dict:
    return _generate(*args)


def run_load(base_url: str, project: str, texts: list[str], clients: int, seconds: float, limit: int = 10,
             target: str = "", processes: int = 1) -> LoadResult:
    """``clients`` concurrent clients for ``seconds`` against ``base_url``'s project ``project``.

    The clients are shared out between ``processes`` generator processes
    (each one asyncio loop with httpx), so that one Python process's speed
    does not bound the load.
    """
    if not 1 <= clients <= MAX_CLIENTS:
        raise SystemExit(f"--clients must be between 1 and {MAX_CLIENTS}")
    if not 0 < seconds <= MAX_SECONDS:
        raise SystemExit(f"--seconds must be more than 0 and at most {MAX_SECONDS}")
    if not 1 <= processes <= clients:
        raise SystemExit("--client-processes must be between 1 and the number of clients")
    url = f"{base_url.rstrip('/')}/v1/projects/{project}/suggest"
    result = LoadResult(target=target or base_url, clients=clients, seconds=seconds, loadavg=_loadavg())
    shares = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    jobs = [(url, texts, n, seconds, limit, i * len(texts) // processes) for i, n in enumerate(shares)]
    if processes == 1:
        parts = [_generate(*jobs[0])]
    else:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(processes) as pool:
            parts = pool.map(_generate_in_child, jobs)
    for part in parts:
        result.latencies += part["latencies"]
        result.chars += part["chars"]
        result.server += part["server"]
        for kind, n in part["errors"].items():
            result.errors[kind] = result.errors.get(kind, 0) + n
        result.client_cpu += part["cpu"]
    result.seconds = max(part["seconds"] for part in parts)
    return result


# -- wrk ---------------------------------------------------------------------------------------------
_WRK_SCRIPT = r"""
-- fahras benchmarks/load.py: POST form bodies (one a line in $FAHRAS_LOAD_BODIES) in turn.
local bodies = {}
for line in io.lines(os.getenv("FAHRAS_LOAD_BODIES")) do bodies[#bodies + 1] = line end
local threads = {}
local made = 0
function setup(thread)
  made = made + 1
  thread:set("first", (made - 1) * math.floor(#bodies / 2))
  table.insert(threads, thread)
end
local k = nil
bad = 0
kinds = {}
timings = {}
request = function()
  if k == nil then k = first or 0 end
  k = k + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded"},
                    bodies[(k % #bodies) + 1])
end
response = function(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
    kinds[tostring(status)] = (kinds[tostring(status)] or 0) + 1
  end
  local figures = headers["server-timing"] or headers["Server-Timing"]
  if figures then timings[#timings + 1] = figures end
end
done = function(summary, latency, requests)
  local out = io.open(os.getenv("FAHRAS_LOAD_OUT"), "w")
  out:write(string.format("requests %d\nmicroseconds %d\n", summary.requests, summary.duration))
  for kind, n in pairs(summary.errors) do out:write(string.format("error %s %d\n", kind, n)) end
  for _, q in ipairs({50, 95, 99}) do out:write(string.format("p%d %d\n", q, latency:percentile(q))) end
  out:write(string.format("max %d\nmean %.1f\n", latency.max, latency.mean))
  for _, thread in ipairs(threads) do
    out:write(string.format("bad %d\n", thread:get("bad")))
    for kind, n in pairs(thread:get("kinds")) do out:write(string.format("status %s %d\n", kind, n)) end
    for _, figures in ipairs(thread:get("timings")) do out:write("timing " .. figures .. "\n") end
  end
  out:close()
end
"""


def run_wrk(base_url: str, project: str, texts: list[str], clients: int, seconds: float, limit: int = 10,
            target: str = "", work: Path | None = None) -> LoadResult:
    """The same load as :func:`run_load`, generated by wrk (C, epoll; Debian package ``wrk``).

    wrk's threads (one per core, at most ``clients``) keep ``clients``
    connections busy, each sending the next form body as soon as the
    previous answer is in; a Lua script sends the texts in turn, counts
    statuses other than 200 and keeps the server's ``Server-Timing``
    figures.  wrk reports latency percentiles, not each latency, so the
    result has no per-length breakdown.
    """
    import shutil
    import tempfile

    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (apt-get install wrk), or use --generator python")
    if not 1 <= clients <= MAX_CLIENTS:
        raise SystemExit(f"--clients must be between 1 and {MAX_CLIENTS}")
    if not 0 < seconds <= MAX_SECONDS:
        raise SystemExit(f"--seconds must be more than 0 and at most {MAX_SECONDS}")
    url = f"{base_url.rstrip('/')}/v1/projects/{project}/suggest"
    result = LoadResult(target=target or base_url, clients=clients, seconds=seconds, loadavg=_loadavg(),
                        generator="wrk")
    with tempfile.TemporaryDirectory(prefix="fahras-load-", dir=work) as tmp:
        script, bodies, out = Path(tmp) / "post.lua", Path(tmp) / "bodies.txt", Path(tmp) / "out.txt"
        script.write_text(_WRK_SCRIPT, encoding="utf-8")
        bodies.write_bytes(b"\n".join(_form_body(t, limit) for t in texts) + b"\n")
        threads = max(1, min(clients, os.cpu_count() or 1))
        command = [wrk, f"-t{threads}", f"-c{clients}", f"-d{seconds:g}s", "--timeout", "60s", "-s", str(script), url]
        env = os.environ | {"FAHRAS_LOAD_BODIES": str(bodies), "FAHRAS_LOAD_OUT": str(out)}
        cpu = os.times()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        after = os.times()
        result.client_cpu = (after.children_user - cpu.children_user) + (after.children_system - cpu.children_system)
        if done.returncode != 0 or not out.is_file():
            raise SystemExit(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
        _read_wrk(out.read_text(encoding="utf-8"), result)
    return result


def _read_wrk(text: str, result: LoadResult) -> None:
    from fahras.service.timing import parse_header

    summary, bad = {}, 0
    for line in text.splitlines():
        key, _, rest = line.partition(" ")
        if key == "error":
            kind, n = rest.split()
            if kind != "status" and int(n):  # statuses are counted per code below
                result.errors[kind] = result.errors.get(kind, 0) + int(n)
        elif key == "status":
            code, n = rest.split()
            result.errors[f"HTTP {code}"] = result.errors.get(f"HTTP {code}", 0) + int(n)
        elif key == "bad":
            bad += int(rest)
        elif key == "timing":
            result.server.append(parse_header(rest))
        elif key:
            summary[key] = float(rest)
    result.seconds = summary["microseconds"] / 1e6
    result.summary = {"requests": int(summary["requests"]), "ok": int(summary["requests"]) - bad,
                      **{k: summary[k] / 1e6 for k in ("p50", "p95", "p99", "max")}}


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


def _process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process and its waited-for children have used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def generate(args, url: str, project: str, texts: list[str], clients: int, seconds: float,
             target: str) -> LoadResult:
    """The load of ``args.generator``: wrk, or the Python clients."""
    if args.generator == "wrk":
        return run_wrk(url, project, texts, clients, seconds, target=target)
    return run_load(url, project, texts, clients, seconds, target=target, processes=min(args.client_processes, clients))


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
    if args.reuse_models and (model / "manifest.json").is_file():
        log(f"reusing the Fahras model {model} (--reuse-models)")
    else:
        log(f"training Fahras {fahras_backend} -> {model}")
        Indexer(backend=fahras_backend).fit(
            [Document(d.id, d.text, tuple(c.uri for c in d.subjects)) for d in parts["train"]], vocab).save(model)

    annif = Annif(args.work)
    broken = annif.install([annif_backend], log)
    if broken:
        raise SystemExit(broken[annif_backend])
    project = annif.add_project(annif_backend, "load", {})
    if args.reuse_models and any((annif.home / "data" / "projects" / project).glob("*")):
        log(f"reusing the trained Annif project {project} (--reuse-models)")
    else:
        vocab_file = work / "annif-vocab.csv"
        write_annif_vocabulary(vocab, parts["train"] + parts["test"], vocab_file)
        annif.load_vocab(vocab_file)
        log(f"training Annif {annif_backend} ({project})")
        annif.train(project, write_annif_folder(parts["train"], work / "annif-train"))

    results = []
    servers = [  # (label, command without the port, project id, environment, working folder)
        ("Fahras " + fahras_backend, [sys.executable, "-m", "fahras", "serve", str(model), "--db", "none",
                                       "--log-level", "warning", "--host", "127.0.0.1", *shlex.split(args.serve_args)],
         model.name, os.environ | {"PYTHONPATH": str(REPO / "src")}, work),
        ("Annif 1.4.3 " + annif_backend, [str(annif.venv / "bin" / "annif"), "run", "--host", "127.0.0.1"],
         project, annif.env, annif.home),
    ]
    for label, command, project_name, env, cwd in servers:
        if args.only and not label.lower().startswith(args.only):
            continue
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        server_log = work / f"{label.split()[0].lower()}-server.log"
        with open(server_log, "w") as out:
            proc = subprocess.Popen([*command, "--port", str(port)], stdout=out, stderr=subprocess.STDOUT, env=env,
                                    cwd=cwd)
        try:
            ready = _wait_answering(url, project_name, texts[0], proc, server_log)
            log(f"{label}: answering after {ready:.1f} s; warming up")
            generate(args, url, project_name, texts, min(args.clients, 4), 5.0, "warm-up")
            log(f"{label}: {args.clients} clients for {args.seconds:g} s (load average {_loadavg()})")
            cpu = _process_cpu(proc.pid)
            result = generate(args, url, project_name, texts, args.clients, args.seconds, label)
            result.server_cpu = _process_cpu(proc.pid) - cpu
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


def _details(results: list[dict]) -> str:
    """Where the time went: CPU of both sides, latency by text length, the server's own timing."""
    lines = []
    for r in results:
        lines.append(f"{r['target']}: load average at start {r['loadavg_at_start']}; CPU seconds used during "
                     f"the run: server {r['server_cpu_s']}, load generator ({r['generator']}) {r['client_cpu_s']}")
        if r["by_text_length"]:
            lines.append("  latency by text length (quartiles of the answered requests): " + "; ".join(
                f"{g['chars']} chars: p50 {g['p50_ms']} ms, p99 {g['p99_ms']} ms" for g in r["by_text_length"]))
        if r.get("server_timing_ms"):
            lines.append("  server's own timing (Server-Timing header, ms): " + "; ".join(
                f"{name} p50 {v['p50']}, p99 {v['p99']}, max {v['max']}" for name, v in r["server_timing_ms"].items()))
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
    parser.add_argument("--generator", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python",
                        help="What makes the load: wrk (C; Debian package wrk; the default where installed) or "
                             "Python clients (asyncio, httpx; slower, so on 2 cores their own delays show in the "
                             "latencies, but they give latencies by text length).")
    parser.add_argument("--client-processes", type=int, default=2,
                        help="Load generator processes the clients are shared out between (each one asyncio "
                             "loop with httpx).")
    parser.add_argument("--reuse-models", action="store_true",
                        help="With --compare: reuse the models a previous run trained in the work folder.")
    parser.add_argument("--serve-args", default="",
                        help="With --compare: extra options for fahras serve (e.g. '--workers 1').")
    parser.add_argument("--only", choices=["fahras", "annif"], default=None,
                        help="With --compare: load only this server.")
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
        results = [generate(args, args.url, args.project, texts, args.clients, args.seconds, args.url).to_dict()]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO).stdout.strip()
    report = {"command": " ".join(shlex.quote(a) for a in ["python", "-m", "benchmarks.load",
                                                             *(sys.argv[1:] if argv is None else argv)]),
              "commit": commit, "date": started.isoformat(timespec="seconds"), "machine":
              f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}", "results": results}
    print(_table(results))
    print()
    print(_details(results))
    print(f"\ncommand: {report['command']}; commit {commit}; {report['date']}; {report['machine']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
