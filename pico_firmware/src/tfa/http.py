"""The HTTP edge: requests read, answered and routed under the limits the protocol sets.

The project's own small HTTP/1.1 server side (no web framework on the board: spec/DECISIONS.md
"One HTTP layer on the board"). A request's head is read into a preallocated buffer (header
section > 4096 bytes or > 48 lines: 431), its body is capped at 1024 bytes by Content-Length
or while de-chunking (413; the rest is drained after the answer), malformed framing is 400
(INPUT-8), and the whole read must finish within the idle timeout or the connection is
dropped (INPUT-2, INPUT-4): `tick()`, which the firmware's loop calls (through the server),
cancels a connection past its deadline. Routes are exact (method, path) pairs: the protocol
has no path parameters. Every response gets Date (from the injected clock) and
Cache-Control: no-store, and closes its connection; every error is the JSON error body of
spec/DECISIONS.md, 404 and 405 included.

Written for the board's heap: every function, class and distinct name of a loaded module
costs RAM for good, so small helpers are folded into their callers, and each table is one
string (a dict of strings costs over twice its text). Only public MicroPython APIs: a socket
is read and written through asyncio's Stream (asyncio.StreamReader).
"""

import asyncio
import gc
import json
import sys
import time

from asyncio import StreamReader
from micropython import const

from tfa.clock import civil

_MAX_HEAD = const(4096)
_MAX_BODY = const(1024)
_DRAIN = const(262144)  # after a 413/431, read and drop at most this much ...
_DRAIN_MS = const(3000)  # ... for at most this long, so the client can read our answer
_MAX_FIELDS = const(48)  # header lines; more is answered 431
_BUF = const(4224)  # a head up to _MAX_HEAD and its end; the body streams through after it

# "\n<error code> <status> <message>" per error
ERRORS = """
invalid_request 400 the request body is malformed
invalid_credentials 401 wrong username or password
invalid_code 401 wrong code
invalid_challenge 401 unknown or expired challenge
missing_token 401 a bearer token is required
invalid_token 401 the token is invalid, revoked or expired
not_found 404 no such resource
method_not_allowed 405 method not allowed here
payload_too_large 413 the body is over 1024 bytes
unsupported_media_type 415 Content-Type must be application/json
account_locked 429 too many failures; try again later
request_header_fields_too_large 431 the header section is over 4096 bytes
internal_error 500 internal error
clock_not_synced 503 the server clock is not synchronised yet
busy 503 too many logins at once; try again after Retry-After seconds
"""
REASONS = """
200 OK
204 No Content
400 Bad Request
401 Unauthorized
404 Not Found
405 Method Not Allowed
413 Content Too Large
415 Unsupported Media Type
429 Too Many Requests
431 Request Header Fields Too Large
500 Internal Server Error
503 Service Unavailable
"""
_DAYS = "ThuFriSatSunMonTueWed"  # 1970-01-01 was a Thursday
_MONTHS = "JanFebMarAprMayJunJulAugSepOctNovDec"


def row(table, key):
    """The rest of the line of `table` that starts with `key` (a code or a status)."""
    k = "\n%s " % key
    i = table.find(k) + len(k)
    return table[i : table.find("\n", i)]


def http_date(t):
    """RFC 9110 IMF-fixdate of Unix time t."""
    days, secs = divmod(int(t), 86400)
    wd = days % 7 * 3
    y, m, d = civil(t)
    m = (m - 1) * 3
    return "%s, %02d %s %04d %02d:%02d:%02d GMT" % (
        _DAYS[wd : wd + 3],
        d,
        _MONTHS[m : m + 3],
        y,
        secs // 3600,
        secs // 60 % 60,
        secs % 60,
    )


class Response:
    """An answer: status, extra headers, body (bytes; a dict is sent as JSON)."""

    def __init__(self, body=b"", status_code=200, headers=None):
        self.status_code = status_code
        self.headers = headers or {}
        if isinstance(body, dict):
            body = json.dumps(body).encode()
            self.headers["Content-Type"] = "application/json; charset=UTF-8"
        self.body = body


