"""The board's face: which screen is up, what the buttons do, the LED flash per outcome, and
the main screen (address, clock, counts), which is up nearly all the time.

The server calls `event(kind, outcome)` for each audit event and `tick()` from its loop;
the UI redraws only when something it shows has changed (at most once a second for the clock).
Buttons: A previous screen, B next, X home (main), Y steps the backlight down and back up.

The other screens (boot, Wi-Fi, log, certificate: tfa.screens) are drawn once in a while, so
their code is loaded when one is drawn and dropped when the main screen is back: it takes
heap only while one of them is up. Text is mostly at scale 2 (16 px), readable on a 2-inch
320x240 panel.
"""

import sys
import time

from micropython import const

import tfa
from tfa import led as colours
from tfa.clock import civil
from tfa.display import AMBER, BLACK, BLUE, DARK, GREEN, GREY, NAVY, RED, WHITE

SCREENS = ("main", "log", "cert", "wifi")
ALL = ("boot", "wifi", "main", "log", "cert")
LEVELS = (1.0, 0.5, 0.15)
HEADER = const(28)
FOOTER = const(18)
MARGIN = const(6)
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
        if self._events is None:  # else the log screen reads the event log
            self.recent.append({"time": when, "username": username, "outcome": outcome})
            if len(self.recent) > _RECENT:
                self.recent.pop(0)
        if self.screen in ("main", "log"):
            self.dirty = True

    def stats(self):
        s = dict(self.counts)
        s.update(self._stats_fn() or {})
        return s

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
        _forget()  # the next boot step may need the heap more than the next boot screen

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
        if name not in ALL:
            raise ValueError("no screen %r" % name)
        d = self.display
        page = "%d/%d" % (SCREENS.index(name) + 1, len(SCREENS)) if name in SCREENS else ""
        if name == "main":
            _forget()  # back home: drop the other screens' code
            main(d, self.stats(), self.info, page)
            return
        from tfa import screens

        if name == "boot":
            screens.boot(d, self.info, self.message)
        elif name == "wifi":
            screens.wifi(d, self._wifi.status() if self._wifi else {}, page)
        elif name == "log":
            screens.log(d, self._events.last(_RECENT) if self._events else self.recent, page)
        else:
            screens.cert(d, self.info, page)

    def render_all(self, save):
        """Draw every screen and hand its name to save (e.g. to write name.png)."""
        for name in ALL:
            self.draw(name)
            self.display.update()
            save(name)
        self.dirty = True


def _forget():
    if "tfa.screens" in sys.modules:
        del sys.modules["tfa.screens"]
        tfa.__dict__.pop("screens", None)


# ---- drawing: the helpers every screen uses, and the main screen ------------------------
def hms(t):
    t = int(t) % 86400
    return "%02d:%02d:%02d" % (t // 3600, t // 60 % 60, t % 60)


def text(d, s, x, y, pen, scale, width=None):
    """s at the largest scale up to `scale` at which it fits width (cut short if even 1 is
    too wide); width defaults to the rest of the line; x None centres it on the panel."""
    if width is None:
        width = d.width - (2 * MARGIN if x is None else x + MARGIN)
    s = str(s)
    while scale > 1 and d.measure(s, scale) > width:
        scale -= 1
    while len(s) > 1 and d.measure(s, scale) > width:
        s = s[:-2] + "~"
    if x is None:
        x = (d.width - d.measure(s, scale)) // 2
    d.text(s, x, y, pen, scale)


def frame(d, title, page, right="", right_pen=WHITE):
    """The header (title, and `right` at its end) and the footer (buttons, page)."""
    d.clear(BLACK)
    d.rect(0, 0, d.width, HEADER, NAVY)
    room = d.width - 2 * MARGIN
    if right:
        w = d.measure(right, 2)
        d.text(right, d.width - w - MARGIN, 6, right_pen, 2)
        room -= w + MARGIN
    text(d, title, MARGIN, 6, WHITE, 2, room)
    y = d.height - FOOTER
    d.rect(0, y, d.width, 1, DARK)
    d.text("A:prev B:next X:home Y:dim", MARGIN, y + 5, GREY, 1)
    if page:
        d.text(page, d.width - d.measure(page, 1) - MARGIN, y + 5, GREY, 1)


def main(d, stats, info, page=""):
    synced = bool(stats.get("synced"))
    now = stats.get("time") or 0
    frame(d, info.get("name", "pico-tfa"), page, hms(now), GREEN if synced else RED)
    y = HEADER + 6
    text(d, stats.get("url") or info.get("url") or "-", MARGIN, y, WHITE, 2)
    y += 22
    text(d, stats.get("ip") or "no address", MARGIN, y, BLUE, 2)
    y += 22
    if synced:
        date = "%04d-%02d-%02d" % civil(now)
        text(d, date + " UTC  clock synced", MARGIN, y, GREEN, 1)
    else:
        text(d, "clock NOT synced: verify answers 503", MARGIN, y, RED, 1)
    y += 14
    w = (d.width - 3 * MARGIN) // 2
    h = (d.height - FOOTER - MARGIN - y - MARGIN) // 2
    tiles = (
        ("logins ok", stats.get("logins_ok", 0), GREEN),
        ("logins failed", stats.get("logins_failed", 0), RED),
        ("accounts locked", stats.get("locked", 0), AMBER),
        ("sessions active", stats.get("sessions", 0), BLUE),
    )
    for i in range(4):
        label, value, pen = tiles[i]
        x = MARGIN + (i % 2) * (w + MARGIN)
        ty = y + (i // 2) * (h + MARGIN)
        d.rect(x, ty, w, h, DARK)
        d.text(label, x + 6, ty + 5, GREY, 1)
        text(d, value, x + 6, ty + 17, pen, 4, w - 12)
