"""The real Pico W's adapters, built from /config.json: the one module that knows the pins,
the radio and the RTC.

A firmware built with network.PPP (the RPI_PICO_W_PPP variant) links over PPP on UART0
instead of Wi-Fi; one built without Pimoroni's picographics serves without the panel.

The emulator builds host versions of the same adapters instead (emulated.py), so nothing
else in the firmware imports machine, network, ntptime or picographics, and neither side
carries the other's hardware code in its heap.
"""

import json
import os
import time

from tfa.buttons import Buttons
from tfa.clock import Clock
from tfa.events import EventLog
from tfa.led import Led
from tfa.panel import PicoGraphicsDisplay
from tfa.wifi import Wifi

BUTTON_PINS = (12, 13, 14, 15)  # Display Pack 2.0: A, B, X, Y
LED_PINS = (6, 7, 8)  # Display Pack 2.0 RGB LED: red, green, blue
EVENTS = "events.log"
TIME_FLOOR = "time_floor"


def epoch_offset():
    """Seconds from 1970 to the port's epoch (2000 on some ports)."""
    return 0 if time.gmtime(0)[0] == 1970 else 946684800


class MachineRTC:
    """The board's RTC in Unix seconds: read from the RTC itself, which runs on its own crystal
    whatever the CPU does (an emulated board's RTC keeps real time while its CPU is slower)."""

    def now(self):
        import machine

        y, mo, d, _, h, mi, s, _ = machine.RTC().datetime()
        return time.mktime((y, mo, d, h, mi, s, 0, 0)) + epoch_offset()

    def set(self, unix):
        import machine

        tm = time.gmtime(unix - epoch_offset())
        machine.RTC().datetime((tm[0], tm[1], tm[2], tm[6], tm[3], tm[4], tm[5], 0))


class PppLink:
    """network.PPP on UART0, behind the calls tfa.wifi.Wifi makes of a WLAN: the peer on the
    other end of the serial line (a modem, or the host's PPP) stands in for the access point."""

    def __init__(self, network):
        from machine import UART

        # lwIP's PPP reads when the UART's line goes idle: the buffer holds a whole frame
        self._ppp = network.PPP(UART(0, baudrate=115200, rxbuf=2048, txbuf=2048))

    def active(self, on):
        pass

    def connect(self, ssid, password):
        import errno

        try:
            self._ppp.connect()
        except OSError as e:
            if e.errno != errno.EALREADY:  # still negotiating: let it go on
                raise

    def isconnected(self):
        return self._ppp.isconnected()

    def status(self):
        return -1 if self._ppp.status() < 0 else 0  # a PPP error ends the join: retry later

    def ifconfig(self):
        return self._ppp.ifconfig()


def ntp_query(host):
    """One NTP request; Unix seconds, or OSError."""
    import ntptime

    ntptime.host = host
    return ntptime.time() + epoch_offset()


def load(path="/config.json"):
    with open(path) as f:
        return json.load(f)


def build(config=None, root="/"):
    """The adapters firmware.run takes, for a Pico W with a Display Pack 2.0:
    {"clock", "wifi", "events", "rand", "display", "led", "buttons"}."""
    import network
    from machine import PWM, Pin

    if config is None:
        config = load(root + "config.json")
    wifi = config["wifi"]
    ntp = config.get("ntp") or {}
    if wifi.get("country"):
        network.country(wifi["country"])
    network.hostname(config["hostname"].split(".")[0])  # DHCP and mDNS want one label
    # the frame buffer is the largest block: made early, while the heap is unfragmented
    try:
        display = PicoGraphicsDisplay()
    except ImportError:  # a stock MicroPython build: no picographics, no panel
        display = buttons = led = None
    else:
        buttons = Buttons([Pin(p, Pin.IN, Pin.PULL_UP) for p in BUTTON_PINS])
        channels = []
        for p in LED_PINS:
            pwm = PWM(Pin(p))
            pwm.freq(1000)
            channels.append(pwm)
        led = Led(channels)
    link = PppLink(network) if hasattr(network, "PPP") else network.WLAN(network.STA_IF)
    return {
        "wifi": Wifi(wifi["ssid"], wifi["password"], link),
        "clock": Clock(
            root + TIME_FLOOR,
            ntp.get("host", "pool.ntp.org"),
            ntp.get("interval_s", 10800),
            ntp_query,
            MachineRTC(),
        ),
        "display": display,
        "buttons": buttons,
        "led": led,
        "events": EventLog(root + EVENTS, config.get("events_max_bytes", 16384)),
        "rand": os.urandom,
    }