class Request:
    """What a handler reads: method, path (no query), the kept headers (lower-case names),
    body (bytes, or a view of the connection's buffer) and client_addr ((ip, port))."""

    def __init__(self, method, path, headers, body, client_addr):
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.client_addr = client_addr


def error(code, headers=None, extra=None):
    """The JSON error answer for `code`, with its status from ERRORS."""
    r = row(ERRORS, code)
    body = {"status": "error", "error": code, "message": r[4:]}
    if extra:
        body.update(extra)
    return Response(body, int(r[:3]), headers or {})


def failed(e):
    """The 500 for an exception of ours (a bug, or the heap exhausted), printed with the heap
    in use after a collection."""
    gc.collect()
    print(type(e).__name__, "; in use:", gc.mem_alloc())
    sys.print_exception(e)
    return error("internal_error")


class Reject(Exception):
    """A request refused while reading it: args (code,), or (code, True) if unread input may
    follow (drained after the answer: closing on it would reset the connection first), or
    (code, False) to drop only what has arrived already, then close at once."""


class _Conn:
    """A connection's socket (non-blocking; TLS-wrapped or not) as an asyncio Stream, read
    through one preallocated buffer: a request never makes the heap grow (or fragment) by more
    than its small slices. Unread data is buf[a:b]."""

    def __init__(self, sock, buf):
        self.s = sock
        self.st = StreamReader(sock)
        self.buf = buf
        self.mv = memoryview(buf)
        self.a = 0
        self.b = 0

    async def fill(self):
        if self.b == len(self.buf):
            if self.a == 0:  # only a head can fill the buffer (bodies and chunk lines are small)
                raise Reject("request_header_fields_too_large", True)
            n = self.b - self.a  # compact: move the unread tail to the front
            self.buf[0:n] = self.mv[self.a : self.b]
            self.a = 0
            self.b = n
        while True:
            n = await self.st.readinto(self.mv[self.b :])
            if n is not None:  # None: nothing yet (a TLS record is not complete)
                break
        if not n:
            raise EOFError()
        self.b += n

    async def head(self):
        """The end of the head (buf[0:end]; it stays there, parse_head reads it line by line, so
        a big head never needs one big block of heap), or None if the client sent nothing.
        A head that has not ended is looked at as it arrives: a byte no head may hold is a 400
        at once, not a wait for the rest until the idle timeout (INPUT-5 on a slow board)."""
        seen = 0
        while True:
            i = self.buf.find(b"\r\n\r\n", 0, self.b)
            if i > _MAX_HEAD or (i < 0 and self.b > _MAX_HEAD):
                raise Reject("request_header_fields_too_large", True)
            if i >= 0:
                self.a = i + 4
                return i
            for c in self.mv[seen : self.b]:
                if c < 32 and c not in (9, 10, 13) or c == 127:
                    raise Reject("invalid_request", False)
            seen = self.b
            try:
                await self.fill()
            except EOFError:
                if self.b == 0:
                    return None  # connected and closed without a word
                raise

    async def exactly(self, n):
        """The next n bytes, as a view of the buffer (valid until the next fill): a body stays
        where it was read, no 1 KB copy (the hardest block to find in a fragmented heap)."""
        while self.b - self.a < n:
            await self.fill()
        self.a += n
        return self.mv[self.a - n : self.a]

    async def line(self):
        while True:
            i = self.buf.find(b"\r\n", self.a, self.b)
            if i >= 0:
                out = bytes(self.mv[self.a : i])
                self.a = i + 2
                return out
            if self.b - self.a > 64:
                raise Reject("invalid_request")
            await self.fill()


# the only headers kept (each at most once); every line is still checked
_KEPT = ("host", "content-length", "transfer-encoding", "content-type", "authorization")


