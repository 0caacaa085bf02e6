"""The lockout table on flash: its key, its shards, a torn first write."""

import os

from fakes import scratch
from tfa.lockout import SLOTS, Lockout


def test_the_key_is_the_boards_own_and_kept():
    a = Lockout(scratch("lk") + "t", os.urandom)
    b = Lockout(scratch("lk") + "t", os.urandom)
    assert len(a.key) == 16 and a.key != b.key
    assert Lockout(a.dir, None).key == a.key  # a reboot reads it back
    names = ["n" + str(i) for i in range(64)]
    assert [a.candidates(x) for x in names] != [b.candidates(x) for x in names]
    for x in names:
        i1, i2, tag = a.candidates(x)
        assert 0 <= i1 < SLOTS and 0 <= i2 < SLOTS and 0 < tag < 65536


def test_a_record_round_trips_in_place():
    t = Lockout(scratch("lk") + "t", os.urandom)
    where = t.get("alice")[0]
    assert where & 0xFFFF == t.candidates("alice")[0]  # a free first candidate is taken
    t.put(where, 1795000320, 5, 3)
    assert Lockout(t.dir, None).get("alice") == (where, 1795000320, 5, 3)
    assert t.writes == 1


def test_a_torn_shard_is_made_again_and_the_rest_kept():
    t = Lockout(scratch("lk") + "t", os.urandom)
    where = t.get("alice")[0]
    t.put(where, 7, 1, 1)
    other = ((where & 0xFFFF) // 256 + 1) % (SLOTS // 256)
    with open(f"{t.dir}/{other}", "wb") as f:
        f.write(b"\x01\x02")  # a reset during the first boot's write
    again = Lockout(t.dir, None)
    assert again.key == t.key and again.get("alice")[1:] == (7, 1, 1)
    assert os.stat(f"{t.dir}/{other}")[6] == 256 * 8
