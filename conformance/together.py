"""Independent requests sent side by side, so that the target's slow hashes overlap.

A password hash is the slowest thing a target does (argon2id: ~0.1 s and 64 MiB on the
reference server). Requests that do not depend on one another (the failures that lock an
account, a wrong password and an unknown name compared answer for answer) go out at once, each
on its own connection, from threads that carry the case's context (its timings, its rule).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from conformance.api import Api

T = TypeVar("T")


def together(api: Api, calls: Sequence[Callable[[Api], T]]) -> list[T]:
    """Run each call with an Api of its own (the same recorder), all at once; in order."""
    if len(calls) <= 1:
        return [call(api) for call in calls]
    apis = [Api(api.base_url, api.tls, api.recorder, api.timeout) for _ in calls]
    try:
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            futures = [
                pool.submit(contextvars.copy_context().run, call, one)
                for call, one in zip(calls, apis, strict=True)
            ]
            return [future.result() for future in futures]
    finally:
        for one in apis:
            one.close()
