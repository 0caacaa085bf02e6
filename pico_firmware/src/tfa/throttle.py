"""Failures per source address over a sliding window (LOCK-8), in a fixed table.

An address's failures are counted in buckets of `window_s / 10` seconds (at least 1); the
count over the window sums every bucket that overlaps it, so it can only be higher than the
exact count (by at most one bucket's worth), never lower. Past `max_failures`, the address
waits until enough of its oldest buckets have left the window.

The table holds ADDRESSES records. A new address takes a record whose failures have all
left the window, or else the one with the fewest failures in it: an attacker's record can
only be evicted once every other record holds at least as many failures as its own, which
costs more failures (all counted by name too, LOCK-1) than moving to a new address would
(spec/DECISIONS.md "Per-address throttling"). Kept in RAM: a reboot forgets it.
"""

from micropython import const

ADDRESSES = const(16)
_BUCKETS_PER_WINDOW = const(10)


class Throttle:
    def __init__(self, max_failures, window_s):
        self.max = max_failures
        self.w = max(1, (window_s + _BUCKETS_PER_WINDOW - 1) // _BUCKETS_PER_WINDOW)
        # n buckets of w seconds cover any window_s-second window ending now
        self.n = (window_s + self.w - 1) // self.w + 1
        self.addrs = [None] * ADDRESSES
        self.last = [0] * ADDRESSES  # each record's newest bucket number (time // w)
        self.counts = bytearray(ADDRESSES * self.n)  # ring of n counts per record

    def _roll(self, r, now):
        """Record r's ring brought to now: buckets that left the window are zeroed."""
        b = now // self.w
        last = self.last[r]
        n = self.n
        for j in range(1, min(b - last, n) + 1):
            self.counts[r * n + (last + j) % n] = 0
        if b > last:
            self.last[r] = b

    def _total(self, r, now):
        self._roll(r, now)
        n = self.n
        return sum(self.counts[r * n : r * n + n])

    def retry_after(self, addr, now):
        """Seconds until `addr` is under its limit again (>= 1), or 0 if it is under it now."""
        if addr not in self.addrs:
            return 0
        r = self.addrs.index(addr)
        left = self._total(r, now)
        if left < self.max:
            return 0
        n = self.n
        b = self.last[r]
        for j in range(1, n + 1):  # the oldest bucket (b-n+1) leaves the window at (b+1)*w
            left -= self.counts[r * n + (b - n + j) % n]
            if left < self.max:
                return (b + j) * self.w - now
        return (b + n) * self.w - now

    def fail(self, addr, now):
        if addr in self.addrs:
            r = self.addrs.index(addr)
        else:
            r = 0
            fewest = None
            for i in range(ADDRESSES):
                if self.addrs[i] is None:
                    r = i
                    break
                t = self._total(i, now)
                if fewest is None or t < fewest:
                    r, fewest = i, t
            self.addrs[r] = addr
            self.last[r] = now // self.w
            n = self.n
            for j in range(n):
                self.counts[r * n + j] = 0
        self._roll(r, now)
        i = r * self.n + self.last[r] % self.n
        if self.counts[i] < 255:
            self.counts[i] += 1
