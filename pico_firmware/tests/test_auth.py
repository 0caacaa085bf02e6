"""The protocol core with a fake clock: lockout, escalation, replay, expiry, backup codes."""

from fakes import SECRET, make
from tfa import totp
from tfa.lockout import Lockout


def _code(clock, d=0):
    return totp.hotp(SECRET, totp.step(clock.now()) + d)


def _wrong(clock):
    valid = [_code(clock, d) for d in (-1, 0, 1)]
    n = 0
    while f"{n:06d}" in valid:
        n += 1
    return f"{n:06d}"


def _challenge(auth):
    outcome, tok = auth.login("alice", "correct horse")
    assert outcome == "challenge_issued", outcome
    return tok


def test_login_issues_a_43_char_token_bound_to_the_account():
    auth, clock, _ = make()
    tok = _challenge(auth)
    assert len(tok) == 43 and "=" not in tok and "+" not in tok and "/" not in tok
    assert auth.challenge_user(tok) == "alice"
    assert auth.sessions == {}  # LOGIN-1: no session from the first factor


def test_full_flow_and_logout():
    auth, clock, _ = make()
    tok = _challenge(auth)
    outcome, name, session = auth.verify(tok, _code(clock))
    assert (outcome, name) == ("success", "alice")
    assert auth.session(session) == ("alice", clock.now())
    assert auth.logout(session) == "alice"
    assert auth.session(session) is None
    assert auth.logout(session) is None


def test_wrong_password_and_unknown_user_answer_alike_and_both_lock():
    auth, clock, _ = make()
    for _ in range(5):
        assert auth.login("alice", "nope") == ("invalid_credentials", None)
        assert auth.login("mallory", "nope") == ("invalid_credentials", None)
    # a 300 s lock from whole second t lasts through second t+300: 301 s at most, rounded up
    assert auth.login("alice", "correct horse") == ("locked", 301)
    assert auth.login("mallory", "nope") == ("locked", 301)


def test_lock_does_not_extend_and_ends_with_a_zero_count():
    auth, clock, _ = make()
    for _ in range(5):
        auth.login("alice", "nope")
    clock.t += 100
    assert auth.login("alice", "nope") == ("locked", 201)  # LOCK-3: not extended
    clock.t += 200
    assert auth.login("alice", "nope") == ("locked", 1)  # second 300 may be the lock's last
    clock.t += 1
    tok = _challenge(auth)  # the lock is over, never early
    for _ in range(4):
        assert auth.verify(tok, _wrong(clock))[0] == "invalid_code"
    assert auth.lockout.get("alice")[2] == 4  # counted from zero after the lock


def test_correct_password_does_not_reset_the_count():
    auth, clock, _ = make()
    for _ in range(4):
        auth.login("alice", "nope")
    _challenge(auth)
    assert auth.login("alice", "nope")[0] == "invalid_credentials"
    assert auth.login("alice", "correct horse")[0] == "locked"


def test_wrong_codes_count_and_a_success_resets():
    auth, clock, _ = make()
    tok = _challenge(auth)
    wrong = _wrong(clock)
    for _ in range(4):
        assert auth.verify(tok, wrong)[0] == "invalid_code"
    assert auth.verify(tok, _code(clock))[0] == "success"
    assert auth.lockout.get("alice")[2] == 0


def test_locked_verify_answers_locked_before_judging_the_code():
    auth, clock, _ = make()
    tok = _challenge(auth)
    for _ in range(4):
        auth.login("alice", "nope")
    assert auth.verify(tok, _wrong(clock))[0] == "invalid_code"
    outcome, name, left = auth.verify(tok, _code(clock))
    assert (outcome, name, left) == ("locked", "alice", 301)


def test_escalation_doubles_until_a_success_and_is_capped():
    auth, clock, _ = make()
    want = [300, 600, 1200, 2400]
    for d in want:
        for _ in range(5):
            auth.login("alice", "nope")
        assert auth.login("alice", "nope") == ("locked", d + 1)
        clock.t += d + 1
    for _ in range(20):
        for _ in range(5):
            auth.login("alice", "nope")
        left = auth.login("alice", "nope")[1]
        assert left <= 86401
        clock.t += left
    assert left == 86401  # the cap, a day, through its last second
    tok = _challenge(auth)
    assert auth.verify(tok, _code(clock))[0] == "success"
    for _ in range(5):
        auth.login("alice", "nope")
    assert auth.login("alice", "nope") == ("locked", 301)  # reset by the success


def test_replay_is_refused_through_any_challenge():
    auth, clock, _ = make()
    code = _code(clock)
    assert auth.verify(_challenge(auth), code)[0] == "success"
    tok = _challenge(auth)
    assert auth.verify(tok, code)[0] == "invalid_code"
    assert auth.verify(tok, _code(clock, -1))[0] == "invalid_code"  # an older step too
    assert auth.verify(tok, _code(clock, 1))[0] == "success"  # a later step still works


def test_drift_window():
    auth, clock, _ = make()
    assert auth.verify(_challenge(auth), _code(clock, -2))[0] == "invalid_code"
    assert auth.verify(_challenge(auth), _code(clock, 2))[0] == "invalid_code"
    assert auth.verify(_challenge(auth), _code(clock, -1))[0] == "success"


