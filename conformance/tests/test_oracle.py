"""The oracle is checked against the RFC vectors, and refuses to run when it disagrees."""

from __future__ import annotations

import pyotp
import pytest

from conformance import oracle

RFC_SEED_B32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # noqa: S105 - base32 of the RFC seed


def test_pyotp_reproduces_the_rfc_vectors():
    oracle.self_check()


def test_a_wrong_oracle_is_refused(monkeypatch):
    real = pyotp.OTP.generate_otp

    def off_by_one_step(self, input):
        return real(self, input + 1)

    monkeypatch.setattr(pyotp.OTP, "generate_otp", off_by_one_step)
    with pytest.raises(oracle.OracleError, match="RFC 6238"):
        oracle.self_check()


def test_code_at_step_matches_rfc_4226_counters():
    secret = RFC_SEED_B32
    assert [oracle.code_at_step(secret, c) for c in range(3)] == ["755224", "287082", "359152"]
    assert oracle.code_at_step(secret.lower(), 1) == "287082"


def test_steps_past_2038_and_2603():
    secret = RFC_SEED_B32
    assert oracle.step_of(20000000000) == 666666666
    assert len(oracle.code_at_step(secret, oracle.step_of(20000000000))) == 6
