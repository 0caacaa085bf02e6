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
        """Write the frame as a 4-bit palette PNG (rows of GS4_HMSB are PNG scanlines as is)."""
        raw = bytearray()
        row = self._row
        for y in range(self.height):
            raw.append(0)  # filter: none
            raw.extend(self._buf[y * row : (y + 1) * row])
        plte = bytearray()
        for r, g, b in PALETTE:
            plte.extend(bytes((r, g, b)))
        with open(path, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n")
            _chunk(f, b"IHDR", _be32(self.width) + _be32(self.height) + bytes((4, 3, 0, 0, 0)))
            _chunk(f, b"PLTE", plte)
            _chunk(f, b"IDAT", zlib_stream(raw))
            _chunk(f, b"IEND", b"")


def _be32(n):
    return bytes(((n >> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255))


def _chunk(f, kind, data):
    from binascii import crc32

    f.write(_be32(len(data)))
    f.write(kind)
    f.write(data)
    f.write(_be32(crc32(data, crc32(kind)) & 0xFFFFFFFF))


def zlib_stream(data):
    """zlib-wrap data: deflate when the port can compress, stored blocks when it cannot."""
    try:
        import deflate
        import io

        out = io.BytesIO()
        d = deflate.DeflateIO(out, deflate.ZLIB)
        d.write(data)
        d.close()
        return out.getvalue()
    except (ImportError, AttributeError):
        pass  # most ports build deflate without compression
    out = bytearray(b"\x78\x01")
    n = len(data)
    i = 0
    while True:
        part = data[i : i + 65535]
        i += len(part)
        last = 1 if i >= n else 0
        size = len(part)
        out.append(last)
        out.extend(bytes((size & 255, size >> 8, ~size & 255, (~size >> 8) & 255)))
        out.extend(part)
        if last:
            break
    out.extend(_be32(adler32(data)))
    return bytes(out)


def adler32(data):
    a = 1
    b = 0
    i = 0
    n = len(data)
    while i < n:
        # 5552 bytes is the longest run that cannot overflow before the modulo (RFC 1950)
        end = min(i + 5552, n)
        for c in data[i:end]:
            a += c
            b += a
        a %= 65521
        b %= 65521
        i = end
    return (b << 16) | a


class PicoGraphicsDisplay:
    """The Display Pack 2.0 through Pimoroni's picographics (board builds only)."""

    def __init__(self, rotate=0):
        from picographics import DISPLAY_PICO_DISPLAY_2, PEN_P4, PicoGraphics

        g = PicoGraphics(display=DISPLAY_PICO_DISPLAY_2, pen_type=PEN_P4, rotate=rotate)
        self._g = g
        self.width, self.height = g.get_bounds()
        g.set_font("bitmap8")
        self._pens = [g.create_pen(r, gr, b) for r, gr, b in PALETTE]
        self.brightness = 1.0

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
