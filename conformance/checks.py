"""Assertions the cases share, each failing with a sentence that names what the target did."""

from __future__ import annotations

import email.utils
import secrets
from typing import Any

import httpx

from conformance.api import body_of

ERROR_KEYS = {"status", "error", "message"}
LOCKED_KEYS = {"status", "error", "message", "retry_after"}


def describe(response: httpx.Response) -> str:
    text = response.text
    if len(text) > 300:
        text = text[:300] + "…"
    request = response.request
    return f"{request.method} {request.url.path} -> {response.status_code} {text}"


def expect_status(response: httpx.Response, *statuses: int) -> None:
    assert response.status_code in statuses, (
        f"expected {' or '.join(map(str, statuses))}, got: {describe(response)}"
    )


def expect_json_object(response: httpx.Response) -> dict[str, Any]:
    content_type = response.headers.get("content-type", "")
    assert content_type.split(";")[0].strip() == "application/json", (
        f"expected Content-Type application/json, got {content_type!r}: {describe(response)}"
    )
    body = body_of(response)
    assert isinstance(body, dict), f"expected a JSON object body: {describe(response)}"
    return body


def expect_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """`{"status":"error","error":code,"message":text}` and nothing else (DECISIONS)."""
    expect_status(response, status)
    body = expect_json_object(response)
    assert body.get("error") == code, f"expected error {code!r}: {describe(response)}"
    assert body.get("status") == "error", f"expected status 'error': {describe(response)}"
    assert isinstance(body.get("message"), str), f"error body lacks a message: {describe(response)}"
    assert set(body) == ERROR_KEYS, f"error body keys {sorted(body)} != {sorted(ERROR_KEYS)}"
    return body


def expect_locked(response: httpx.Response) -> int:
    """429 `{status:"locked", error:"account_locked", message, retry_after}` + Retry-After."""
    expect_status(response, 429)
    body = expect_json_object(response)
    assert body.get("status") == "locked", f"expected status 'locked': {describe(response)}"
    assert body.get("error") == "account_locked", f"expected account_locked: {describe(response)}"
    assert set(body) == LOCKED_KEYS, f"lockout body keys {sorted(body)} != {sorted(LOCKED_KEYS)}"
    retry = body.get("retry_after")
    assert isinstance(retry, int) and not isinstance(retry, bool) and retry >= 1, (
        f"retry_after must be an integer >= 1: {describe(response)}"
    )
    header = response.headers.get("retry-after")
    assert header is not None, f"429 without a Retry-After header: {describe(response)}"
    assert header.strip() == str(retry), (
        f"Retry-After header {header!r} differs from retry_after {retry}"
    )
    return retry


def expect_no_store(response: httpx.Response) -> None:
    value = response.headers.get("cache-control", "")
    directives = {d.strip().lower() for d in value.split(",")}
    assert "no-store" in directives, (
        f"expected Cache-Control: no-store, got {value!r}: {describe(response)}"
    )


def date_of(response: httpx.Response) -> float:
    value = response.headers.get("date")
    assert value, f"response has no Date header: {describe(response)}"
    parsed = email.utils.parsedate_to_datetime(value)
    assert parsed is not None, f"Date header {value!r} is not an HTTP date"
    return parsed.timestamp()


def token_bits(token: str) -> float:
    """A lower bound on the bits a token can carry, from its length and alphabet."""
    alphabet = set(token)
    if alphabet <= set("0123456789abcdef") or alphabet <= set("0123456789ABCDEF"):
        return len(token) * 4
    if alphabet <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567="):
        return len(token.rstrip("=")) * 5
    return len(token.rstrip("=")) * 6


def unknown_name() -> str:
    """A name no account has, fresh each time: a fixed one would collect failures, and a lock,
    over the runs (a server that keeps state locks unknown names too, LOGIN-3)."""
    return f"nobody-{secrets.token_hex(6)}"


def wrong_code(code: str) -> str:
    return f"{(int(code) + 500000) % 1000000:06d}"
