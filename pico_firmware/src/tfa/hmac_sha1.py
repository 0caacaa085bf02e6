"""HMAC (RFC 2104) over hashlib.sha1 / sha256: micropython-lib's hmac is not on the Unix port.

Key pads are made with one big-int XOR instead of a Python byte loop (much cheaper on a Pico).
"""

import hashlib

from micropython import const

_BLOCK = const(64)
_IPAD = int.from_bytes(b"\x36" * 64, "big")
_OPAD = int.from_bytes(b"\x5c" * 64, "big")


def pads(key, algo=hashlib.sha1):
    """The (inner, outer) padded keys; reuse them when one key signs many messages (PBKDF2)."""
    if len(key) > _BLOCK:
        key = algo(key).digest()
    k = int.from_bytes(key + bytes(_BLOCK - len(key)), "big")
    return (k ^ _IPAD).to_bytes(_BLOCK, "big"), (k ^ _OPAD).to_bytes(_BLOCK, "big")


def mac(inner, outer, msg, algo=hashlib.sha1):
    h = algo(inner)
    h.update(msg)
    h2 = algo(outer)
    h2.update(h.digest())
    return h2.digest()


def hmac(key, msg, algo=hashlib.sha1):
    i, o = pads(key, algo)
    return mac(i, o, msg, algo)


def hmac_sha1(key, msg):
    return hmac(key, msg, hashlib.sha1)


def hmac_sha256(key, msg):
    return hmac(key, msg, hashlib.sha256)
