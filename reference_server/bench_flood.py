"""INPUT-6 under load: what a login flood costs other clients, against a flood of the same shape
that the server refuses before any hashing, measured in one run (issue 11).

The server runs as `python -m reference_server serve` in a process of its own (production profile
and argon2id cost, per-address throttle off so that every fresh name is hashed), on loopback. A
flood process holds FLOOD_CONNECTIONS keep-alive connections posting logins as fast as answers
come; meanwhile this process times a logged-in client's dashboard requests. Figures:
dashboard req/s during the login flood / during the refused flood (goal >= 0.5), and the server's
peak RSS (VmHWM, goal <= 300 MB). Bounded: each flood stops after its seconds or MAX_PER_CONNECTION
requests per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyotp

FLOOD_CONNECTIONS = 32
MAX_PER_CONNECTION = 100_000
WARM_UP_S = 0.5
START_TIMEOUT_S = 30.0


@dataclass
class FloodRun:
    kind: str
    dashboard_n: int
    dashboard_rps: float
    answers: Counter[int]
    flood_rps: float


def _login_request(body: bytes) -> bytes:
    return (
        b"POST /api/auth/login HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )


def _flood_body(kind: str) -> bytes:
    """login: a fresh unknown name each time (no lock answers early); refused: the same shape with
    an empty username, which is 400 before any hashing."""
    name = "flood-" + secrets.token_hex(8) if kind == "login" else ""
    return json.dumps({"username": name, "password": "flood-password-0123"}).encode()


async def _one_connection(port: int, kind: str, deadline: float, answers: Counter[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for _ in range(MAX_PER_CONNECTION):
            if time.monotonic() >= deadline:
                return
            writer.write(_login_request(_flood_body(kind)))
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = re.search(rb"(?i)\r\ncontent-length: *([0-9]+)", head)
            await reader.readexactly(int(length.group(1)) if length else 0)
            answers[status] += 1
            if re.search(rb"(?i)\r\nconnection: *close", head):
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


def _flood(port: int, kind: str, seconds: float, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    answers: Counter[int] = Counter()

    async def all_connections() -> None:
        deadline = time.monotonic() + seconds
        await asyncio.gather(
            *(_one_connection(port, kind, deadline, answers) for _ in range(FLOOD_CONNECTIONS)),
            return_exceptions=True,
        )

    start = time.monotonic()
    asyncio.run(all_connections())
    out.put((dict(answers), time.monotonic() - start))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the most resident memory the process has had (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc (Linux only)")


class ServedProcess:
    """The reference server as an operator runs it, with one account made by add-user."""

    def __init__(self) -> None:
        self.dir = tempfile.TemporaryDirectory(prefix="bench-flood-")
        self.db = str(Path(self.dir.name) / "server.db")
        self.port = _free_port()
        self.password = secrets.token_urlsafe(12)
        made = subprocess.run(
            [sys.executable, "-m", "reference_server", "add-user", "bench", "--db", self.db]
            + ["--password-stdin"],
            input=self.password + "\n",
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        found = re.search(r"secret=([A-Z2-7]+)", made.stdout)
        if found is None:
            raise RuntimeError(f"add-user printed no secret: {made.stdout[-500:]}")
        self.secret = found.group(1)
        self.log = open(Path(self.dir.name) / "server.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "reference_server", "serve", "--db", self.db]
            + ["--port", str(self.port), "--throttle", "off"]
            + ["--audit-log", str(Path(self.dir.name) / "audit.jsonl")],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited with {self.process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/api/info", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError("serve did not answer /api/info in time")

    def session(self, client: httpx.Client) -> dict[str, str]:
        login = client.post(
            "/api/auth/login", json={"username": "bench", "password": self.password}
        )
        challenge = login.json()["challenge_token"]
        code = pyotp.TOTP(self.secret).now()
        verify = client.post(
            "/api/auth/verify", json={"challenge_token": challenge, "totp_code": code}
        )
        return {"Authorization": f"Bearer {verify.json()['session_token']}"}

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        self.dir.cleanup()


def _dashboard_rate(
    client: httpx.Client, headers: dict[str, str], seconds: float
) -> tuple[int, float]:
    count, start = 0, time.perf_counter()
    while (spent := time.perf_counter() - start) < seconds:
        response = client.get("/api/dashboard", headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"dashboard answered {response.status_code} during the flood")
        count += 1
    return count, count / spent


def measure(seconds: float) -> tuple[list[FloodRun], float]:
    """The refused flood, then the login flood, each with the dashboard timed through it; and the
    server's peak RSS over both."""
    served = ServedProcess()
    runs = []
    try:
        with httpx.Client(base_url=served.base_url, timeout=30) as client:
            headers = served.session(client)
            for kind in ("refused", "login"):
                out: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
                flood = multiprocessing.Process(
                    target=_flood, args=(served.port, kind, seconds + 2 * WARM_UP_S, out)
                )
                flood.start()
                time.sleep(WARM_UP_S)
                n, rps = _dashboard_rate(client, headers, seconds)
                answers, duration = out.get(timeout=seconds + 60)
                flood.join(timeout=10)
                total = sum(answers.values())
                runs.append(FloodRun(kind, n, rps, Counter(answers), total / duration))
        peak = peak_rss_mb(served.process.pid)
    finally:
        served.close()
    return runs, peak
