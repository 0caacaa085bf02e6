"""Clock: unsynced until a good NTP answer, a floor on flash, retry and resync on schedule."""

from fakes import scratch
from tfa.clock import CEILING, FLOOR, Clock

T = 1795000000  # 2026-11-18


class FakeRTC:
    def __init__(self, t=946684800):
        self.t = t
        self.sets = []

    def now(self):
        return self.t

    def set(self, t):
        self.t = t
        self.sets.append(t)


class FakeNTP:
    def __init__(self, *answers):
        self.answers = list(answers)
        self.asked = 0

    def __call__(self, host):
        self.asked += 1
        a = self.answers.pop(0)
        if isinstance(a, Exception):
            raise a
        return a


class Ticks:
    def __init__(self):
        self.ms = 0

    def __call__(self):
        return self.ms


def _floor_path():
    return scratch("clock") + "time_floor"


def _clock(ntp, path=None, interval_s=10800):
    ticks = Ticks()
    rtc = FakeRTC()
    c = Clock(path or _floor_path(), "ntp.test", interval_s, ntp=ntp, rtc=rtc, ticks_ms=ticks)
    return c, rtc, ticks


def test_unsynced_until_first_good_answer():
    c, rtc, ticks = _clock(FakeNTP(OSError("timeout"), T))
    assert not c.synced()
    c.tick()
    assert not c.synced() and rtc.sets == []
    assert c.now() == 946684800  # the RTC as it is, not a guess
    ticks.ms += 15000
    c.tick()
    assert c.synced()
    assert rtc.sets == [T] and c.now() == T


def test_answer_before_the_build_floor_is_rejected():
    c, rtc, ticks = _clock(FakeNTP(FLOOR - 1))
    assert not c.sync()
    assert not c.synced() and rtc.sets == [] and c.rejected == 1


def test_answer_past_the_ceiling_is_rejected():
    c, rtc, ticks = _clock(FakeNTP(CEILING + 5))
    assert not c.sync()
    assert not c.synced() and rtc.sets == []


def test_floor_is_saved_and_rejects_an_earlier_answer_after_restart():
    path = _floor_path()
    c, rtc, ticks = _clock(FakeNTP(T), path)
    assert c.sync()
    with open(path) as f:
        assert int(f.read()) == T
    c2, rtc2, ticks2 = _clock(FakeNTP(T - 3600, T + 60), path)
    assert c2.floor == T
    assert not c2.sync()  # an hour back: refused, RTC untouched
    assert not c2.synced() and rtc2.sets == []
    assert c2.sync()
    assert c2.synced() and c2.now() == T + 60


def test_corrupt_floor_file_falls_back_to_build_floor():
    path = _floor_path()
    with open(path, "w") as f:
        f.write("not a number")
    c, rtc, ticks = _clock(FakeNTP(T), path)
    assert c.floor == FLOOR
    assert c.sync()


def test_retries_back_off_until_an_answer():
    ntp = FakeNTP(OSError(), OSError(), OSError(), T)
    c, rtc, ticks = _clock(ntp)
    c.tick()
    assert ntp.asked == 1
    ticks.ms += 14999
    c.tick()
    assert ntp.asked == 1  # not before the first retry delay
    ticks.ms += 1
    c.tick()
    assert ntp.asked == 2
    ticks.ms += 29999
    c.tick()
    assert ntp.asked == 2  # the delay doubled
    ticks.ms += 1
    c.tick()
    assert ntp.asked == 3
    ticks.ms += 60000
    c.tick()
    assert ntp.asked == 4 and c.synced()


def test_before_the_first_sync_retries_stay_at_most_a_minute_apart():
    ntp = FakeNTP(*([OSError()] * 12 + [T]))
    c, rtc, ticks = _clock(ntp)
    gaps = []
    last = 0
    while not c.synced():
        asked = ntp.asked
        c.tick()
        if ntp.asked != asked:
            gaps.append(ticks.ms - last)
            last = ticks.ms
        ticks.ms += 1000
    assert gaps[1:5] == [15000, 30000, 60000, 60000], gaps
    assert max(gaps) == 60000


def test_resyncs_every_interval_and_stays_synced_if_one_fails():
    ntp = FakeNTP(T, OSError(), T + 200)
    c, rtc, ticks = _clock(ntp, interval_s=100)
    c.tick()
    assert c.synced() and ntp.asked == 1
    ticks.ms += 99000
    c.tick()
    assert ntp.asked == 1
    ticks.ms += 1000
    c.tick()
    assert ntp.asked == 2 and c.synced() and c.last_error
    ticks.ms += 15000
    c.tick()
    assert ntp.asked == 3 and rtc.sets == [T, T + 200]


def test_floor_advances_while_synced():
    path = _floor_path()
    c, rtc, ticks = _clock(FakeNTP(T), path, interval_s=100000)
    c.tick()
    rtc.t = T + 7200
    ticks.ms += 3600 * 1000
    c.tick()
    with open(path) as f:
        assert int(f.read()) == T + 7200