def parse_head(buf, end):
    """(method, path, headers) of the head in buf[0:end], read one line at a time
    (no copy of the head, no list of lines); Reject if malformed. headers: a plain dict of
    the _KEPT headers by lower-case name (the rest are checked, not kept: less heap)."""
    mv = memoryview(buf)
    a = n = 0
    parts = None
    headers = {}
    while a <= end:
        b = buf.find(b"\r\n", a, end)
        if b < 0:
            b = end
        ln = bytes(mv[a:b])
        # no control character but HTAB in any line: NUL, a bare CR or LF, DEL (INPUT-8)
        if ln and (min(ln) < 32 or 127 in ln):
            for c in ln:
                if c < 32 and c != 9 or c == 127:
                    raise Reject("invalid_request")
        try:
            ln = ln.decode()
        except UnicodeError:
            raise Reject("invalid_request")
        a = b + 2
        if parts is None:  # the request line
            parts = ln.split(" ")
            if len(parts) != 3 or not parts[1].startswith("/"):
                raise Reject("invalid_request")
            if parts[2] != "HTTP/1.1" and parts[2] != "HTTP/1.0":
                raise Reject("invalid_request")  # HTTP/2.0, HTTP/1.5, HTTP/9.9 (INPUT-8)
            continue
        n += 1
        if n > _MAX_FIELDS:
            raise Reject("request_header_fields_too_large")
        i = ln.find(":")
        if i <= 0 or ln[0] in " \t":
            raise Reject("invalid_request")
        name = ln[:i].lower()
        if " " in name or "\t" in name:  # "Host x:1" is no header (RFC 9112 §5.1)
            raise Reject("invalid_request")
        if name in _KEPT:
            if name in headers:
                raise Reject("invalid_request")
            headers[name] = ln[i + 1 :].strip()
    if parts[2] == "HTTP/1.1" and "host" not in headers:
        raise Reject("invalid_request")  # RFC 9112 §3.2: exactly one Host in HTTP/1.1
    # the target without its query: no endpoint reads one
    target = parts[1]
    i = target.find("?")
    return parts[0], target if i < 0 else target[:i], headers


