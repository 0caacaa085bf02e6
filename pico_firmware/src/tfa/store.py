"""Account state that must outlive a reboot (LOCK-6, TOTP-4, SESS-6), in one small JSON file.

Format of /state/auth.json: {"v": 1, "a": {username: [failures, lock_until, lock_level,
last_step, used_backup_mask]}}. It is replaced atomically: the new text goes to auth.tmp,
then os.rename() swaps it in (atomic on LittleFS and POSIX). Writes are coalesced: the
state machine asks for `save(urgent)`; urgent changes (a lock begins, a code or backup code
is accepted) are written at once, routine ones (a failure count below the lock) at most
every FLUSH_MS by `tick()`, and on shutdown by `flush()`.

Recovery: a leftover auth.tmp that parses is the newer complete write (the crash came
between write and rename) and wins; an unparsable file is ignored. Either way the board
boots; at worst it forgets counts, never refuses to start.
"""

import json
import os
import time

from micropython import const

FLUSH_MS = const(5000)


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _read(path):
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("a"), dict):
        return None
    return data["a"]


def _valid(row):
    if not isinstance(row, list) or len(row) != 5:
        return False
    for v in row:
        if not isinstance(v, int):
            return False
    return True


class Store:
    def __init__(self, directory="/state", ticks_ms=None):
        self.dir = directory
        self.path = directory + "/auth.json"
        self.tmp = directory + "/auth.tmp"
        self._ticks = ticks_ms or time.ticks_ms
        self._dirty = False
        self._since = 0
        self.writes = 0
        self.recovered = None
        if not exists(directory):
            os.mkdir(directory)

    def load(self):
        """{username: [failures, lock_until, level, last_step, used_mask]} from flash."""
        rows = None
        if exists(self.tmp):
            rows = _read(self.tmp)
            if rows is not None:
                os.rename(self.tmp, self.path)
                self.recovered = "tmp"
            else:
                os.remove(self.tmp)
                self.recovered = "stale tmp dropped"
        if rows is None and exists(self.path):
            rows = _read(self.path)
            if rows is None:
                self.recovered = "unparsable state ignored"
        out = {}
        for k, v in (rows or {}).items():
            if _valid(v):
                out[k] = v
        return out

    def save(self, rows, urgent=False):
        if urgent:
            self.write(rows)
            return
        if not self._dirty:
            self._dirty = True
            self._since = self._ticks()
        self._rows = rows

    def tick(self):
        if self._dirty and time.ticks_diff(self._ticks(), self._since) >= FLUSH_MS:
            self.write(self._rows)

    def flush(self):
        if self._dirty:
            self.write(self._rows)

    def write(self, rows):
        with open(self.tmp, "w") as f:
            json.dump({"v": 1, "a": rows}, f)
        os.rename(self.tmp, self.path)
        self._dirty = False
        self._rows = None
        self.writes += 1
