"""The target model learns each account's state from the exchanges alone."""

from __future__ import annotations

import itertools
from dataclasses import replace

from conformance import oracle
from conformance.model import LOGIN, VERIFY, Ends, LockPolicy, Seen, TargetModel, Throttle
from conformance.profile import AccountSpec

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 - a test TOTP secret
NOW = 1_000_000.0  # step 33333, 10 s into it


def _model(throttle: Throttle | None = None) -> TargetModel:
    specs = [AccountSpec("alice", "pw", SECRET, ("backup-1",)), AccountSpec("bob", "pw", SECRET)]
    return TargetModel(specs, LockPolicy(5.0, "double"), lambda: NOW, throttle)


def _error(code: str) -> dict:
    return {"status": "error", "error": code, "message": "x"}


TICKS = itertools.count()


def _at(at):
    """One exchange after another (1 ms apart) unless a case gives its own time."""
    return NOW + next(TICKS) * 0.001 if at is None else at


def _login(model, name, status, answer, at=None):
    at = _at(at)
    seen = Seen(LOGIN, {"username": name, "password": "?"}, status, answer, at, at + 0.0005)
    model.observe(replace(seen, span=(at, at + 0.0005)))


def _verify(model, token, status, answer, at=None, **factor):
    at = _at(at)
    body = {"challenge_token": token, **factor}
    model.observe(Seen(VERIFY, body, status, answer, at, at + 0.0005, (at, at + 0.0005)))


def test_five_failures_lock_and_the_lock_escalates():
    model = _model()
    alice = model.state("alice")
    for _ in range(4):
        _login(model, "alice", 401, _error("invalid_credentials"))
    assert (alice.failures, alice.locks, alice.is_locked(NOW)) == (4, 0, False)
    _login(model, "alice", 401, _error("invalid_credentials"))
    assert (alice.failures, alice.locks) == (0, 1)
    assert alice.is_locked(NOW + 5.0) and not alice.is_locked(NOW + 7.0)
    # After the lock: a judged answer says it ended; the next lock is twice as long.
    later = NOW + 10
    for _ in range(5):
        _login(model, "alice", 401, _error("invalid_credentials"), at=later)
    assert alice.locks == 2 and alice.is_locked(later + 10.0)
    assert model.state("bob").failures == 0


def test_a_429_says_how_long_and_how_escalated():
    model = _model()
    _login(model, "bob", 429, {"status": "locked", "error": "account_locked", "retry_after": 18})
    bob = model.state("bob")
    assert bob.locks == 3  # 5, 10, 20 s: the third lock is the first one 18 s long
    assert bob.is_locked(NOW + 18.0) and not bob.is_locked(NOW + 19.0)


def test_a_successful_verify_resets_and_records_the_step_or_backup_code():
    model = _model()
    _login(model, "alice", 200, {"status": "2fa_required", "challenge_token": "c1"})
    _login(model, "alice", 401, _error("invalid_credentials"))
    step = oracle.step_of(NOW)
    _verify(model, "c1", 200, {"status": "success"}, totp_code=oracle.code_at_step(SECRET, step))
    alice = model.state("alice")
    assert (alice.failures, alice.locks, alice.last_step, alice.known) == (0, 0, step, True)
    _login(model, "alice", 200, {"status": "2fa_required", "challenge_token": "c2"})
    _verify(model, "c2", 200, {"status": "success"}, backup_code="backup-1")
    assert alice.spent_backup_codes == {"backup-1"}


def test_a_refused_code_of_the_window_was_spent_before():
    model = _model()
    _login(model, "bob", 200, {"status": "2fa_required", "challenge_token": "c"})
    step = oracle.step_of(NOW)
    code = oracle.code_at_step(SECRET, step + 1)
    _verify(model, "c", 401, _error("invalid_code"), totp_code=code)
    bob = model.state("bob")
    assert bob.last_step == step + 1 and bob.failures == 1
    assert bob.last_step_exact  # the newest step the target could take: nothing later is spent


def test_an_older_refused_code_is_only_a_bound_until_a_code_is_taken():
    model = _model()
    _login(model, "bob", 200, {"status": "2fa_required", "challenge_token": "c"})
    step = oracle.step_of(NOW)
    _verify(model, "c", 401, _error("invalid_code"), totp_code=oracle.code_at_step(SECRET, step))
    bob = model.state("bob")
    # Spent before this run: the target is at step T or T+1, which a backup code cannot tell.
    assert (bob.last_step, bob.last_step_exact) == (step, False)
    _verify(model, "c", 200, {"status": "success"}, backup_code="b")
    assert (bob.known, bob.last_step, bob.last_step_exact) == (True, step, False)
    _login(model, "bob", 200, {"status": "2fa_required", "challenge_token": "d"})
    taken = oracle.code_at_step(SECRET, step + 1)
    _verify(model, "d", 200, {"status": "success"}, totp_code=taken)
    assert (bob.last_step, bob.last_step_exact) == (step + 1, True)


