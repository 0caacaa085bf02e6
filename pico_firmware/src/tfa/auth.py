"""The protocol core: accounts, failures and lockout, challenges, sessions, backup codes.

Pure logic: time comes from `clock` (now() -> int, synced() -> bool), randomness from
`rand(n) -> bytes`, persistence through `lockout` (a tfa.lockout.Lockout: failures and locks
by name) and `store` (load() / save(rows): each account's last accepted step and spent
backup codes); `throttle` (a tfa.throttle.Throttle, or None) counts failures by source
address (LOCK-8). Every decision runs without awaiting, so on the one-threaded asyncio
board a check and its update are one atomic step (LOCK-5, TOTP-4), and every change is
written before the answer that reports it (STORE-3).
The clock has whole seconds, so a moment `t` stands for [t, t+1): a lock, challenge or
session of `d` seconds from `t` lasts through second t+d and ends at t+d+1, never before
its full length (it may last up to a second longer).

Order of judgement and outcome names follow spec/DECISIONS.md; the HTTP edge maps each
outcome to a status code.
"""

import hashlib
from binascii import b2a_base64

from micropython import const

from tfa import pbkdf2, totp

_MAX_FAILURES = const(5)
_LOCK_CAP_S = const(86400)
_MAX_CHALLENGES = const(16)
_MAX_SESSIONS = const(16)  # a personal board: the oldest session goes first when full
_MAX_LEVEL = const(20)  # lock levels past ~9 all last the cap

# an account's row fields (tfa.store)
_STEP = const(0)
_USED = const(1)

# a dummy entry for unknown names: the same cost as a real check, never a match (LOGIN-3/4)
_DUMMY_SALT = b"tfa-dummy-salt-0"


def token(rand):
    """32 random bytes as URL-safe base64 without padding (43 chars)."""
    s = b2a_base64(rand(32)).decode().strip().rstrip("=")
    return s.replace("+", "-").replace("/", "_")


def _key(tok):
    return hashlib.sha256(tok.encode()).digest()


def normalize_backup(code):
    return code.replace(" ", "").replace("-", "").lower()


class User:
    """One provisioned account: its password entry, TOTP secret, backup-code entries."""

    def __init__(self, username, password, secret, backups):
        # hash entries are pbkdf2.pack()ed: one bytes object for the password, one for
        # all backup codes (on a board, tfa.users reads them from flash per login)
        self.username = username
        self.password = password  # pbkdf2.pack() bytes
        self.secret = secret  # bytes
        self.backups = backups  # concatenated pbkdf2.pack() records


