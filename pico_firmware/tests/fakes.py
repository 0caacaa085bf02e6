"""Shared fakes for the firmware tests: a settable clock, a memory store, accounts, an LED
that records its colours, buttons pressed by script, a socket in memory."""

import io
import os
from binascii import b2a_base64

from tfa import pbkdf2
from tfa.auth import Auth, User
from tfa.led import Led
from tfa.lockout import Lockout

T0 = 1795000020  # 20 s into a TOTP step
SECRET = b"12345678901234567890"
ITER = 2


class Clock:
    def __init__(self, t=T0, synced=True):
        self.t = t
        self.is_synced = synced

    def now(self):
        return self.t

    def synced(self):
        return self.is_synced


class MemoryStore:
    def __init__(self, rows=None):
        self.rows = rows or {}
        self.saves = 0

    def load(self):
        return self.rows

    def save(self, rows):
        self.rows = rows
        self.saves += 1


def entry(secret, n=ITER):
    salt = os.urandom(16)
    dk = pbkdf2.pbkdf2_sha256(secret, salt, n)
    s64 = b2a_base64(salt).decode().strip()
    d64 = b2a_base64(dk).decode().strip()
    return f"pbkdf2_sha256${n}${s64}${d64}"


def user(name="alice", password="correct horse", backups=("abcde12345", "fghij67890")):  # noqa: S107
    codes = b"".join(pbkdf2.pack(pbkdf2.parse(entry(c))) for c in backups)
    return User(name, pbkdf2.pack(pbkdf2.parse(entry(password))), SECRET, codes)


def make(
    lockout=300,
    session=3600,
    challenge=120,
    clock=None,
    store=None,
    users=None,
    table=None,
    throttle=None,
):
    """(Auth, clock, store); the lockout table is a fresh file unless `table` is given."""
    policy = {"lockout_s": lockout, "session_ttl_s": session, "challenge_ttl_s": challenge}
    clock = clock or Clock()
    store = store or MemoryStore()
    table = table or Lockout(scratch("lockout") + "table", os.urandom)
    auth = Auth(users or [user()], policy, clock, os.urandom, store, ITER, table, throttle)
    return auth, clock, store


class Stream(io.IOBase):
    """A socket as the app uses it: non-blocking readinto/write, and pollable (ioctl), so
    asyncio waits on it as on a real one. `stall`: no more data ever comes (nor EOF)."""

    def __init__(self, data, stall=False):
        self.data = data
        self.stall = stall
        self.out = b""
        self.wmax = 0
        self.wturn = False

    def readinto(self, buf):
        if not self.data:
            return None if self.stall else 0
        n = min(len(buf), len(self.data), 1000)  # a few reads for a big request
        buf[:n] = self.data[:n]
        self.data = self.data[n:]
        return n

    def read(self, n):
        buf = bytearray(n)
        got = self.readinto(buf)
        return got if got is None else bytes(buf[:got])

    def write(self, b):
        if self.wmax:  # a socket (or TLS) that takes a little at a time, or nothing yet
            self.wturn = not self.wturn
            if self.wturn:
                return None
            b = b[: self.wmax]
        self.out += b
        return len(b)

    def ioctl(self, req, arg):
        if req != 3:  # MP_STREAM_POLL
            return 0
        ready = arg & 4  # writable
        if self.data or not self.stall:
            ready |= arg & 1  # readable (data, or the end of it)
        return ready


class RecordingLed(Led):
    """The board's Led over channels nobody reads; it records every colour shown."""

    def __init__(self, ticks_ms=None):
        self.colours = None  # the power-on "off" is not a shown colour
        super().__init__([_Channel(), _Channel(), _Channel()], ticks_ms=ticks_ms)
        self.colours = []

    def show(self, colour):
        if self.colours is not None:
            self.colours.append(colour)
        super().show(colour)


class _Channel:
    def duty_u16(self, v):
        self.duty = v


class ScriptedButtons:
    """No presses, or a script of them: each poll returns the next step (a name or a list)."""

    def __init__(self, script=()):
        self._script = list(script)

    def press(self, name):
        self._script.append(name)

    def poll(self):
        if not self._script:
            return []
        step = self._script.pop(0)
        if not step:
            return []
        return [step] if isinstance(step, str) else list(step)


SCRATCH = []  # directories scratch() made and sweep() has not removed yet


def scratch(tag):
    """A fresh directory for one test ("…/tfa-test-TAG-xxxxxxxx/"), as a board root path.

    run.py sweeps them after each test: a board's flash holds only a few lockout tables."""
    d = (os.getenv("TMPDIR") or "/tmp") + "/tfa-test-" + tag + "-" + os.urandom(4).hex()  # noqa: S108
    os.mkdir(d)
    SCRATCH.append(d + "/")
    return d + "/"


def remove(root):
    """Delete a scratch directory made by scratch(), and what is in it."""
    for n in os.listdir(root):
        path = root + n
        if os.stat(path)[0] & 0x4000:  # a directory (S_IFDIR)
            remove(path + "/")
        else:
            os.remove(path)
    os.rmdir(root)
    if root in SCRATCH:
        SCRATCH.remove(root)


def sweep():
    """Remove every scratch directory still there (run.py calls it after each test)."""
    while SCRATCH:
        remove(SCRATCH[-1])