def test_a_success_and_a_failure_side_by_side_leave_the_count_unknown():
    model = _model()
    _login(model, "bob", 200, {"status": "2fa_required", "challenge_token": "c1"})
    _login(model, "bob", 200, {"status": "2fa_required", "challenge_token": "c2"})
    step = oracle.step_of(NOW)
    code = oracle.code_at_step(SECRET, step)
    # A race of two verifies with one code: the target judged them in an order the suite
    # cannot see, so the count (0 or 1) is not known until the next sign-in.
    _verify(model, "c1", 401, _error("invalid_code"), at=NOW + 1, totp_code=code)
    _verify(model, "c2", 200, {"status": "success"}, at=NOW + 1, totp_code=code)
    assert not model.state("bob").known


def test_failures_sent_beside_the_locking_one_count_in_it():
    model = _model()
    for _ in range(5):
        _login(model, "alice", 401, _error("invalid_credentials"), at=NOW + 2)
    _login(model, "alice", 401, _error("invalid_credentials"), at=NOW + 2)  # sent with them
    alice = model.state("alice")
    assert alice.locks == 1 and alice.is_locked(NOW + 3)


def test_busy_and_malformed_answers_change_nothing():
    model = _model()
    busy = {"status": "error", "error": "busy", "message": "x"}
    _login(model, "alice", 503, busy)
    _login(model, "alice", 400, _error("invalid_request"))
    model.observe(Seen(LOGIN, None, 400, _error("invalid_request"), NOW, NOW))
    alice = model.state("alice")
    assert (alice.failures, alice.locks, alice.locked_until) == (0, 0, 0.0)


def test_the_address_limit_is_counted_over_the_window():
    model = _model(Throttle(max_failures=6, window_s=5))
    for name in ("alice", "nobody-1", "nobody-2"):
        _login(model, name, 401, _error("invalid_credentials"))
    assert model.room_in(2, NOW) == 0.0
    waited = model.room_in(3, NOW)  # 3 + 3 would reach the limit of 6
    assert 5.0 < waited <= 6.2
    # A 429 at the limit is the address's, not the account's.
    for name in ("nobody-3", "nobody-4", "nobody-5"):
        _login(model, name, 401, _error("invalid_credentials"))
    _login(model, "bob", 429, {"status": "locked", "error": "account_locked", "retry_after": 4})
    assert model.state("bob").locks == 0 and model.throttled_until > NOW


def test_a_login_refused_401_counts_against_the_address_whatever_its_error():
    model = _model(Throttle(max_failures=3, window_s=5))
    for name in ("nobody-1", "nobody-2", "nobody-3"):
        _login(model, name, 401, _error("unknown_user"))
    assert model.room_in(1, NOW) > 0  # the limit is reached: the next failure waits


def test_a_lock_is_surely_in_force_only_for_answers_before_its_earliest_end():
    # The failure that locked was sent at 100 and answered at 103 (a busy target): the lock
    # began somewhere in between, so a 5 s lock ends between 105 and 109 (+1 s of rounding).
    ends = Ends.of_lock(100.0, 103.0, 5.0)
    assert (ends.earliest, ends.latest) == (105.0, 109.0)
    assert ends.in_force_when_answered(104.9)
    assert not ends.in_force_when_answered(105.0)  # answered when it could have ended
    assert not ends.over_when_sent(108.9)  # sent when it could still last
    assert ends.over_when_sent(109.0)
    assert ends.left(107.5) == 1.5 and ends.left(110.0) == 0.0


def test_a_429_bounds_the_end_by_its_retry_after_and_the_clock_margin():
    # retry_after is the ceiling of the seconds left when the target judged (DECISIONS): a 429
    # sent at 50, answered at 51 with retry_after 1 may have ended as soon as it was sent.
    ends = Ends.of_refusal(50.0, 51.0, 1)
    assert (ends.earliest, ends.latest) == (50.0, 52.0)
    assert not ends.in_force_when_answered(50.5)  # no answer after it is evidence of the window
    wide = Ends.of_refusal(50.0, 51.0, 11, margin=0.25)
    assert (wide.earliest, wide.latest) == (59.75, 62.25)
    assert wide.in_force_when_answered(59.7) and not wide.in_force_when_answered(59.75)
