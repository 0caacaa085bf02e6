"""board.build wires the real adapters to the Display Pack's pins; machine, network and
picographics are stood in for by recording fakes, as the Unix port has none of them."""

import json
import sys

from fakes import scratch


class _Module:
    pass


class _Pin:
    IN = 0
    PULL_UP = 1
    made = []

    def __init__(self, n, mode=None, pull=None):
        self.n = n
        self.mode = mode
        self.pull = pull
        _Pin.made.append(self)

    def value(self):
        return 1


class _PWM:
    made = []

    def __init__(self, pin):
        self.pin = pin
        self.f = None
        self.duty = None
        _PWM.made.append(self)

    def freq(self, f):
        self.f = f

    def duty_u16(self, d):
        self.duty = d


class _WLAN:
    def __init__(self, mode):
        self.mode = mode

    def isconnected(self):
        return False


class _Graphics:
    calls = []

    def __init__(self, display=None, pen_type=None, rotate=0):
        _Graphics.calls.append(("init", display, pen_type))
        self.pens = 0

    def __getattr__(self, name):
        def record(*args):
            _Graphics.calls.append((name,) + args)
            if name == "create_pen":
                self.pens += 1
                return self.pens - 1
            if name == "get_bounds":
                return (320, 240)
            if name == "measure_text":
                return 6 * len(args[0]) * args[1]
            return None

        return record


def _install_fakes():
    machine = _Module()
    machine.Pin = _Pin
    machine.PWM = _PWM
    network = _Module()
    network.STA_IF = 0
    network.WLAN = _WLAN
    network.set = {}
    network.country = lambda c: network.set.update(country=c)
    network.hostname = lambda h: network.set.update(hostname=h)
    pg = _Module()
    pg.PicoGraphics = _Graphics
    pg.DISPLAY_PICO_DISPLAY_2 = "DISPLAY_PICO_DISPLAY_2"
    pg.PEN_P4 = "PEN_P4"
    sys.modules["machine"] = machine
    sys.modules["network"] = network
    sys.modules["picographics"] = pg
    return network


def _remove_fakes():
    for name in ("machine", "network", "picographics"):
        sys.modules.pop(name, None)


def _root():
    return scratch("board")


CONFIG = {
    "hostname": "pico-tfa.local",
    "port": 443,
    "profile": "production",
    "wifi": {"ssid": "lab", "password": "pw", "country": "DE"},
    "ntp": {"host": "ntp.example", "interval_s": 600},
}


def test_build_wires_pins_wifi_clock_and_panel():
    network = _install_fakes()
    try:
        import board

        root = _root()
        with open(root + "config.json", "w") as f:
            json.dump(CONFIG, f)
        _Pin.made.clear()
        _PWM.made.clear()
        _Graphics.calls.clear()
        b = board.build(root=root)
        assert sorted(b) == ["buttons", "clock", "display", "events", "led", "rand", "wifi"]
        assert len(b["rand"](16)) == 16
        assert network.set == {"country": "DE", "hostname": "pico-tfa"}
        assert b["wifi"].ssid == "lab" and b["wifi"].status()["state"] == "down"
        assert [p.n for p in _Pin.made] == [12, 13, 14, 15, 6, 7, 8]
        assert all(p.pull == _Pin.PULL_UP for p in _Pin.made[:4])
        assert [p.pin.n for p in _PWM.made] == [6, 7, 8]
        assert all(p.duty == 65535 for p in _PWM.made)  # LED off (common anode)
        assert _Graphics.calls[0] == ("init", "DISPLAY_PICO_DISPLAY_2", "PEN_P4")
        assert ("set_backlight", 1.0) in _Graphics.calls
        assert ("set_font", "bitmap8") in _Graphics.calls
        assert b["clock"]._host == "ntp.example" and b["clock"]._interval == 600
        assert not b["clock"].synced()
        assert b["events"].path == root + "events.log"
    finally:
        _remove_fakes()


class _UART:
    def __init__(self, n, baudrate=None, rxbuf=None, txbuf=None):
        self.n = n
        self.baudrate = baudrate


class _PPP:
    ERRNO = None

    def __init__(self, stream):
        self.stream = stream
        self.connects = 0
        self.state = 1

    def connect(self):
        self.connects += 1
        if _PPP.ERRNO is not None:
            raise OSError(_PPP.ERRNO)

    def isconnected(self):
        return self.state == 4

    def status(self):
        return self.state

    def ifconfig(self):
        return ("10.71.0.2", "255.255.255.255", "10.71.0.1", "0.0.0.0")


def test_a_ppp_firmware_links_over_uart0_and_serves_without_a_panel():
    network = _install_fakes()
    sys.modules["machine"].UART = _UART
    network.PPP = _PPP
    del sys.modules["picographics"]  # a stock MicroPython build has no picographics
    try:
        import errno

        import board

        root = _root()
        with open(root + "config.json", "w") as f:
            json.dump(CONFIG, f)
        _Pin.made.clear()
        b = board.build(root=root)
        assert b["display"] is None and b["buttons"] is None and b["led"] is None
        assert _Pin.made == []  # the panel's pins are left alone
        wifi = b["wifi"]
        link = wifi._wlan
        assert link._ppp.stream.n == 0 and link._ppp.stream.baudrate == 115200
        wifi.tick()  # joins: PPP.connect()
        assert link._ppp.connects == 1 and wifi.state == "connecting"
        _PPP.ERRNO = errno.EALREADY  # asked again while negotiating: not an error
        link.connect("lab", "pw")
        _PPP.ERRNO = None
        link._ppp.state = 4
        wifi.tick()
        assert wifi.state == "up" and wifi.ip() == "10.71.0.2"
        link._ppp.state = -2  # a PPP error: the join failed, Wi-Fi's retry logic takes over
        assert link.status() == -1
    finally:
        _PPP.ERRNO = None
        _remove_fakes()


def test_the_clock_reads_the_rtc_itself():
    _install_fakes()

    class _RTC:
        def datetime(self, dt=None):
            return (2026, 12, 5, 5, 1, 2, 3, 0)

    sys.modules["machine"].RTC = _RTC
    try:
        import board

        assert board.MachineRTC().now() == 1796432523  # 2026-12-05 01:02:03 UTC
    finally:
        _remove_fakes()


def test_the_panel_draws_through_picographics():
    _install_fakes()
    try:
        import board
        from tfa.ui import UI

        b = board.build(dict(CONFIG), root=_root())
        stats = lambda: {"time": 1795000000, "synced": True, "ip": "192.168.4.20"}  # noqa: E731
        ui = UI(b["display"], b["led"], b["buttons"], stats, {}, b["wifi"], b["events"])
        _Graphics.calls.clear()
        assert ui.tick() is True
        names = [c[0] for c in _Graphics.calls]
        assert names[-1] == "update"
        assert "clear" in names and "text" in names and "rectangle" in names
        texts = [c[1] for c in _Graphics.calls if c[0] == "text"]
        assert "192.168.4.20" in texts
        b["buttons"].poll()
        ui.press("Y")
        assert _Graphics.calls[-1][0] == "set_backlight"
    finally:
        _remove_fakes()
