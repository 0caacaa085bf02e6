"""The Display Pack's RGB LED: a short flash of colour per auth outcome.

Green for success, red for failure, amber for a lockout. The board drives GP6-8 by PWM
(board.py makes them; the emulator hands in stand-in channels); `colour` is what the LED shows now.
"""

import time

from micropython import const

OFF = (0, 0, 0)
GREEN = (0, 255, 0)
RED = (255, 0, 0)
AMBER = (255, 100, 0)
FLASH_MS = const(400)


class Led:
    """Three PWM channels; the Display Pack's LED is common-anode, so duty is inverted."""

    def __init__(self, channels, invert=True, brightness=0.5, ticks_ms=None):
        self._ch = channels
        self._invert = invert
        self.brightness = brightness
        self._ticks = ticks_ms or time.ticks_ms
        self._until = None
        self.show(OFF)

    def show(self, colour):
        self.colour = colour
        for ch, v in zip(self._ch, colour):
            duty = int(v * self.brightness * 65535 // 255)
            ch.duty_u16(65535 - duty if self._invert else duty)

    def flash(self, colour, ms=FLASH_MS):
        self.show(colour)
        self._until = time.ticks_add(self._ticks(), ms)

    def tick(self):
        if self._until is not None and time.ticks_diff(self._ticks(), self._until) >= 0:
            self._until = None
            self.show(OFF)
