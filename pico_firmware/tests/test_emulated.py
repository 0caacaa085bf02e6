"""The emulator's adapters are the board's classes over host stand-ins: the clock syncs to
the host's time on its first tick (or never, when unsynced), Wi-Fi is up on loopback, the
LED drives its channels and no button is ever pressed."""

import time

import emulated
from fakes import remove, scratch
from tfa.buttons import Buttons
from tfa.clock import Clock
from tfa.led import GREEN, Led
from tfa.wifi import Wifi


def _root():
    return scratch("emulated")


def _done(root):
    remove(root)


def _build(**cfg):
    root = _root()
    base = {"bind": "127.0.0.2", "events_max_bytes": 4096}
    base.update(cfg)
    return emulated.build(base, root), root


def test_the_board_classes_are_built():
    ad, root = _build()
    assert isinstance(ad["clock"], Clock) and isinstance(ad["wifi"], Wifi)
    assert isinstance(ad["led"], Led) and isinstance(ad["buttons"], Buttons)
    assert ad["display"].width == 320 and ad["display"].height == 240
    assert len(ad["rand"](8)) == 8
    _done(root)


def test_the_clock_syncs_to_the_host_on_its_first_tick_and_keeps_a_floor():
    ad, root = _build()
    clock = ad["clock"]
    assert not clock.synced()
    clock.tick()
    assert clock.synced()
    assert abs(clock.now() - int(time.time())) <= 1
    with open(root + "time_floor") as f:
        assert abs(int(f.read()) - int(time.time())) <= 1
    _done(root)


def test_an_unsynced_emulator_never_syncs():
    ad, root = _build(synced=False)
    clock = ad["clock"]
    clock.tick()
    assert not clock.synced()
    assert clock.last_error == "no NTP answer"
    _done(root)


def test_wifi_is_up_on_loopback_after_a_tick():
    ad, root = _build()
    wifi = ad["wifi"]
    wifi.tick()
    assert wifi.state == "up" and wifi.ip() == "127.0.0.2"
    assert wifi.status()["state"] == "up" and wifi.status()["ssid"] == "loopback"
    _done(root)


def test_led_and_buttons():
    ad, root = _build()
    ad["led"].flash(GREEN)
    assert ad["led"].colour == GREEN
    assert [c.duty for c in ad["led"]._ch] == [65535, 32768, 65535]  # common anode, half
    for _ in range(5):
        assert ad["buttons"].poll() == []
    _done(root)
