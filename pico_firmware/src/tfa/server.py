"""Serving: one listening socket, at most `max_connections` connections at a time.

Our own accept loop (not asyncio.start_server) because a TLS connection costs a Pico W
tens of KB of heap the moment it is wrapped: a connection is wrapped only when it gets a
slot, and the rest wait as bare sockets. Each connection carries one request (the response
says Connection: close); the idle timeout drops clients that send nothing or trickle
(INPUT-4), freeing the slot.

Fairness (INPUT-7, INPUT-6): the next connection served is the one whose source address was
served least recently (a new address counts as served when it came; the oldest connection
first among equals), so connections from one address, however many, take turns with every
other address, and a flood of new addresses queues behind the addresses already waiting. At most
_MAX_PENDING sockets wait; when one more comes, the oldest waiting socket of the address
holding most is dropped, so a crowd from one address cannot keep another address out.
A burst from one address (simultaneous logins from one client, LOCK-5) is not thinned
while it is fresh: accepting pauses instead, and the rest wait in the kernel's backlog.
"""

import asyncio
import gc
import socket
import sys
import time

from asyncio import StreamReader
from micropython import const

# The listen backlog. On the Unix port the kernel holds a flood of 64 here with no SYN dropped
# (INPUT-6). On a Pico W it is lwIP's pool that bounds it: MicroPython's rp2 lwIP has the default
# MEMP_NUM_TCP_PCB of 5, so at most 5 connections exist at once, served, waiting or queued here,
# and a flood's further SYNs are dropped until one closes (the clients' kernels retry them after
# 1 s, 3 s, ...). modlwip's backlog costs a pointer a place (384 B of heap).
_BACKLOG = const(96)
_MAX_PENDING = const(8)  # accepted, not yet served: a socket each, no TLS state
_ADDRESSES = const(32)  # source addresses whose last turn is remembered
_WAIT_S = const(20)  # a connection's life from accept until it is served (INPUT-4: 30)

