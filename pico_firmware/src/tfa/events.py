"""The auth event log on flash: JSON lines, bounded, rotated log -> log.1.

It refuses any event carrying a field that could hold a credential (LOG-1), so a caller's
mistake fails loudly in tests instead of leaking a password to flash.
"""

import json
import os

from micropython import const

_MAX_BYTES = const(16384)
FORBIDDEN = ("password", "code", "totp_code", "backup_code", "token", "secret")


def _check(value):
    if isinstance(value, dict):
        for k, v in value.items():
            key = str(k).lower()
            if (
                key in FORBIDDEN
                or key.endswith("_code")
                or key.endswith("_token")
                or "password" in key
                or "secret" in key
            ):
                raise ValueError("event field %r may hold a credential; not logged" % k)
            _check(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _check(v)


class EventLog:
    def __init__(self, path="/events.log", max_bytes=_MAX_BYTES):
        self.path = path
        self.old = path + ".1"
        self.max_bytes = max_bytes
        self._size = 0
        self._torn = False
        try:
            self._size = os.stat(path)[6]
            if self._size:
                with open(path, "rb") as f:
                    f.seek(self._size - 1)
                    self._torn = f.read(1) != b"\n"  # power lost mid-line: start a new one
        except OSError:
            pass

    def record(self, event):
        """Append one event (a dict); ValueError, and nothing written, if it is refused."""
        if not isinstance(event, dict):
            raise ValueError("an event is a dict")
        _check(event)
        line = json.dumps(event) + "\n"
        if self._torn:
            line = "\n" + line
        size = len(line.encode())
        if size > self.max_bytes // 2:
            raise ValueError("event too large to log")
        if self._size + size > self.max_bytes // 2:
            # each file holds half the budget, so log + log.1 stay within max_bytes
            try:
                os.remove(self.old)
            except OSError:
                pass
            try:
                os.rename(self.path, self.old)
            except OSError:
                pass
            self._size = 0
        with open(self.path, "a") as f:
            f.write(line)
        self._size += size
        self._torn = False

    def last(self, n):
        """The last n events, oldest first (from log.1 too when log holds fewer)."""
        out = []
        for path in (self.path, self.old):
            want = n - len(out)
            if want <= 0:
                break
            keep = []
            try:
                with open(path) as f:
                    for line in f:
                        keep.append(line)
                        if len(keep) > want:
                            keep.pop(0)
            except OSError:
                pass
            older = []
            for line in keep:
                if line.strip():
                    try:
                        older.append(json.loads(line))
                    except ValueError:
                        pass  # a line cut short by a power loss
            out = older + out
        return out
