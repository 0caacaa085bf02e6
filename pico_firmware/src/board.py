"""The real Pico W's adapters, built from /config.json: the one module that knows the pins.

The emulator builds host versions of the same adapters instead (emulated.py), so nothing
else in the firmware imports machine, network or picographics.
"""

import json
import os

from tfa.buttons import Buttons
from tfa.clock import Clock
from tfa.panel import PicoGraphicsDisplay
from tfa.events import EventLog
from tfa.led import Led
from tfa.wifi import Wifi

BUTTON_PINS = (12, 13, 14, 15)  # Display Pack 2.0: A, B, X, Y
LED_PINS = (6, 7, 8)  # Display Pack 2.0 RGB LED: red, green, blue
EVENTS = "events.log"
TIME_FLOOR = "time_floor"


def load(path="/config.json"):
    with open(path) as f:
        return json.load(f)


def build(config=None, root="/"):
    """The adapters firmware.run takes, for a Pico W with a Display Pack 2.0:
    {"clock", "wifi", "events", "rand", "display", "led", "buttons"}."""
    if config is None:
        config = load(root + "config.json")
    wifi = config["wifi"]
    ntp = config.get("ntp") or {}
    return {
        "wifi": Wifi(
            wifi["ssid"],
            wifi["password"],
            country=wifi.get("country"),
            hostname=config["hostname"].split(".")[0],  # DHCP and mDNS want one label
        ),
        "clock": Clock(
            root + TIME_FLOOR, ntp.get("host", "pool.ntp.org"), ntp.get("interval_s", 10800)
        ),
        # the frame buffer is the largest block: made early, while the heap is unfragmented
        "display": PicoGraphicsDisplay(),
        "buttons": Buttons.on_gpio(BUTTON_PINS),
        "led": Led.on_gpio(LED_PINS),
        "events": EventLog(root + EVENTS, config.get("events_max_bytes", 16384)),
        "rand": os.urandom,
    }
