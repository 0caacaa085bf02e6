"""The idle sweep: a connection past its deadline (the app's table, swept by the server's
tick) is cancelled (and so closed, and counted by its task); the others keep going."""

import io
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


def _waiting(s, rows):
    """Waiting connections as the accept loop records them: (ip, ready, waited ms)."""
    now = time.ticks_ms()
    s.waiting = [[Task(), ip, ready, Sock(), time.ticks_add(now, -ms)] for ip, ready, ms in rows]
    return s.waiting


class Sock:
    closed = False

    def setblocking(self, flag):
        pass

    def close(self):
        self.closed = True


def test_the_address_served_least_recently_goes_next():
    s = Server(App(Clock()), "127.0.0.1", 0)
    w = _waiting(s, [("a", True, 9000), ("a", True, 8000), ("b", False, 10), ("c", True, 5)])
    s.turns = {"a": 3, "c": 2}
    assert s.chosen() is w[3]  # c before a; b has sent nothing yet
    w[2][2] = True
    assert s.chosen() is w[2]  # b was never served
    s.turns["b"] = 4
    s.turns["c"] = 5
    assert s.chosen() is w[0]  # a, oldest first


def test_a_crowd_loses_its_oldest_but_a_fresh_burst_is_kept():
    s = Server(App(Clock()), "127.0.0.1", 0, idle_s=5)
    w = _waiting(s, [("b", True, 9000), ("a", True, 7000), ("a", True, 6000), ("a", True, 10)])
    victim = w[1]
    assert s.crowd() is victim  # a holds most; its oldest has waited past the idle timeout
    assert s.forget(victim) and not s.forget(victim)
    assert len(s.waiting) == 3 and victim[3].closed
    assert all(e is not victim for e in s.waiting)
    _waiting(s, [("a", True, 100), ("a", True, 50), ("b", True, 9000)])
    assert s.crowd() is None  # a burst from one client waits its turn, none is dropped


def test_saturated_when_every_place_is_taken_and_not_only_by_the_asker():
    s = Server(App(Clock()), "127.0.0.1", 0)
    _waiting(s, [("a", True, 10)] * 7)
    assert not s.saturated("b")  # a place is free
    _waiting(s, [("a", True, 10)] * 8)
    assert s.saturated("b")  # full: b's login would make a's 8 wait a hash longer
    assert not s.saturated("a")  # a burst from one client is judged, one at a time
    _waiting(s, [("a", True, 10)] * 7 + [("c", False, 10)])
    assert s.saturated("a")


def test_a_new_address_queues_behind_those_waiting_but_not_behind_the_last_served():
    s = Server(App(Clock()), "127.0.0.1", 0)
    s.turn = 10
    s.turns = {"old": 3, "last": 10}  # "old" was served long ago, "last" just now
    last, old = _waiting(s, [("last", True, 9000), ("old", True, 10)])
    s.waiting = []
    for e in (last, old):
        s.join(e)
    new1, new2 = [[Task(), ip, True, Sock(), time.ticks_ms()] for ip in ("new1", "new2")]
    s.join(new1)
    s.join(new2)
    assert s.chosen() is old
    s.leave(old)
    assert s.chosen() is new1  # the new ones, oldest first, before the one served last
    s.leave(new1)
    assert s.chosen() is new2
    s.leave(new2)
    assert s.chosen() is last


def test_addresses_served_long_ago_keep_their_place_when_many_come():
    s = Server(App(Clock()), "127.0.0.1", 0)
    s.served_now("probe")
    for i in range(100):  # a flood from 100 addresses, each served once
        s.served_now("flood" + str(i))
    assert len(s.turns) <= 32
    assert s.turns["probe"] == 1 and s.turns["flood99"] == 101
    s.turns.pop("flood98", None)
    s.join([Task(), "flood98", True, Sock(), time.ticks_ms()])
    probe = [Task(), "probe", True, Sock(), time.ticks_ms()]
    s.join(probe)
    assert s.chosen() is probe  # ahead of the flood that came before it


def test_readable_waits_for_bytes_and_reads_nothing():
    import asyncio

    from fakes import Stream
    from tfa.server import readable

    s = Stream(b"", stall=True)
    seen = []

    async def main():
        t = asyncio.create_task(readable(s))
        await asyncio.sleep_ms(30)
        seen.append(t.done())  # nothing sent yet: still waiting
        s.data = b"ping"
        await t
        seen.append(s.data)  # readable() took none of it
        s.stall = False
        await readable(s)  # the end of the stream is readable too

    asyncio.run(main())
    assert seen == [False, b"ping"]


class Listener(io.IOBase):
    """A listening socket with `n` connections waiting (always readable), then none."""

    def __init__(self, n):
        self.conns = [Sock() for _ in range(n)]
        self.taken = 0

    def ioctl(self, req, arg):
        return arg & 1 if req == 3 else 0  # MP_STREAM_POLL: readable

    def read(self, n):
        return b""

    def accept(self):
        if self.taken == len(self.conns):
            raise OSError(11)  # EAGAIN
        self.taken += 1
        return self.conns[self.taken - 1], ("10.0.0." + str(self.taken), 4000)


def test_a_connection_without_room_for_its_task_is_closed_and_accepting_goes_on():
    import asyncio

    class Full(Server):
        def _one(self, c, addr, entry):
            self.calls += 1
            if self.calls == 1:
                raise MemoryError  # as asyncio.create_task would, with no heap left
            return self._served(entry)

        async def _served(self, entry):
            self.served.append(entry[1])

    listener = Listener(2)
    s = Full(App(Clock()), "127.0.0.1", 0)
    s.calls, s.served, s.sock = 0, [], listener

    async def main():
        t = asyncio.create_task(s.serve())
        for _ in range(50):
            await asyncio.sleep_ms(2)
            if s.served:
                break
        t.cancel()

    asyncio.run(main())
    assert listener.conns[0].closed  # not leaked
    assert s.served == ["10.0.0.2"]  # the accept loop went on to the next
    assert [e[1] for e in s.waiting] == ["10.0.0.2"]  # the first left no place behind
