"""The Display Pack 2.0 through Pimoroni's picographics (board builds only).

picographics allocates its PEN_P4 frame (38 KB) on the MicroPython heap (m_new), so the
emulator's frame buffer (tfa.framebuf_display) lives on its heap too.
"""

from tfa.display import PALETTE


class PicoGraphicsDisplay:
    """The panel's drawing calls, with pens mapped to picographics pens."""

    def __init__(self, rotate=0):
        from picographics import DISPLAY_PICO_DISPLAY_2, PEN_P4, PicoGraphics

        g = PicoGraphics(display=DISPLAY_PICO_DISPLAY_2, pen_type=PEN_P4, rotate=rotate)
        self._g = g
        self.width, self.height = g.get_bounds()
        g.set_font("bitmap8")
        p = PALETTE
        self._pens = [g.create_pen(p[i], p[i + 1], p[i + 2]) for i in range(0, len(p), 3)]
        self.backlight(1.0)  # the driver's power-on level is not ours to assume

    def clear(self, pen):
        self._g.set_pen(self._pens[pen])
        self._g.clear()

    def rect(self, x, y, w, h, pen):
        self._g.set_pen(self._pens[pen])
        self._g.rectangle(x, y, w, h)

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
