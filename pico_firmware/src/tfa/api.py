"""The protocol's five endpoints over the HTTP layer (tfa.http): each checks its request (JSON
body, fields, bearer token), asks the auth core, audits the outcome and answers in the
protocol's words (spec/openapi.yaml; error bodies and order of judgement: spec/DECISIONS.md)."""

import json

from micropython import const

from tfa.http import Response, error

_MAX_DEPTH = const(8)  # JSON nesting; the protocol's bodies are flat objects


def json_body(req):
    """The request's JSON object, or an error Response (415 / 400) to return instead."""
    ctype = req.headers.get("content-type")
    if ctype is None or ctype.split(";")[0].strip().lower() != "application/json":
        return None, error("unsupported_media_type")
    body = req.body
    # the parser's stack grows per level: refuse deep nests ([ and { outside strings) first
    depth = 0
    quoted = escaped = False
    for c in body:
        if quoted:
            if escaped:
                escaped = False
            elif c == 92:  # backslash
                escaped = True
            elif c == 34:  # "
                quoted = False
        elif c == 34:
            quoted = True
        elif c == 91 or c == 123:  # [ {
            depth += 1
            if depth > _MAX_DEPTH:
                return None, error("invalid_request")
        elif c == 93 or c == 125:  # ] }
            depth -= 1
    try:
        data = json.loads(body)  # a buffer: it checks UTF-8 itself, with no decoded copy
    except (ValueError, UnicodeError):  # not MemoryError: that is ours, not the client's
        return None, error("invalid_request")
    if not isinstance(data, dict):
        return None, error("invalid_request")
    return data, None


def text(data, key, lo, hi):
    v = data.get(key)
    if isinstance(v, str) and lo <= len(v) <= hi:
        return v
    return None


def bearer(req, use):
    """(use(token), None) for the request's bearer token, or (None, the 401 answer) (SESS-3)."""
    h = req.headers.get("authorization")
    if h is None or h[:7].lower() != "bearer ":
        return None, error("missing_token", {"WWW-Authenticate": 'Bearer realm="tfa"'})
    tok = h[7:]
    v = use(tok) if tok and " " not in tok and len(tok) <= 256 else None
    if v is None:
        www = 'Bearer realm="tfa", error="invalid_token"'
        return None, error("invalid_token", {"WWW-Authenticate": www})
    return v, None


def routes(app, auth, clock, info_fn, audit, server_fn, saturated=None):
    """The five endpoints of the protocol, each a plain function over `auth`. saturated(ip):
    whether a login from ip is to be answered busy, unjudged, instead of hashed (INPUT-6)."""

    def info(req):
        return info_fn()

    def locked(left):
        extra = {"status": "locked", "retry_after": left}
        return error("account_locked", {"Retry-After": str(left)}, extra)

    def login(req):
        data, bad = json_body(req)
        name = ""
        if bad is None:
            name = text(data, "username", 1, 64)
            pw = text(data, "password", 1, 256)
            if name is None or pw is None:
                bad = error("invalid_request")
        if bad is not None:
            audit("login", name or "", req.client_addr[0], "invalid_request")
            return bad
        if saturated is not None and saturated(req.client_addr[0]):
            audit("login", name, req.client_addr[0], "busy")
            return error("busy", {"Retry-After": "1"})
        outcome, extra = auth.login(name, pw, req.client_addr[0])
        audit("login", name, req.client_addr[0], outcome)
        if outcome == "locked":
            return locked(extra)
        if outcome == "invalid_credentials":
            return error(outcome)
        ttl = auth.challenge_ttl_s
        return {"status": "2fa_required", "challenge_token": extra, "expires_in": ttl}

    def verify(req):
        data, bad = json_body(req)
        tok = code = backup = None
        if bad is None:
            tok = text(data, "challenge_token", 1, 128)
            code = data.get("totp_code")
            backup = data.get("backup_code")
            if tok is None or (code is None) == (backup is None):
                bad = error("invalid_request")
            # six ASCII digits: MicroPython's isdigit is ASCII-only ("１２３４５６" is no code)
            elif code is not None and not (
                isinstance(code, str) and len(code) == 6 and code.isdigit()
            ):
                bad = error("invalid_request")
            elif backup is not None and text(data, "backup_code", 1, 32) is None:
                bad = error("invalid_request")
        if bad is not None:
            name = auth.challenge_user(tok) or "" if tok else ""
            audit("verify", name, req.client_addr[0], "invalid_request")
            return bad
        outcome, name, extra = auth.verify(tok, code, backup, req.client_addr[0])
        audit("verify", name or "", req.client_addr[0], outcome)
        if outcome == "locked":
            return locked(extra)
        if outcome != "success":  # clock_not_synced, invalid_challenge, invalid_code
            return error(outcome)
        return {
            "status": "success",
            "session_token": extra,
            "token_type": "Bearer",
            "expires_in": auth.session_ttl_s,
        }

    def dashboard(req):
        entry, bad = bearer(req, auth.session)
        if bad is not None:
            return bad
        return {
            "status": "success",
            "user": {"username": entry[0]},
            "session": {"issued_at": entry[1], "expires_at": entry[1] + auth.session_ttl_s + 1},
            "server": server_fn(),
        }

    def logout(req):
        name, bad = bearer(req, auth.logout)
        if bad is not None:
            return bad
        audit("logout", name, req.client_addr[0], "revoked")
        return Response(b"", 204)

    app.route("GET", "/api/info", info)
    app.route("POST", "/api/auth/login", login)
    app.route("POST", "/api/auth/verify", verify)
    app.route("GET", "/api/dashboard", dashboard)
    app.route("POST", "/api/auth/logout", logout)
