"""The reference server in-process: for the conformance suite's self-tests, benchmarks and tests.

    server = EmbeddedServer(profile="production", accounts=8)
    httpx.Client(transport=httpx.ASGITransport(server.app), base_url="http://testserver")
    server.clock.advance(300)            # a FakeClock unless a clock was given
    base_url = server.start()            # real uvicorn on 127.0.0.1:<ephemeral>
    server.restart()                     # same db file, same port (LOCK-6)
    server.target_profile()              # {"base_url", "name", "accounts": [...]}

It is assembled as `serve` assembles it; what differs is given, as to any constructor: the clock,
the password hasher, the policies (keywords of `assembly.build_authenticator`, `throttle` among
them: LOCK-8's per-address limit as `serve --throttle`, an AddressThrottle or "off"), the pool
logins hash in (`hashing`, INPUT-6) and the ASGI app built around the Authenticator (`app`, called
with the Authenticator, the clock and the pool; `edge.app.build_app` by default).

Files: `db_path` (default: a temporary directory), `secret_key_file` (default: beside it), as
`serve --db --secret-key-file`. Durations: `lockout_seconds`, `session_ttl`, `challenge_ttl` (test
profile only, as on the CLI).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp

from reference_server.assembly import (
    build_authenticator,
    create_test_accounts,
    durations_for,
    target_profile,
)
from reference_server.audit import Audit
from reference_server.auth import Authenticator, NewAccount
from reference_server.core.clock import Clock, FakeClock
from reference_server.edge.app import build_app
from reference_server.edge.server import IDLE_TIMEOUT_S, BackgroundServer, bind, make_server
from reference_server.hashing import HashingPool
from reference_server.store import Store
from reference_server.store.secret_key import default_key_path

AppFactory = Callable[[Authenticator, Clock, HashingPool], ASGIApp]


class EmbeddedServer:
    def __init__(
        self,
        *,
        profile: str = "test",
        accounts: int = 8,
        db_path: str | None = None,
        clock: Clock | None = None,
        tls: bool = False,
        lockout_seconds: int | None = None,
        session_ttl: int | None = None,
        challenge_ttl: int | None = None,
        audit_log: str | None = None,
        secret_key_file: str | None = None,
        idle_timeout: float = IDLE_TIMEOUT_S,
        app: AppFactory = build_app,
        hashing: HashingPool | None = None,
        **policies: Any,
    ) -> None:
        self.profile = profile
        self.clock: Any = clock if clock is not None else FakeClock()
        self.durations = durations_for(profile, lockout_seconds, session_ttl, challenge_ttl)
        self._tmpdir: str | None = None
        if db_path is None or tls:
            self._tmpdir = tempfile.mkdtemp(prefix="reference-server-")
        self.db_path = db_path or os.path.join(self._tmpdir or ".", "server.db")
        self.tls = tls
        self.cert_path: str | None = None
        self.key_path: str | None = None
        if tls:
            self.cert_path, self.key_path = _self_signed(self._tmpdir or ".")
        self.idle_timeout = idle_timeout
        self._app_factory = app
        self.hashing = hashing or HashingPool()
        self._policies = policies
        self._audit_log = audit_log
        self.secret_key_file = secret_key_file or default_key_path(self.db_path)
        self._port = 0
        self._background: BackgroundServer | None = None
        self._open()
        self.accounts: list[NewAccount] = create_test_accounts(self.auth, accounts)
        self.auth.calibrate()

    def _open(self) -> None:
        in_memory = self.db_path == ":memory:"
        self.store = Store(self.db_path, None if in_memory else self.secret_key_file)
        self.audit = Audit(self.clock, self._audit_log)
        self.auth: Authenticator = build_authenticator(
            profile=self.profile,
            durations=self.durations,
            store=self.store,
            clock=self.clock,
            audit=self.audit,
            **self._policies,
        )
        self.app = self._app_factory(self.auth, self.clock, self.hashing)

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self._port}"

    def start(self) -> str:
        """uvicorn in a background thread on 127.0.0.1 (an ephemeral port the first time)."""
        sock = bind("127.0.0.1", self._port)
        self._port = sock.getsockname()[1]
        server = make_server(
            self.app,
            clock=self.clock,
            tls_cert=self.cert_path,
            tls_key=self.key_path,
            idle_timeout=self.idle_timeout,
        )
        self._background = BackgroundServer(server, sock, self.idle_timeout)
        self._background.start()
        return self.base_url

    def stop(self) -> None:
        if self._background is not None:
            self._background.stop()
            self._background = None

    def restart(self) -> None:
        """Stop, reopen the store from the same db file, start again on the same port (LOCK-6)."""
        running = self._background is not None
        self.stop()
        self.store.close()
        self.audit.close()
        self._open()
        self.auth.calibrate()
        if running:
            self.start()

    def close(self) -> None:
        self.stop()
        self.store.close()
        self.audit.close()
        self.hashing.shutdown()
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    def target_profile(self) -> dict[str, Any]:
        return target_profile(
            self.base_url,
            self.accounts,
            ca_cert=self.cert_path,
            name="reference server (embedded)",
        )

    def __enter__(self) -> EmbeddedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _self_signed(directory: str) -> tuple[str, str]:
    """A throwaway EC P-256 certificate for 127.0.0.1 (its own CA)."""
    from reference_server.tls import make_self_signed

    return make_self_signed(directory)
