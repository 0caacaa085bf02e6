"""Wall-clock time for the board: NTP at boot and every few hours, never backwards past a floor.

A board's RTC starts wrong after power-up, and TOTP is only as right as the clock, so
`synced()` stays false (verify answers 503, TOTP-7) until an NTP answer has been accepted.
A last-known-good time is kept on flash: an answer earlier than it is refused, so a spoofed
or stale NTP reply cannot wind the clock back and reopen used TOTP steps.
"""

import time

from micropython import const

FLOOR = const(1764547200)  # 2025-12-01: no right answer is older than this firmware
CEILING = const(4102444800)  # 2100-01-01: an answer past it is bogus, and would become the floor
_FIRST_RETRY_S = const(15)
_UNSYNCED_RETRY_S = const(60)  # before the first sync, verify is down: keep asking often
_SAVE_EVERY_S = const(3600)


def civil(t):
    """(year, month, day) of Unix seconds t, computed: the port's gmtime epoch may be 2000."""
    z = int(t) // 86400 + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (m <= 2), m, doy - (153 * mp + 2) // 5 + 1

class Clock:
    """`ntp(host)` asks NTP once (Unix seconds, or OSError); `rtc` has now() and set(unix).
    board.py hands in the board's, emulated.py the host's stand-ins."""

    def __init__(self, floor_path, ntp_host, interval_s, ntp, rtc, ticks_ms=None, floor=FLOOR):
        self._path = floor_path
        self._host = ntp_host
        self._interval = interval_s
        self._ntp = ntp
        self._rtc = rtc
        self._ticks = ticks_ms or time.ticks_ms
        try:
            with open(floor_path) as f:
                self._saved = int(f.read().strip())
        except (OSError, ValueError):
            self._saved = 0
        self.floor = max(floor, self._saved)
        self._synced = False
        self.last_error = None
        self.rejected = 0
        self._retry_s = _FIRST_RETRY_S
        now = self._ticks()
        self._next_sync = now
        self._next_save = now

    def now(self):
        return self._rtc.now()

    def synced(self):
        return self._synced

    def tick(self):
        now = self._ticks()
        if time.ticks_diff(now, self._next_sync) >= 0:
            self.sync()
        if self._synced and time.ticks_diff(now, self._next_save) >= 0:
            self._save_floor(self.now())

    def sync(self):
        """Ask NTP once; True if the answer was accepted and the RTC set."""
        why = None
        try:
            t = int(self._ntp(self._host))
            if t < self.floor:
                why = "NTP answer before the saved floor"
            elif t >= CEILING:
                why = "NTP answer past 2100"
            if why:
                self.rejected += 1
        except (OSError, ValueError, OverflowError):
            why = "no NTP answer"
        if why:
            # A board already synced keeps its RTC (drift over hours is far below a TOTP step).
            self.last_error = why
            self._next_sync = time.ticks_add(self._ticks(), self._retry_s * 1000)
            cap = self._interval if self._synced else min(_UNSYNCED_RETRY_S, self._interval)
            self._retry_s = min(self._retry_s * 2, cap)
            return False
        self._rtc.set(t)
        self._synced = True
        self.last_error = None
        self._retry_s = _FIRST_RETRY_S
        self._next_sync = time.ticks_add(self._ticks(), self._interval * 1000)
        self._save_floor(t)
        return True

    def _save_floor(self, t):
        self._next_save = time.ticks_add(self._ticks(), _SAVE_EVERY_S * 1000)
        self.floor = max(self.floor, t)
        if self.floor <= self._saved:
            return
        import os

        tmp = self._path + ".tmp"
        try:
            with open(tmp, "w") as f:
                f.write(str(self.floor))
            os.rename(tmp, self._path)
            self._saved = self.floor
        except OSError as e:
            self.last_error = "floor not saved: %s" % e
