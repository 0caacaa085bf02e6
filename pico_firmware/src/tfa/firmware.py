"""Wires the layers together: store -> auth core -> HTTP edge -> server, plus the adapters
(clock, Wi-Fi, event log, UI) that the board or the emulator hands in as a dict:
    {"clock", "wifi", "events", "rand", "display", "led", "buttons"}  (the last three optional)
"""

import asyncio
import gc
import os

import micropython
from micropython import const

from tfa import api, http
from tfa.auth import Auth
from tfa.lockout import Lockout
from tfa.throttle import Throttle
from tfa.store import Store, exists

_TICK_MS = const(100)


def path(root, p):
    """A board path ("/cert.der") under root ("/" on the board, "./" on the Unix port)."""
    return root + p.lstrip("/")


class Firmware:
    def __init__(self, cfg, users, ad, root):
        self.cfg = cfg
        self.clock = ad["clock"]
        self.wifi = ad.get("wifi")
        self.events = ad.get("events")
        tls = cfg.get("tls")
        host = cfg.get("hostname") or "pico-tfa.local"
        port = cfg["port"]
        self.url = ("https" if tls else "http") + "://" + host
        self.url += "" if port in (80, 443) else ":%d" % port
        self.ui = self._ui(ad, host)
        self.booting("loading state")
        self.store = Store(path(root, "/state"))
        policy = {
            "lockout_s": cfg["lockout_s"],
            "session_ttl_s": cfg["session_ttl_s"],
            "challenge_ttl_s": cfg["challenge_ttl_s"],
        }
        rand = ad.get("rand") or os.urandom
        lockout = Lockout(path(root, "/state/lockout"), rand)
        throttle = Throttle(cfg["throttle_max_failures"], cfg["throttle_window_s"])
        # users: a tfa.users.UserFile; unknown names cost as much as its costliest entry
        self.auth = Auth(
            users, policy, self.clock, rand, self.store, users.iterations, lockout, throttle
        )
        if self.store.recovered:
            print("state:", self.store.recovered)
        slots = cfg["max_connections"]
        self.app = http.App(self.clock, cfg["idle_timeout_s"], self.on_request, slots)
        api.routes(
            self.app,
            self.auth,
            self.clock,
            self.info,
            self.audit,
            self.server_stats,
            lambda ip: self.server.saturated(ip),
        )
        ctx = None
        self.booting("starting " + ("HTTPS" if tls else "HTTP"))
        if tls:
            from tfa.server import tls_context

            with open(path(root, tls["cert"]), "rb") as f:
                cert = f.read()
            with open(path(root, tls["key"]), "rb") as f:
                key = f.read()
            ctx = tls_context(cert, key)
            del cert, key
        from tfa.server import Server

        bind = cfg.get("bind", "0.0.0.0")
        self.server = Server(self.app, bind, cfg["port"], ctx, slots, cfg["idle_timeout_s"])
        stop = cfg.get("stop_file")
        self.stop_file = path(root, stop) if stop else None
        gc.collect()

    def booting(self, message):
        if self.ui is not None:
            self.ui.boot(message)

    def _ui(self, ad, host):
        if ad.get("display") is None:
            return None
        try:
            from tfa.ui import UI
        except ImportError:
            return None
        info = {
            "hostname": host,
            "name": host,
            "version": "1",
            "cert_sha256": self.cfg.get("cert_sha256") or "",
            "url": self.url,
        }
        return UI(ad["display"], ad["led"], ad["buttons"], self.ui_stats, info, self.wifi, self.events)

    # ---- facts ----------------------------------------------------------------------
    def info(self):
        return {
            "api_version": "1",
            "server_time": self.clock.now(),
            "time_synced": bool(self.clock.synced()),
            "profile": self.cfg["profile"],
            "totp": {"algorithm": "SHA1", "digits": 6, "period": 30, "skew_steps": 1},
            "lockout": {"max_failures": 5, "duration_s": self.cfg["lockout_s"], "escalation": "double"},
            "throttle": {
                "max_failures": self.cfg["throttle_max_failures"],
                "window_s": self.cfg["throttle_window_s"],
            },
            "session_ttl_s": self.cfg["session_ttl_s"],
            "challenge_ttl_s": self.cfg["challenge_ttl_s"],
            "server": self.server_stats(),
        }

    def server_stats(self):
        return {
            "name": self.cfg.get("hostname") or "pico-tfa",
            "implementation": "pico_firmware (MicroPython)",
            "heap_peak": self.server.heap_peak,
            "heap_alloc": gc.mem_alloc(),
            "heap_free": gc.mem_free(),
            "requests": self.server.served,
            "dropped_idle": self.server.dropped_idle,
            "dropped_crowd": self.server.dropped_crowd,
            "state_writes": self.store.writes + self.auth.lockout.writes,
        }

    def ui_stats(self):
        s = self.auth.stats()
        s["ip"] = self.wifi.ip() if self.wifi else None
        s["url"] = self.url
        s["time"] = self.clock.now()
        s["synced"] = bool(self.clock.synced())
        return s

    # ---- hooks ----------------------------------------------------------------------
    def audit(self, kind, username, source, outcome):
        """LOG-1: one line per outcome; never a password, code, secret or token."""
        now = self.clock.now()
        if self.events is not None:
            try:
                self.events.record(
                    {"time": now, "event": kind, "username": username, "source": source, "outcome": outcome}
                )
            except (OSError, ValueError) as e:
                print("event log:", type(e).__name__)
        if self.ui is not None:
            self.ui.event(kind, outcome, username, now)

    def on_request(self, req, res):
        # the request, its answer and all the state are live here: collect the garbage
        # and what is left is this request's true peak of heap in use
        gc.collect()
        self.server.sample_heap()

    # ---- loop -----------------------------------------------------------------------
    async def housekeeping(self):
        while True:
            if self.stop_file and exists(self.stop_file):
                os.remove(self.stop_file)
                self.stopping.set()  # a clean stop between requests (the emulator asks)
            try:
                self.clock.tick()
                self.server.tick()
                if self.wifi is not None:
                    self.wifi.tick()
                if self.ui is not None:
                    self.ui.tick()
            except Exception as e:  # an adapter's hiccup must not stop the server
                print("tick:", type(e).__name__, e)
            await asyncio.sleep_ms(_TICK_MS)

    def screenshots(self, directory, phase):
        """Every screen as DIR/start/NAME.png or DIR/stop/NAME.png (the emulator makes both)."""
        if self.ui is None:
            return
        display = self.ui.display

        def save(name):
            display.save_png(directory + "/" + phase + "/" + name + ".png")

        self.ui.render_all(save)

    async def main(self):
        self.stopping = asyncio.Event()
        self.server.listen()
        gc.collect()
        print("serving on %s port %d" % (self.cfg.get("bind", "0.0.0.0"), self.cfg["port"]))
        print("heap in use:", gc.mem_alloc())  # after boot, for the bench
        if self.ui is not None:
            self.ui.show("main")  # booted: from the boot screen to the main one
        shots = self.cfg.get("screenshot_dir")
        if shots:
            self.screenshots(shots, "start")
        asyncio.create_task(self.housekeeping())
        asyncio.create_task(self.server.serve())
        await self.stopping.wait()

    def shutdown(self):
        # each run's peak and interned strings, for the bench (a restart starts again)
        print("heap peak:", self.server.heap_peak)
        micropython.qstr_info()
        shots = self.cfg.get("screenshot_dir")
        if shots:
            self.screenshots(shots, "stop")


def run(cfg, users, ad, root):
    fw = Firmware(cfg, users, ad, root)
    # collect once an eighth of what is free has been allocated, not only when an allocation
    # fails: garbage is reclaimed while it is small, and new blocks fill the lowest holes, so
    # the heap stays in few large free runs. Measured (when the firmware still needed more
    # heap): with a quarter, the full suite needed 192K on the Unix port; with an eighth, 184K.
    gc.threshold(gc.mem_free() // 8)
    try:
        asyncio.run(fw.main())
    except KeyboardInterrupt:
        pass
    finally:
        fw.shutdown()
        print("stopped")
