"""The drawing surface's pens and size, shared by its two backends: the Display Pack panel
(tfa.panel, on the board) and a host frame buffer (tfa.framebuf_display, in the emulator).
Each side imports only its own backend, so neither carries the other's code in its heap.

Pens are palette indices (0..15) so both backends hold 4 bits a pixel: 38 KB at 320x240,
which a Pico W can spare, where RGB565 (150 KB) it cannot.
"""

from micropython import const

WIDTH = const(320)
HEIGHT = const(240)
GLYPH = const(8)  # framebuf's font is 8x8; bitmap8 on the panel has the same height

# Pens: screens use the names, never the numbers.
BLACK = const(0)
WHITE = const(1)
GREY = const(2)
GREEN = const(3)
RED = const(4)
AMBER = const(5)
BLUE = const(6)
NAVY = const(7)
DARK = const(8)
# Pen index -> colour, three bytes (r, g, b) a pen: one bytes object is a fraction of the
# heap a tuple of tuples takes, and it is the PNG's PLTE chunk as it is.
PALETTE = (
    b"\x00\x00\x00"  # black
    b"\xff\xff\xff"  # white
    b"\x96\x96\x96"  # grey (150)
    b"\x28\xc8\x50"  # green (40, 200, 80)
    b"\xe6\x32\x32"  # red (230, 50, 50)
    b"\xff\xaa\x00"  # amber (255, 170, 0)
    b"\x50\xa0\xff"  # blue (80, 160, 255)
    b"\x14\x28\x5a"  # navy (20, 40, 90)
    b"\x28\x28\x28"  # dark (40, 40, 40)
)
