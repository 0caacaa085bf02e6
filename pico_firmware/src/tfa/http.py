"""The HTTP edge: Microdot routes plus the limits Microdot does not enforce itself.

`App` subclasses Microdot and replaces only the reading of a request: the head is read into
a preallocated buffer (header section > 4096 bytes or > 48 lines: 431), the body is capped
at 1024 bytes by Content-Length or while de-chunking (413; the rest is drained after the
answer), and the whole read must finish within the idle timeout or the connection is
dropped (INPUT-2, INPUT-4). Routing, handlers and writing the
response stay Microdot's. Every response gets Date (from the injected clock) and
Cache-Control: no-store; every error is the JSON error body of spec/DECISIONS.md.
"""

import asyncio
import gc
import json
import sys

from micropython import const
from microdot import Microdot, NoCaseDict, Request, Response

_MAX_HEAD = const(4096)
_MAX_BODY = const(1024)
_DRAIN = const(262144)  # after a 413/431, read and drop at most this much ...
_DRAIN_MS = const(3000)  # ... for at most this long, so the client can read our answer
_MAX_FIELDS = const(48)  # header lines; more is answered 431
_MAX_DEPTH = const(8)  # JSON nesting; the protocol's bodies are flat objects
_BUF = const(4224)  # a head up to _MAX_HEAD and its end; the body streams through after it

Request.max_content_length = _MAX_BODY
Request.max_body_length = _MAX_BODY

