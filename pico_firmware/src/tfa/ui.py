"""The board's face: which screen is up, what the buttons do, and the LED flash per outcome.

The server calls `event(kind, outcome)` for each audit event and `tick()` from its loop;
the UI redraws only when something it shows has changed (at most once a second for the clock).
Buttons: A previous screen, B next, X home (main), Y steps the backlight down and back up.
"""

import time

from micropython import const

from tfa import led as colours
from tfa import screens

SCREENS = ("main", "log", "cert", "wifi")
ALL = ("boot", "wifi", "main", "log", "cert")
LEVELS = (1.0, 0.5, 0.15)
_RECENT = const(8)
_REDRAW_MS = const(1000)



class UI:
    def __init__(
        self, display, led, buttons, stats_fn, info, wifi=None, events=None, ticks_ms=None
    ):
        self.display = display
        self.led = led
        self.buttons = buttons
        self._stats_fn = stats_fn
        self.info = info
        self._wifi = wifi
        self._events = events
        self._ticks = ticks_ms or time.ticks_ms
        self.screen = "main"
        self.level = 0
        self.message = "starting"
        # counts since boot; stats_fn's figures win when it gives them
        self.counts = {"logins_ok": 0, "logins_failed": 0, "lockouts": 0}
        self.recent = []
        self.dirty = True
        self._next_redraw = self._ticks()

    def event(self, kind, outcome, username=None, when=None):
        """One audit event: flash the LED, count it, keep it for the log screen."""
        if outcome in ("success", "challenge_issued", "revoked"):
            self.led.flash(colours.GREEN)
        elif outcome == "locked":
            self.led.flash(colours.AMBER)
        else:
            self.led.flash(colours.RED)
        if kind == "verify" and outcome == "success":
            self.counts["logins_ok"] += 1
        elif outcome in ("invalid_credentials", "invalid_code"):
            self.counts["logins_failed"] += 1
        elif outcome == "locked":
            self.counts["lockouts"] += 1
        self.recent.append({"time": when, "event": kind, "username": username, "outcome": outcome})
        if len(self.recent) > _RECENT:
            self.recent.pop(0)
        if self.screen in ("main", "log"):
            self.dirty = True

    def stats(self):
        s = dict(self.counts)
        s.update(self._stats_fn() or {})
        return s

    def wifi_status(self):
        if self._wifi is not None:
            return self._wifi.status()
        return self.stats().get("wifi") or {"state": "down"}

    def last_events(self):
        if self._events is not None:
            return self._events.last(_RECENT)
        return self.recent

    def show(self, name):
        if name not in ALL:
            raise ValueError("no screen %r" % name)
        self.screen = name
        self.dirty = True

    def boot(self, message):
        """Show the boot screen with a progress message, at once (the loop is not running yet)."""
        self.message = message
        self.screen = "boot"
        self.draw()
        self.display.update()

    def press(self, name):
        if name == "Y":
            self.level = (self.level + 1) % len(LEVELS)
            self.display.backlight(LEVELS[self.level])
            return
        i = SCREENS.index(self.screen) if self.screen in SCREENS else 0
        if name == "A":
            self.show(SCREENS[(i - 1) % len(SCREENS)])
        elif name == "B":
            self.show(SCREENS[(i + 1) % len(SCREENS)])
        elif name == "X":
            self.show("main")

    def tick(self):
        """Poll buttons, end LED flashes, redraw if needed; True if the panel was redrawn."""
        for name in self.buttons.poll():
            self.press(name)
        self.led.tick()
        now = self._ticks()
        if self.screen in ("main", "wifi") and time.ticks_diff(now, self._next_redraw) >= 0:
            self.dirty = True
        if not self.dirty:
            return False
        self.draw()
        self.display.update()
        self.dirty = False
        self._next_redraw = time.ticks_add(now, _REDRAW_MS)
        return True

    def draw(self, name=None):
        name = name or self.screen
        d = self.display
        page = "%d/%d" % (SCREENS.index(name) + 1, len(SCREENS)) if name in SCREENS else ""
        if name == "boot":
            screens.boot(d, self.info, self.message)
        elif name == "wifi":
            screens.wifi(d, self.wifi_status(), page)
        elif name == "main":
            screens.main(d, self.stats(), self.info, page)
        elif name == "log":
            screens.log(d, self.last_events(), page)
        elif name == "cert":
            screens.cert(d, self.info, page)
        else:
            raise ValueError("no screen %r" % name)

    def render_all(self, save):
        """Draw every screen and hand its name to save (e.g. to write name.png)."""
        for name in ALL:
            self.draw(name)
            self.display.update()
            save(name)
        self.dirty = True
