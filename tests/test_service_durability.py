"""Durability: every decision the server acknowledged survives a SIGKILL at a random moment."""

from __future__ import annotations

import random
import signal
import threading
import time

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")
pytest.importorskip("sqlalchemy")

from service_support import Server, free_port, small_model  # noqa: E402,F401  (fixtures)

DECISIONS = 1000
WRITERS = 4


def test_acknowledged_decisions_survive_sigkill(small_model, tmp_path):
    from fahras.feedback import FeedbackStore

    db = tmp_path / "feedback.db"
    url = f"sqlite:///{db}"
    port = free_port()
    args = [str(small_model), "--db", url]
    server = Server(args, cwd=tmp_path, port=port).__enter__()
    endpoint = f"{server.url}/v1/fahras/projects/unsc/feedback"
    acknowledged: dict[str, int] = {}           # document id -> id in the 201 answer
    lock = threading.Lock()
    restarted = threading.Event()
    todo = list(range(DECISIONS))

    def writer(share: list[int]) -> None:
        with httpx.Client(timeout=10) as client:
            for n in share:
                decision = {"document_id": f"doc-{n:04d}", "accepted": [f"http://example.org/s/{n}"],
                            "rejected": [f"http://example.org/r/{n}"], "added": [], "indexer": f"writer-{n % WRITERS}",
                            "text": f"Document {n}.", "shown": [{"uri": f"http://example.org/s/{n}", "label": "S",
                                                                 "score": 0.5, "rank": 1}]}
                while True:  # not acknowledged: send it again once the server is back
                    try:
                        response = client.post(endpoint, json=decision)
                    except httpx.TransportError:
                        restarted.wait(60)
                        time.sleep(0.05)
                        continue
                    assert response.status_code == 201, response.text
                    with lock:
                        acknowledged[decision["document_id"]] = response.json()["id"]
                    break

    threads = [threading.Thread(target=writer, args=(todo[k::WRITERS],)) for k in range(WRITERS)]
    for t in threads:
        t.start()
    # kill at a random moment while decisions are being written
    deadline = time.monotonic() + 120
    target = random.Random().randint(50, DECISIONS - 200)
    while len(acknowledged) < target and time.monotonic() < deadline:
        time.sleep(0.005)
    with lock:
        before_kill = dict(acknowledged)
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait()
    # every decision acknowledged before the kill is in the database, read by a fresh store
    store = FeedbackStore(url)
    try:
        stored = {d.document_id: d for d in store.decisions("unsc")}
    finally:
        store.close()
    missing = [doc for doc in before_kill if doc not in stored]
    assert not missing, f"{len(missing)} acknowledged decisions lost, e.g. {missing[:3]}"
    for doc, new_id in before_kill.items():
        assert stored[doc].id == new_id
    # restart on the same port; the writers go on and finish
    server = Server(args, cwd=tmp_path, port=port).__enter__()
    restarted.set()
    try:
        for t in threads:
            t.join(180)
        assert not any(t.is_alive() for t in threads)
    finally:
        server.stop()
    assert len(acknowledged) == DECISIONS
    store = FeedbackStore(url)
    try:
        decisions = list(store.decisions("unsc"))
    finally:
        store.close()
    by_id = {d.id: d for d in decisions}
    for doc, new_id in acknowledged.items():
        decision = by_id[new_id]
        n = int(doc.split("-")[1])
        assert decision.document_id == doc and decision.accepted == [f"http://example.org/s/{n}"]
        assert decision.rejected == [f"http://example.org/r/{n}"] and decision.text == f"Document {n}."
    # a decision whose answer the kill cut off may be stored twice (sent again): at least once, never lost
    assert {d.document_id for d in decisions} == set(acknowledged)
    print(f"killed after {len(before_kill)} acknowledged decisions; {len(decisions)} rows for {DECISIONS}")
