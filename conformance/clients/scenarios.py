"""The scenarios a client of the protocol must get through, one requirement ID each.

Each scenario plays the client against a server that behaves in one particular way and judges
only what the recorded exchanges and the exit status show: no knowledge of the client's inside.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import pyotp

from conformance.clients.board import Account, Board
from conformance.clients.recording import Answer, Record
from conformance.clients.stage import Play, Stage
from conformance.requirements import client_requirements

#: A request that arrives this much before Retry-After has passed counts as early (rounding).
RETRY_AFTER_SLACK_S = 0.5

#: CLIENT-1..7 with their texts, from the spec (`scope: client`).
REQUIREMENTS = client_requirements()


@dataclass(frozen=True)
class Scenario:
    req_id: str
    name: str
    rationale: str
    play: Callable[[Stage], Play]
    judge: Callable[[Play, Stage], list[str]]

    @property
    def level(self) -> str:
        return REQUIREMENTS[self.req_id].level


# -- what a judge reads -----------------------------------------------------------------------


def _json_answer(status: int, body: dict[str, object]) -> Answer:
    return (status, [("content-type", "application/json")], json.dumps(body).encode())


def _error(record: Record) -> str | None:
    data = record.response_json()
    return data.get("error") if isinstance(data, dict) else None


def _issued_sessions(play: Play) -> set[str]:
    tokens = set()
    for record in play.records:
        data = record.response_json()
        if record.path == "/api/auth/verify" and record.status == 200 and isinstance(data, dict):
            token = data.get("session_token")
            if isinstance(token, str):
                tokens.add(token)
    return tokens


def _bearer_token(record: Record) -> str | None:
    value = record.header("authorization") or ""
    scheme, _, token = value.partition(" ")
    return token if scheme.lower() == "bearer" and token else None


def _exit(play: Play) -> str:
    return f"exit status {play.outcome.exit_status}"


# -- CLIENT-1 the full flow --------------------------------------------------------------------


def play_full_flow(stage: Stage) -> Play:
    return stage.against_board()


def judge_full_flow(play: Play, stage: Stage) -> list[str]:
    failures = play.ended(stage.timeout) + play.request_problems()
    if not play.outcome.timed_out and play.outcome.exit_status != 0:
        failures.append(f"against a correct server the client ended with {_exit(play)}, not 0")
    if not any(r.path == "/api/auth/login" and r.status == 200 for r in play.records):
        failures.append("no login was accepted (200)")
    if not any(r.path == "/api/auth/verify" and r.status == 200 for r in play.records):
        failures.append("no verify was accepted (200)")
    issued = _issued_sessions(play)
    used = [r for r in play.bearer_requests() if r.status in (200, 204)]
    if not any(_bearer_token(r) in issued for r in used):
        failures.append(
            "the session token was never used as `Authorization: Bearer` on the dashboard or "
            "logout with success"
        )
    return failures


# -- CLIENT-2 a wrong code ---------------------------------------------------------------------


def play_wrong_code(stage: Stage) -> Play:
    # The client gets a secret that is not the account's: its codes are well-formed and wrong.
    return stage.against_board(secret=pyotp.random_base32())


def judge_wrong_code(play: Play, stage: Stage) -> list[str]:
    failures = play.ended(stage.timeout) + play.request_problems()
    if not any(r.path == "/api/auth/verify" and _error(r) == "invalid_code" for r in play.records):
        failures.append("no verify was answered 401 invalid_code: the scenario did not happen")
    if play.outcome.exit_status == 0:
        failures.append("the client exited 0 although its code was refused")
    return failures


# -- CLIENT-3 lockout ----------------------------------------------------------------------------


def _lock(stage: Stage) -> Callable[[str, Board, Account], None]:
    def prepare(url: str, board: Board, account: Account) -> None:
        with stage.http(url) as http:
            for _ in range(5):
                wrong = "wrong-" + secrets.token_hex(4)
                http.post("/api/auth/login", json={"username": account.username, "password": wrong})

    return prepare


def play_lockout(stage: Stage) -> Play:
    return stage.against_board(prepare=_lock(stage))


def judge_lockout(play: Play, stage: Stage) -> list[str]:
    failures = play.ended(stage.timeout) + play.request_problems()
    not_before: float | None = None
    seen_429 = False
    for record in play.auth_requests():
        if not_before is not None and record.at < not_before - RETRY_AFTER_SLACK_S:
            early = not_before - record.at
            failures.append(
                f"{record.method} {record.path} arrived {early:.1f} s before Retry-After had "
                "passed (a 429 means: send nothing for that account until then)"
            )
        if record.status == 429:
            seen_429 = True
            header = next((v for k, v in record.response_headers if k.lower() == "retry-after"), "")
            if header.isdigit():
                until = record.at + int(header)
                not_before = until if not_before is None else max(not_before, until)
    if not seen_429:
        failures.append("no request was answered 429: the scenario did not happen")
    if play.outcome.exit_status == 0 and not any(
        r.path == "/api/auth/verify" and r.status == 200 for r in play.records
    ):
        failures.append("the client exited 0 although it never got a session")
    return failures


# -- CLIENT-4 an expired challenge -------------------------------------------------------------


def _expire_after(path: str, ttl: Callable[[Board], int]) -> Callable[[Stage], Play]:
    """Once `path` is first answered 200, move the board's clock past what it issued (`ttl`)."""

    def play(stage: Stage) -> Play:
        moved: list[bool] = []

        def after(board: Board, record: Record) -> None:
            if record.path == path and record.status == 200 and not moved:
                moved.append(True)
                board.advance(ttl(board) + 1)

        return stage.against_board(after=after)

    return play


