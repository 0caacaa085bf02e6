"""Serving: one listening socket, at most `max_connections` connections at a time.

Our own accept loop (not asyncio.start_server) because a TLS connection costs a Pico W
tens of KB of heap the moment it is wrapped: we accept the next connection only when a
slot is free, so the rest wait in the kernel backlog instead of in RAM. Each connection
carries one request (the response says Connection: close); the idle timeout in tfa.http
drops clients that send nothing (INPUT-4), freeing the slot.
"""

import asyncio
import gc
import socket
import sys

from asyncio import core
from micropython import const

BACKLOG = const(8)


def tls_context(cert, key):
    """Server context for an EC P-256 certificate and key, both DER bytes."""
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


class Server:
    def __init__(self, app, host, port, ctx=None, max_connections=1):
        self.app = app
        self.host = host
        self.port = port
        self.ctx = ctx
        self.max = max_connections
        self.active = 0
        self.free = asyncio.Event()
        self.served = 0
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
        s.listen(BACKLOG)
        s.setblocking(False)
        self.sock = s

    async def serve(self):
        s = self.sock
        scheme = "https" if self.ctx else "http"
        while True:
            while self.active >= self.max:
                self.free.clear()
                await self.free.wait()
            yield core._io_queue.queue_read(s)
            try:
                c, addr = s.accept()
            except OSError:
                continue
            if self.ctx is not None:
                try:
                    c = self.ctx.wrap_socket(c, server_side=True, do_handshake_on_connect=False)
                except Exception as e:  # out of memory or TLS set-up failure: drop this one
                    c.close()
                    print("tls wrap failed:", type(e).__name__)
                    gc.collect()
                    continue
            c.setblocking(False)
            stream = asyncio.StreamReader(c, {"peername": _peer(addr)})
            self.active += 1
            asyncio.create_task(self._one(stream, scheme))

    async def _one(self, stream, scheme):
        try:
            await self.app.handle_request(stream, stream, scheme)
        except Exception as e:  # a broken connection must never stop the server
            if not isinstance(e, OSError):
                sys.print_exception(e)
        finally:
            try:
                stream.close()
                await stream.wait_closed()
            except Exception:
                pass
            self.served += 1
            self.active -= 1
            gc.collect()
            self.free.set()


def _peer(addr):
    """(ip, port) from what accept() returned: a tuple on some ports, raw sockaddr on others."""
    if isinstance(addr, tuple):
        return addr
    try:
        if len(addr) >= 8 and addr[0] == 2 and addr[1] == 0:  # sockaddr_in (Unix port)
            return ("%d.%d.%d.%d" % (addr[4], addr[5], addr[6], addr[7]), addr[2] << 8 | addr[3])
    except TypeError:
        pass
    return ("?", 0)
