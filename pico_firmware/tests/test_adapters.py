"""Buttons debounce, LED PWM duty, Wi-Fi reconnect backoff, with fake pins and a fake WLAN."""

from tfa.buttons import Buttons
from tfa.led import GREEN, Led
from tfa.wifi import FIRST_RETRY_MS, JOIN_TIMEOUT_MS, MAX_RETRY_MS, Wifi


class Ticks:
    def __init__(self):
        self.ms = 0

    def __call__(self):
        return self.ms


class Pin:
    def __init__(self):
        self.level = 1

    def value(self):
        return self.level


class Channel:
    def __init__(self):
        self.duty = None

    def duty_u16(self, d):
        self.duty = d


class WLAN:
    def __init__(self):
        self.up = False
        self.joins = 0
        self.code = 1  # joining

    def active(self, on):
        pass

    def connect(self, ssid, password):
        self.joins += 1

    def isconnected(self):
        return self.up

    def status(self):
        return self.code

    def ifconfig(self):
        return ("192.168.4.20", "255.255.255.0", "192.168.4.1", "192.168.4.1")


def test_a_press_counts_once_after_it_holds():
    ticks = Ticks()
    pins = [Pin() for _ in range(4)]
    b = Buttons(pins, debounce_ms=30, ticks_ms=ticks)
    assert b.poll() == []
    pins[1].level = 0
    assert b.poll() == []  # not yet stable
    ticks.ms += 29
    assert b.poll() == []
    ticks.ms += 1
    assert b.poll() == ["B"]
    ticks.ms += 100
    assert b.poll() == []  # held: still one press
    pins[1].level = 1
    ticks.ms += 40
    b.poll()
    ticks.ms += 40
    assert b.poll() == []  # release is not a press


def test_bounce_is_not_a_press():
    ticks = Ticks()
    pins = [Pin() for _ in range(4)]
    b = Buttons(pins, debounce_ms=30, ticks_ms=ticks)
    for _ in range(10):  # chatter every 5 ms
        pins[3].level ^= 1
        ticks.ms += 5
        assert b.poll() == []


def test_led_duty_is_inverted_for_common_anode():
    ch = [Channel(), Channel(), Channel()]
    led = Led(ch, brightness=1.0)
    assert [c.duty for c in ch] == [65535, 65535, 65535]  # off
    led.show(GREEN)
    assert [c.duty for c in ch] == [65535, 0, 65535]
    led2 = Led([Channel(), Channel(), Channel()], invert=False, brightness=0.5)
    led2.show(GREEN)
    assert led2._ch[1].duty == 32767 and led2._ch[0].duty == 0


def test_wifi_joins_then_backs_off_exponentially():
    ticks = Ticks()
    wlan = WLAN()
    w = Wifi("lab", "pw", wlan=wlan, ticks_ms=ticks)
    w.tick()
    assert wlan.joins == 1 and w.status()["state"] == "connecting"
    delays = []
    for _ in range(10):
        ticks.ms += JOIN_TIMEOUT_MS
        w.tick()  # join timed out
        assert w.state == "down"
        start = ticks.ms
        joins = wlan.joins
        while wlan.joins == joins:
            ticks.ms += 1000
            w.tick()
        delays.append(ticks.ms - start)
    assert delays[0] == FIRST_RETRY_MS
    assert delays[1] == 2 * FIRST_RETRY_MS
    assert delays[2] == 4 * FIRST_RETRY_MS
    assert max(delays) == MAX_RETRY_MS and delays[-1] == MAX_RETRY_MS


def test_wifi_up_resets_backoff_and_a_drop_rejoins_at_once():
    ticks = Ticks()
    wlan = WLAN()
    w = Wifi("lab", "pw", wlan=wlan, ticks_ms=ticks)
    w.tick()
    ticks.ms += JOIN_TIMEOUT_MS
    w.tick()
    ticks.ms += FIRST_RETRY_MS
    w.tick()
    wlan.up = True
    w.tick()
    s = w.status()
    assert s["state"] == "up" and s["ip"] == "192.168.4.20" and s["retry_in"] is None
    assert w.state == "up"
    joins = wlan.joins
    wlan.up = False
    w.tick()
    assert wlan.joins == joins + 1 and w.state == "connecting"
    ticks.ms += JOIN_TIMEOUT_MS
    w.tick()
    assert w.status()["retry_in"] == FIRST_RETRY_MS // 1000


def test_a_refused_join_ends_early_with_its_reason():
    ticks = Ticks()
    wlan = WLAN()
    w = Wifi("lab", "pw", wlan=wlan, ticks_ms=ticks)
    w.tick()
    assert w.state == "connecting"
    wlan.code = -3
    ticks.ms += 100
    w.tick()  # long before the join timeout
    s = w.status()
    assert s["state"] == "down" and s["reason"] == "wrong password"
    assert s["retry_in"] == FIRST_RETRY_MS // 1000
    wlan.code = 1
    ticks.ms += FIRST_RETRY_MS
    w.tick()
    assert wlan.joins == 2
    wlan.up = True
    w.tick()
    assert w.status()["reason"] is None
