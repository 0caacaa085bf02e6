"""A FramebufDisplay's frame as a 4-bit palette PNG, for the emulator's screenshots.

Host-only: the board never saves its frame, so this code is never in its heap.
"""

from tfa.display import PALETTE


def save(path, buf, row, width, height):
    """Write buf (GS4_HMSB rows of `row` bytes) as a PNG, streamed row by row: such rows
    are PNG scanlines as they are, so no copy of the frame is made."""
    rows = memoryview(buf)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        _chunk(f, b"IHDR", _be32(width) + _be32(height) + bytes((4, 3, 0, 0, 0)))
        _chunk(f, b"PLTE", PALETTE)
        packed = _deflated(rows, row, height)
        if packed is None:
            _stored_idat(f, rows, row, height)
        else:
            _chunk(f, b"IDAT", packed)
        _chunk(f, b"IEND", b"")


def _be32(n):
    return bytes(((n >> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255))


def _chunk(f, kind, data):
    from binascii import crc32

    f.write(_be32(len(data)))
    f.write(kind)
    f.write(data)
    f.write(_be32(crc32(data, crc32(kind)) & 0xFFFFFFFF))


def _deflated(rows, row, height):
    """zlib-compressed scanlines where the port can compress (most build deflate without)."""
    try:
        import io

        import deflate

        out = io.BytesIO()
        d = deflate.DeflateIO(out, deflate.ZLIB)
        for y in range(height):
            d.write(b"\x00")
            d.write(rows[y * row : (y + 1) * row])
        d.close()
        return out.getvalue()
    except (ImportError, AttributeError):
        return None


def _stored_idat(f, rows, row, height):
    """An IDAT chunk of zlib stored blocks (RFC 1950/1951), written as the rows come."""
    z = _Stored(f, height * (row + 1))
    for y in range(height):
        z.feed(b"\x00")  # filter: none
        z.feed(rows[y * row : (y + 1) * row])
    z.close()


class _Stored:
    def __init__(self, f, total):
        from binascii import crc32

        self._crc32 = crc32
        blocks = max(1, (total + 65534) // 65535)
        f.write(_be32(2 + total + 5 * blocks + 4))
        f.write(b"IDAT")
        self.f = f
        self.crc = crc32(b"IDAT")
        self.left = total
        self.room = 0
        self.a = 1
        self.b = 0
        self._out(b"\x78\x01")

    def _out(self, data):
        self.f.write(data)
        self.crc = self._crc32(data, self.crc)

    def feed(self, data):
        a = self.a
        b = self.b
        for c in data:  # Adler-32; a feed is short, so one modulo per feed cannot overflow
            a += c
            b += a
        self.a = a % 65521
        self.b = b % 65521
        while len(data):
            if self.room == 0:
                size = min(65535, self.left)
                last = 1 if size == self.left else 0
                self._out(bytes((last, size & 255, size >> 8, ~size & 255, (~size >> 8) & 255)))
                self.room = size
            part = data[: self.room]
            self._out(part)
            self.room -= len(part)
            self.left -= len(part)
            data = data[len(part) :]

    def close(self):
        self._out(_be32((self.b << 16) | self.a))
        self.f.write(_be32(self.crc & 0xFFFFFFFF))
