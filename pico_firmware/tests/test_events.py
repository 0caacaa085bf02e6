"""EventLog: JSON lines on flash, bounded and rotated, never a credential."""

import os

from fakes import scratch
from tfa.events import EventLog


def _path(name):
    return scratch("events") + name


def _size(path):
    try:
        return os.stat(path)[6]
    except OSError:
        return -1


def _event(i, outcome="success"):
    return {
        "time": 1764547200 + i,
        "event": "verify",
        "username": f"u{i}",
        "source": f"10.0.0.{i % 250}",
        "outcome": outcome,
    }


def test_record_then_last_returns_events_oldest_first():
    log = EventLog(_path("log"), 4096)
    for i in range(5):
        log.record(_event(i))
    got = log.last(3)
    assert [e["username"] for e in got] == ["u2", "u3", "u4"], got
    assert got[0] == _event(2)
    assert len(log.last(50)) == 5
    assert log.last(0) == []


def test_each_line_is_one_json_object():
    path = _path("log")
    log = EventLog(path, 4096)
    log.record(_event(1, "invalid_code"))
    with open(path) as f:
        text = f.read()
    assert text.endswith("\n") and text.count("\n") == 1, text
    assert '"outcome": "invalid_code"' in text or '"outcome":"invalid_code"' in text


def test_refuses_credential_fields_and_writes_nothing():
    path = _path("log")
    log = EventLog(path, 4096)
    log.record(_event(0))
    before = _size(path)
    for key in (
        "password",
        "code",
        "totp_code",
        "backup_code",
        "token",
        "secret",
        "session_token",
        "challenge_token",
        "Password",
        "new_password",
    ):
        e = _event(1)
        e[key] = "x"
        try:
            log.record(e)
        except ValueError:
            pass
        else:
            raise AssertionError(f"logged a {key!r} field")
    nested = _event(2)
    nested["detail"] = {"totp_code": "123456"}
    try:
        log.record(nested)
    except ValueError:
        pass
    else:
        raise AssertionError("logged a nested code")
    assert _size(path) == before
    assert len(log.last(10)) == 1


def test_outcome_values_that_mention_code_are_fine():
    log = EventLog(_path("log"), 4096)
    log.record(_event(0, "invalid_code"))
    assert log.last(1)[0]["outcome"] == "invalid_code"


def test_refuses_non_dict():
    log = EventLog(_path("log"), 4096)
    for bad in ("text", ["a"], None, 3):
        try:
            log.record(bad)
        except ValueError:
            continue
        raise AssertionError(f"accepted {bad!r}")


def test_rotates_and_stays_within_budget():
    path = _path("log")
    log = EventLog(path, 1024)
    for i in range(60):
        log.record(_event(i))
        assert _size(path) + max(0, _size(path + ".1")) <= 1024
    assert _size(path + ".1") > 0
    got = log.last(1000)
    names = [e["username"] for e in got]
    assert names[-1] == "u59"
    assert "u0" not in names  # the oldest were dropped
    # continuous: the newest events, in order, across log.1 and log
    first = int(names[0][1:])
    assert names == [f"u{i}" for i in range(first, 60)], names


def test_size_is_resumed_after_restart():
    path = _path("log")
    log = EventLog(path, 1024)
    for i in range(5):
        log.record(_event(i))
    log = EventLog(path, 1024)
    for i in range(5, 60):
        log.record(_event(i))
        assert _size(path) + max(0, _size(path + ".1")) <= 1024
    assert log.last(1)[0]["username"] == "u59"


def test_a_torn_line_is_skipped():
    path = _path("log")
    log = EventLog(path, 4096)
    log.record(_event(0))
    with open(path, "a") as f:
        f.write('{"time": 17645')
    assert [e["username"] for e in log.last(5)] == ["u0"]


def test_a_record_after_a_torn_line_starts_a_new_line():
    path = _path("log")
    log = EventLog(path, 4096)
    log.record(_event(0))
    with open(path, "a") as f:
        f.write('{"time": 17645')
    log = EventLog(path, 4096)  # reboot after the power loss
    log.record(_event(1))
    assert [e["username"] for e in log.last(5)] == ["u0", "u1"]


def test_budget_counts_bytes_not_characters():
    path = _path("log")
    log = EventLog(path, 1024)
    for i in range(40):
        e = _event(i)
        e["username"] = f"\u00e9l\u00e8ve-\u6f22\u5b57-{i}"
        log.record(e)
        assert _size(path) + max(0, _size(path + ".1")) <= 1024
    assert log.last(1)[0]["username"].endswith("-39")
