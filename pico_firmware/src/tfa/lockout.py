"""Failures and locks by name (LOCK-1..3, LOCK-6, LOCK-7, LOGIN-3): one fixed table on flash.

Every name, real or unknown, is counted in the same table of SLOTS records by the same code,
so real and unknown names behave the same by construction, and nothing is ever evicted:
however many names are tried, a count or a lock stays until it ends (LOGIN-3, rev. 2).
HMAC-SHA256 of the name under this board's own random key (made at first boot, kept on
flash) gives it two candidate slots and a 16-bit tag. A name's record is the candidate that
carries its tag; a name without one starts from zero and, at its first failure, takes a
free candidate (all zero: nobody's count is lost) and writes its tag. Only if both
candidates hold others' counts does it share one: that record is marked shared (tag 0)
and counts both, and a name without a record of its own always reads the stricter shared
candidate it may have joined. So a count is never lost, a share only ever makes a name
stricter, and which names share cannot be chosen without the key (spec/DECISIONS.md "The
board under attack").

Files, in the directory given: `key` (16 bytes), and 16 shards `0`..`15` of 256 records of
8 bytes: lock_until (4, big-endian Unix seconds, 0: none), failures (1), lock level (1),
tag (2). A change is one 8-byte write in place, made before the answer that reports it
(STORE-3): on LittleFS a file's new contents are committed whole when it is closed, so a
reset leaves the old record or the new one. Shards, because LittleFS copies a file's blocks
from the one written to its end: one 24 KB file cost 4.5 block erases a write, 2 KB
shards cost 1.0 (measured, `python -m pico_firmware.host.bench`). The heap holds only the
key.
"""

import os

from micropython import const

from tfa.hmac_sha1 import hmac_sha256

SLOTS = const(4096)  # 32 KB of flash; none of it on the heap
_SHARD = const(256)  # slots per file
_REC = const(8)
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

    def candidates(self, name):
        """(first slot, second slot, tag) of `name`."""
        h = hmac_sha256(self.key, name.encode())
        return (
            int.from_bytes(h[:4], "big") % SLOTS,
            int.from_bytes(h[4:8], "big") % SLOTS,
            int.from_bytes(h[8:10], "big") or 1,  # tag 0 marks a shared record
        )

    def _read(self, i):
        r = self._rec
        with self._open(i, "rb") as f:
            f.readinto(r)
        return int.from_bytes(r[:4], "big"), r[4], r[5], r[6] << 8 | r[7]

    def _open(self, i, mode):
        f = open("%s/%d" % (self.dir, i // _SHARD), mode)
        f.seek(i % _SHARD * _REC)
        return f

    def get(self, name):
        """(where, lock_until, failures, level) of `name`; `where` is for put()."""
        i1, i2, tag = self.candidates(name)
        free = shared = None
        for i in (i1, i2):
            until, fails, level, t = self._read(i)
            if not (until or fails or level):
                free = i if free is None else free
            elif t == tag:
                return i | tag << 16, until, fails, level  # its own record
            elif t == 0 and (shared is None or (until, fails) > shared[1:3]):
                shared = (i, until, fails, level)  # a record it may have joined
        if shared is not None:
            return shared[0], shared[1], shared[2], shared[3]
        if free is not None:
            return free | tag << 16, 0, 0, 0
        # both hold others' counts: share the first, from its count (never lose one)
        until, fails, level, _ = self._read(i1)
        return i1, until, fails, level

    def put(self, where, until, failures, level):
        r = self._rec
        r[:4] = until.to_bytes(4, "big")
        r[4] = failures
        r[5] = level
        r[6] = where >> 24
        r[7] = where >> 16 & 255
        with self._open(where & 0xFFFF, "r+b") as f:
            f.write(r)
        self.writes += 1