REASONS = {
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
MESSAGES = {
    "invalid_request": "the request body is malformed",
    "invalid_credentials": "wrong username or password",
    "invalid_code": "wrong code",
    "invalid_challenge": "unknown or expired challenge",
    "missing_token": "a bearer token is required",
    "invalid_token": "the token is invalid, revoked or expired",
    "not_found": "no such resource",
    "method_not_allowed": "method not allowed here",
    "payload_too_large": "the body is over 1024 bytes",
    "unsupported_media_type": "Content-Type must be application/json",
    "account_locked": "too many failures; try again later",
    "request_header_fields_too_large": "the header section is over 4096 bytes",
    "clock_not_synced": "the server clock is not synchronised yet",
    "internal_error": "internal error",
}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(t):
    """RFC 9110 IMF-fixdate of Unix time t, without relying on the port's gmtime epoch."""
    t = int(t)
    days, secs = divmod(t, 86400)
    wd = _DAYS[(days + 3) % 7]  # 1970-01-01 was a Thursday
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y = yoe + era * 400 + (1 if m <= 2 else 0)
    return "%s, %02d %s %04d %02d:%02d:%02d GMT" % (
        wd,
        d,
        _MONTHS[m - 1],
        y,
        secs // 3600,
        secs // 60 % 60,
        secs % 60,
    )


_SINGLE = ("host", "content-length", "authorization", "content-type", "transfer-encoding")


class Empty(Response):
    """A 204: no body, so no Content-Type either."""

    def complete(self):
        self.headers["Content-Length"] = "0"


def error(status, code, headers=None, extra=None):
    body = {"status": "error", "error": code, "message": MESSAGES[code]}
    if extra:
        body.update(extra)
    return Response(body, status, headers or {}, REASONS.get(status))


class Reject(Exception):
    """A request refused while reading it; `reader` set if unread input may follow."""

    def __init__(self, status, code, reader=None):
        self.status = status
        self.code = code
        self.reader = reader


class _Reader:
    """Bounded reads into one preallocated buffer: a request never makes the heap grow
    (or fragment) by more than its small slices. Unread data is buf[a:b]."""

    def __init__(self, stream, buf):
        self.s = stream
        self.buf = buf
        self.mv = memoryview(buf)
        self.a = 0
        self.b = 0

    async def fill(self):
        if self.b == len(self.buf):
            if self.a == 0:
                raise _Full()
            n = self.b - self.a  # compact: move the unread tail to the front
            self.buf[0:n] = self.mv[self.a : self.b]
            self.a = 0
            self.b = n
        while True:
            n = await self.s.readinto(self.mv[self.b :])
            if n is not None:  # None: a TLS record is not complete yet
                break
        if not n:
            raise EOFError()
        self.b += n

    def take(self, n):
        out = bytes(self.mv[self.a : self.a + n])
        self.a += n
        return out

    async def head(self):
        while True:
            i = self.buf.find(b"\r\n\r\n", self.a, self.b)
            if i - self.a > _MAX_HEAD:
                raise Reject(431, "request_header_fields_too_large", self)
            if i >= 0:
                # the head stays in the buffer: parse_head reads it line by line, so a
                # big head never needs one big (possibly unavailable) block of heap
                head = (self.a, i)
                self.a = i + 4
                return head
            if self.b - self.a > _MAX_HEAD:
                raise Reject(431, "request_header_fields_too_large", self)
            try:
                await self.fill()
            except EOFError:
                if self.b == self.a:
                    return None  # connected and closed without a word
                raise
            except _Full:
                raise Reject(431, "request_header_fields_too_large", self)

    async def exactly(self, n):
        while self.b - self.a < n:
            await self.fill()
        return self.take(n)

    async def line(self):
        while True:
            i = self.buf.find(b"\r\n", self.a, self.b)
            if i >= 0:
                out = self.take(i - self.a)
                self.a += 2
                return out
            if self.b - self.a > 64:
                raise Reject(400, "invalid_request")
            await self.fill()

    async def drain(self):
        """Drop what the client still sends (until it closes, _DRAIN bytes or _DRAIN_MS):
        closing on unread input would reset the connection before it reads our answer."""
        try:
            await asyncio.wait_for_ms(self._drop(), _DRAIN_MS)
        except Exception:
            pass

    async def _drop(self):
        n = 0
        while n < _DRAIN:
            self.a = self.b = 0
            await self.fill()
            n += self.b

    async def chunked(self):
        body = b""
        while True:
            size = (await self.line()).split(b";")[0].strip()
            try:
                n = int(size, 16)
            except ValueError:
                raise Reject(400, "invalid_request")
            if n < 0:
                raise Reject(400, "invalid_request")
            if n == 0:
                while await self.line():
                    pass  # trailers
                return body
            if len(body) + n > _MAX_BODY:
                raise Reject(413, "payload_too_large", self)
            body += await self.exactly(n)
            if await self.exactly(2) != b"\r\n":
                raise Reject(400, "invalid_request")


class _Full(Exception):
    pass


def _lines(buf, a, end):
    """The lines of buf[a:end] one at a time (no copy of the head, no list of lines)."""
    mv = memoryview(buf)
    while a <= end:
        b = buf.find(b"\r\n", a, end)
        if b < 0:
            b = end
        try:
            yield bytes(mv[a:b]).decode()
        except UnicodeError:
            raise Reject(400, "invalid_request")
        a = b + 2


def parse_head(buf, a, end):
    """(method, target, version, headers) of the head in buf[a:end]; Reject(400) if malformed."""
    lines = _lines(buf, a, end)
    parts = next(lines).split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or not parts[1].startswith("/"):
        raise Reject(400, "invalid_request")
    headers = NoCaseDict()
    n = 0
    for ln in lines:
        n += 1
        if n > _MAX_FIELDS:
            raise Reject(431, "request_header_fields_too_large")
        i = ln.find(":")
        if i <= 0 or ln[0] in " \t":
            raise Reject(400, "invalid_request")
        name = ln[:i]
        value = ln[i + 1 :].strip()
        if " " in name or "\t" in name:  # "Host x:1" is no header (RFC 9112 §5.1)
            raise Reject(400, "invalid_request")
        if name in headers:
            if name.lower() in _SINGLE:
                raise Reject(400, "invalid_request")
            value = headers[name] + ", " + value
        headers[name] = value
    if parts[2] == "HTTP/1.1" and "Host" not in headers:
        raise Reject(400, "invalid_request")  # RFC 9112 §3.2: exactly one Host in HTTP/1.1
    return parts[0], parts[1], parts[2][5:], headers


class App(Microdot):
    def __init__(self, clock, idle_s=5, on_request=None, buffers=1):
        super().__init__()
        self.nbuf = buffers
        self.buffers = [bytearray(_BUF) for _ in range(buffers)]
        self.clock = clock
        self.idle_s = idle_s
        self.on_request = on_request
        self.options_handler = None  # OPTIONS is a wrong method here: 405 with Allow

    def allowed(self, path):
        allow = []
        for methods, pattern, _, _, _ in self.url_map:
            if pattern.match(path) is not None:
                for m in methods:
                    if m not in allow:
                        allow.append(m)
        if "GET" in allow:
            allow.append("HEAD")
        return allow

    async def read_request(self, r, addr):
        stream = r.s
        head = await r.head()
        if head is None:
            return None
        method, url, version, headers = parse_head(r.buf, head[0], head[1])
        te = headers.get("Transfer-Encoding")
        if te is not None:
            if te.lower() != "chunked" or "Content-Length" in headers:
                raise Reject(400, "invalid_request")
            body = await r.chunked()
            del headers["Transfer-Encoding"]
        else:
            n = headers.get("Content-Length", "0")
            if not n.isdigit() or len(n) > 9:
                raise Reject(400, "invalid_request")
            n = int(n)
            if n > _MAX_BODY:
                raise Reject(413, "payload_too_large", r)
            body = await r.exactly(n)
        headers["Content-Length"] = str(len(body))
        return Request(self, addr, method, url, version, headers, body=body, sock=(stream, stream))

    async def handle_request(self, reader, writer, scheme="http"):
        addr = writer.get_extra_info("peername")
        buf = self.buffers.pop() if self.buffers else bytearray(_BUF)
        try:
            await self._handle(_Reader(reader, buf), writer, addr, scheme)
        finally:
            if len(self.buffers) < self.nbuf:
                self.buffers.append(buf)

    async def _handle(self, r, writer, addr, scheme):
        req = None
        res = None
        unread = None
        try:
            req = await asyncio.wait_for(self.read_request(r, addr), self.idle_s)
            if req is None:
                return
            req.scheme = scheme
        except Reject as e:
            res = error(e.status, e.code)
            unread = e.reader
        except asyncio.TimeoutError:
            return  # idle or trickling client: dropped without an answer (INPUT-4)
        except (OSError, EOFError):
            return  # the client went away mid-request
        except MemoryError as e:
            gc.collect()
            print("MemoryError reading a request; in use:", gc.mem_alloc())
            sys.print_exception(e)
            res = error(500, "internal_error")
        if res is None:
            try:
                res = await self.dispatch_request(req)
            except MemoryError as e:
                gc.collect()
                print("MemoryError handling a request; in use:", gc.mem_alloc())
                sys.print_exception(e)
                res = error(500, "internal_error")
        if isinstance(res, tuple):
            res = Response(*res)
        res.headers["Date"] = http_date(self.clock.now())
        res.headers["Cache-Control"] = "no-store"
        res.headers["Connection"] = "close"
        if self.on_request:
            self.on_request(req, res)
        await asyncio.wait_for(res.write(writer), self.idle_s)
        if unread is not None:
            await unread.drain()


def install_errors(app):
    """JSON bodies for the errors Microdot raises itself."""

    @app.errorhandler(404)
    def not_found(req):
        return error(404, "not_found")

    @app.errorhandler(405)
    def not_allowed(req):
        return error(405, "method_not_allowed", {"Allow": ", ".join(app.allowed(req.path))})

    @app.errorhandler(400)
    def bad(req):
        return error(400, "invalid_request")

    @app.errorhandler(413)
    def too_large(req):
        return error(413, "payload_too_large")

    @app.errorhandler(500)
    def internal(req):
        return error(500, "internal_error")

    @app.errorhandler(Exception)
    def crash(req, exc):
        return error(500, "internal_error")


def _depth(body):
    """Deepest nesting of [ and { outside strings."""
    depth = top = 0
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
            if depth > top:
                top = depth
        elif c == 93 or c == 125:  # ] }
            depth -= 1
    return top


def json_body(req):
    """The request's JSON object, or an error Response (415 / 400) to return instead."""
    ctype = req.headers.get("Content-Type")
    if ctype is None or ctype.split(";")[0].strip().lower() != "application/json":
        return None, error(415, "unsupported_media_type")
    body = req.body
    if _depth(body) > _MAX_DEPTH:  # the parser's stack grows per level: refuse deep nests
        return None, error(400, "invalid_request")
    try:
        data = json.loads(body)  # bytes: it checks UTF-8 itself, with no decoded copy
    except (ValueError, UnicodeError):  # not MemoryError: that is ours, not the client's
        return None, error(400, "invalid_request")
    if not isinstance(data, dict):
        return None, error(400, "invalid_request")
    return data, None


def text(data, key, lo, hi):
    v = data.get(key)
    if isinstance(v, str) and lo <= len(v) <= hi:
        return v
    return None


def is_code(v):
    if not isinstance(v, str) or len(v) != 6:
        return False
    for c in v.encode():  # bytes: iterating the str would intern each digit as a qstr
        if c < 48 or c > 57:
            return False
    return True


def bearer(req):
    """("ok", token) | ("missing", None) | ("invalid", None) from Authorization (SESS-3)."""
    h = req.headers.get("Authorization")
    if h is None or h[:7].lower() != "bearer ":
        return "missing", None
    tok = h[7:]
    if not tok or " " in tok or len(tok) > 256:
        return "invalid", None
    return "ok", tok


def unauthorized(kind):
    if kind == "missing":
        return error(401, "missing_token", {"WWW-Authenticate": 'Bearer realm="tfa"'})
    return error(
        401, "invalid_token", {"WWW-Authenticate": 'Bearer realm="tfa", error="invalid_token"'}
    )


def routes(app, auth, clock, info_fn, audit, server_fn):
    """The five endpoints of the protocol, each a plain function over `auth`."""

    def source(req):
        a = req.client_addr
        return a[0] if isinstance(a, tuple) else str(a)

    @app.get("/api/info")
    def info(req):
        return info_fn()

    @app.post("/api/auth/login")
    def login(req):
        data, bad = json_body(req)
        name = ""
        if bad is None:
            name = text(data, "username", 1, 64)
            pw = text(data, "password", 1, 256)
            if name is None or pw is None:
                bad = error(400, "invalid_request")
        if bad is not None:
            audit("login", name or "", source(req), "invalid_request")
            return bad
        outcome, extra = auth.login(name, pw)
        audit("login", name, source(req), outcome)
        if outcome == "locked":
            return locked(extra)
        if outcome == "invalid_credentials":
            return error(401, "invalid_credentials")
        return {"status": "2fa_required", "challenge_token": extra, "expires_in": auth.challenge_ttl_s}

    @app.post("/api/auth/verify")
    def verify(req):
        data, bad = json_body(req)
        tok = code = backup = None
        if bad is None:
            tok = text(data, "challenge_token", 1, 128)
            code = data.get("totp_code")
            backup = data.get("backup_code")
            if tok is None or (code is None) == (backup is None):
                bad = error(400, "invalid_request")
            elif code is not None and not is_code(code):
                bad = error(400, "invalid_request")
            elif backup is not None and text(data, "backup_code", 1, 32) is None:
                bad = error(400, "invalid_request")
        if bad is not None:
            audit("verify", auth.challenge_user(tok) or "" if tok else "", source(req), "invalid_request")
            return bad
        outcome, name, extra = auth.verify(tok, code, backup)
        audit("verify", name or "", source(req), outcome)
        if outcome == "clock_not_synced":
            return error(503, "clock_not_synced")
        if outcome == "locked":
            return locked(extra)
        if outcome in ("invalid_challenge", "invalid_code"):
            return error(401, outcome)
        return {
            "status": "success",
            "session_token": extra,
            "token_type": "Bearer",
            "expires_in": auth.session_ttl_s,
        }

    @app.get("/api/dashboard")
    def dashboard(req):
        kind, tok = bearer(req)
        entry = auth.session(tok) if tok else None
        if entry is None:
            return unauthorized(kind)
        return {
            "status": "success",
            "user": {"username": entry[0]},
            "session": {"issued_at": entry[1], "expires_at": entry[1] + auth.session_ttl_s + 1},
            "server": server_fn(),
        }

    @app.post("/api/auth/logout")
    def logout(req):
        kind, tok = bearer(req)
        name = auth.logout(tok) if tok else None
        if name is None:
            return unauthorized(kind)
        audit("logout", name, source(req), "revoked")
        return Empty(b"", 204, {}, "No Content")

    def locked(left):
        body = {
            "status": "locked",
            "error": "account_locked",
            "message": MESSAGES["account_locked"],
            "retry_after": left,
        }
        return Response(body, 429, {"Retry-After": str(left)}, REASONS[429])
