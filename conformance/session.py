"""One run of the suite against one target: its facts, its clock and the model of its accounts.

`Conformance` is what the cases get: the clock and TOTP-step scheduler (steps.py), the sign-in
and lock flows (flows.py), start-up reconciliation (reconcile.py) and the account handout
(handout.py), over the model that every exchange feeds (model.py).
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance import oracle
from conformance.accounts import AccountPool
from conformance.api import Api, body_of, tls_context
from conformance.clock import LiveClock, MovableClock, TargetClock, measure_offset
from conformance.flows import Issued
from conformance.handout import Handout
from conformance.ledger import BackupLedger
from conformance.model import LockPolicy, TargetModel, Throttle
from conformance.profile import TargetProfile
from conformance.recorder import Masker, Recorder
from conformance.steps import not_run

__all__ = ["Conformance", "Target", "TargetError", "not_run"]


class TargetError(RuntimeError):
    """The target cannot be judged at all (unreachable, TLS refused, /api/info unusable)."""


@dataclass
class Target:
    """What the suite is told about the server: its profile, and hooks it may offer."""

    profile: TargetProfile
    restart: Callable[[], str | None] | None = None
    restart_missing_reason: str = "the target profile has no restart_command"
    clock: MovableClock | None = None
    base_url_override: str | None = None
    idle_limit_s: float = 30.0  # INPUT-4: how long an idle client may stay connected

    @property
    def base_url(self) -> str:
        return self.base_url_override or self.profile.base_url

    @property
    def name(self) -> str:
        return self.profile.name or self.base_url


@dataclass
class Conformance(Handout):
    target: Target
    long: bool = False
    info: dict[str, Any] = field(default_factory=dict)
    clock: TargetClock | None = None
    masker: Masker = field(default_factory=Masker)
    recorders: list[Recorder] = field(default_factory=list)
    verify: Any = True
    session_tokens: list[str] = field(default_factory=list)
    spare_sessions: list[Issued] = field(default_factory=list)
    backup_codes_work: bool | None = None
    backup_refusals: int = 0
    pool_changed: threading.Condition = field(default_factory=threading.Condition)
    ledger: BackupLedger | None = None

    def start(self) -> None:
        oracle.self_check()
        profile = self.target.profile
        self.verify = tls_context(profile.verify)
        for spec in profile.accounts:
            self.masker.add(spec.password, spec.totp_secret, *spec.backup_codes)
        api = Api(self.target.base_url, self.verify, Recorder(self.masker), profile.timeout_s)
        try:
            self.info = self._read_info(api)
            if self.target.clock is not None:
                self.clock = self.target.clock
            else:
                self.clock = LiveClock(
                    measure_offset(lambda: int(self._read_info(api)["server_time"]))
                )
        finally:
            api.close()
        self.model = TargetModel(
            profile.accounts,
            LockPolicy.from_info(self.info),
            self.clock.now,
            Throttle.from_info(self.info),
        )
        self.ledger = BackupLedger(self.target.base_url)
        # On a movable clock a TOTP wait is free: no backup code is spent to save one.
        self.pool = AccountPool(
            self.model,
            self.ledger,
            spare_codes=not self.clock.movable,
            step_waits_free=self.clock.movable,
        )

    def _read_info(self, api: Api) -> dict[str, Any]:
        url = f"{self.target.base_url}/api/info"
        try:
            response = api.info()
        except httpx.ConnectError as exc:
            cause = exc.__context__ or exc.__cause__
            if isinstance(cause, ssl.SSLCertVerificationError) or "CERTIFICATE" in str(exc):
                raise TargetError(f"TLS verification failed for {url}: {exc}") from exc
            raise TargetError(f"cannot connect to {url}: {exc}") from exc
        except httpx.HTTPError as exc:
            raise TargetError(f"GET {url} failed: {type(exc).__name__}: {exc}") from exc
        info = body_of(response)
        if response.status_code != 200 or not isinstance(info, dict):
            raise TargetError(
                f"GET {url} answered {response.status_code}, not the JSON facts of this protocol: "
                f"{response.text[:200]}"
            )
        if not isinstance(info.get("server_time"), int):
            raise TargetError(f"GET {url} has no integer server_time; cannot read its clock")
        return info

    def recorder(self) -> Recorder:
        assert self.clock is not None, "start() first"
        recorder = Recorder(self.masker, self.model.observe, self.clock.now, self._sending)
        self.recorders.append(recorder)
        return recorder

    def _sending(self, path: str, body: Any) -> None:
        """A backup code of the profile about to be sent goes to the ledger first: a request
        that gets no answer may still have spent it."""
        code = body.get("backup_code") if isinstance(body, dict) else None
        if self.ledger is None or not path.endswith("/verify") or not isinstance(code, str):
            return
        for spec in self.target.profile.accounts:
            if code in spec.backup_codes:
                self.ledger.note(spec.username, code)

    def api(self, recorder: Recorder) -> Api:
        return Api(self.target.base_url, self.verify, recorder, self.target.profile.timeout_s)
