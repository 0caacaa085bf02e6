"""The Display Pack's four buttons (A, B, X, Y on GP12-15), debounced, as press events.

Buttons pull to ground when pressed. A press counts once the new level has held for
`debounce_ms`, so contact bounce never turns one press into several.
"""

import time

from micropython import const

NAMES = "ABXY"
_DEBOUNCE_MS = const(30)


class Buttons:
    """Pins are anything with .value(); board.py makes the board's machine.Pin ones."""

    def __init__(self, pins, names=NAMES, debounce_ms=_DEBOUNCE_MS, ticks_ms=None):
        self._pins = pins
        self._names = names
        self._debounce = debounce_ms
        self._ticks = ticks_ms or time.ticks_ms
        n = len(pins)
        self._stable = [1] * n
        self._raw = [1] * n
        self._since = [0] * n

    def poll(self):
        """Names of the buttons newly pressed since the last poll."""
        now = self._ticks()
        pressed = []
        for i, pin in enumerate(self._pins):
            v = 1 if pin.value() else 0
            if v != self._raw[i]:
                self._raw[i] = v
                self._since[i] = now
            elif v != self._stable[i] and time.ticks_diff(now, self._since[i]) >= self._debounce:
                self._stable[i] = v
                if v == 0:
                    pressed.append(self._names[i])
        return pressed
