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
    assert {"Microdot", "Request", "Response", "NoCaseDict", "URLPattern"} <= after[None]
    assert {"route", "get", "post", "errorhandler", "dispatch_request", "find_route"} <= after[
        "Microdot"
    ]
    assert {"__init__", "complete", "write", "body_iter"} <= after["Response"]
    slimmed = slim.slim_microdot(SOURCE)
    for attr in slim.DROP_SELF["Request"]:
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


def test_slim_microdot_compiles_and_serves_a_route_on_micropython(tmp_path: Path) -> None:
    slim.write_slim_microdot(emulator.microdot_source(), tmp_path / "src" / "microdot.py")
    out = tmp_path / "microdot.mpy"
    subprocess.run([tool("mpy-cross"), "-o", str(out), str(tmp_path / "src" / "microdot.py")],
                   check=True)  # fmt: skip
    script = (
        "import sys, asyncio\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "from microdot import Microdot, Request, NoCaseDict\n"
        "app = Microdot()\n"
        "@app.get('/x')\n"
        "def x(req):\n"
        "    return {'ok': req.args['a']}\n"
        "h = NoCaseDict({'Host': 'h'})\n"
        "req = Request(app, ('1', 1), 'GET', '/x?a=1', '1.1', h, body=b'')\n"
        "res = asyncio.run(app.dispatch_request(req))\n"
        "print(res.status_code, res.body.decode())\n"
        "req = Request(app, ('1', 1), 'POST', '/x', '1.1', h, body=b'')\n"
        "print(asyncio.run(app.dispatch_request(req)).status_code)\n"
        "print(hasattr(Microdot, 'run'), hasattr(Request, 'create'))\n"
    )
    r = subprocess.run([tool("micropython"), "-c", script], capture_output=True, text=True,
                       timeout=60, check=False)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.split("\n")[:3] == ['200 {"ok": "1"}', "405", "False False"]


def test_command_line_writes_the_slim_source(tmp_path: Path) -> None:
    dest = tmp_path / "a" / "microdot.py"
    assert slim.main([str(emulator.microdot_source()), str(dest)]) == 0
    assert "def start_server" not in dest.read_text()
    assert slim.main([str(tmp_path / "none.py"), str(dest)]) == 1
    assert slim.main([]) == 2
