"""Each account's state that must outlive a reboot (TOTP-4, SESS-6), in one small JSON file.

Format of /state/auth.json: {"v": 2, "a": {username: [last_step, used_backup_mask]}}
(failures and locks are tfa.lockout's). It is replaced atomically: the new text goes to
auth.tmp, then os.rename() swaps it in (atomic on LittleFS and POSIX). It changes only when
a code or backup code is accepted, and is written at once, before the answer (STORE-3).
A version 1 file's rows ([failures, lock_until, level, last_step, used_mask]) keep their
last two fields.

Recovery: a leftover auth.tmp that parses is the newer complete write (the crash came
between write and rename) and wins; an unparsable file is ignored. Either way the board
boots; at worst it forgets counts, never refuses to start.
"""

import json
import os


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
    if not isinstance(row, list) or len(row) not in (2, 5):
        return False
    for v in row:
        if not isinstance(v, int):
            return False
    return True


class Store:
    def __init__(self, directory="/state"):
        self.dir = directory
        self.path = directory + "/auth.json"
        self.tmp = directory + "/auth.tmp"
        self.writes = 0
        self.recovered = None
        if not exists(directory):
            os.mkdir(directory)

    def load(self):
        """{username: [last_step, used_mask]} from flash."""
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
                out[k] = v[-2:]
        return out

    def save(self, rows):
        with open(self.tmp, "w") as f:
            json.dump({"v": 2, "a": rows}, f)
        os.rename(self.tmp, self.path)
        self.writes += 1
