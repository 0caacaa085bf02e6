"""Serving: one listening socket, at most `max_connections` connections at a time.

Our own accept loop (not asyncio.start_server) because a TLS connection costs a Pico W
tens of KB of heap the moment it is wrapped: we accept the next connection only when a
slot is free, so the rest wait in the kernel backlog instead of in RAM. Each connection
carries one request (the response says Connection: close); the idle timeout drops clients
that send nothing or trickle (INPUT-4), freeing the slot.
"""

import asyncio
import gc
import socket
import sys

from asyncio import core
from micropython import const

_BACKLOG = const(8)
_MAX_PENDING = const(8)  # accepted, not yet sending: a socket each, no TLS state


def tls_context(cert, key):
    """Server context for an EC P-256 certificate and key, both DER bytes."""
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


class Server:
    """Accepts up to _MAX_PENDING sockets, but wraps and serves at most `max_connections`.

    A new socket waits, unwrapped, until its first bytes arrive: a client that connects and
    sends nothing never takes the TLS slot and is dropped after the idle timeout (INPUT-4)
    by `tick()`, which the firmware's loop calls: one deadline per connection in the app's
    table (tfa.http App.limit), where asyncio.wait_for would cost each ~900 bytes more of
    heap (a task and its coroutine). A client that trickles holds the slot at most the idle
    timeout (tfa.http).
    """

    def __init__(self, app, host, port, ctx=None, max_connections=1, idle_s=5):
        self.app = app
        self.host = host
        self.port = port
        self.ctx = ctx
        self.max = max_connections
        self.idle_s = idle_s
        self.pending = 0
        self.active = 0
        self.changed = asyncio.Event()
        self.served = 0
        self.dropped_idle = 0
        self.heap_peak = 0
        self.sock = None

    def sample_heap(self):
        a = gc.mem_alloc()
        if a > self.heap_peak:
            self.heap_peak = a

    def listen(self):
        ai = socket.getaddrinfo(self.host, self.port)[0]
        s = socket.socket(ai[0], socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(ai[-1])
        s.listen(_BACKLOG)
        s.setblocking(False)
        self.sock = s

    async def serve(self):
        s = self.sock
        while True:
            while self.pending >= _MAX_PENDING:
                self.changed.clear()
                await self.changed.wait()
            yield core._io_queue.queue_read(s)
            try:
                c, addr = s.accept()
            except OSError:
                continue
            c.setblocking(False)
            self.pending += 1
            asyncio.create_task(self._one(c, addr))

    def tick(self):
        """Drop the connections past their deadline (INPUT-4)."""
        self.app.tick()

    async def _one(self, c, addr):
        # a socket's life from accept to close; up to _MAX_PENDING of these wait at once, so
        # the waiting part is kept small (its frame is heap) and serving is in _serve
        app = self.app
        app.limit(self.idle_s * 1000)
        try:
            yield core._io_queue.queue_read(c)  # its first bytes
        except asyncio.CancelledError:  # tick(): nothing sent within the idle timeout
            self.dropped_idle += 1
            c.close()
            self.pending -= 1
            self.changed.set()
            return
        del app.deadlines[asyncio.current_task()]  # waiting for the slot has no deadline
        while self.active >= self.max:
            self.changed.clear()
            await self.changed.wait()
        self.pending -= 1
        await self._serve(c, addr)

    async def _serve(self, c, addr):
        self.active += 1
        try:
            if self.ctx is not None:
                c = self.ctx.wrap_socket(c, server_side=True, do_handshake_on_connect=False)
            await self.app.handle_request(c, _peer(addr), "https" if self.ctx else "http")
            self.served += 1
        except Exception as e:  # a broken connection must never stop the server
            if not isinstance(e, OSError):
                sys.print_exception(e)
        finally:
            try:
                c.close()
            except Exception:
                pass
            self.active -= 1
            gc.collect()
            self.changed.set()


def _peer(addr):
    """(ip, port) from what accept() returned: a tuple on the board, a raw sockaddr on the
    Unix port (sockaddr_in: family 2; sockaddr_in6: family 10, Linux byte order)."""
    if isinstance(addr, tuple):
        return addr
    try:
        port = addr[2] << 8 | addr[3]
        if len(addr) >= 8 and addr[0] == 2 and addr[1] == 0:
            return ("%d.%d.%d.%d" % (addr[4], addr[5], addr[6], addr[7]), port)
        if len(addr) >= 24 and addr[0] == 10 and addr[1] == 0:
            words = ["%x" % (addr[i] << 8 | addr[i + 1]) for i in range(8, 24, 2)]
            return (":".join(words), port)
    except (TypeError, IndexError):
        pass
    return ("?", 0)
