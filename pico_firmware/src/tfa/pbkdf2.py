"""PBKDF2-HMAC-SHA256 (RFC 8018 §5.2) and the self-describing hash format (LOGIN-5):

    pbkdf2_sha256$<iterations>$<salt, standard base64>$<hash, standard base64>

The iteration count lives in each entry, so a higher cost can be rolled out entry by entry.

On a board the loop runs in the native module tfa_pbkdf2 (pico_firmware/rp2/natmod: the padded
keys' SHA-256 states are kept, 2 blocks an iteration, ~3.5x faster on an RP2040); where it does
not load (the Unix port, a MicroPython that refuses its .mpy) the Python loop below gives the same
bytes.
"""

import gc
import hashlib
from binascii import a2b_base64

from micropython import const

from tfa import ct
from tfa.hmac_sha1 import mac, pads

_MAX_ITERATIONS = const(1000000)

try:
    from tfa_pbkdf2 import pbkdf2_sha256 as _native
except (ImportError, ValueError):  # ValueError: an .mpy for another arch or MicroPython
    _native = None


def pbkdf2_sha256(password, salt, iterations, dklen=32):
    if isinstance(password, str):
        password = password.encode()
    if _native is not None:
        return _native(password, salt, iterations, dklen)
    return _python(password, salt, iterations, dklen)


def _python(password, salt, iterations, dklen):
    # every iteration leaves a few hundred bytes of small, short-lived garbage (~1.6 MB for
    # a login): a GC threshold (tfa.firmware sets one) would collect hundreds of times here,
    # so it is off for the loop and the heap is collected only when it is full
    threshold = gc.threshold()
    gc.threshold(-1)
    try:
        inner, outer = pads(password, hashlib.sha256)
        out = b""
        block = 1
        while len(out) < dklen:
            u = mac(inner, outer, salt + block.to_bytes(4, "big"), hashlib.sha256)
            acc = int.from_bytes(u, "big")
            for _ in range(iterations - 1):
                u = mac(inner, outer, u, hashlib.sha256)
                acc ^= int.from_bytes(u, "big")
            out += acc.to_bytes(32, "big")
            block += 1
    finally:
        gc.threshold(threshold)
    return out[:dklen]


def parse(encoded):
    """(iterations, salt, hash) of a stored entry; ValueError if it is not one."""
    if not isinstance(encoded, str):
        raise ValueError("hash entry is not a string")
    parts = encoded.split("$")
    if len(parts) != 4 or parts[0] != "pbkdf2_sha256":
        raise ValueError("not a pbkdf2_sha256 entry")
    n = int(parts[1])
    if n < 1 or n > _MAX_ITERATIONS:
        raise ValueError("iteration count out of range")
    salt = a2b_base64(parts[2])
    digest = a2b_base64(parts[3])
    if len(salt) < 8 or len(digest) < 16:
        raise ValueError("salt or hash too short")
    return n, salt, digest


def pack(parsed):
    """One compact bytes record per entry (iterations, salt, hash): a board keeps users in
    RAM, and one bytes object costs far less heap than a string or a tuple of three."""
    n, salt, digest = parsed
    return n.to_bytes(4, "big") + bytes((len(salt),)) + salt + bytes((len(digest),)) + digest


def unpack(blob):
    """The (iterations, salt, hash) of each record in a blob of pack()ed entries, in order;
    blob may be a memoryview (salt and hash are copied out of it)."""
    i = 0
    while i < len(blob):
        n = int.from_bytes(blob[i : i + 4], "big")
        j = i + 5 + blob[i + 4]
        k = j + 1 + blob[j]
        yield n, bytes(blob[i + 5 : j]), bytes(blob[j + 1 : k])
        i = k


def verify(password, parsed):
    """Constant-time check of password against a parse()d entry."""
    n, salt, digest = parsed
    return ct.equal(digest, pbkdf2_sha256(password, salt, n, len(digest)))
