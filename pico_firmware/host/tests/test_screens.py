"""Every screen, drawn by the firmware on the MicroPython Unix port, is a real, non-blank PNG.

The PNG is decoded here on CPython by hand (chunk CRCs, zlib, scanline filters), so a file
that only looks like a PNG fails.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
SCREENS = ("boot", "wifi", "main", "log", "cert")
MICROPYTHON = shutil.which("micropython", path=str(Path(sys.executable).parent)) or shutil.which(
    "micropython"
)

RENDER = """
import sys
sys.path.insert(0, {src!r})
from emulated import Hardware
from tfa.buttons import Buttons
from tfa.framebuf_display import FramebufDisplay
from tfa.led import Led
from tfa.ui import UI
from tfa.wifi import Wifi

T = 1795000000
d = FramebufDisplay(320, 240)


def stats():
    return {{"logins_ok": 12, "logins_failed": 3, "locked": 1, "sessions": 2,
            "ip": "192.168.1.50", "url": "https://pico-tfa.local", "time": T,
            "synced": {synced}}}


info = {{"hostname": "pico-tfa.local", "version": "0.1.0", "cert_sha256": "3f" * 32}}
wifi = Wifi("loopback", "", Hardware("127.0.0.1"))
wifi.tick()
led = Led([Hardware(), Hardware(), Hardware()])
ui = UI(d, led, Buttons([Hardware()] * 4), stats, info, wifi=wifi)
ui.event("login", "challenge_issued", "alice", T - 60)
ui.event("verify", "success", "alice", T - 50)
ui.event("login", "invalid_credentials", "mallory", T - 40)
ui.event("login", "locked", "mallory", T - 30)
ui.render_all(lambda name: d.save_png({out!r} + "/" + name + ".png"))
print("rendered")
"""


def decode_png(data: bytes) -> tuple[int, int, list[tuple[int, int, int]], list[list[int]]]:
    """(width, height, palette, rows of palette indices) of a 4-bit palette PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    idat = b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        if kind == b"IDAT":
            idat += body
        chunks[kind] = body
        pos += 12 + length
    assert list(chunks)[0] == b"IHDR" and list(chunks)[-1] == b"IEND"
    width, height, depth, colour, _, _, _ = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, colour) == (4, 3)
    plte = chunks[b"PLTE"]
    palette = [tuple(plte[i : i + 3]) for i in range(0, len(plte), 3)]
    raw = zlib.decompress(idat)
    stride = (width + 1) // 2
    assert len(raw) == height * (stride + 1)
    rows = []
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        assert line[0] == 0, "the firmware writes unfiltered scanlines"
        pixels = []
        for byte in line[1:]:
            pixels += [byte >> 4, byte & 15]
        rows.append(pixels[:width])
    return width, height, palette, rows


def render(out: Path, synced: bool = True) -> None:
    if MICROPYTHON is None:
        pytest.fail("micropython (the Unix port) is not installed in the venv")
    script = out / "render.py"
    script.write_text(RENDER.format(src=str(SRC), out=str(out), synced=synced))
    result = subprocess.run(
        [MICROPYTHON, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "rendered" in result.stdout


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("screens")
    render(out)
    return out


@pytest.mark.parametrize("name", SCREENS)
def test_screen_is_a_320x240_png_with_content(rendered: Path, name: str) -> None:
    width, height, palette, rows = decode_png((rendered / f"{name}.png").read_bytes())
    assert (width, height) == (320, 240)
    background = palette[0]
    assert background == (0, 0, 0)
    lit = sum(1 for row in rows for p in row if p != 0)
    assert 0.02 * width * height < lit < 0.9 * width * height, lit
    assert len({p for row in rows for p in row}) >= 3  # text in more than one colour


def test_screens_differ(rendered: Path) -> None:
    images = {name: (rendered / f"{name}.png").read_bytes() for name in SCREENS}
    assert len(set(images.values())) == len(SCREENS)


def test_main_screen_shows_sync_state(tmp_path: Path) -> None:
    """The header clock is green when synced and red when not (verify then answers 503)."""
    render(tmp_path, synced=False)
    _, _, palette, unsynced = decode_png((tmp_path / "main.png").read_bytes())

    def header_colours(rows: list[list[int]]) -> set[tuple[int, int, int]]:
        return {palette[p] for row in rows[4:24] for p in row[200:]}

    assert (230, 50, 50) in header_colours(unsynced)
    assert (40, 200, 80) not in header_colours(unsynced)


def test_main_screen_clock_is_green_when_synced(rendered: Path) -> None:
    _, _, palette, rows = decode_png((rendered / "main.png").read_bytes())
    colours = {palette[p] for row in rows[4:24] for p in row[200:]}
    assert (40, 200, 80) in colours
    assert (230, 50, 50) not in colours


@pytest.mark.parametrize(("width", "height"), [(321, 7), (400, 400)])
def test_png_of_odd_widths_and_several_stored_blocks(
    tmp_path: Path, width: int, height: int
) -> None:
    """An odd width (half-byte rows) and a frame over 64 KB (more than one stored block)."""
    script = tmp_path / "draw.py"
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(SRC)!r})\n"
        "from tfa.framebuf_display import FramebufDisplay\n"
        f"d = FramebufDisplay({width}, {height})\n"
        "d.clear(0)\n"
        f"d.rect({width - 1}, 0, 1, {height}, 4)\n"  # last column red
        "d.rect(0, 0, 1, 1, 1)\n"  # top-left pixel white
        f"d.save_png({str(tmp_path / 'x.png')!r})\n"
    )
    r = subprocess.run([MICROPYTHON, str(script)], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    w, h, palette, rows = decode_png((tmp_path / "x.png").read_bytes())
    assert (w, h) == (width, height)
    assert rows[0][0] == 1 and rows[0][1] == 0
    assert all(row[-1] == 4 and row[-2] == 0 for row in rows)
    assert sum(p != 0 for row in rows for p in row) == height + 1
