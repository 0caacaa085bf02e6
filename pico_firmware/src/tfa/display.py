"""A tiny drawing surface with two backends: the Display Pack panel and a host frame buffer.

Pens are palette indices (0..15) so both backends hold 4 bits a pixel: 38 KB at 320x240,
which a Pico W can spare, where RGB565 (150 KB) it cannot.
"""

from micropython import const

WIDTH = const(320)
HEIGHT = const(240)
GLYPH = const(8)  # framebuf's font is 8x8; bitmap8 on the panel has the same height

# Pen index -> colour. Screens use the names, never the numbers.
BLACK = const(0)
WHITE = const(1)
GREY = const(2)
GREEN = const(3)
RED = const(4)
AMBER = const(5)
BLUE = const(6)
NAVY = const(7)
DARK = const(8)
PALETTE = (
    (0, 0, 0),
    (255, 255, 255),
    (150, 150, 150),
    (40, 200, 80),
    (230, 50, 50),
    (255, 170, 0),
    (80, 160, 255),
    (20, 40, 90),
    (40, 40, 40),
)


class FramebufDisplay:
    """framebuf on the Unix port: what the emulator and the screen tests draw on."""

    def __init__(self, width=WIDTH, height=HEIGHT):
        import framebuf

        self.width = width
        self.height = height
        self._row = (width + 1) // 2
        self._buf = bytearray(self._row * height)
        # stride rounded up to whole bytes, so each row starts a byte: a PNG scanline as is
        self._fb = framebuf.FrameBuffer(
            self._buf, width, height, framebuf.GS4_HMSB, self._row * 2
        )
        self._glyph_buf = bytearray(GLYPH)
        self._glyph = framebuf.FrameBuffer(self._glyph_buf, GLYPH, GLYPH, framebuf.MONO_HLSB)
        self.brightness = 1.0
        self.updates = 0

    def clear(self, pen):
        self._fb.fill(pen)

    def rect(self, x, y, w, h, pen):
        self._fb.fill_rect(x, y, w, h, pen)

    def line(self, x1, y1, x2, y2, pen):
        self._fb.line(x1, y1, x2, y2, pen)

    def text(self, s, x, y, pen, scale=1):
        if scale == 1:
            self._fb.text(s, x, y, pen)
            return
        g = self._glyph
        fill = self._fb.fill_rect
        for ch in s:
            g.fill(0)
            g.text(ch, 0, 0, 1)
            for gy in range(GLYPH):
                for gx in range(GLYPH):
                    if g.pixel(gx, gy):
                        fill(x + gx * scale, y + gy * scale, scale, scale, pen)
            x += GLYPH * scale

    def measure(self, s, scale=1):
        return len(s) * GLYPH * scale

    def pixel(self, x, y):
        return self._fb.pixel(x, y)

    def backlight(self, level):
        self.brightness = level

    def update(self):
        self.updates += 1

    def save_png(self, path):
        """Write the frame as a 4-bit palette PNG, streamed row by row: GS4_HMSB rows are PNG
        scanlines as they are, so no copy of the frame is made (the heap is a board's)."""
        plte = bytearray()
        for r, g, b in PALETTE:
            plte.extend(bytes((r, g, b)))
        rows = memoryview(self._buf)
        with open(path, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n")
            _chunk(f, b"IHDR", _be32(self.width) + _be32(self.height) + bytes((4, 3, 0, 0, 0)))
            _chunk(f, b"PLTE", plte)
            packed = _deflated(rows, self._row, self.height)
            if packed is None:
                _stored_idat(f, rows, self._row, self.height)
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


class PicoGraphicsDisplay:
    """The Display Pack 2.0 through Pimoroni's picographics (board builds only)."""

    def __init__(self, rotate=0):
        from picographics import DISPLAY_PICO_DISPLAY_2, PEN_P4, PicoGraphics

        g = PicoGraphics(display=DISPLAY_PICO_DISPLAY_2, pen_type=PEN_P4, rotate=rotate)
        self._g = g
        self.width, self.height = g.get_bounds()
        g.set_font("bitmap8")
        self._pens = [g.create_pen(r, gr, b) for r, gr, b in PALETTE]
        self.backlight(1.0)  # the driver's power-on level is not ours to assume

    def clear(self, pen):
        self._g.set_pen(self._pens[pen])
        self._g.clear()

    def rect(self, x, y, w, h, pen):
        self._g.set_pen(self._pens[pen])
        self._g.rectangle(x, y, w, h)

    def line(self, x1, y1, x2, y2, pen):
        self._g.set_pen(self._pens[pen])
        self._g.line(x1, y1, x2, y2)

    def text(self, s, x, y, pen, scale=1):
        self._g.set_pen(self._pens[pen])
        self._g.text(s, x, y, self.width, scale)

    def measure(self, s, scale=1):
        return self._g.measure_text(s, scale)

    def backlight(self, level):
        self.brightness = level
        self._g.set_backlight(level)

    def update(self):
        self._g.update()
