"""Password hashing (LOGIN-5) and the dummy verification that keeps unknown names as slow as
wrong passwords (LOGIN-4)."""

from __future__ import annotations

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# RFC 9106 §4 second recommendation (64 MiB, t=3, p=4): what production accounts get.
PRODUCTION = {"time_cost": 3, "memory_cost": 65536, "parallelism": 4}
# The test profile's accounts: same algorithm, a cost that keeps hundreds of logins fast.
LIGHT = {"time_cost": 1, "memory_cost": 8192, "parallelism": 1}


class Passwords:
    """argon2id with self-describing PHC strings: old hashes verify under their own parameters."""

    def __init__(self, time_cost: int, memory_cost: int, parallelism: int) -> None:
        self.hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )
        self._dummy = self.hasher.hash("dummy password for unknown users")
        self._dummy_cost = (time_cost, memory_cost, parallelism)

    @classmethod
    def for_profile(cls, profile: str) -> Passwords:
        return cls(**(PRODUCTION if profile == "production" else LIGHT))

    @property
    def parameters(self) -> dict[str, int | str]:
        h = self.hasher
        return {
            "type": "argon2id",
            "time_cost": h.time_cost,
            "memory_cost_kib": h.memory_cost,
            "parallelism": h.parallelism,
        }

    def calibrate_dummy(self, stored_hashes: list[str]) -> None:
        """Give the dummy hash the parameters most stored hashes have, so that an unknown name
        costs what a known one does even when accounts were made at another cost (LOGIN-4)."""
        counts: dict[tuple[int, int, int], int] = {}
        for stored in stored_hashes:
            try:
                p = argon2.extract_parameters(stored)
            except (InvalidHashError, ValueError):
                continue
            key = (p.time_cost, p.memory_cost, p.parallelism)
            counts[key] = counts.get(key, 0) + 1
        if not counts:
            return
        cost = max(counts, key=lambda k: counts[k])
        if cost == self._dummy_cost:
            return  # the dummy has that cost already: another hash (a slow one) would add nothing
        time_cost, memory_cost, parallelism = cost
        self._dummy_cost = cost
        self._dummy = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            type=argon2.Type.ID,
        ).hash("dummy password for unknown users")

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """Constant-time check (argon2 compares digests itself); `stored=None` burns the same
        work on a dummy hash and answers False."""
        try:
            ok = self.hasher.verify(stored or self._dummy, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return ok and stored is not None