class Auth:
    def __init__(self, users, policy, clock, rand, store, iterations, lockout, throttle=None):
        # a mapping of name -> User (`in`, `get`): tfa.users.UserFile on a board, or a list
        self.users = users
        if isinstance(users, list):
            self.users = {}
            for u in users:
                self.users[u.username] = u
        self.lockout_s = policy["lockout_s"]
        self.session_ttl_s = policy["session_ttl_s"]
        self.challenge_ttl_s = policy["challenge_ttl_s"]
        self.clock = clock
        self.rand = rand
        self.store = store
        self.rows = store.load()  # username -> [last_step, used_mask]
        self.lockout = lockout
        self.throttle = throttle
        self.challenges = {}  # sha256(token) -> (username, issued_at)
        self.sessions = {}  # sha256(token) -> (username, issued_at)
        self.dummy = (iterations, _DUMMY_SALT, bytes(32))  # parsed already
        self.logins_ok = 0
        self.logins_failed = 0

    # ---- failures and lockout -------------------------------------------------------
    def retry_after(self, name, now):
        """Seconds left of the lock on `name`, rounded up (>= 1), or 0 if it is not locked (LOCK-2/3)."""
        until = self.lockout.get(name)[1]
        if not until or now > until:
            return 0
        # the lock lasts through second `until`: from whole second `now`, between until-now
        # and until-now+1 seconds are left, so their ceiling (spec/DECISIONS.md) is the latter;
        # one less would send a client back a second early, into another 429
        return until + 1 - now

    def _refused(self, source, now):
        """Seconds the address `source` must wait (LOCK-8), or 0."""
        return self.throttle.retry_after(source, now) if self.throttle and source else 0

    def _fail(self, name, source, now):
        i, until, fails, level = self.lockout.get(name)
        if until and now > until:
            fails = until = 0  # the lock is over: the count starts from zero (LOCK-3)
        fails += 1
        self.logins_failed += 1
        if fails >= _MAX_FAILURES:
            level = min(level + 1, _MAX_LEVEL)
            d = self.lockout_s
            for _ in range(level - 1):
                d *= 2
                if d >= _LOCK_CAP_S:
                    break
            until = now + min(d, _LOCK_CAP_S)
        self.lockout.put(i, until, fails, level)
        if self.throttle and source:
            self.throttle.fail(source, now)

    # ---- login ------------------------------------------------------------------------
    def login(self, username, password, source=None):
        """("locked", retry_after) | ("invalid_credentials", None) | ("challenge_issued", token).
        source: the client's address, for the per-address throttle (LOCK-8)."""
        now = self.clock.now()
        left = self._refused(source, now) or self.retry_after(username, now)
        if left:
            return "locked", left
        user = self.users.get(username)
        entry = next(pbkdf2.unpack(user.password)) if user else self.dummy
        ok = pbkdf2.verify(password, entry)
        if not ok or user is None:
            self._fail(username, source, now)
            return "invalid_credentials", None
        tok = token(self.rand)
        self._prune(self.challenges, self.challenge_ttl_s, _MAX_CHALLENGES, now)
        self.challenges[_key(tok)] = (username, now)
        return "challenge_issued", tok

    # ---- verify -----------------------------------------------------------------------
    def challenge_user(self, tok):
        """The account a live challenge is bound to, or None (CHAL-1..4)."""
        entry = self._lookup(self.challenges, tok, self.challenge_ttl_s)
        return entry[0] if entry else None

    def verify(self, tok, code=None, backup=None, source=None):
        """(outcome, username, extra): outcome in clock_not_synced, invalid_challenge,
        locked (extra = retry_after), invalid_code, success (extra = session token)."""
        left = self._refused(source, self.clock.now())
        if left:  # the address is throttled (LOCK-8): before anything is judged
            return "locked", self.challenge_user(tok), left
        if not self.clock.synced():
            return "clock_not_synced", self.challenge_user(tok), None
        now = self.clock.now()
        key = _key(tok)
        entry = self._lookup(self.challenges, tok, self.challenge_ttl_s)
        if entry is None:
            return "invalid_challenge", None, None
        name = entry[0]
        left = self.retry_after(name, now)
        if left:
            return "locked", name, left
        user = self.users.get(name)
        if user is None:  # the account is gone since the challenge was issued
            return "invalid_challenge", None, None
        row = self.rows.get(name) or [-1, 0]
        used_backup = -1
        matched = None
        if code is not None:
            matched = totp.match(user.secret, code, now, row[_STEP])
        else:
            b = normalize_backup(backup)
            i = 0
            for entry in pbkdf2.unpack(user.backups):
                # every unused entry is checked, so timing does not say which one matched
                if not row[_USED] & (1 << i) and pbkdf2.verify(b, entry):
                    used_backup = i
                i += 1
        if matched is None and used_backup < 0:
            self._fail(name, source, now)
            return "invalid_code", name, None
        del self.challenges[key]
        # a success clears its slot's count and level; never a lock: a locked slot got 429
        i, until, fails, level = self.lockout.get(name)
        if fails or level or until:
            self.lockout.put(i, 0, 0, 0)
        if matched is not None:
            row[_STEP] = matched
        else:
            row[_USED] |= 1 << used_backup
        self.rows[name] = row
        self.store.save(self.rows)
        self.logins_ok += 1
        tok = token(self.rand)
        self._prune(self.sessions, self.session_ttl_s, _MAX_SESSIONS, now)
        self.sessions[_key(tok)] = (name, now)
        return "success", name, tok

    # ---- sessions ---------------------------------------------------------------------
    def session(self, tok):
        """(username, issued_at) of a live session, or None (SESS-2..4)."""
        return self._lookup(self.sessions, tok, self.session_ttl_s)

    def logout(self, tok):
        entry = self._lookup(self.sessions, tok, self.session_ttl_s)
        if entry is None:
            return None
        del self.sessions[_key(tok)]
        return entry[0]

    # ---- helpers ----------------------------------------------------------------------
    def _lookup(self, table, tok, ttl):
        # keyed by SHA-256 of the token: the dict compares digests, never the token, so
        # its timing tells nothing about how much of a guessed token was right (TOTP-6)
        if not isinstance(tok, str) or not tok:
            return None
        key = _key(tok)
        entry = table.get(key)
        if entry is None:
            return None
        if self.clock.now() > entry[1] + ttl:
            del table[key]
            return None
        return entry

    def _prune(self, table, ttl, cap, now):
        dead = [k for k, v in table.items() if now > v[1] + ttl]
        for k in dead:
            del table[k]
        while len(table) >= cap:
            oldest = None
            for k, v in table.items():
                if oldest is None or v[1] < table[oldest][1]:
                    oldest = k
            del table[oldest]

    def stats(self):
        now = self.clock.now()
        self._prune(self.sessions, self.session_ttl_s, _MAX_SESSIONS + 1, now)
        locked = 0
        for name in self.users:  # the accounts (not the unknown names) locked now
            if self.retry_after(name, now):
                locked += 1
        return {
            "logins_ok": self.logins_ok,
            "logins_failed": self.logins_failed,
            "locked": locked,
            "sessions": len(self.sessions),
        }
