"""What a case asks for by parameter name, made the same way whether pytest runs the case or a
side run does (beside.py): one table, so a new kind of account is one entry here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conformance.api import Api, body_of
from conformance.flows import Issued
from conformance.recorder import Recorder
from conformance.session import Conformance


@dataclass
class CaseContext:
    conformance: Conformance
    api: Api
    recorder: Recorder
    notes: list[str]
    stack: contextlib.ExitStack
    beside: bool = False  # run in a thread beside others: it spends no TOTP step


RESOURCES: dict[str, Callable[[CaseContext], Any]] = {}


def resource(fn: Callable[[CaseContext], Any]) -> Callable[[CaseContext], Any]:
    RESOURCES[fn.__name__] = fn
    return fn


def _accounts(ctx: CaseContext, count: int, clean: bool, short_of_lock: bool = False) -> list[Any]:
    handout = ctx.conformance.accounts(
        ctx.api, count, clean=clean, spends_step=not ctx.beside, short_of_lock=short_of_lock
    )
    return ctx.stack.enter_context(handout)


@resource
def account(ctx: CaseContext) -> Any:
    """An unlocked account in a known state that may carry a failure or two."""
    return _accounts(ctx, 1, clean=False)[0]


@resource
def clean_account(ctx: CaseContext) -> Any:
    """An unlocked account with no failure counted and no lock behind it: for cases that
    count to the lock."""
    return _accounts(ctx, 1, clean=True)[0]


@resource
def lockable_account(ctx: CaseContext) -> Any:
    """An unlocked account in a known state with no lock behind it and any count short of the
    lock (those with failures first): for cases that fail up to the lock anyway (`lock` tops up
    what is counted), so that failures other cases left (LOGIN-4's) are not reset by a sign-in
    and sent again."""
    return _accounts(ctx, 1, clean=False, short_of_lock=True)[0]


@resource
def session(ctx: CaseContext) -> Any:
    """A valid session (flows.Issued) that nothing else uses: one that bringing an account to a
    known state issued, else from a sign-in on an account of its own."""
    spare = ctx.conformance.spare_session()
    if spare is not None:
        return spare
    (account,) = _accounts(ctx, 1, clean=False)
    sent = ctx.conformance.now
    response, _ = ctx.conformance.sign_in_response(ctx.api, account, any_factor=True)
    token = str(body_of(response)["session_token"])
    return Issued(token, account.username, sent, ctx.conformance.now)


@resource
def two_accounts(ctx: CaseContext) -> Any:
    return _accounts(ctx, 2, clean=False)
