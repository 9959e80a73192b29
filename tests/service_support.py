"""Shared pieces of the service tests: a small model, a running uvicorn server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]


def train_small_model(base: Path, train_folder: Path, vocab) -> Path:
    """An omikuji model on ``train_folder`` (a few seconds), trained once per session under ``base``."""
    from fahras import Indexer, read_corpus

    out = base / "service-model" / "unsc"
    if not (out / "manifest.json").is_file():
        Indexer(backend="omikuji", cv_folds=0).fit(read_corpus(train_folder), vocab).save(out)
    return out


@pytest.fixture(scope="session")
def small_model(time_split, unbis, tmp_path_factory) -> Path:
    """An omikuji model on the 2005-2011 resolutions, shared by the service tests."""
    return train_small_model(tmp_path_factory.getbasetemp(), time_split[0], unbis)


@pytest.fixture(scope="session")
def test_texts(time_split) -> list[str]:
    """Six 2012-2013 resolutions, as UN export files."""
    return [p.read_text(encoding="utf-8") for p in sorted(time_split[1].glob("*.txt"))[:6]]


def body_of(export_text: str) -> str:
    """A UN export file's document text (after the header and the blank line)."""
    return export_text.split("\n", 2)[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``fahras serve ARGS`` in a child process on a free loopback port."""

    def __init__(self, args: list[str], cwd: Path, port: int | None = None, log: Path | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log or cwd / f"server-{self.port}.log"
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "fahras", "serve", *args, "--host", "127.0.0.1",
                                          "--port", str(self.port), "--log-level", "warning"],
                                         cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready after {timeout} s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> "Server":
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