# a waiting connection: [task, source ip, has sent bytes, socket, accepted at (ticks_ms)]
_TASK = const(0)
_IP = const(1)
_READY = const(2)
_SOCK = const(3)
_AT = const(4)


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
    heap (a task and its coroutine). One that has sent bytes waits for its turn at most
    _WAIT_S from its accept; then a client that trickles holds the slot at most the idle
    timeout (tfa.http).
    """

    def __init__(self, app, host, port, ctx=None, max_connections=1, idle_s=5):
        self.app = app
        self.host = host
        self.port = port
        self.ctx = ctx
        self.max = max_connections
        self.idle_s = idle_s
        self.waiting = []  # the waiting connections (see _TASK...), oldest first
        self.turn = 0
        # source ip -> the turn its last connection was served at, or when it came (a new
        # address queues behind those already waiting, never ahead of them)
        self.turns = {}
        self.active = 0
        self.changed = asyncio.Event()
        self.served = 0
        self.dropped_idle = 0
        self.dropped_crowd = 0
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
            while len(self.waiting) > _MAX_PENDING or (
                len(self.waiting) == _MAX_PENDING and not self.crowd()
            ):
                self.changed.clear()
                await self.changed.wait()
            await readable(s)
            try:
                c, addr = s.accept()
            except OSError:
                continue
            c.setblocking(False)
            victim = self.crowd()
            if len(self.waiting) >= _MAX_PENDING and victim:
                self.dropped_crowd += 1
                victim[_TASK].cancel()  # first: it leaves the poller while its socket is open
                self.forget(victim)
            entry = [None, _peer(addr)[0], False, c, time.ticks_ms()]
            self.join(entry)
            try:
                entry[_TASK] = asyncio.create_task(self._one(c, addr, entry))
            except MemoryError:  # no room for its task: close it, and keep accepting
                self.forget(entry)

    def join(self, entry):
        """A new waiting connection; an address not seen lately queues as if served just
        before the last one: behind those waiting longer, ahead of the one served last."""
        if entry[_IP] not in self.turns:
            self.turns[entry[_IP]] = self.turn - 1
        self.waiting.append(entry)

    def saturated(self, ip):
        """INPUT-6: every waiting place is taken, not only by ip's own connections (a burst
        from one client is not thinned): a login from ip is answered 503 busy instead of
        hashed, so each connection waiting costs the others a handshake, never a hash too."""
        w = self.waiting
        return len(w) >= _MAX_PENDING and any(e[_IP] != ip for e in w)

    def crowd(self):
        """The waiting connection to drop for a newcomer: the oldest of the address holding
        most, once it has waited the idle timeout (a fresh burst is not thinned), or None."""
        most = 0
        victim = None
        for e in self.waiting:
            n = 0
            for f in self.waiting:
                if f[_IP] == e[_IP]:
                    n += 1
            if n > most:
                most, victim = n, e
        if victim and time.ticks_diff(time.ticks_ms(), victim[_AT]) >= self.idle_s * 1000:
            return victim
        return None

    def leave(self, entry):
        """Take entry off the waiting list (found by identity); False if it was not on it."""
        w = self.waiting
        for i in range(len(w)):
            if w[i] is entry:
                del w[i]
                self.changed.set()
                return True
        return False

    def forget(self, entry):
        """A waiting connection is gone: its socket closed, its place and deadline freed."""
        if self.leave(entry):
            self.app.deadlines.pop(entry[_TASK], None)
            entry[_SOCK].close()
            return True
        return False

    def chosen(self):
        """The waiting connection to serve next: of those that have sent bytes, the one whose
        address was served least recently, the oldest among equals (INPUT-7)."""
        best = None
        turns = self.turns
        for e in self.waiting:
            if e[_READY] and (best is None or turns.get(e[_IP], 0) < turns.get(best[_IP], 0)):
                best = e
        return best

    def served_now(self, ip):
        """ip's connection takes the slot: its turn is the newest."""
        self.turn += 1
        turns = self.turns
        turns[ip] = self.turn
        if len(turns) > _ADDRESSES:  # forget addresses not waiting: first the recent ones,
            # which would come back at about the same place; those served long ago keep it
            for recent in (self.turn - _ADDRESSES, -1):
                for k in list(turns):
                    if k != ip and turns[k] > recent and not any(e[_IP] == k for e in self.waiting):
                        del turns[k]
                if len(turns) <= _ADDRESSES:
                    break

    def tick(self):
        """Drop the connections past their deadline (INPUT-4)."""
        self.app.tick()

    async def _one(self, c, addr, entry):
        # a socket's life from accept to close; up to _MAX_PENDING of these wait at once, so
        # the waiting part is kept small (its frame is heap) and serving is in _serve
        app = self.app
        app.limit(self.idle_s * 1000)
        try:
            await readable(c)  # its first bytes (or its end)
            entry[_READY] = True
            app.limit((_WAIT_S - self.idle_s) * 1000)  # its turn, within _WAIT_S of accept
            while self.active >= self.max or self.chosen() is not entry:
                self.changed.clear()
                await self.changed.wait()
        except asyncio.CancelledError:  # tick(), or forgotten for a newcomer already
            if self.forget(entry):
                self.dropped_idle += 1
            return
        self.leave(entry)  # with more than one slot, the next may go too
        self.served_now(entry[_IP])
        await self._serve(c, addr)

    async def _serve(self, c, addr):
        self.active += 1
        try:
            if self.ctx is not None:
                c = self.ctx.wrap_socket(c, server_side=True, do_handshake_on_connect=False)
            await self.app.handle_request(c, _peer(addr))
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


async def readable(sock):
    """Wait until sock has something to read (a connection to accept, bytes, or the end),
    reading nothing: Stream.read(0) polls the socket, then sock.read(0) returns b"" at once
    (MicroPython's stream read of 0 bytes never calls the socket's own read)."""
    await StreamReader(sock).read(0)


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
