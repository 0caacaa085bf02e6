"""The reference server in-process: for the conformance suite, its mutants and the tests.

    server = EmbeddedServer(profile="production", accounts=8)
    httpx.Client(transport=httpx.ASGITransport(server.app), base_url="http://testserver")
    server.clock.advance(300)            # a FakeClock unless a clock was given
    base_url = server.start()            # real uvicorn on 127.0.0.1:<ephemeral>
    server.restart()                     # same db file, same port (LOCK-6)
    server.target_profile()              # {"base_url", "name", "accounts": [...]} (CONTRACT shape)

Seams (keyword arguments; each mutant is a few lines that never edits this package):

- `totp`: TotpPolicy fields or instance: `{"skew_steps": 2}` (wider window),
  `{"skew_steps": 0}` (narrower), `{"replay_protection": False}` (replay allowed),
  `{"algorithm": "SHA256"}` (wrong HMAC).
- `lockout`: Lockout fields, instance or subclass: `{"max_failures": 6}`, `{"max_failures": 10**9}`
  (no lockout), `{"counts_code_failures": False}`, `{"escalation": None}`; subclass hooks
  `on_password_ok(state)` (return `ThrottleState()` to let a right password reset the counter),
  `on_locked_attempt(state, now)` (return a state with a later `locked_until` to extend the lock),
  `current(state, now)`, `fail(state, now)`, `lock_duration(k)`.
- `challenges`: ChallengePolicy fields or subclass: `{"single_use": False}` (reuse); override
  `is_usable(challenge, now)` to ignore `issued_at` (never expire; `ttl_s` is still advertised).
- `sessions`: SessionPolicy fields or subclass: `{"revoke_on_logout": False}`; override
  `is_valid(session, now)` to ignore the expiry (never expire).
- `tokens`: TokenSource fields: `{"nbytes": 8}` (short tokens), `{"random_bytes": fn}`.
- `authenticator`: an Authenticator subclass: class attributes `unknown_user_error = "unknown_user"`
  (answered differently), `throttle_unknown_users = False` (never locked); override
  `malformed_code(challenge_token, source)` to count malformed codes (call
  `self.count_failure(challenge_token)`), or `login`/`verify` wholesale.
  /api/info always advertises the protocol's constants (max_failures 5, SHA1/6/30/skew 1), so a
  mutant never announces the rule it breaks; the durations and `escalation` are the real ones.
- `edge`: EdgeOptions fields or instance: `{"body_limit": None}` (no body limit),
  `{"cache_control": False}`, `{"www_authenticate": False}`, `{"retry_after_header": False}`,
  `{"bad_json_status": 500}`; `{"code_format": fn}`: `fn(code)` returns the code to judge or
  None when malformed (the default takes exactly 6 ASCII digits; `lambda c: f"{int(c):06d}"
  if len(c) == 6 and c.isdecimal() else None` takes Unicode digits, TOTP-5).
- `on_restart`: called with the server by `restart()` once the store is reopened, before it
  serves again; a mutant clears what should have lasted (`server.auth.reset_lockout(name)`
  for every account: the lock is lost on restart, LOCK-6).
- `time_synced`: a callable returning False makes verify answer 503 (TOTP-7).
- `passwords`: a Passwords instance (default: argon2id at the profile's cost).
- `throttle`: LOCK-8's per-address limit, as `--throttle`: AddressThrottle fields over the
  profile's default (`{"max_failures": 500}`), an AddressThrottle, or "off".
- `hashing`: the HashingPool logins run in (INPUT-6; default: about one worker per core).

Files: `db_path` (default: a temporary directory), `secret_key_file` (default: beside it), as
`serve --db --secret-key-file`.

Durations: `lockout_seconds`, `session_ttl`, `challenge_ttl` (test profile only, as on the CLI).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from typing import Any

from reference_server.assembly import (
    build_authenticator,
    create_test_accounts,
    durations_for,
    resolve,
    target_profile,
)
from reference_server.audit import Audit
from reference_server.auth import Authenticator, NewAccount
from reference_server.core.clock import Clock, FakeClock
from reference_server.edge.app import build_app
from reference_server.edge.options import EdgeOptions
from reference_server.edge.server import IDLE_TIMEOUT_S, BackgroundServer, bind, make_server
from reference_server.hashing import HashingPool
from reference_server.store import Store
from reference_server.store.secret_key import default_key_path


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
        edge: Any = None,
        hashing: HashingPool | None = None,
        on_restart: Callable[[EmbeddedServer], None] | None = None,
        **seams: Any,
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
        self.options: EdgeOptions = resolve(edge, EdgeOptions)
        self.idle_timeout = idle_timeout
        self.hashing = hashing or HashingPool()
        self.on_restart = on_restart
        self._seams = seams
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
            **self._seams,
        )
        self.app = build_app(self.auth, self.clock, self.options, self.hashing)

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
            options=self.options,
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
        if self.on_restart is not None:
            self.on_restart(self)
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
