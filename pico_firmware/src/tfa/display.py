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
