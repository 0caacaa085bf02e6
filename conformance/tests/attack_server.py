"""A small server, correct by the spec, of what the attack cases judge (INPUT-6/7/8, LOCK-8, the
LOGIN-3 churn): it proves those cases pass a correct server, and attack_mutants.py breaks one of
its rules per subclass to prove each case fails without it.

asyncio, plain HTTP/1.1 on 127.0.0.1, a movable clock. It has no accounts: every name is
unknown, so every login is a wrong password (401), counted per name (LOGIN-3) and per source
address (LOCK-8), and no verify finds its challenge. A password hash holds a worker for `hash_s`
seconds (a sleep: the rules are about how long workers are held, not the CPU they burn).
Each rule is one method, so that a mutant overrides exactly one.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

from conformance.clock import MovableClock
from conformance.profile import profile_from_dict
from conformance.session import Target

REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not "
           "Allowed", 411: "Length Required", 413: "Content Too Large", 429: "Too Many Requests",
           431: "Request Header Fields Too Large", 503: "Service Unavailable",
           505: "HTTP Version Not Supported"}  # fmt: skip
CODES = {400: "invalid_request", 404: "not_found", 405: "method_not_allowed",
         411: "invalid_request", 413: "payload_too_large", 431: "request_header_fields_too_large",
         505: "invalid_request"}  # fmt: skip
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_BAD_NAME = re.compile(rb"[\x00-\x20\x7f()<>@,;:\\\"/\[\]?={}]")
FIELDS = ("username", "password")  # a login without both, as non-empty strings, is 400
ROUTES = {"/api/info": "GET", "/api/dashboard": "GET", "/api/auth/login": "POST",
          "/api/auth/verify": "POST", "/api/auth/logout": "POST"}  # fmt: skip


class Refused(Exception):
    """A request refused before routing: answered `status`, then the connection is closed."""

    def __init__(self, status: int) -> None:
        self.status = status


@dataclass
class NameState:
    failures: int = 0
    locked_until: float = 0.0
    locks: int = 0  # LOCK-7: each lock without a success in between lasts twice as long


@dataclass
class Answer:
    status: int
    body: dict[str, Any] | None
    headers: tuple[tuple[str, str], ...] = ()


def error(status: int, code: str, message: str = "refused", *headers: tuple[str, str]) -> Answer:
    return Answer(status, {"status": "error", "error": code, "message": message}, headers)


def no_token() -> Answer:
    return error(401, "missing_token", "no token", ("WWW-Authenticate", 'Bearer realm="tfa"'))


def locked(retry: int) -> Answer:
    body = {
        "status": "locked",
        "error": "account_locked",
        "message": "locked",
        "retry_after": retry,
    }
    return Answer(429, body, (("Retry-After", str(retry)),))


class AttackServer:
    lock_failures = 5
    lock_s = 5
    throttle: tuple[int, int] | None = (50, 5)  # LOCK-8: max_failures in window_s per address
    hash_s = 0.002
    workers = 2  # INPUT-6: hashing runs in this many workers ...
    hash_wait_s = 0.5  # ... and a login waits at most this long for one, else 503 busy
    one_slot = False  # serve one connection at a time, as the board does
    request_deadline_s = 2.0  # INPUT-4: a request head and body complete within this
    body_limit = 1024

    def __init__(self, **settings: Any) -> None:
        for key, value in settings.items():
            if not hasattr(self, key):
                raise TypeError(f"AttackServer has no setting {key!r}")
            setattr(self, key, value)
        self.skew = 0.0
        self.names: MutableMapping[str, NameState] = self.name_table()
        self.failures: dict[str, deque[float]] = defaultdict(deque)
        self.pool = ThreadPoolExecutor(self.workers)
        self.pending: list[tuple[str, asyncio.StreamReader, asyncio.StreamWriter, Any]] = []
        self.served_at: dict[str, float] = {}
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.port = 0

    # --- clock and lifecycle ------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self.skew

    def advance(self, seconds: float) -> None:
        self.skew += seconds

    def start(self) -> str:
        self._thread.start()
        self.server = asyncio.run_coroutine_threadsafe(self._listen(), self.loop).result(10)
        self.port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{self.port}"

    async def _listen(self) -> asyncio.Server:
        self.workers_free = asyncio.Semaphore(self.workers)
        self.wake = asyncio.Event()
        if self.one_slot:
            self.loop.create_task(self._slot())
        return await asyncio.start_server(self._connected, "127.0.0.1", 0, backlog=128)

    def stop(self) -> None:
        async def close() -> None:
            self.server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.pool.shutdown(wait=False, cancel_futures=True)

    def target(self) -> Target:
        accounts = [
            {"username": f"nobody-{i}", "password": "unused", "totp_secret": "JBSWY3DPEHPK3PXP"}
            for i in range(4)
        ]  # the profile needs accounts; the attack cases never use them
        profile = profile_from_dict(
            {"base_url": f"http://127.0.0.1:{self.port}", "name": type(self).__name__,
             "accounts": accounts}
        )  # fmt: skip
        return Target(profile=profile, clock=MovableClock(self.now, self.advance))

    # --- connections ----------------------------------------------------------------------
    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.one_slot:
            await self._serve(reader, writer, keep_alive=True)
            return
        done = self.loop.create_future()
        self.pending.append((writer.get_extra_info("peername")[0], reader, writer, done))
        self.wake.set()
        await done

    async def _slot(self) -> None:
        while True:
            while not self.pending:
                self.wake.clear()
                await self.wake.wait()
            peer, reader, writer, done = self.pending.pop(self.next_connection())
            self.served_at[peer] = time.monotonic()
            await self._serve(reader, writer, keep_alive=False)
            self.served_at[peer] = time.monotonic()
            done.set_result(None)

    def next_connection(self) -> int:
        """INPUT-7: the waiting connection whose address was served longest ago goes next."""
        return min(
            range(len(self.pending)), key=lambda i: self.served_at.get(self.pending[i][0], -1.0)
        )

    async def _serve(self, reader: Any, writer: Any, keep_alive: bool) -> None:
        peer = writer.get_extra_info("peername")[0]
        try:
            while True:
                try:
                    request = await asyncio.wait_for(self._read(reader), self.request_deadline_s)
                except Refused as refused:
                    await self._write(writer, error(refused.status, CODES[refused.status]), True)
                    return
                if request is None:
                    return
                method, path, body, close = request
                answer = await self._answer(method, path, body, peer)
                await self._write(writer, answer, close or not keep_alive)
                if close or not keep_alive:
                    return
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, ValueError):
            return
        finally:
            writer.close()

    async def _write(self, writer: Any, answer: Answer, close: bool) -> None:
        body = json.dumps(answer.body).encode() if answer.body is not None else b""
        head = [f"HTTP/1.1 {answer.status} {REASONS[answer.status]}",
                f"Date: {formatdate(usegmt=True)}", "Cache-Control: no-store",
                "Content-Type: application/json", f"Content-Length: {len(body)}",
                *(f"{k}: {v}" for k, v in answer.headers)]  # fmt: skip
        if close:
            head.append("Connection: close")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await writer.drain()

    # --- framing (INPUT-8) ----------------------------------------------------------------
    async def _read(self, reader: asyncio.StreamReader) -> tuple[str, str, bytes, bool] | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                raise
            return None
        except asyncio.LimitOverrunError:
            raise Refused(431) from None
        lines = head[:-4].split(b"\r\n")
        parts = lines[0].split(b" ")
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/"):
            raise Refused(400)
        method, target, version = parts
        if not self.version_ok(version):
            raise Refused(505)
        headers: dict[bytes, bytes] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or _BAD_NAME.search(name):
                raise Refused(400)
            value = value.strip(b" \t")
            if not self.value_ok(value):
                raise Refused(400)
            headers[name.lower()] = value
        return (method.decode(), target.decode().split("?")[0], await self._body(reader, headers),
                headers.get(b"connection", b"").lower() == b"close")  # fmt: skip

    async def _body(self, reader: asyncio.StreamReader, headers: dict[bytes, bytes]) -> bytes:
        encoding, length = headers.get(b"transfer-encoding"), headers.get(b"content-length")
        if encoding is not None and length is not None and self.both_lengths_refused():
            raise Refused(400)
        if length is None:
            if encoding is not None:
                raise Refused(411)  # chunked bodies are not what this server is for
            return b""
        size = self.content_length(length)
        if size is None:
            raise Refused(400)
        if size > self.body_limit:
            raise Refused(self.too_large_status())
        return await reader.readexactly(size)

    def version_ok(self, version: bytes) -> bool:
        return version in (b"HTTP/1.0", b"HTTP/1.1")

    def value_ok(self, value: bytes) -> bool:
        return _CONTROL.search(value) is None

    def both_lengths_refused(self) -> bool:
        return True

    def content_length(self, value: bytes) -> int | None:
        return int(value) if re.fullmatch(rb"[0-9]+", value) else None

    def too_large_status(self) -> int:
        return 413

    # --- the protocol ---------------------------------------------------------------------
    async def _answer(self, method: str, path: str, body: bytes, peer: str) -> Answer:
        allowed = ROUTES.get(path)
        if allowed is None:
            return error(404, "not_found")
        if method != allowed:
            return error(405, "method_not_allowed", "refused", ("Allow", allowed))
        if path == "/api/info":
            return await self.cheap(self.info)
        if path in ("/api/dashboard", "/api/auth/logout"):
            return await self.cheap(
                lambda: error(
                    401, "missing_token", "no", ("WWW-Authenticate", 'Bearer realm="tfa"')
                )
            )
        try:
            fields = json.loads(body)
        except ValueError:
            fields = None
        if not isinstance(fields, dict) or (
            path == "/api/auth/login"
            and not all(isinstance(fields.get(k), str) and fields[k] for k in FIELDS)
        ):
            return error(400, "invalid_request")
        retry = self.throttled(peer, self.now())
        if retry is not None:
            return locked(retry)
        if path == "/api/auth/verify":
            return error(401, "invalid_challenge")
        return await self.login(str(fields.get("username")), peer)

    def info(self) -> Answer:
        info: dict[str, Any] = {
            "api_version": "1", "server_time": int(self.now()), "time_synced": True,
            "profile": "test", "totp": {"algorithm": "SHA1", "digits": 6, "period": 30,
                                        "skew_steps": 1},
            "lockout": {"max_failures": self.lock_failures, "duration_s": self.lock_s,
                        "escalation": "double"},
            "session_ttl_s": 5, "challenge_ttl_s": 5,
        }  # fmt: skip
        if self.throttle is not None:
            info["throttle"] = {"max_failures": self.throttle[0], "window_s": self.throttle[1]}
        return Answer(200, info)

    async def login(self, name: str, peer: str) -> Answer:
        state = self.names.get(name) or NameState()
        now = self.now()
        if state.locked_until > now:
            return locked(max(1, math.ceil(state.locked_until - now)))
        if not await self.hashed():
            return error(503, "busy", "try again", ("Retry-After", "1"))
        now = self.now()
        state = self.names.get(name) or state  # what logins judged during the hash (LOCK-5)
        if state.locked_until > now:
            return locked(max(1, math.ceil(state.locked_until - now)))
        if state.locked_until:
            state = self.lock_ended(state)
        state.failures += 1
        if state.failures >= self.lock_failures:
            state.locks += 1
            state.locked_until = now + self.lock_s * 2 ** (state.locks - 1)
        self.names[name] = state
        self.failures[peer].append(now)
        return error(401, "invalid_credentials")

    # --- the rules the flood, churn and throttle cases judge -------------------------------
    def name_table(self) -> MutableMapping[str, NameState]:
        """LOGIN-3: every name's count and lock, evicted by nothing."""
        return {}

    def lock_ended(self, state: NameState) -> NameState:
        """LOGIN-3, LOCK-7: the counter starts again from 0; the name's locks are remembered."""
        return NameState(locks=state.locks)

    def throttled(self, peer: str, now: float) -> int | None:
        """LOCK-8: seconds until `peer` is below its failure limit, or None when it is."""
        if self.throttle is None:
            return None
        limit, window = self.throttle
        times = self.failures[peer]
        while times and times[0] <= now - window:
            times.popleft()
        if len(times) < limit:
            return None
        return max(1, math.ceil(times[-limit] + window - now))

    async def hashed(self) -> bool:
        """INPUT-6: a hash in the bounded pool, or False when no worker is free in time."""
        try:
            await asyncio.wait_for(self.workers_free.acquire(), self.hash_wait_s)
        except TimeoutError:
            return False
        try:
            await self.loop.run_in_executor(self.pool, time.sleep, self.hash_s)
        finally:
            self.workers_free.release()
        return True

    async def cheap(self, answer: Callable[[], Answer]) -> Answer:
        """INPUT-6: cheap requests never wait for the hashing pool."""
        return answer()
