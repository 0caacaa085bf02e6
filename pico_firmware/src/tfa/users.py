"""The provisioned accounts, kept on flash and read one at a time.

Each account's password entry, TOTP secret and backup-code entries take ~600 bytes, and
far more heap than that as objects (~900 bytes on the Unix port): a dozen accounts held in
RAM would cost a Pico W ~10 KB it needs for requests. At boot, tfa.config writes them once
into one compact file; the heap keeps only {username: offset}, and a login reads its
account's record (one ~600-byte read, next to a PBKDF2 of about a second) into one buffer
made at boot: a login under load needs no ~600-byte block of a fragmented heap.

Record at offset: password entry length (2 bytes), pbkdf2.pack() entry, secret length (1),
secret, backup entries length (2), concatenated pbkdf2.pack() entries.
"""

import os

from tfa.auth import User


def _n(b, i, width):
    return int.from_bytes(b[i : i + width], "big")


def record(user):
    """The bytes stored for one User."""
    pw, secret, backups = user.password, user.secret, user.backups
    return (
        len(pw).to_bytes(2, "big")
        + pw
        + bytes((len(secret),))
        + secret
        + len(backups).to_bytes(2, "big")
        + backups
    )


def parse(name, rec):
    """A User from one record (the inverse of record()). rec may be a memoryview: the small
    fields are copied, the backup entries stay a view of it."""
    i = 2 + _n(rec, 0, 2)
    pw = bytes(rec[2:i])
    j = i + 1 + rec[i]
    secret = bytes(rec[i + 1 : j])
    k = j + 2 + _n(rec, j, 2)
    return User(name, pw, secret, rec[j + 2 : k])


class UserFile:
    """A mapping-like view of the accounts on flash: `name in users`, `users.get(name)`."""

    def __init__(self, path):
        self.path = path
        self.index = {}  # username -> offset of its record
        # the costliest password entry's iteration count: an unknown name is checked at
        # this cost, so a login's time does not tell whether the name exists (LOGIN-4)
        self.iterations = 0
        self._buf = bytearray(2)  # the longest record and its length, once written

    def write(self, users):
        """Replace the file with these Users (atomically: a tmp file renamed over it)."""
        index = {}
        most = longest = 0
        tmp = self.path + ".tmp"
        try:
            with open(tmp, "wb") as f:
                at = 0
                for u in users:
                    rec = record(u)
                    f.write(len(rec).to_bytes(2, "big"))
                    f.write(rec)
                    index[u.username] = at
                    at += 2 + len(rec)
                    longest = max(longest, len(rec))
                    most = max(most, _n(u.password, 0, 4))  # pbkdf2.pack(): iterations first
        except BaseException:
            os.remove(tmp)  # a bad account stops the boot; the old file stays as it was
            raise
        os.rename(tmp, self.path)
        self.index = index
        self.iterations = most
        self._buf = bytearray(2 + longest)

    def __contains__(self, name):
        return name in self.index

    def __len__(self):
        return len(self.index)

    def __iter__(self):
        return iter(self.index)

    def get(self, name):
        """The User called name, or None. An unknown name reads a record too, so the time
        a lookup takes does not tell which names exist (LOGIN-3/4).

        The User's backup entries are a view of this file's one buffer: good until the next
        get(). Auth's decisions never await, so no other lookup comes in between."""
        at = self.index.get(name)
        buf = self._buf
        mv = memoryview(buf)
        with open(self.path, "rb") as f:
            f.seek(0 if at is None else at)
            if f.readinto(mv[:2]) != 2:
                return None
            n = _n(buf, 0, 2)
            if n > len(buf) - 2:
                return None  # not the file this index was made from
            got = f.readinto(mv[2 : 2 + n])
        if at is None or got != n:
            return None
        return parse(name, mv[2 : 2 + n])
