# ruff: noqa: S106 - test credentials
"""INPUT-6: logins hash in a bounded pool of their own; a saturated pool answers 503 busy and
changes nothing, while dashboards go on being served."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from reference_server.core.passwords import LIGHT, Passwords
from reference_server.hashing import Busy, HashingPool

from .conftest import bearer, check_against_spec, login, session_token


class GatedPasswords(Passwords):
    """argon2id that holds each verify until the test opens the gate: a hash that takes as long
    as the test needs, so saturation is a fact and not a race."""

    def __init__(self) -> None:
        super().__init__(**LIGHT)
        self.gate = threading.Event()
        self.started = threading.Semaphore(0)

    def verify(self, stored: str | None, password: str) -> bool:
        self.started.release()
        self.gate.wait(10)
        return super().verify(stored, password)


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.new_event_loop().run_until_complete(coro)


def test_INPUT_6_pool_runs_at_most_workers_at_once():
    pool = HashingPool(2, max_wait_s=5)
    running, peak = 0, 0
    lock = threading.Lock()
    release = threading.Event()

    def work(i: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        release.wait(0.05)
        with lock:
            running -= 1
        return i

    async def many() -> list[int]:
        return await asyncio.gather(*(pool.run(work, i) for i in range(8)))

    try:
        assert run(many()) == list(range(8))
        assert peak == 2
        assert pool.pending == 0
    finally:
        pool.shutdown()


def test_INPUT_6_full_queue_is_busy_at_once_and_a_stale_wait_is_busy():
    pool = HashingPool(1, max_wait_s=0.2, max_pending=2, retry_after_s=3)
    gate = threading.Event()

    async def scenario() -> list[object]:
        held = asyncio.ensure_future(pool.run(gate.wait, 5))  # occupies the only worker
        queued = asyncio.ensure_future(pool.run(lambda: "judged"))  # waits behind it
        await asyncio.sleep(0.05)
        with pytest.raises(Busy) as refused:
            await pool.run(lambda: "never")  # 2 pending already: refused without waiting
        assert refused.value.retry_after == 3
        await asyncio.sleep(0.3)  # past max_wait_s while the worker is held
        gate.set()
        return list(await asyncio.gather(held, queued, return_exceptions=True))

    try:
        held, queued = run(scenario())
        assert held is True
        assert isinstance(queued, Busy), "a login that waited past max_wait_s was judged"
        assert pool.pending == 0
    finally:
        pool.shutdown()


def test_INPUT_6_saturated_login_is_503_busy_and_changes_nothing(
    make_server, make_client, tmp_path
):  # noqa: E501
    passwords = GatedPasswords()
    audit = tmp_path / "audit.jsonl"
    server = make_server(
        passwords=passwords,
        hashing=HashingPool(1, max_wait_s=30, max_pending=1),
        audit_log=str(audit),
    )
    client = make_client(server)
    token = session_token_without_gate(client, server, passwords)
    name = server.accounts[1].username
    wrong = {"username": name, "password": "wrong"}

    async def flood() -> list:
        first = asyncio.ensure_future(client.http.post("/api/auth/login", json=wrong))
        await asyncio.to_thread(passwords.started.acquire, True, 5)  # the worker is hashing
        second = await client.http.post("/api/auth/login", json=wrong)  # no room: busy
        third = await client.http.post("/api/auth/login", json={**wrong, "username": "nobody"})
        dashboard = await client.http.get("/api/dashboard", headers=bearer(token))
        passwords.gate.set()
        return [await first, second, third, dashboard]

    first, second, third, dashboard = client.loop.run_until_complete(flood())
    assert dashboard.status_code == 200, "a dashboard waited for the hashing pool"
    assert first.status_code == 401
    for busy in (second, third):
        assert busy.status_code == 503, busy.text
        assert busy.json() == {
            "status": "error",
            "error": "busy",
            "message": busy.json()["message"],
        }
        assert int(busy.headers["retry-after"]) >= 1
        check_against_spec(client.openapi, busy)
    # the busy attempts counted nothing: 4 more failures are judged before the lock
    for _ in range(4):
        assert login(client, server, 1, password="wrong").status_code == 401
    assert login(client, server, 1, password="wrong").status_code == 429
    outcomes = [json.loads(line)["outcome"] for line in audit.read_text().splitlines()]
    assert outcomes.count("busy") == 2
    assert "wrong" not in audit.read_text()
    server.hashing.shutdown()


def session_token_without_gate(client, server, passwords: GatedPasswords) -> str:  # type: ignore[no-untyped-def]
    passwords.gate.set()
    token = session_token(client, server, 0)
    while passwords.started.acquire(blocking=False):
        pass
    passwords.gate.clear()
    return token


def test_INPUT_6_pool_threads_run_at_a_lower_priority():
    import os

    from reference_server.hashing import NICE

    pool = HashingPool(1)
    try:
        inner = run(pool.run(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
        outer = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        assert inner == max(NICE, outer)
    finally:
        pool.shutdown()
