"""framebuf on the Unix port: what the emulator and the screen tests draw on.

The frame is a 4-bit bytearray on the heap, the same 38 KB as the board's picographics
PEN_P4 frame. Saving it as PNG (tfa.png) is a host-only job, imported only when asked.
"""

from tfa.display import GLYPH, HEIGHT, WIDTH


class FramebufDisplay:
    """A 4-bit frame buffer with the panel's drawing calls."""

    def __init__(self, width=WIDTH, height=HEIGHT):
        import framebuf

        self.width = width
        self.height = height
        row = (width + 1) // 2
        self._buf = bytearray(row * height)
        # stride rounded up to whole bytes, so each row starts a byte: a PNG scanline as is
        self._fb = framebuf.FrameBuffer(self._buf, width, height, framebuf.GS4_HMSB, row * 2)
        # one glyph at a time, scaled up by hand (framebuf's text has one size); the
        # FrameBuffer keeps its buffer alive
        self._glyph = framebuf.FrameBuffer(bytearray(GLYPH), GLYPH, GLYPH, framebuf.MONO_HLSB)
        self.brightness = 1.0
        self.updates = 0

    def clear(self, pen):
        self._fb.fill(pen)

    def rect(self, x, y, w, h, pen):
        self._fb.fill_rect(x, y, w, h, pen)

    def text(self, s, x, y, pen, scale=1):
        if scale == 1:
            self._fb.text(s, x, y, pen)
            return
        g = self._glyph
        fill = self._fb.fill_rect
        for i in range(len(s)):
            ch = s[i : i + 1]  # a slice: iterating (or s[i]) would intern each character
            g.fill(0)
            g.text(ch, 0, 0, 1)
            for gy in range(GLYPH):
                for gx in range(GLYPH):
                    if g.pixel(gx, gy):
                        fill(x + gx * scale, y + gy * scale, scale, scale, pen)
            x += GLYPH * scale

    def measure(self, s, scale=1):
        return len(s) * GLYPH * scale

    def backlight(self, level):
        self.brightness = level

    def update(self):
        self.updates += 1

    def save_png(self, path):
        """Write the frame as a 4-bit palette PNG (tfa.png streams it, no copy of the frame)."""
        from tfa import png

        png.save(path, self._buf, (self.width + 1) // 2, self.width, self.height)
