"""The protocol's decisions, each one store transaction: core rules applied to stored state.

The edge turns the results into HTTP; this module knows nothing of HTTP. The rules come from the
policies it is given (core/), the state from the store: both are constructor arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from reference_server.audit import Audit
from reference_server.core import backup_codes
from reference_server.core.address_throttle import AddressThrottle
from reference_server.core.challenge import ChallengePolicy
from reference_server.core.clock import Clock
from reference_server.core.lockout import Lockout, ThrottleState
from reference_server.core.passwords import Passwords
from reference_server.core.session import SessionPolicy
from reference_server.core.tokens import TokenSource, token_digest
from reference_server.core.totp import TotpPolicy, decode_secret, encode_secret
from reference_server.store import Account, Store, Tx

PRUNE_EVERY = 256


@dataclass(frozen=True)
class Refused:
    error: str  # a DECISIONS.md error code


@dataclass(frozen=True)
class Locked:
    retry_after: int


@dataclass(frozen=True)
class ChallengeIssued:
    challenge_token: str
    expires_in: int


@dataclass(frozen=True)
class SessionIssued:
    session_token: str
    expires_in: int


@dataclass(frozen=True)
class Dashboard:
    username: str
    issued_at: int
    expires_at: int


@dataclass(frozen=True)
class LoggedOut:
    username: str


@dataclass(frozen=True)
class NewAccount:
    username: str
    password: str
    totp_secret: str  # base32
    backup_codes: list[str] = field(default_factory=list)


Result = Refused | Locked | ChallengeIssued | SessionIssued | Dashboard | LoggedOut


class Authenticator:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        profile: str,
        totp: TotpPolicy,
        lockout: Lockout,
        challenges: ChallengePolicy,
        sessions: SessionPolicy,
        tokens: TokenSource,
        passwords: Passwords,
        audit: Audit,
        time_synced: Callable[[], bool] = lambda: True,
        throttle: AddressThrottle | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.profile = profile
        self.totp = totp
        self.lockout = lockout
        self.challenges = challenges
        self.sessions = sessions
        self.tokens = tokens
        self.passwords = passwords
        self.audit = audit
        self.time_synced = time_synced
        self.throttle = throttle
        self._logins = 0

    # /api/info
    def info(self) -> dict[str, object]:
        # The protocol's constants are advertised as such (the wire format fixes them); the
        # durations and the escalation are the policies' own.
        lockout: dict[str, object] = {
            "max_failures": 5,
            "duration_s": int(self.lockout.duration_s),
        }
        if self.lockout.escalation:
            lockout["escalation"] = self.lockout.escalation
        info: dict[str, object] = {
            "api_version": "1",
            "server_time": int(self.clock.now()),
            "time_synced": bool(self.time_synced()),
            "profile": self.profile,
            "totp": {
                "algorithm": "SHA1",
                "digits": 6,
                "period": 30,
                "skew_steps": 1,
            },
            "lockout": lockout,
            "session_ttl_s": int(self.sessions.ttl_s),
            "challenge_ttl_s": int(self.challenges.ttl_s),
            "server": {"name": "reference", "implementation": "reference_server (CPython)"},
        }
        if self.throttle is not None:
            info["throttle"] = self.throttle.wire()
        return info

    # POST /api/auth/login
    def login(self, username: str, password: str, source: str | None) -> Result:
        """Two transactions around the slow hash, so that logins hash in parallel and never hold
        the store: the first refuses a locked name early; the second re-reads the state and
        judges only if the name is still unlocked, so of N concurrent attempts at most
        max_failures are judged (LOCK-5) whatever happened during the hash."""
        with self.store.transaction() as tx:
            now = self.clock.now()
            self._maybe_prune(tx, now)
            account = tx.account(username)
            early = self._refuse_if_throttled(tx, "login", username, source, now)
            early = early or self._refuse_if_locked(tx, account, username, now, source)
        if early is not None:
            return early
        ok = self.passwords.verify(account.password_hash if account else None, password)
        with self.store.transaction() as tx:
            now = self.clock.now()
            current = tx.account(username)
            if (current and current.password_hash) != (account and account.password_hash):
                ok = False  # the password was changed or the account removed during the hash
            late = self._refuse_if_throttled(tx, "login", username, source, now)
            late = late or self._refuse_if_locked(tx, account, username, now, source)
            if late is not None:
                return late
            # LOGIN-3: an unknown name is counted and locked exactly like a wrong password.
            stored = tx.throttle(username)
            state = self.lockout.current(stored, now)
            if ok and account is not None:
                # LOCK-4: a right password alone does not reset the counter (an ended lock is
                # written back as ended)
                self._put(tx, username, stored, state, now)
                token = self.tokens.token()
                tx.add_challenge(token_digest(token), username, now)
                self.audit.record("login", username, source, "challenge_issued")
                return ChallengeIssued(token, int(self.challenges.ttl_s))
            self._put(tx, username, stored, self.lockout.fail(state, now), now)
            self._count_address_failure(tx, source, now)
            self.audit.record("login", username, source, "invalid_credentials")
            return Refused("invalid_credentials")

    # POST /api/auth/verify
    def verify(
        self,
        challenge_token: str,
        *,
        totp_code: str | None = None,
        backup_code: str | None = None,
        source: str | None = None,
    ) -> Result:
        now = self.clock.now()
        digest = token_digest(challenge_token)
        with self.store.transaction() as tx:
            throttled = self._refuse_if_throttled(tx, "verify", None, source, now)
            if throttled is not None:
                return throttled
            if not self.time_synced():
                self.audit.record("verify", None, source, "clock_not_synced")
                return Refused("clock_not_synced")
            challenge = tx.challenge(digest)
            account = tx.account(challenge.username) if challenge else None
            if account is None or not self.challenges.is_usable(challenge, now):
                self.audit.record("verify", None, source, "invalid_challenge")
                return Refused("invalid_challenge")
            username = account.username
            stored = tx.throttle(username)
            state = self.lockout.current(stored, now)
            if self.lockout.is_locked(state, now):  # LOCK-3: an attempt changes nothing
                self.audit.record("verify", username, source, "locked")
                return Locked(self.lockout.retry_after(state, now))
            if totp_code is not None:
                ok = self._judge_totp(tx, account, totp_code, now)
            else:
                ok = self._judge_backup_code(tx, account, backup_code or "")
            if not ok:
                self._put(tx, username, stored, self.lockout.fail(state, now), now)
                self._count_address_failure(tx, source, now)
                self.audit.record("verify", username, source, "invalid_code")
                return Refused("invalid_code")
            self._put(tx, username, stored, self.lockout.succeed(state), now)
            tx.use_challenge(digest)
            token = self.tokens.token()
            tx.add_session(token_digest(token), username, now)
            self.audit.record("verify", username, source, "success")
            return SessionIssued(token, int(self.sessions.ttl_s))

    def _refuse_if_throttled(
        self, tx: Tx, event: str, username: str | None, source: str | None, now: float
    ) -> Locked | None:
        """LOCK-8, after the body check and before any account's lock; changes nothing."""
        if self.throttle is None or not source:
            return None
        failures = tx.address_failures(source, self.throttle.since(now))
        retry_after = self.throttle.retry_after(failures, now)
        if retry_after is None:
            return None
        self.audit.record(event, username, source, "throttled")
        return Locked(retry_after)

    def _count_address_failure(self, tx: Tx, source: str | None, now: float) -> None:
        if self.throttle is not None and source:
            tx.add_address_failure(source, now, self.throttle.since(now))

    def _refuse_if_locked(
        self, tx: Tx, account: Account | None, username: str, now: float, source: str | None
    ) -> Locked | None:
        stored = tx.throttle(username)
        state = self.lockout.current(stored, now)
        if not self.lockout.is_locked(state, now):
            return None  # LOCK-3: an attempt during the lock changes nothing
        self.audit.record("login", username, source, "locked")
        return Locked(self.lockout.retry_after(state, now))

    def _judge_totp(self, tx: Tx, account: Account, code: str, now: float) -> bool:
        """Check and update of the last accepted step in the caller's transaction (TOTP-4)."""
        key = decode_secret(account.totp_secret)
        step = self.totp.verify(key, code, now, account.last_step)
        if step is None:
            return False
        tx.set_last_step(account.username, max(step, account.last_step or 0))
        return True

    def _judge_backup_code(self, tx: Tx, account: Account, code: str) -> bool:
        found = None
        for rowid, stored in tx.backup_codes(account.username):
            if backup_codes.matches(stored, code) and found is None:
                found = rowid
        if found is None:
            return False
        tx.use_backup_code(found)
        return True

    # GET /api/dashboard, POST /api/auth/logout
    def dashboard(self, session_token: str) -> Result:
        now = self.clock.now()
        with self.store.transaction() as tx:
            session = tx.session(token_digest(session_token))
        if session is None or not self.sessions.is_valid(session, now):
            return Refused("invalid_token")
        return Dashboard(session.username, **self.sessions.wire_times(session))

    def logout(self, session_token: str, source: str | None) -> Result:
        now = self.clock.now()
        digest = token_digest(session_token)
        with self.store.transaction() as tx:
            session = tx.session(digest)
            if session is None or not self.sessions.is_valid(session, now):
                return Refused("invalid_token")
            tx.revoke_session(digest)
        self.audit.record("logout", session.username, source, "revoked")
        return LoggedOut(session.username)

    # administration (CLI, test accounts)
    def create_account(
        self, username: str, password: str, *, backup_code_count: int = 10
    ) -> NewAccount:
        """Create or replace an account: fresh secret and backup codes; its throttle row stays
        (LOCK-6: replacing the test accounts on restart does not end a lock)."""
        secret = encode_secret(self.tokens.secret())
        codes = backup_codes.generate(backup_code_count)
        password_hash = self.passwords.hash(password)
        hashes = [backup_codes.hash_code(c) for c in codes]
        now = self.clock.now()
        with self.store.transaction() as tx:
            tx.delete_account(username)
            tx.put_account(Account(username, password_hash, secret, None), now)
            tx.add_backup_codes(username, hashes)
        return NewAccount(username, password, secret, codes)

    def calibrate(self) -> None:
        """Match the unknown-name dummy hash to the stored accounts' cost (LOGIN-4)."""
        with self.store.transaction() as tx:
            hashes = [a.password_hash for a in map(tx.account, tx.usernames()) if a]
        self.passwords.calibrate_dummy(hashes)

    def reset_lockout(self, username: str) -> None:
        with self.store.transaction() as tx:
            tx.clear_throttle(username)

    def _put(
        self, tx: Tx, username: str, stored: ThrottleState, state: ThrottleState, now: float
    ) -> None:
        if state != stored:
            tx.put_throttle(username, state, now)

    def _maybe_prune(self, tx: Tx, now: float) -> None:
        self._logins += 1
        if self._logins % PRUNE_EVERY == 0:
            tx.prune(now, self.challenges.ttl_s, self.sessions.ttl_s)
            if self.throttle is not None:
                tx.prune_address_failures(self.throttle.since(now))
