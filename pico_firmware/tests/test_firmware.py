"""Boot: the Display Pack shows the boot screen while the firmware starts, before it serves."""

from fakes import Clock, RecordingLed, ScriptedButtons, scratch, user
from tfa.firmware import Firmware
from tfa.framebuf_display import FramebufDisplay
from tfa.users import UserFile


class RecordingDisplay(FramebufDisplay):
    """Remembers the boot screen's message at each panel update."""

    def __init__(self):
        super().__init__()
        self.ui = None
        self.shown = []

    def update(self):
        super().update()
        if self.ui is not None:
            self.shown.append((self.ui.screen, self.ui.message))


def _root():
    return scratch("boot")


def test_boot_screen_is_shown_while_starting():
    root = _root()
    users = UserFile(root + "users.bin")
    users.write([user()])
    display = RecordingDisplay()
    cfg = {
        "profile": "test",
        "port": 8080,
        "lockout_s": 5,
        "session_ttl_s": 5,
        "challenge_ttl_s": 5,
        "idle_timeout_s": 5,
        "max_connections": 1,
        "hostname": "tfa.local",
        "throttle_max_failures": 50,
        "throttle_window_s": 5,
    }
    ad = {
        "clock": Clock(),
        "display": display,
        "led": RecordingLed(),
        "buttons": ScriptedButtons(),
    }
    import tfa.ui

    made = tfa.ui.UI.__init__

    def init(self, *args, **kwargs):  # the display records what the UI shows from its start
        made(self, *args, **kwargs)
        display.ui = self

    tfa.ui.UI.__init__ = init
    try:
        fw = Firmware(cfg, users, ad, root)
    finally:
        tfa.ui.UI.__init__ = made
    assert display.shown == [("boot", "loading state"), ("boot", "starting HTTP")], display.shown
    assert fw.url == "http://tfa.local:8080"
    assert fw.info()["throttle"] == {"max_failures": 50, "window_s": 5}  # LOCK-8
