"""LOCK-8: failures per source address over a sliding window, in a fixed table."""

from fakes import make
from tfa.throttle import ADDRESSES, Throttle


def test_the_limit_holds_until_the_oldest_failures_leave_the_window():
    t = Throttle(50, 300)  # 30 s buckets
    now = 1000040  # 20 s into a 30 s bucket
    for _ in range(50):
        assert t.retry_after("a", now) == 0
        t.fail("a", now)
    left = t.retry_after("a", now)
    assert left == 300 + 10  # the whole bucket leaves the window 310 s from now
    assert t.retry_after("a", now + left - 1) == 1
    assert t.retry_after("a", now + left) == 0
    assert t.retry_after("b", now) == 0  # another address is not throttled


def test_spread_failures_leave_one_bucket_at_a_time():
    t = Throttle(5, 5)  # 1 s buckets
    for s in range(5):
        t.fail("a", 100 + s)
    assert t.retry_after("a", 104) == 2  # failure at 100 leaves the window at 106
    assert t.retry_after("a", 106) == 0
    t.fail("a", 106)
    assert t.retry_after("a", 106) == 1  # now 101..106: at 107, 101 has left


def test_never_counts_fewer_than_within_the_window():
    t = Throttle(3, 10)
    for s in (0, 4, 9):
        t.fail("a", 1000 + s)
    for now in range(1009, 1011):
        assert t.retry_after("a", now) > 0  # the failure at 1000 is within 10 s
    assert t.retry_after("a", 1012) == 0


def test_a_full_table_evicts_the_fewest_failures_not_the_attacker():
    t = Throttle(50, 300)
    now = 5000
    for _ in range(50):
        t.fail("attacker", now)
    for i in range(ADDRESSES * 3):  # many other addresses, a failure each
        t.fail("other" + str(i), now)
    assert t.retry_after("attacker", now) > 0
    assert len(t.addrs) == ADDRESSES


def test_auth_throttles_an_address_whichever_name_it_tries():
    from tfa.throttle import Throttle as T

    auth, clock, _ = make(throttle=T(5, 300))
    for i in range(5):
        assert auth.login("name" + str(i), "nope", "192.0.2.1")[0] == "invalid_credentials"
    outcome, left = auth.login("alice", "correct horse", "192.0.2.1")
    assert outcome == "locked" and 1 <= left <= 330
    assert auth.login("alice", "correct horse", "192.0.2.2")[0] == "challenge_issued"
    tok = auth.login("alice", "correct horse", "192.0.2.2")[1]
    assert auth.verify(tok, "000000", None, "192.0.2.1")[0] == "locked"
    assert auth.lockout.get("alice")[2] == 0  # a throttled attempt changes no account
    clock.t += left
    assert auth.login("alice", "correct horse", "192.0.2.1")[0] == "challenge_issued"
