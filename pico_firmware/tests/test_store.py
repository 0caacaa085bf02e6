"""The store: atomic replace, coalesced writes, recovery from a torn write."""

from fakes import scratch
from tfa.store import FLUSH_MS, Store, exists


class Ticks:
    def __init__(self):
        self.ms = 0

    def __call__(self):
        return self.ms


def _dir():
    return scratch("store") + "state"


def test_round_trip_and_no_temp_left():
    d = _dir()
    s = Store(d)
    assert s.load() == {}
    s.save({"alice": [1, 2, 3, 4, 5]}, True)
    assert not exists(d + "/auth.tmp")
    assert Store(d).load() == {"alice": [1, 2, 3, 4, 5]}


def test_routine_saves_are_coalesced():
    d = _dir()
    ticks = Ticks()
    s = Store(d, ticks)
    for i in range(10):
        s.save({"alice": [i, 0, 0, -1, 0]})
        ticks.ms += 100
        s.tick()
    assert s.writes == 0
    ticks.ms += FLUSH_MS
    s.tick()
    assert s.writes == 1
    assert Store(d).load()["alice"][0] == 9
    s.save({"alice": [10, 0, 0, -1, 0]})
    s.flush()
    assert s.writes == 2
    s.flush()
    assert s.writes == 2


def test_torn_main_file_does_not_brick():
    d = _dir()
    Store(d).save({"alice": [1, 0, 0, -1, 0]}, True)
    with open(d + "/auth.json", "w") as f:
        f.write('{"v": 1, "a": {"alice": [1, 0')
    s = Store(d)
    assert s.load() == {}
    assert s.recovered
    s.save({"bob": [2, 0, 0, -1, 0]}, True)
    assert Store(d).load() == {"bob": [2, 0, 0, -1, 0]}


def test_complete_temp_file_wins_and_torn_one_is_dropped():
    d = _dir()
    Store(d).save({"alice": [1, 0, 0, -1, 0]}, True)
    with open(d + "/auth.tmp", "w") as f:
        f.write('{"v": 1, "a": {"alice": [5, 99, 1, 7, 0]}}')
    assert Store(d).load() == {"alice": [5, 99, 1, 7, 0]}
    assert not exists(d + "/auth.tmp")
    with open(d + "/auth.tmp", "w") as f:
        f.write('{"v": 1, "a": {"ali')
    assert Store(d).load() == {"alice": [5, 99, 1, 7, 0]}
    assert not exists(d + "/auth.tmp")


def test_malformed_rows_are_ignored():
    d = _dir()
    s = Store(d)
    s.write({"ok": [0, 0, 0, -1, 0], "bad": [1, 2], "worse": "x"})
    assert Store(d).load() == {"ok": [0, 0, 0, -1, 0]}