def test_challenge_is_single_use_and_expires():
    auth, clock, _ = make(challenge=120)
    tok = _challenge(auth)
    assert auth.verify(tok, _code(clock))[0] == "success"
    assert auth.verify(tok, _code(clock, 1))[0] == "invalid_challenge"
    tok = _challenge(auth)
    clock.t += 120  # never early: the issuing second may have been its last
    assert auth.challenge_user(tok) == "alice"
    clock.t += 1
    assert auth.verify(tok, _code(clock))[0] == "invalid_challenge"
    for bad in ("", "x", "A" * 43):
        assert auth.verify(bad, "123456")[0] == "invalid_challenge"


def test_session_lasts_its_ttl_and_one_second_more_at_most():
    auth, clock, _ = make(session=3600)
    session = auth.verify(_challenge(auth), _code(clock))[2]
    clock.t += 3600
    assert auth.session(session) is not None
    clock.t += 1
    assert auth.session(session) is None


def test_unsynced_clock_judges_nothing():
    auth, clock, _ = make()
    tok = _challenge(auth)
    clock.is_synced = False
    assert auth.verify(tok, _code(clock))[0] == "clock_not_synced"
    assert auth.lockout.get("alice")[2] == 0
    clock.is_synced = True
    assert auth.verify(tok, _code(clock))[0] == "success"


def test_backup_codes_are_single_use_and_normalised():
    auth, clock, store = make()
    assert auth.verify(_challenge(auth), backup="ABCDE-12345")[0] == "success"
    assert auth.verify(_challenge(auth), backup="abcde12345")[0] == "invalid_code"
    assert auth.verify(_challenge(auth), backup="fghij 67890")[0] == "success"
    assert auth.rows["alice"][1] == 3
    assert auth.verify(_challenge(auth), backup="nothing")[0] == "invalid_code"


def test_every_change_is_written_before_it_is_answered():
    # STORE-3: a failure is in the table on flash when login returns, not later
    auth, clock, store = make()
    auth.login("alice", "nope")
    fresh = Lockout(auth.lockout.dir, None)  # what a board that reset now would read
    assert fresh.get("alice")[2] == 1
    for _ in range(4):
        auth.login("alice", "nope")
    assert fresh.get("alice")[1] == clock.now() + 300  # the lock
    clock.t += 301
    auth.verify(_challenge(auth), _code(clock))
    assert store.saves == 1  # the accepted step
    assert fresh.get("alice")[1:] == (0, 0, 0)


def test_state_is_reloaded_from_the_store():
    auth, clock, store = make()
    for _ in range(5):
        auth.login("alice", "nope")
    auth2, _, _ = make(clock=clock, store=store, table=Lockout(auth.lockout.dir, None))
    assert auth2.login("alice", "correct horse")[0] == "locked"


def test_a_locked_unknown_name_stays_locked_however_many_names_are_tried():
    # LOGIN-3 (rev. 2): nothing is evicted, for unknown names as for real ones
    auth, clock, _ = make()
    for _ in range(5):
        auth.login("ghost-x", "nope")
        auth.login("alice", "nope")
    for i in range(40):
        for _ in range(5):
            auth.login("ghost" + str(i), "nope")
    assert auth.login("ghost-x", "nope") == ("locked", 301)
    assert auth.login("alice", "correct horse") == ("locked", 301)
    clock.t += 301
    assert auth.login("ghost-x", "nope") == ("invalid_credentials", None)


def _meeting(table, slot):
    """A name whose first candidate slot is `slot`."""
    n = 0
    while table.candidates("name" + str(n))[0] != slot:
        n += 1
    return "name" + str(n)


def test_a_name_that_meets_anothers_count_keeps_its_own():
    auth, clock, _ = make()
    for _ in range(4):
        auth.login("alice", "nope")
    other = _meeting(auth.lockout, auth.lockout.get("alice")[0] & 0xFFFF)
    for _ in range(5):
        assert auth.login(other, "nope") == ("invalid_credentials", None)
    assert auth.login(other, "nope") == ("locked", 301)  # exactly 5, as for any name
    assert auth.lockout.get("alice")[2] == 4  # alice's count is hers alone
    assert auth.login("alice", "nope") == ("invalid_credentials", None)
    assert auth.login("alice", "correct horse") == ("locked", 301)


def test_a_name_whose_slots_both_hold_counts_shares_the_stricter_and_loses_nothing():
    auth, clock, _ = make()
    t = auth.lockout
    i1, i2, _ = t.candidates("mallory")
    t.put(i1 | 99 << 16, 0, 3, 0)  # two other names' counts (tags 99 and 98)
    t.put(i2 | 98 << 16, 0, 1, 0)
    assert t.get("mallory")[1:] == (0, 3, 0)  # stricter: the first's count
    assert auth.login("mallory", "nope")[0] == "invalid_credentials"
    assert t._read(i1) == (0, 4, 0, 0)  # counted in it, now marked shared (tag 0)
    assert t._read(i2) == (0, 1, 0, 98)  # the other untouched
    assert auth.login("mallory", "nope")[0] == "invalid_credentials"
    assert auth.login("mallory", "nope") == ("locked", 301)
    assert t._read(i1)[:2] == (clock.now() + 300, 5)  # the first's owner is locked too