class App:
    """The routes, the connections' deadlines, and the reading and answering of a request."""

    def __init__(self, clock, idle_s=5, on_request=None, buffers=1):
        self.table = []  # (method, exact path, handler(Request) -> Response or a JSON dict)
        self.nbuf = buffers
        self.buffers = [bytearray(_BUF) for _ in range(buffers)]
        self.clock = clock
        self.idle_s = idle_s
        self.on_request = on_request
        self.deadlines = {}  # a connection's task -> ticks_ms by which it must be done

    def limit(self, ms):
        """The current task (a connection) is cancelled if it is still at it in `ms`."""
        self.deadlines[asyncio.current_task()] = time.ticks_add(time.ticks_ms(), ms)

    def tick(self):
        """Cancel the connections past their deadline: one dict entry each, where
        asyncio.wait_for costs a task and a closure per wait (and its module 0.7 KB for good)."""
        now = time.ticks_ms()
        late = None
        for task, deadline in self.deadlines.items():
            if time.ticks_diff(now, deadline) >= 0:
                late = late or []
                late.append(task)
        for task in late or ():
            del self.deadlines[task]
            task.cancel()

    def route(self, method, path, handler):
        self.table.append((method, path, handler))

    def dispatch(self, req):
        """The handler's answer for req's exact path and method (HEAD as GET: the writer drops
        the body); else 404, or 405 with Allow (OPTIONS too); a handler that fails is a 500."""
        allow = ""
        for method, path, handler in self.table:
            if path != req.path:
                continue
            if method == req.method or (method == "GET" and req.method == "HEAD"):
                try:
                    res = handler(req)
                except Exception as e:  # a bug or MemoryError: the client still gets an answer
                    return failed(e)
                return res if isinstance(res, Response) else Response(res)
            allow += ", " + method + (", HEAD" if method == "GET" else "")
        if allow:
            return error("method_not_allowed", {"Allow": allow[2:]})
        return error("not_found")

    async def read_request(self, r, addr):
        end = await r.head()
        if end is None:
            return None
        method, url, headers = parse_head(r.buf, end)
        te = headers.get("transfer-encoding")
        if te is not None:
            if te.lower() != "chunked" or "content-length" in headers:
                # RFC 9112 §6.1: refused and closed at once; what has arrived after it is
                # dropped unread, never served (dropping it first spares our 400 a reset)
                raise Reject("invalid_request", False)
            body = b""
            while True:
                try:
                    n = int((await r.line()).split(b";")[0].strip(), 16)
                    if n < 0:
                        raise ValueError()
                except ValueError:
                    raise Reject("invalid_request")
                if n == 0:
                    break
                if len(body) + n > _MAX_BODY:
                    raise Reject("payload_too_large", True)
                body += await r.exactly(n)
                if await r.exactly(2) != b"\r\n":
                    raise Reject("invalid_request")
            while await r.line():
                pass  # trailers
        else:
            n = headers.get("content-length", "0")
            if not n.isdigit():
                raise Reject("invalid_request")
            # all digits but more than the limit, however many digits: 413 (INPUT-8)
            if len(n) > 9 or int(n) > _MAX_BODY:
                raise Reject("payload_too_large", True)
            n = int(n)
            body = await r.exactly(n)
        return Request(method, url, headers, body, addr)

    async def handle_request(self, sock, peer):
        """Read, answer and (after a 413/431) drain one request on `sock`, from `peer`
        ((ip, port)); the caller closes the socket."""
        buf = self.buffers.pop() if self.buffers else bytearray(_BUF)
        r = _Conn(sock, buf)
        req = None
        drain = None
        me = asyncio.current_task()
        try:
            self.limit(self.idle_s * 1000)  # the TLS handshake and the whole request
            try:
                req = await self.read_request(r, peer)
                if req is None:
                    return
                res = self.dispatch(req)
            except Reject as e:
                res = error(e.args[0])
                drain = e.args[1] if len(e.args) > 1 else None
            except (OSError, EOFError):
                return  # the client went away
            except MemoryError as e:
                res = failed(e)
            if self.on_request:
                self.on_request(req, res)
            # one write (one TLS record); the headers every answer has go straight into it;
            # MicroPython formats str into bytes
            s = res.status_code
            body = res.body
            out = bytearray(
                b"HTTP/1.0 %d %s\r\nDate: %s\r\n"
                b"Cache-Control: no-store\r\nConnection: close\r\n"
                % (s, row(REASONS, s), http_date(self.clock.now()))
            )
            if s != 204:  # RFC 9110 §8.6: a 204 carries no Content-Length
                out += b"Content-Length: %d\r\n" % len(body)
            for k, v in res.headers.items():
                out += b"%s: %s\r\n" % (k, v)
            out += b"\r\n"
            if req is None or req.method != "HEAD":
                out += body
            self.limit(self.idle_s * 1000)
            r.st.write(out)
            await r.st.drain()
            if drain is False:  # drop what has arrived, without waiting for more
                try:
                    while sock.readinto(r.mv):
                        pass
                except OSError:
                    pass
            if drain:  # read and drop what the client still sends, until it closes
                self.limit(_DRAIN_MS)
                n = 0
                try:
                    while n < _DRAIN:
                        r.a = r.b = 0
                        await r.fill()
                        n += r.b
                except Exception:
                    pass  # it closed: we close too
        except asyncio.CancelledError:
            pass  # past its deadline: an idle or trickling client goes unanswered (INPUT-4)
        finally:
            self.deadlines.pop(me, None)
            if len(self.buffers) < self.nbuf:
                self.buffers.append(buf)
