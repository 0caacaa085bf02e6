"""Failures and locks by name (LOCK-1..3, LOCK-6, LOCK-7, LOGIN-3): one fixed table on flash.

Every name, real or unknown, is counted in one of SLOTS slots, chosen by HMAC-SHA256 of the
name under this board's own random key (made at first boot, kept on flash). Real and
unknown names go through the same code and the same table, so they behave the same by
construction, and nothing is ever evicted: however many names are tried, a count or a lock
stays until it ends (LOGIN-3, rev. 2). Two names that share a slot share its count and lock,
which only makes each stricter; the key is secret, so which names share a slot cannot be
chosen (spec/DECISIONS.md "The board under attack").

Files, in the directory given: `key` (16 bytes), and 16 shards `0`..`15` of 256 records of
6 bytes: lock_until (4, big-endian Unix seconds, 0: none), failures (1), lock level (1). A
change is one 6-byte write in place, made before the answer that reports it (STORE-3): on
LittleFS a file's new contents are committed whole when it is closed, so a reset leaves the
old record or the new one. Shards, because LittleFS copies a file's blocks from the one
written to its end: one 24 KB file cost 4.5 block erases a write, 1.5 KB shards cost 1.0
(measured, `python -m pico_firmware.host.bench`). The heap holds only the key.
"""

import os

from micropython import const

from tfa.hmac_sha1 import hmac_sha256

SLOTS = const(4096)  # 24 KB of flash; none of it on the heap
_SHARD = const(256)  # slots per file
_REC = const(6)
_KEY = const(16)


def _size(path):
    try:
        return os.stat(path)[6]
    except OSError:
        return -1


class Lockout:
    def __init__(self, directory, rand):
        self.dir = directory
        self.writes = 0
        self._rec = bytearray(_REC)
        if _size(directory) < 0:
            os.mkdir(directory)
        key = directory + "/key"
        fresh = _size(key) != _KEY
        if fresh:  # first boot (or a torn first write): a new key, so an empty table
            with open(key + ".tmp", "wb") as f:
                f.write(rand(_KEY))
            os.rename(key + ".tmp", key)
        z = None
        for k in range(SLOTS // _SHARD):
            shard = "%s/%d" % (directory, k)
            if fresh or _size(shard) != _SHARD * _REC:
                z = z or bytes(_SHARD * _REC)
                with open(shard, "wb") as f:
                    f.write(z)
        with open(key, "rb") as f:
            self.key = f.read()

    def slot(self, name):
        return int.from_bytes(hmac_sha256(self.key, name.encode())[:4], "big") % SLOTS

    def _open(self, i, mode):
        f = open("%s/%d" % (self.dir, i // _SHARD), mode)
        f.seek(i % _SHARD * _REC)
        return f

    def get(self, name):
        """(slot, lock_until, failures, level) of the slot `name` is counted in."""
        i = self.slot(name)
        r = self._rec
        with self._open(i, "rb") as f:
            f.readinto(r)
        return i, int.from_bytes(r[:4], "big"), r[4], r[5]

    def put(self, i, until, failures, level):
        r = self._rec
        r[:4] = until.to_bytes(4, "big")
        r[4] = failures
        r[5] = level
        with self._open(i, "r+b") as f:
            f.write(r)
        self.writes += 1
