"""UI: LED colour per outcome, counts, buttons moving between screens, redraw only when needed."""

from fakes import RecordingLed, ScriptedButtons
from tfa import led as colours
from tfa.display import BLACK
from tfa.framebuf_display import FramebufDisplay
from tfa.led import FLASH_MS
from tfa.ui import ALL, LEVELS, UI

T = 1795000000


class Ticks:
    def __init__(self):
        self.ms = 0

    def __call__(self):
        return self.ms


class CountingDisplay(FramebufDisplay):
    def __init__(self):
        super().__init__()
        self.levels = []

    def backlight(self, level):
        super().backlight(level)
        self.levels.append(level)


def _stats(extra=None):
    def fn():
        s = {
            "locked": 1,
            "sessions": 2,
            "ip": "192.168.4.20",
            "url": "https://tfa.local",
            "time": T,
            "synced": True,
        }
        if extra:
            s.update(extra)
        return s

    return fn


def _ui(script=(), stats=None):
    ticks = Ticks()
    led = RecordingLed(ticks_ms=ticks)
    d = CountingDisplay()
    info = {"hostname": "tfa.local", "version": "1", "cert_sha256": "0f" * 32}
    ui = UI(d, led, ScriptedButtons(script), stats or _stats(), info, ticks_ms=ticks)
    return ui, d, led, ticks


def _lit(d):
    n = 0
    for y in range(0, d.height, 2):
        for x in range(0, d.width, 2):
            if d._fb.pixel(x, y) != BLACK:
                n += 1
    return n


def test_led_colour_per_outcome():
    ui, d, led, ticks = _ui()
    ui.event("verify", "success")
    assert led.colour == colours.GREEN
    ui.event("verify", "invalid_code")
    assert led.colour == colours.RED
    ui.event("login", "locked")
    assert led.colour == colours.AMBER
    ui.event("login", "challenge_issued")
    assert led.colour == colours.GREEN
    ui.event("login", "invalid_credentials")
    assert led.colour == colours.RED
    assert led.colours == [colours.GREEN, colours.RED, colours.AMBER, colours.GREEN, colours.RED]


def test_led_flash_ends_on_tick():
    ui, d, led, ticks = _ui()
    ui.event("verify", "success")
    ticks.ms += FLASH_MS - 1
    ui.tick()
    assert led.colour == colours.GREEN
    ticks.ms += 1
    ui.tick()
    assert led.colour == colours.OFF


def test_counts_follow_events_and_stats_fn_wins():
    ui, d, led, ticks = _ui()
    ui.event("login", "challenge_issued")
    ui.event("verify", "success")
    ui.event("login", "invalid_credentials")
    ui.event("verify", "invalid_code")
    ui.event("login", "locked")
    s = ui.stats()
    assert s["logins_ok"] == 1 and s["logins_failed"] == 2 and s["lockouts"] == 1
    assert s["locked"] == 1 and s["sessions"] == 2
    ui2, _, _, _ = _ui(stats=_stats({"logins_ok": 40}))
    ui2.event("verify", "success")
    assert ui2.stats()["logins_ok"] == 40


def test_recent_events_keep_the_last_eight():
    ui, d, led, ticks = _ui()
    for i in range(12):
        ui.event("verify", "invalid_code", f"u{i}", T + i)
    assert [e["username"] for e in ui.recent] == [f"u{i}" for i in range(4, 12)]


def test_buttons_move_between_screens():
    ui, d, led, ticks = _ui(["B", "B", "B", "B", "A", "X", None])
    seen = []
    for _ in range(7):
        ui.tick()
        seen.append(ui.screen)
    assert seen == ["log", "cert", "wifi", "main", "wifi", "main", "main"], seen


def test_y_steps_the_backlight_and_wraps():
    ui, d, led, ticks = _ui(["Y", "Y", "Y"])
    for _ in range(3):
        ui.tick()
    assert d.levels == [LEVELS[1], LEVELS[2], LEVELS[0]]
    assert ui.screen == "main"


def test_redraws_only_when_needed():
    ui, d, led, ticks = _ui()
    ui.show("log")
    assert ui.tick() is True
    assert ui.tick() is False  # nothing changed
    ticks.ms += 5000
    assert ui.tick() is False  # the log has no clock
    ui.event("verify", "success", "alice", T)
    assert ui.tick() is True
    ui.show("main")
    assert ui.tick() is True
    ticks.ms += 500
    assert ui.tick() is False
    ticks.ms += 500
    assert ui.tick() is True  # the clock moves once a second
    assert d.updates == 4


def test_every_screen_draws_something():
    ui, d, led, ticks = _ui()
    ui.event("verify", "success", "alice", T)
    names = []
    lit = {}

    def save(name):
        names.append(name)
        lit[name] = _lit(d)

    ui.render_all(save)
    assert tuple(names) == ALL
    for name in ALL:
        assert lit[name] > 300, (name, lit[name])


def test_unsynced_clock_is_shown():
    ui, d, led, ticks = _ui(stats=_stats({"synced": False}))
    ui.draw("main")  # must not fail; the warning line is red
    from tfa.display import RED

    reds = 0
    for y in range(70, 100):
        for x in range(d.width):
            if d._fb.pixel(x, y) == RED:
                reds += 1
    assert reds > 50


def test_log_screen_draws_events_without_time_or_user():
    ui, d, led, ticks = _ui()
    ui.event("login", "invalid_request")
    ui.event("verify", "some_future_outcome", None, None)
    ui.show("log")
    assert ui.tick() is True
    assert _lit(d) > 300


def test_long_usernames_keep_their_last_character_on_the_log_screen():
    from tfa import screens

    class Capture(FramebufDisplay):
        def __init__(self):
            super().__init__()
            self.texts = []

        def text(self, s, x, y, pen, scale=1):
            self.texts.append(s)

    d = Capture()
    events = [{"time": T, "username": f"conformance-{i}", "outcome": "success"} for i in (1, 2)]
    events.append({"time": T, "username": "bob", "outcome": "invalid_code"})
    screens.log(d, events)
    rows = [t for t in d.texts if "2FA ok" in t or "CODE x" in t]
    assert len(rows) == 3 and len(set(rows)) == 3, rows
    assert "conf~1" in rows[0] and "conf~2" in rows[1] and "bob" in rows[2]


def test_unknown_screen_is_an_error():
    ui, d, led, ticks = _ui()
    try:
        ui.show("nope")
    except ValueError:
        return
    raise AssertionError("showed an unknown screen")
