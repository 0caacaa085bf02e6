"""RFC 4648 base32 decoding for TOTP secrets (as in otpauth:// URIs): case, spaces and '='
padding are forgiven; any other character is an error."""

_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def decode(text):
    out = bytearray()
    acc = 0
    bits = 0
    # bytes, not characters: iterating a str interns every character it meets as a qstr,
    # heap a board never gets back
    for ch in text.upper().encode():
        if ch in b" =-":
            continue
        v = _ALPHABET.find(bytes((ch,)))
        if v < 0:
            raise ValueError("not base32")
        acc = (acc << 5) | v
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
            acc &= (1 << bits) - 1
    return bytes(out)
