"""Builds an Authenticator from a profile and its durations (the CLI and the embedded server).

Each policy is given as a factory: the default class, or anything called the same way (another
Lockout with its own `max_failures`, a subclass), which gets the profile's duration.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reference_server.audit import Audit
from reference_server.auth import Authenticator, NewAccount
from reference_server.core.address_throttle import AddressThrottle
from reference_server.core.challenge import ChallengePolicy
from reference_server.core.clock import Clock
from reference_server.core.lockout import Lockout
from reference_server.core.passwords import Passwords
from reference_server.core.session import SessionPolicy
from reference_server.core.tokens import TokenSource
from reference_server.core.totp import TotpPolicy
from reference_server.store import Store

PROFILES = ("production", "test")


@dataclass(frozen=True)
class Durations:
    lockout_s: int
    session_ttl_s: int
    challenge_ttl_s: int


PRODUCTION_DURATIONS = Durations(lockout_s=300, session_ttl_s=3600, challenge_ttl_s=120)
TEST_DURATIONS = Durations(lockout_s=5, session_ttl_s=5, challenge_ttl_s=5)


# LOCK-8 defaults (spec/DECISIONS.md): a household's typos never reach them.
PRODUCTION_THROTTLE = AddressThrottle(max_failures=50, window_s=300)
TEST_THROTTLE = AddressThrottle(max_failures=50, window_s=5)


class ProfileError(ValueError):
    """A setting the profile does not allow."""


def parse_throttle(text: str) -> AddressThrottle | str:
    """`--throttle MAX/WINDOW_S` (e.g. 50/300), or `off` (no per-address limit)."""
    if text.strip().lower() == "off":
        return "off"
    count, slash, window = text.partition("/")
    try:
        if not slash:
            raise ValueError
        return AddressThrottle(max_failures=int(count), window_s=int(window))
    except ValueError:
        raise ProfileError(
            f"--throttle {text!r}: give MAX/WINDOW_S with both at least 1 (e.g. 50/300), or off"
        ) from None


def throttle_for(
    profile: str, throttle: AddressThrottle | str | None = None
) -> AddressThrottle | None:
    """LOCK-8: the profile's default (None), a given AddressThrottle, or "off"."""
    if throttle == "off":
        return None
    if throttle is None:
        return PRODUCTION_THROTTLE if profile == "production" else TEST_THROTTLE
    if not isinstance(throttle, AddressThrottle):
        raise ProfileError(f'throttle {throttle!r}: an AddressThrottle, "off" or None')
    return throttle


def durations_for(
    profile: str,
    lockout_seconds: int | None = None,
    session_ttl: int | None = None,
    challenge_ttl: int | None = None,
) -> Durations:
    """INFO-2: production durations are fixed; the test profile may shorten (or set) them."""
    if profile not in PROFILES:
        raise ProfileError(f"unknown profile {profile!r} (production or test)")
    given = {
        "--lockout-seconds": lockout_seconds,
        "--session-ttl": session_ttl,
        "--challenge-ttl": challenge_ttl,
    }
    if profile == "production":
        named = [flag for flag, value in given.items() if value is not None]
        if named:
            raise ProfileError(
                f"the production profile has fixed durations (300/3600/120 s); "
                f"{', '.join(named)} needs --profile test"
            )
        return PRODUCTION_DURATIONS
    for flag, value in given.items():
        if value is not None and value < 1:
            raise ProfileError(f"{flag} must be at least 1 second")
    return Durations(
        lockout_s=lockout_seconds or TEST_DURATIONS.lockout_s,
        session_ttl_s=session_ttl or TEST_DURATIONS.session_ttl_s,
        challenge_ttl_s=challenge_ttl or TEST_DURATIONS.challenge_ttl_s,
    )


def build_authenticator(
    *,
    profile: str,
    durations: Durations,
    store: Store,
    clock: Clock,
    audit: Audit,
    totp: Callable[[], TotpPolicy] = TotpPolicy,
    lockout: Callable[..., Lockout] = Lockout,
    challenges: Callable[..., ChallengePolicy] = ChallengePolicy,
    sessions: Callable[..., SessionPolicy] = SessionPolicy,
    tokens: Callable[[], TokenSource] = TokenSource,
    passwords: Passwords | None = None,
    authenticator: Callable[..., Authenticator] = Authenticator,
    time_synced: Callable[[], bool] | None = None,
    throttle: AddressThrottle | str | None = None,
) -> Authenticator:
    return authenticator(
        store,
        clock,
        profile=profile,
        totp=totp(),
        lockout=lockout(duration_s=durations.lockout_s),
        challenges=challenges(ttl_s=durations.challenge_ttl_s),
        sessions=sessions(ttl_s=durations.session_ttl_s),
        tokens=tokens(),
        passwords=passwords or Passwords.for_profile(profile),
        audit=audit,
        time_synced=time_synced or (lambda: True),
        throttle=throttle_for(profile, throttle),
    )


def target_profile(
    base_url: str,
    accounts: list[NewAccount],
    *,
    ca_cert: str | None = None,
    name: str = "reference server",
) -> dict[str, Any]:
    """The target profile (spec/DECISIONS.md, "Target profile") for these accounts."""
    profile: dict[str, Any] = {"name": name, "base_url": base_url}
    if ca_cert:
        profile["ca_cert"] = ca_cert
    profile["accounts"] = [
        {
            "username": a.username,
            "password": a.password,
            "totp_secret": a.totp_secret,
            "backup_codes": list(a.backup_codes),
        }
        for a in accounts
    ]
    return profile


def create_test_accounts(auth: Authenticator, count: int) -> list[NewAccount]:
    """conformance-1..N with fresh random passwords, secrets and backup codes (replacing any)."""
    return [
        auth.create_account(f"conformance-{i}", secrets.token_urlsafe(18))
        for i in range(1, count + 1)
    ]
