"""Secrets never reach a report: masking of bodies, headers and known secret strings."""

from __future__ import annotations

import json

import httpx

from conformance.recorder import MASK, Masker, Recorder


def test_secret_fields_are_masked_and_others_kept():
    masker = Masker()
    shown = json.loads(
        masker.body(
            json.dumps(
                {
                    "username": "alice",
                    "password": "hunter2",
                    "totp_code": "123456",
                    "nested": {"session_token": "abc", "challenge_token": "def"},
                    "backup_code": "x-y",
                }
            )
        )
    )
    assert shown["username"] == "alice"
    for value in (shown["password"], shown["totp_code"], shown["nested"]["session_token"]):
        assert value.startswith(MASK)
    assert "hunter2" not in json.dumps(shown)


def test_known_secrets_are_masked_anywhere():
    masker = Masker(["s3cret-password", "JBSWY3DPEHPK3PXP"])
    assert "s3cret" not in masker.body("not json s3cret-password here")
    assert "JBSWY3DP" not in masker.body(
        json.dumps({"free": "otpauth://x?secret=JBSWY3DPEHPK3PXP"})
    )


def test_authorization_is_masked_but_the_scheme_kept():
    masker = Masker()
    headers = dict(masker.headers([("Authorization", "Bearer tok"), ("Accept", "x")]))
    assert headers["Authorization"] == f"Bearer {MASK}"
    assert headers["Accept"] == "x"


def test_recorder_keeps_masked_exchanges_through_httpx_hooks():
    def app(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"session_token": "TOKEN-VALUE", "ok": True})

    recorder = Recorder(Masker(["pw-secret"]))
    client = httpx.Client(transport=httpx.MockTransport(app), event_hooks=recorder.hooks())
    client.post(
        "http://t/api/auth/verify",
        json={"password": "pw-secret", "x": 1},
        headers={"Authorization": "Bearer TOKEN-VALUE"},
    )
    (exchange,) = recorder.exchanges
    text = json.dumps(exchange.to_dict())
    assert "TOKEN-VALUE" not in text and "pw-secret" not in text
    assert exchange.status == 200 and '"ok": true' in exchange.response_body
    # The raw answer stays available (unmasked, in memory only) for leak checks.
    assert b"TOKEN-VALUE" in recorder.raw_responses[0][1]


def test_a_client_at_another_address_is_recorded_but_not_fed_to_the_model():
    def app(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"status": "error", "error": "invalid_credentials"})

    seen: list = []
    recorder = Recorder(Masker(), seen.append)
    login = {"username": "nobody-1", "password": "wrong"}
    for own in (True, False):
        hooks = recorder.hooks(own_address=own)
        with httpx.Client(transport=httpx.MockTransport(app), event_hooks=hooks) as client:
            client.post("http://t/api/auth/login", json=login)
    assert len(recorder.exchanges) == 2  # both shown in the report
    assert len(seen) == 1 and seen[0].status == 401  # one failure of the suite's address


def test_raw_exchange_is_parsed_and_masked():
    recorder = Recorder(Masker(["hunter22"]))
    exchange = recorder.raw(
        "RAW",
        "https://t",
        b"POST / HTTP/1.1\r\n\r\nhunter22",
        b'HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\n\r\n{"a":1}',
        "answered",
    )
    assert exchange.status == 413
    assert "hunter22" not in exchange.request_body
    assert ("Content-Type", "application/json") in exchange.response_headers


def test_free_text_loses_bearer_tokens_and_secret_fields():
    masker = Masker()
    text = masker.text(
        "curl -H 'Authorization: Bearer abcDEF123_-xyz' -> 200 "
        '{"session_token": "tok-123", "status": "success", "password":"pw"}'
    )
    assert "abcDEF123" not in text and "tok-123" not in text and '"pw"' not in text
    assert '"status": "success"' in text
