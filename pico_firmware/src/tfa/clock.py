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


def epoch_offset():
    """Seconds from 1970 to the port's epoch (2000 on some ports)."""
    return 0 if time.gmtime(0)[0] == 1970 else 946684800


class MachineRTC:
    """The board's RTC in Unix seconds."""

    def now(self):
        return int(time.time()) + epoch_offset()

    def set(self, unix):
        import machine

        tm = time.gmtime(unix - epoch_offset())
        machine.RTC().datetime((tm[0], tm[1], tm[2], tm[6], tm[3], tm[4], tm[5], 0))


def ntp_query(host):
    """One NTP request; Unix seconds, or OSError."""
    import ntptime

    ntptime.host = host
    return ntptime.time() + epoch_offset()


class Clock:
    def __init__(
        self,
        floor_path="/time_floor",
        ntp_host="pool.ntp.org",
        interval_s=10800,
        ntp=None,
        rtc=None,
        ticks_ms=None,
        floor=FLOOR,
    ):
        self._path = floor_path
        self._host = ntp_host
        self._interval = interval_s
        self._ntp = ntp or ntp_query
        self._rtc = rtc or MachineRTC()
        self._ticks = ticks_ms or time.ticks_ms
        self._saved = self._load_floor()
        self.floor = max(floor, self._saved)
        self._synced = False
        self.last_sync = None
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
        try:
            t = int(self._ntp(self._host))
        except (OSError, ValueError, OverflowError):
            return self._retry("no NTP answer")
        if t < self.floor:
            self.rejected += 1
            return self._retry("NTP answer before the saved floor")
        if t >= CEILING:
            self.rejected += 1
            return self._retry("NTP answer past 2100")
        self._rtc.set(t)
        self._synced = True
        self.last_sync = t
        self.last_error = None
        self._retry_s = _FIRST_RETRY_S
        self._next_sync = time.ticks_add(self._ticks(), self._interval * 1000)
        self._save_floor(t)
        return True

    def _retry(self, why):
        # A board already synced keeps its RTC (drift over hours is far below a TOTP step).
        self.last_error = why
        self._next_sync = time.ticks_add(self._ticks(), self._retry_s * 1000)
        cap = self._interval if self._synced else min(_UNSYNCED_RETRY_S, self._interval)
        self._retry_s = min(self._retry_s * 2, cap)
        return False

    def _load_floor(self):
        try:
            with open(self._path) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return 0

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

    def status(self):
        return {
            "synced": self._synced,
            "last_sync": self.last_sync,
            "floor": self.floor,
            "error": self.last_error,
        }
