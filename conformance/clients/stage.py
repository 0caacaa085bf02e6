"""Where a scenario plays: a fresh server behind the recording layer, the client's command run
against it, and everything kept for the judge and the report."""

from __future__ import annotations

import ssl
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from conformance.clients import command
from conformance.clients.board import Account, Board
from conformance.clients.pki import Authority, ServerCert, new_authority
from conformance.clients.recording import Answer, Record, RecordingApp
from conformance.clients.serve import asgi_over_tls, raw_server
from conformance.recorder import Masker


@dataclass
class Play:
    """What happened in one run of the client: the judge reads this."""

    records: list[Record]
    outcome: command.Outcome
    account: Account
    board: Board | None = None
    raw_requests: list[bytes] = field(default_factory=list)

    def auth_requests(self) -> list[Record]:
        return [r for r in self.records if r.path in ("/api/auth/login", "/api/auth/verify")]

    def bearer_requests(self) -> list[Record]:
        return [r for r in self.records if r.path in ("/api/dashboard", "/api/auth/logout")]

    def request_problems(self) -> list[str]:
        return [problem for record in self.records for problem in record.problems]

    def ended(self, timeout: float) -> list[str]:
        """The client must finish by itself: a kill at the timeout is a hang."""
        if self.outcome.timed_out:
            return [f"the client did not finish within {timeout:.0f} s and was killed"]
        return []


class Stage:
    def __init__(
        self, command_line: str, timeout: float, board_factory: Callable[[], Board]
    ) -> None:
        self.command_line = command_line
        self.timeout = timeout
        self.board_factory = board_factory
        self.workdir = Path(tempfile.mkdtemp(prefix="client-conformance-"))
        self.ca: Authority = new_authority(self.workdir, "throwaway-ca")
        self.trusted: ServerCert = self.ca.issue(self.workdir, "server")
        self.untrusted: ServerCert = new_authority(self.workdir / "other", "other-ca").issue(
            self.workdir / "other", "impostor"
        )
        self.masker = Masker()

    def close(self) -> None:
        import shutil

        shutil.rmtree(self.workdir, ignore_errors=True)

    def values(self, base_url: str, account: Account, secret: str | None = None) -> command.Values:
        self.masker.add(account.password, account.totp_secret, secret or "")
        return command.Values(
            base_url=base_url,
            username=account.username,
            password=account.password,
            totp_secret=secret or account.totp_secret,
            ca_cert=str(self.ca.cert),
        )

    def against_board(
        self,
        *,
        replace: Callable[[Record], Answer | None] | None = None,
        after: Callable[[Board, Record], None] | None = None,
        prepare: Callable[[str, Board, Account], None] | None = None,
        trusted: bool = True,
        secret: str | None = None,
    ) -> Play:
        """Run the client once against a fresh server; `prepare` runs unrecorded before it."""
        board = self.board_factory()
        try:
            account = board.accounts[0]
            hook = (lambda record: after(board, record)) if after is not None else None
            recorder = RecordingApp(board.app, replace=replace, after=hook)
            cert = self.trusted if trusted else self.untrusted
            with asgi_over_tls(recorder, cert) as url:
                if prepare is not None:
                    recorder.recording = False
                    prepare(url, board, account)
                    recorder.recording = True
                outcome = command.run(
                    self.command_line, self.values(url, account, secret), self.timeout
                )
            self._remember_tokens(recorder.records)
            return Play(recorder.records, outcome, account, board)
        finally:
            board.close()

    def against_raw(self, answer: bytes | None, account: Account) -> Play:
        """Run the client against a TLS server that answers `answer` bytes (None: silence)."""
        with raw_server(answer, self.trusted) as (url, received):
            outcome = command.run(self.command_line, self.values(url, account), self.timeout)
        return Play([], outcome, account, raw_requests=list(received))

    @contextmanager
    def http(self, base_url: str) -> Iterator[httpx.Client]:
        """The harness's own client (for set-up), trusting the throwaway CA."""
        context = ssl.create_default_context(cafile=str(self.ca.cert))
        with httpx.Client(base_url=base_url, verify=context, timeout=10) as client:
            yield client

    def exchanges(self, play: Play) -> list[dict[str, Any]]:
        started = play.outcome.started
        return [record.exchange(self.masker, started) for record in play.records]

    def _remember_tokens(self, records: list[Record]) -> None:
        for record in records:
            data = record.response_json()
            if isinstance(data, dict):
                for key in ("challenge_token", "session_token"):
                    if isinstance(data.get(key), str):
                        self.masker.add(data[key])
