"""The server's idle sweep: a socket that has sent nothing by its deadline is cancelled
(and so closed and counted by its task); the others keep waiting."""

import time

from tfa.server import Server


class Task:
    def __init__(self):
        self.cancelled = False

    def cancel(self):
        self.cancelled = True


def test_tick_cancels_only_the_late():
    s = Server(None, "127.0.0.1", 0, idle_s=5)
    now = time.ticks_ms()
    late, due, early = Task(), Task(), Task()
    s.waiting[late] = time.ticks_add(now, -1000)
    s.waiting[due] = now
    s.waiting[early] = time.ticks_add(now, 60000)
    s.tick()
    assert late.cancelled and due.cancelled and not early.cancelled
    assert list(s.waiting) == [early]
    s.tick()
    assert list(s.waiting) == [early]


def test_tick_with_nothing_waiting():
    s = Server(None, "127.0.0.1", 0)
    s.tick()
    assert s.waiting == {}
