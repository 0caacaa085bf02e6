"""TOTP-1 against the core: RFC 6238 Appendix B, RFC 4226 Appendix D, pyotp and oathtool."""

from __future__ import annotations

import base64
import shutil
import subprocess

import pyotp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance import oracle
from reference_server.core.totp import TotpPolicy, decode_secret, encode_secret, hotp, step_at, totp

# The RFC vectors (RFC 6238 Appendix B with the erratum's per-hash seeds, RFC 4226 Appendix D)
# are the conformance oracle's: one table, checked against both pyotp and this core.
SEEDS = {name.upper(): seed for name, seed in oracle.SEEDS.items()}


@pytest.mark.parametrize("t, sha1, sha256, sha512", oracle.RFC6238_VECTORS)
def test_TOTP_1_rfc6238_appendix_b(t, sha1, sha256, sha512):
    for algorithm, expected in (("SHA1", sha1), ("SHA256", sha256), ("SHA512", sha512)):
        assert totp(SEEDS[algorithm], t, digits=8, algorithm=algorithm) == expected


@pytest.mark.parametrize("counter, expected", list(enumerate(oracle.RFC4226_VECTORS)))
def test_TOTP_1_rfc4226_appendix_d(counter, expected):
    assert hotp(SEEDS["SHA1"], counter) == expected


def test_TOTP_1_year_2603_step_is_64_bit():
    assert step_at(20000000000) == 666666666  # past 2**31 seconds, past 2038
    assert hotp(b"k" * 20, 2**63 + 5)  # a counter above 2**63 is still a valid counter
    with pytest.raises(ValueError):
        hotp(b"k" * 20, 2**64)


@settings(max_examples=200, deadline=None)
@given(key=st.binary(min_size=16, max_size=64), t=st.integers(0, 253_402_300_799))  # pyotp: < 10000
def test_TOTP_1_matches_pyotp(key, t):
    secret = base64.b32encode(key).decode()
    assert totp(key, t) == pyotp.TOTP(secret).at(t)
    assert decode_secret(encode_secret(key)) == key


@pytest.mark.skipif(shutil.which("oathtool") is None, reason="oathtool not installed (.ci has it)")
@pytest.mark.parametrize("t", [59, 1111111109, 1234567890, 2000000000, 20000000000])
def test_TOTP_1_matches_oathtool(t):
    key = SEEDS["SHA1"]
    out = subprocess.run(
        ["oathtool", "--totp", "--now", f"@{t}", "-d", "6", key.hex()],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert totp(key, t) == out


KEY = SEEDS["SHA1"]
POLICY = TotpPolicy()


@settings(max_examples=300, deadline=None)
@given(t=st.integers(60, 2**36), offset=st.integers(-1, 1))
def test_TOTP_2_every_step_within_one_accepted_once(t, offset):
    step = step_at(t) + offset
    code = hotp(KEY, step)
    matched = POLICY.verify(KEY, code, t, last_step=None)
    assert matched is not None and matched >= step
    # the matched step is the largest in the window with this code; a second try fails (TOTP-4)
    assert POLICY.verify(KEY, code, t, last_step=matched) is None


@settings(max_examples=300, deadline=None)
@given(t=st.integers(40_000, 2**36), offset=st.integers(2, 1000), sign=st.sampled_from([-1, 1]))
def test_TOTP_3_no_step_outside_the_window(t, offset, sign):
    step = step_at(t) + sign * offset
    code = hotp(KEY, step)
    window = {hotp(KEY, s) for s in range(step_at(t) - 1, step_at(t) + 2)}
    if code not in window:  # a 6-digit collision with a window code is legitimately accepted
        assert POLICY.verify(KEY, code, t, last_step=None) is None


@settings(max_examples=200, deadline=None)
@given(t=st.integers(60, 2**36), last=st.integers(-1, 1))
def test_TOTP_4_no_step_at_or_below_the_last_accepted(t, last):
    last_step = step_at(t) + last
    for step in range(step_at(t) - 1, last_step + 1):
        code = hotp(KEY, step)
        fresh = [s for s in range(last_step + 1, step_at(t) + 2) if hotp(KEY, s) == code]
        assert (POLICY.verify(KEY, code, t, last_step=last_step) is None) == (not fresh)


def test_TOTP_4_matched_step_is_the_largest_above_last():
    t = 1_000_000_000
    now = step_at(t)
    assert POLICY.verify(KEY, hotp(KEY, now + 1), t, last_step=now) == now + 1
    assert POLICY.verify(KEY, hotp(KEY, now - 1), t, last_step=now - 1) is None


def test_TOTP_5_non_ascii_code_never_matches():
    assert POLICY.verify(KEY, "١٢٣٤٥٦", 1_000_000_000, None) is None


def test_TOTP_4_module_verify_returns_the_matched_step():
    from reference_server.core.totp import verify

    t = 1_111_111_111
    step = step_at(t)
    assert verify(KEY, hotp(KEY, step - 1), t) == step - 1
    assert verify(KEY, hotp(KEY, step - 1), t, last_step=step - 1) is None
    assert verify(KEY, hotp(KEY, step - 2), t, skew_steps=2) == step - 2
