"""The emulator under attack, over real loopback sockets, bounded in count and time: name
churn (LOGIN-3), per-address throttling (LOCK-8), tricklers (INPUT-4, INPUT-7), framing
(INPUT-8), and its files' modes (STORE-1). Other source addresses are other loopback
addresses (127.0.0.x), as the suite's cases use them."""

from __future__ import annotations

import shlex
import socket
import ssl
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pico_firmware.host.bench import Tricklers
from pico_firmware.host.tests.conftest import Running, start_emulator

pytestmark = pytest.mark.slow


def _client(running: Running, source: str = "127.0.0.1") -> httpx.Client:
    p = running.profile
    verify: ssl.SSLContext | bool = True
    if "ca_cert" in p:
        verify = ssl.create_default_context(cafile=p["ca_cert"])
    transport = httpx.HTTPTransport(verify=verify, local_address=source)
    return httpx.Client(base_url=p["base_url"], transport=transport, timeout=30)


def _login(running: Running, name: str, password: str, source: str) -> httpx.Response:
    with _client(running, source) as c:
        return c.post("/api/auth/login", json={"username": name, "password": password})


def _address(running: Running) -> tuple[str, int]:
    host, port = running.profile["base_url"].rsplit("/", 1)[1].rsplit(":", 1)
    return host, int(port)


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """Plain HTTP, production durations: a lock lasts 300 s, so churn cannot outwait it."""
    running = start_emulator(
        tmp_path_factory.mktemp("production"), "--profile", "production", "--plain-http"
    )
    yield running
    assert running.stop() == 0


def test_an_address_past_its_limit_is_throttled_whatever_the_name(production: Running) -> None:
    # LOCK-8: 50 failures in 300 s from one address, spread over names that never lock
    # (first in this module: a name that shares a locked slot would answer 429 for that)
    with _client(production) as c:
        throttle = c.get("/api/info").json()["throttle"]
    assert throttle == {"max_failures": 50, "window_s": 300}
    for i in range(50):
        r = _login(production, f"spread-{i}", "wrong", "127.0.0.200")
        assert r.status_code == 401, (i, r.text)
    r = _login(production, "spread-new", "wrong", "127.0.0.200")
    assert r.status_code == 429 and r.json()["error"] == "account_locked"
    assert r.headers["retry-after"] == str(r.json()["retry_after"])
    assert 1 <= r.json()["retry_after"] <= 330
    assert _login(production, "spread-new", "wrong", "127.0.0.201").status_code == 401


def test_a_locked_name_stays_locked_whatever_other_names_are_tried(production: Running) -> None:
    # LOGIN-3 (rev. 2): lock an unknown name and a real one, then try 20 other unknown
    # names 5 times each (each from its own address, under the per-address limit)
    real = production.profile["accounts"][0]
    for _ in range(5):
        assert _login(production, "ghost-x", "wrong", "127.0.0.2").status_code == 401
        assert _login(production, real["username"], "wrong", "127.0.0.2").status_code == 401
    for i in range(20):
        for _ in range(5):
            r = _login(production, f"churn-{i}", "wrong", f"127.0.0.{10 + i}")
            assert r.status_code in (401, 429)
    for name, password in (("ghost-x", "wrong"), (real["username"], real["password"])):
        r = _login(production, name, password, "127.0.0.3")
        assert r.status_code == 429, (name, r.text)
        assert int(r.headers["retry-after"]) > 200


def _raw(running: Running, data: bytes) -> bytes:
    """Send data on a fresh plain connection; everything the server answers before closing."""
    out = b""
    with socket.create_connection(_address(running), timeout=10) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        while True:
            try:
                chunk = s.recv(4096)
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
    return out


def test_framing(production: Running) -> None:
    # INPUT-8 on the wire: one answer each, then the connection is closed
    body = b'{"username":"a","password":"b"}'
    post = b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    cases = [
        (post + b"Content-Length: 99999999999999999999\r\n\r\n" + body, b" 413 "),
        (b"GET /api/info HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", b" 400 "),
        (b"GET /api/info HTTP/1.1\r\nHost: x\r\nX-A: a\nb\r\n\r\n", b" 400 "),
        (b"GET /api/info HTTP/2.0\r\nHost: x\r\n\r\n", b" 400 "),
        (b"GET /api/info HTTP/9.9\r\nHost: x\r\n\r\n", b" 400 "),
    ]
    smuggled = b"GET /api/info HTTP/1.1\r\nHost: x\r\n\r\n"
    both = post + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    cases.append((both + smuggled, b" 400 "))
    for raw, want in cases:
        answer = _raw(production, raw)
        assert answer.startswith(b"HTTP/1.") and want in answer.split(b"\r\n")[0], (raw, answer)
        assert answer.count(b"HTTP/1.") == 1  # nothing after it was served
    with _client(production) as c:
        assert c.get("/api/info").status_code == 200


def test_tricklers_at_one_address_do_not_keep_another_waiting(emulator: Running) -> None:
    # INPUT-7 (and INPUT-4's bound): 8 tricklers over HTTPS, a client at 127.0.0.2
    times = []
    with Tricklers(_address(emulator), 8) as attack:
        for _ in range(4):
            t = time.monotonic()
            with _client(emulator, "127.0.0.2") as c:
                assert c.get("/api/info").status_code == 200
            times.append(time.monotonic() - t)
    assert attack.connections > 8  # they were dropped and came back: they held on throughout
    assert max(times) <= 10, times


def test_files_are_created_owner_only(emulator: Running) -> None:
    # STORE-1: the target profile (passwords, secrets, backup codes) and the board's files
    _login(emulator, "mode-check", "wrong", "127.0.0.1")  # the state on "flash" exists
    board = Path(shlex.split(emulator.profile["restart_command"])[-1]).parent
    files = [emulator.profile_path, *(p for p in board.rglob("*") if p.is_file())]
    names = {p.name for p in files}
    assert {"key", "users.json", "key.der", "target.toml"} <= names
    loose = [str(p) for p in files if stat.S_IMODE(p.stat().st_mode) & 0o077]
    assert loose == []
