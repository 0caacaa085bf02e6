"""Failures and locks by name (LOCK-1..3, LOCK-6, LOCK-7, LOGIN-3): one fixed table on flash.

Every name, real or unknown, is counted in one of SLOTS slots, chosen by HMAC-SHA256 of the
name under this board's own random key (made at first boot, kept in the file). Real and
unknown names go through the same code and the same table, so they behave the same by
construction, and nothing is ever evicted: however many names are tried, a count or a lock
stays until it ends (LOGIN-3, rev. 2). Two names that share a slot share its count and lock,
which only makes each stricter; the key is secret, so which names share a slot cannot be
chosen (spec/DECISIONS.md "Lockout table").

File: the key (16 bytes), then SLOTS records of 6 bytes: lock_until (4, big-endian Unix
seconds, 0: none), failures (1), lock level (1). A change is one 6-byte write in place,
made before the answer that reports it (STORE-3): on LittleFS a file's new contents are
committed whole when it is closed, so a reset leaves the old record or the new one.
The heap holds only the key: the table costs no RAM, however big.
"""

import os

from micropython import const

from tfa.hmac_sha1 import hmac_sha256

SLOTS = const(4096)  # 24 KB of flash; none of it on the heap
_REC = const(6)
_KEY = const(16)


class Lockout:
    def __init__(self, path, rand):
        self.path = path
        self.writes = 0
        self._rec = bytearray(_REC)
        try:
            ok = os.stat(path)[6] == _KEY + SLOTS * _REC
        except OSError:
            ok = False
        if not ok:  # first boot (or a torn first write): a new key, an empty table
            tmp = path + ".tmp"
            with open(tmp, "wb") as f:
                f.write(rand(_KEY))
                z = bytes(1024)
                for _ in range(SLOTS * _REC // 1024):
                    f.write(z)
            os.rename(tmp, path)
        with open(path, "rb") as f:
            self.key = f.read(_KEY)

    def slot(self, name):
        return int.from_bytes(hmac_sha256(self.key, name.encode())[:4], "big") % SLOTS

    def get(self, name):
        """(slot, lock_until, failures, level) of the slot `name` is counted in."""
        i = self.slot(name)
        r = self._rec
        with open(self.path, "rb") as f:
            f.seek(_KEY + i * _REC)
            f.readinto(r)
        return i, int.from_bytes(r[:4], "big"), r[4], r[5]

    def put(self, i, until, failures, level):
        r = self._rec
        r[:4] = until.to_bytes(4, "big")
        r[4] = failures
        r[5] = level
        with open(self.path, "r+b") as f:
            f.seek(_KEY + i * _REC)
            f.write(r)
        self.writes += 1
