"""Station-mode Wi-Fi that keeps itself joined: reconnects with exponential backoff.

`tick()` is cheap and never blocks, so the server's loop can call it often; `status()` is
what the Wi-Fi screen shows. Few methods on purpose: each costs heap on the board for good.
"""

import time

from micropython import const

FIRST_RETRY_MS = const(2000)
MAX_RETRY_MS = const(300000)
JOIN_TIMEOUT_MS = const(20000)
# network.WLAN.status() values below zero end a join early (CYW43 on the Pico W)
_REASONS = {-1: "join failed", -2: "network not found", -3: "wrong password"}


class Wifi:
    """`wlan` is a network.WLAN (board.py makes it), or anything with its active, connect,
    isconnected, status and ifconfig."""

    def __init__(self, ssid, password, wlan, ticks_ms=None):
        self._wlan = wlan
        self.ssid = ssid
        self._password = password
        self._ticks = ticks_ms or time.ticks_ms
        self.state = "down"
        self.reason = None
        self.attempts = 0
        self._backoff = FIRST_RETRY_MS
        self._next = self._ticks()
        self._deadline = None

    def ip(self):
        return self._wlan.ifconfig()[0] if self.state == "up" else None

    def _fail(self, now, reason):
        self.reason = reason
        self.state = "down"
        self._deadline = None
        self._next = time.ticks_add(now, self._backoff)
        self._backoff = min(self._backoff * 2, MAX_RETRY_MS)

    def tick(self):
        now = self._ticks()
        if self._wlan.isconnected():
            if self.state != "up":
                self.state = "up"
                self.reason = None
                self._deadline = None
                self._backoff = FIRST_RETRY_MS
            return
        if self.state == "up":
            # dropped: try again at once, then back off
            self.state = "down"
            self.reason = "connection lost"
            self._next = now
        elif self.state == "connecting":
            status = self._wlan.status()
            if status in _REASONS:
                self._fail(now, _REASONS[status])
            elif time.ticks_diff(now, self._deadline) >= 0:
                self._fail(now, "timed out")
            return
        if time.ticks_diff(now, self._next) >= 0:  # join
            self.attempts += 1
            self.state = "connecting"
            self._deadline = time.ticks_add(now, JOIN_TIMEOUT_MS)
            try:
                self._wlan.active(True)
                self._wlan.connect(self.ssid, self._password)
            except OSError:
                self._fail(now, "radio error")

    def status(self):
        down = self.state == "down"
        return {
            "state": self.state,
            "ssid": self.ssid,
            "ip": self.ip(),
            "attempts": self.attempts,
            "retry_in": max(0, time.ticks_diff(self._next, self._ticks()) // 1000) if down else None,
            "reason": self.reason,
        }