play_expired_challenge = _expire_after("/api/auth/login", lambda board: board.challenge_ttl_s)


def judge_expired_challenge(play: Play, stage: Stage) -> list[str]:
    failures = play.ended(stage.timeout) + play.request_problems()
    verifies = [r for r in play.records if r.path == "/api/auth/verify"]
    if not verifies or _error(verifies[0]) != "invalid_challenge":
        failures.append("the first verify was not answered invalid_challenge: no scenario")
    if play.outcome.exit_status == 0 and not any(r.status == 200 for r in verifies):
        failures.append("the client exited 0 although its challenge had expired")
    return failures


# -- CLIENT-5 an expired session ---------------------------------------------------------------


play_expired_session = _expire_after("/api/auth/verify", lambda board: board.session_ttl_s)


def judge_expired_session(play: Play, stage: Stage) -> list[str]:
    failures = play.ended(stage.timeout) + play.request_problems()
    used = play.bearer_requests()
    if not any(_error(r) == "invalid_token" for r in used):
        failures.append("the expired session was never used (no 401 invalid_token): no scenario")
    if play.outcome.exit_status == 0 and not any(r.status in (200, 204) for r in used):
        failures.append("the client exited 0 although its session was refused")
    return failures


# -- CLIENT-6 an untrusted certificate ---------------------------------------------------------


def play_untrusted(stage: Stage) -> Play:
    return stage.against_board(trusted=False)


def judge_untrusted(play: Play, stage: Stage) -> list[str]:
    failures = play.ended(stage.timeout)
    if play.records:
        failures.append(
            f"{len(play.records)} request(s) reached a server whose certificate the given CA "
            "did not sign: the client did not verify it"
        )
    if play.outcome.exit_status == 0:
        failures.append("the client exited 0 against an untrusted certificate")
    return failures


# -- CLIENT-7 malformed answers ----------------------------------------------------------------


def _replace(path: str, answer: Answer) -> Callable[[Stage], Play]:
    def play(stage: Stage) -> Play:
        return stage.against_board(replace=lambda r: answer if r.path == path else None)

    return play


def _raw(answer: bytes | None) -> Callable[[Stage], Play]:
    def play(stage: Stage) -> Play:
        board = stage.board_factory()
        try:
            account = board.accounts[0]
        finally:
            board.close()
        return stage.against_raw(answer, account)

    return play


def judge_malformed(play: Play, stage: Stage) -> list[str]:
    failures = play.ended(stage.timeout) + play.request_problems()
    if play.outcome.exit_status == 0:
        failures.append("the client exited 0 after a malformed answer")
    return failures


SCENARIOS = [
    Scenario("CLIENT-1", "full_flow", "login, verify, Bearer dashboard", play_full_flow,
             judge_full_flow),
    Scenario("CLIENT-2", "wrong_code", "a well-formed wrong code", play_wrong_code,
             judge_wrong_code),
    Scenario("CLIENT-3", "lockout_retry_after", "the account is locked before the client starts",
             play_lockout, judge_lockout),
    Scenario("CLIENT-4", "expired_challenge", "the challenge expires before verify",
             play_expired_challenge, judge_expired_challenge),
    Scenario("CLIENT-5", "expired_session", "the session expires before the dashboard",
             play_expired_session, judge_expired_session),
    Scenario("CLIENT-6", "untrusted_certificate", "the server's certificate is another CA's",
             play_untrusted, judge_untrusted),
    Scenario("CLIENT-7", "login_html", "login answers 200 with an HTML page",
             _replace("/api/auth/login", (200, [("content-type", "text/html")],
                                          b"<html><body>Access granted</body></html>")),
             judge_malformed),
    Scenario("CLIENT-7", "login_without_token", "login answers 200 JSON without challenge_token",
             _replace("/api/auth/login", _json_answer(200, {"status": "2fa_required",
                                                            "expires_in": 5})),
             judge_malformed),
    Scenario("CLIENT-7", "verify_token_type_mac", "verify answers a token of type MAC",
             _replace("/api/auth/verify", _json_answer(200, {
                 "status": "success", "session_token": secrets.token_urlsafe(32),
                 "token_type": "MAC", "expires_in": 5})),
             judge_malformed),
    Scenario("CLIENT-7", "not_http", "the server answers bytes that are not HTTP",
             _raw(b"\x00\x01garbage that is not HTTP\r\n\r\n"), judge_malformed),
    Scenario("CLIENT-7", "silence", "the server accepts the request and never answers",
             _raw(None), judge_malformed),
]  # fmt: skip
