"""The idle sweep: a connection past its deadline (the app's table, swept by the server's
tick) is cancelled (and so closed, and counted by its task); the others keep going."""

import time

from fakes import Clock
from tfa.http import App
from tfa.server import Server


class Task:
    def __init__(self):
        self.cancelled = False

    def cancel(self):
        self.cancelled = True


def test_tick_cancels_only_the_late():
    app = App(Clock())
    s = Server(app, "127.0.0.1", 0, idle_s=5)
    now = time.ticks_ms()
    late, due, early = Task(), Task(), Task()
    app.deadlines[late] = time.ticks_add(now, -1000)
    app.deadlines[due] = now
    app.deadlines[early] = time.ticks_add(now, 60000)
    s.tick()
    assert late.cancelled and due.cancelled and not early.cancelled
    assert list(app.deadlines) == [early]
    s.tick()
    assert list(app.deadlines) == [early]


def test_tick_with_nothing_waiting():
    app = App(Clock())
    s = Server(app, "127.0.0.1", 0)
    s.tick()
    assert app.deadlines == {}
