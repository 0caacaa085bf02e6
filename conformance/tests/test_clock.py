"""Step-boundary scheduling and clock-offset measurement."""

from __future__ import annotations

import pytest

from conformance.clock import (
    LiveClock,
    MovableClock,
    Offset,
    Sample,
    delay_until_step,
    offset_from_samples,
    safe_delay,
    wait_for_safe_point,
)


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        (1000 * 30 + 15.0, 0.0),  # mid-step: send now
        (1000 * 30 + 0.5, 1.5),  # just after a boundary: wait until 2 s in
        (1000 * 30 + 29.0, 3.0),  # just before a boundary: wait past it, to 2 s in
        (1000 * 30 + 2.0, 0.0),
        (1000 * 30 + 28.0, 0.0),
    ],
)
def test_safe_delay(t, expected):
    assert safe_delay(t, margin=2.0) == pytest.approx(expected)


def test_safe_delay_always_lands_on_a_safe_point():
    for tenth in range(0, 300):
        t = 1_700_000_000 + tenth / 10
        after = t + safe_delay(t, margin=2.5)
        position = after % 30
        assert 2.5 - 1e-9 <= position <= 27.5 + 1e-9


def test_safe_delay_refuses_a_margin_without_safe_points():
    with pytest.raises(ValueError):
        safe_delay(0.0, margin=15)


def test_delay_until_step():
    assert delay_until_step(30 * 10 + 5, 11, margin=2) == pytest.approx(27.0)
    assert delay_until_step(30 * 11 + 5, 11, margin=2) == 0.0


def test_offset_from_the_tick_edge():
    # Local clock 100.0 s behind the server; the server ticks 1000 -> 1001 at local 901.0.
    samples = [Sample(1000, 900.90, 900.95), Sample(1001, 901.00, 901.05)]
    offset = offset_from_samples(samples)
    assert offset.offset == pytest.approx(100.0, abs=0.1)
    assert offset.uncertainty == pytest.approx(0.075)


def test_offset_without_a_tick_is_coarse():
    offset = offset_from_samples([Sample(1000, 900.2, 900.4)])
    assert offset.offset == pytest.approx(1000.5 - 900.3)
    assert offset.uncertainty == pytest.approx(0.6)


def test_offset_needs_samples():
    with pytest.raises(ValueError):
        offset_from_samples([])


def test_live_clock_sleeps_and_movable_clock_advances():
    slept = []
    live = LiveClock(Offset(5.0, 0.1), sleep=slept.append)
    live.wait(2.5)
    live.wait(-1)
    assert slept == [2.5]
    now = [1000 * 30 + 29.5]
    movable = MovableClock(lambda: now[0], lambda s: now.__setitem__(0, now[0] + s))
    t = wait_for_safe_point(movable)
    assert t % 30 == pytest.approx(2.0)
