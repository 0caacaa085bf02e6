"""Host adapters for the Unix port: the board's own adapter classes (tfa.clock.Clock,
tfa.wifi.Wifi, tfa.led.Led, tfa.buttons.Buttons) over host stand-ins for the hardware they
drive, so the emulator runs, and holds in its heap, the code a board runs. Only the display
differs: framebuf instead of picographics, with a frame of the same 38 KB on the heap.
"""

import os
import time


class Hardware:
    """Every stand-in in one class, since each class costs heap for good: the host's clock as
    the RTC and as the NTP answer (none when config says "synced": false); loopback as a
    Wi-Fi network that is always joined; a PWM channel that keeps its last duty; a button's
    pin, pulled up and never pressed."""

    duty = None

    def __init__(self, ip="127.0.0.1"):
        self._ip = ip

    # the RTC, and NTP (`host` given): the host's clock is right already, so the board's
    # Clock reads it, and sets it to what it read
    def now(self, host=None):
        return int(time.time())

    def set(self, unix):
        pass

    def no_ntp(self, host):
        raise OSError("the emulator runs unsynced")

    # network.WLAN, always joined: Wifi never needs to call active(), connect() or status()
    def isconnected(self):
        return True

    def ifconfig(self):
        return (self._ip, "255.0.0.0", self._ip, self._ip)

    # a PWM channel and a button's pin
    def duty_u16(self, v):
        self.duty = v

    def value(self):
        return 1


def build(cfg, root):
    from tfa.buttons import Buttons
    from tfa.clock import Clock
    from tfa.events import EventLog
    from tfa.framebuf_display import FramebufDisplay
    from tfa.led import Led
    from tfa.wifi import Wifi

    ntp = cfg.get("ntp") or {}
    hw = Hardware(cfg.get("bind", "127.0.0.1"))
    return {
        "clock": Clock(
            root + "time_floor",
            ntp.get("host", "pool.ntp.org"),
            ntp.get("interval_s", 10800),
            hw.now if cfg.get("synced", True) is not False else hw.no_ntp,
            hw,
        ),
        "rand": os.urandom,
        "wifi": Wifi("loopback", "", hw),
        "events": EventLog(root + "events.log", cfg["events_max_bytes"]),
        # the frame first among the UI's parts, as on the board: the largest block
        "display": FramebufDisplay(),
        "led": Led([Hardware(), Hardware(), Hardware()]),
        "buttons": Buttons([hw] * 4),
    }
