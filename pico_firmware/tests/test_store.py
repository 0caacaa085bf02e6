"""The store: atomic replace, recovery from a torn write, version 1 files."""

from fakes import scratch
from tfa.store import Store, exists


def _dir():
    return scratch("store") + "state"


def test_round_trip_and_no_temp_left():
    d = _dir()
    s = Store(d)
    assert s.load() == {}
    s.save({"alice": [4, 5]})
    assert s.writes == 1
    assert not exists(d + "/auth.tmp")
    assert Store(d).load() == {"alice": [4, 5]}


def test_version_1_rows_keep_their_step_and_spent_codes():
    d = _dir()
    Store(d)
    with open(d + "/auth.json", "w") as f:
        f.write('{"v": 1, "a": {"alice": [3, 99, 1, 7, 2]}}')
    assert Store(d).load() == {"alice": [7, 2]}


def test_torn_main_file_does_not_brick():
    d = _dir()
    Store(d).save({"alice": [1, 0]})
    with open(d + "/auth.json", "w") as f:
        f.write('{"v": 2, "a": {"alice": [1, 0')
    s = Store(d)
    assert s.load() == {}
    assert s.recovered
    s.save({"bob": [2, 0]})
    assert Store(d).load() == {"bob": [2, 0]}


def test_complete_temp_file_wins_and_torn_one_is_dropped():
    d = _dir()
    Store(d).save({"alice": [1, 0]})
    with open(d + "/auth.tmp", "w") as f:
        f.write('{"v": 2, "a": {"alice": [7, 1]}}')
    assert Store(d).load() == {"alice": [7, 1]}
    assert not exists(d + "/auth.tmp")
    with open(d + "/auth.tmp", "w") as f:
        f.write('{"v": 2, "a": {"ali')
    assert Store(d).load() == {"alice": [7, 1]}
    assert not exists(d + "/auth.tmp")


def test_malformed_rows_are_ignored():
    d = _dir()
    s = Store(d)
    s.save({"ok": [-1, 0], "bad": [1, 2, 3], "worse": "x"})
    assert Store(d).load() == {"ok": [-1, 0]}
