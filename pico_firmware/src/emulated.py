"""Host adapters for the Unix port: the host's clock (synced unless config says
"synced": false), loopback, events to a file, and a framebuf display saved as PNG."""

import os


def build(cfg, root):
    from tfa.clock import HostClock

    ad = {
        "clock": HostClock(0, cfg.get("synced", True) is not False),
        "rand": os.urandom,
        "wifi": None,
        "events": None,
        "display": None,
    }
    try:
        from tfa.wifi import HostWifi

        ad["wifi"] = HostWifi(cfg.get("bind", "127.0.0.1"))
    except ImportError:
        pass
    try:
        from tfa.events import EventLog

        ad["events"] = EventLog(root + "events.log", cfg["events_max_bytes"])
    except ImportError:
        pass
    try:
        from tfa.buttons import HostButtons
        from tfa.framebuf_display import FramebufDisplay
        from tfa.led import HostLed

        ad["display"] = FramebufDisplay(320, 240)
        ad["led"] = HostLed()
        ad["buttons"] = HostButtons()
    except ImportError:
        pass
    return ad
