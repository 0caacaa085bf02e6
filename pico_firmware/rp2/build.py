"""Build MicroPython's own rp2 firmware (v1.28.0) for the boards the project runs on.

`python -m pico_firmware.rp2.build [--sources-archive TGZ] [--board B ...]`

Sources come from one of two places, both at the same pins (PINS below):
- a local archive (`--sources-archive`, or the PICO_TFA_RP2_SOURCES environment variable) holding
  `micropython/` with its submodules in place and `picotool/`, for machines without GitHub;
- otherwise the public repositories: a shallow clone of the tag, each submodule fetched at its pin.

The output is cached by a hash of the sources (the archive's SHA-256, or the pins) and of this
recipe, in ~/.cache/pico-tfa/rp2/<hash>/ (PICO_TFA_CACHE overrides the root): one directory per
board with firmware.uf2 and firmware.elf, the build's mpy-cross, the source tree, and the
firmware's native PBKDF2 module built against it (pico_firmware.rp2.natmod). A second run with the
same sources builds nothing.

Besides the stock boards, RPI_PICO_W_PPP is RPI_PICO_W with `network.PPP` (lwIP's PPP) compiled in,
for the conformance suite over an emulated UART; PATCHES fixes two bugs of network.PPP on rp2
(input to lwIP without its lock; lwIP's timer stopped while a link negotiates). The sources are
patched before the build, and the patches are part of the cache key.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pico_firmware.rp2 import natmod

# What the build compiles, and from where (the MicroPython tag and its submodules' commits).
MICROPYTHON = ("https://github.com/micropython/micropython", "v1.28.0")
MICROPYTHON_COMMIT = "e0e9fbb17ed6fd06bb76e266ae554784c9c80804"
SUBMODULES = {
    "lib/pico-sdk": "a1438dff1d38bd9c65dbd693f0e5db4b9ae91779",
    "lib/tinyusb": "aa0fc2e08f1c2dd6f026a431e8989357fbb4c5bf",
    "lib/micropython-lib": "8380c7bb8f9e5e5260e9539156742925e00366b2",
    "lib/mbedtls": "107ea89daaefb9867ea9121002fbbdf926780e98",
    "lib/cyw43-driver": "055d64274b014dd7b1c2fc94d26e8a18face7124",
    "lib/lwip": "77dcd25a72509eb83f72b033d219b1d40cd8eb95",
    "lib/btstack": "77e752abd6a0992334047a48038a5a3960e5c6bc",
}
PICOTOOL = ("https://github.com/raspberrypi/picotool", "2.2.0")
PICOTOOL_COMMIT = "a7eb3988f0645239185fadb4e25d8279478c2dbb"
PINS = {
    "micropython": MICROPYTHON_COMMIT,
    "picotool": PICOTOOL_COMMIT,
    **{f"micropython/{k}": v for k, v in SUBMODULES.items()},
}

# A variant is a stock board's directory plus lines appended to its mpconfigboard.h.
VARIANTS = {
    "RPI_PICO_W_PPP": (
        "RPI_PICO_W",
        (
            "#undef MICROPY_HW_BOARD_NAME",
            '#define MICROPY_HW_BOARD_NAME "Raspberry Pi Pico W (PPP on UART0)"',
            "#define MICROPY_PY_NETWORK_PPP_LWIP (1)",
        ),
    ),
}
BOARDS = ("RPI_PICO_W", "RPI_PICO", "RPI_PICO_W_PPP")

# Fixes to the pinned sources, applied once they are in place: (file, text, replacement).
# network.PPP feeds its input to lwIP from a scheduled callback (PPP.poll, on the UART's
# RX-idle interrupt) without lwIP's lock, while rp2 runs lwIP's timers at PendSV level: a TCP
# timer that lands inside tcp_input corrupts the connection's segment lists (seen here: a
# segment sent twice, then the board spinning in tcp_free_acked_segments on a cyclic list and
# deaf for good). Holding the lock (PendSV suspended) as modlwip's own calls do serialises them.
# Only the PPP variant compiles this file.
PATCHES = (
    (
        "micropython/extmod/network_ppp_lwip.c",
        "        pppos_input(self->pcb, (u8_t *)buf, len);\n",
        "        MICROPY_PY_LWIP_ENTER\n"
        "        pppos_input(self->pcb, (u8_t *)buf, len);\n"
        "        MICROPY_PY_LWIP_EXIT\n",
    ),
    (
        "micropython/extmod/network_ppp_lwip.c",
        "    if (ppp_connect(self->pcb, 0) != ERR_OK) {\n",
        "    MICROPY_PY_LWIP_ENTER\n"
        "    err_t connect_err = ppp_connect(self->pcb, 0);\n"
        "    MICROPY_PY_LWIP_EXIT\n"
        "    if (connect_err != ERR_OK) {\n",
    ),
    # rp2 stops lwIP's timer when no TCP connection is open and no interface's link is up, and
    # a PPP interface's link is up only once IPCP is: while LCP and IPCP negotiate, their
    # restart timers never fire, and one lost frame (seen here: the board's LCP stayed in
    # Ack-Sent, its Configure-Request never sent again) stalls the link for good. In the PPP
    # variant the timer also runs while an interface is up (a PPP one: from pppos_create to
    # ppp_free), and starts when one comes up.
    (
        "micropython/ports/rp2/mpnetworkport.c",
        "            if (netif->flags & NETIF_FLAG_LINK_UP) {\n",
        "            #if MICROPY_PY_NETWORK_PPP_LWIP\n"
        "            if (netif->flags & (NETIF_FLAG_LINK_UP | NETIF_FLAG_UP)) {\n"
        "            #else\n"
        "            if (netif->flags & NETIF_FLAG_LINK_UP) {\n"
        "            #endif\n",
    ),
    (
        "micropython/ports/rp2/mpnetworkport.c",
        "    if (reason == LWIP_NSC_LINK_CHANGED && args->link_changed.state) {\n",
        "    #if MICROPY_PY_NETWORK_PPP_LWIP\n"
        "    if (reason == LWIP_NSC_STATUS_CHANGED && args->status_changed.state) {\n"
        "        lwip_poll_hook();\n"
        "    }\n"
        "    #endif\n"
        "    if (reason == LWIP_NSC_LINK_CHANGED && args->link_changed.state) {\n",
    ),
)
RECIPE = 1  # bump when the way the build runs changes what it produces
SOURCES_ENV = "PICO_TFA_RP2_SOURCES"
CACHE_ENV = "PICO_TFA_CACHE"
TOOLS = ("arm-none-eabi-gcc", "cmake", "make", "c++")
APT = "gcc-arm-none-eabi libnewlib-arm-none-eabi cmake build-essential"


class BuildError(Exception):
    """The build cannot start or a step failed; the message says which."""


@dataclass(frozen=True)
class Source:
    archive: Path | None  # None: the public repositories

    def identity(self) -> str:
        if self.archive is None:
            return "git:" + json.dumps(PINS, sort_keys=True)
        return "archive-sha256:" + file_sha256(self.archive)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cache_root() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]) / "rp2"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pico-tfa" / "rp2"


def source_from(archive: str | Path | None) -> Source:
    """The archive given, else the one PICO_TFA_RP2_SOURCES names, else the repositories."""
    chosen = archive or os.environ.get(SOURCES_ENV) or None
    if chosen is None:
        return Source(None)
    path = Path(chosen).expanduser().resolve()
    if not path.is_file():
        raise BuildError(f"sources archive {path} does not exist")
    return Source(path)


def build_key(source: Source) -> str:
    recipe = json.dumps(
        {"recipe": RECIPE, "variants": VARIANTS, "patches": PATCHES}, sort_keys=True
    )
    return hashlib.sha256(f"{source.identity()}\n{recipe}".encode()).hexdigest()[:20]


def cached_uf2(board: str = "RPI_PICO_W", archive: str | Path | None = None) -> Path | None:
    """The cached UF2 for board built from these sources, or None if there is none yet.

    Without an archive (argument or environment) it looks for any cached build: a test that
    only needs some UF2 of the pinned sources takes the one there is."""
    root = cache_root()
    if archive is not None or os.environ.get(SOURCES_ENV):
        found = root / build_key(source_from(archive)) / board / "firmware.uf2"
        return found if found.is_file() else None
    builds = sorted(root.glob(f"*/{board}/firmware.uf2"), key=lambda p: p.stat().st_mtime)
    return builds[-1] if builds else None


def run(argv: list[str], cwd: Path | None = None, env: dict | None = None) -> None:
    print("$", " ".join(argv), flush=True)
    result = subprocess.run(argv, cwd=cwd, env=env, check=False)
    if result.returncode != 0:
        raise BuildError(f"step failed ({result.returncode}): {' '.join(argv)}")


def git_sources(dest: Path) -> None:
    """The pinned tree from the public repositories (shallow), checked against the pins."""
    mp = dest / "micropython"
    url, tag = MICROPYTHON
    run(["git", "clone", "--depth", "1", "--branch", tag, url, str(mp)])
    for path in SUBMODULES:
        run(["git", "-C", str(mp), "submodule", "update", "--init", "--depth", "1", path])
    url, tag = PICOTOOL
    run(["git", "clone", "--depth", "1", "--branch", tag, url, str(dest / "picotool")])
    for rel, want in PINS.items():
        got = subprocess.run(
            ["git", "-C", str(dest / rel), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if got != want:
            raise BuildError(f"{rel} is at {got}, the pin is {want}")


def unpack(archive: Path, dest: Path) -> None:
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    for top in ("micropython", "picotool"):
        if not (dest / top).is_dir():
            raise BuildError(f"{archive} has no {top}/ at its top")


def patch(tree: Path) -> None:
    """Apply PATCHES to a fresh source tree; each text must be there exactly once."""
    for name, text, replacement in PATCHES:
        path = tree / name
        source = path.read_text()
        if source.count(text) != 1:
            raise BuildError(f"cannot patch {name}: the text to replace is not there once")
        path.write_text(source.replace(text, replacement))


def board_dir(tree: Path, board: str) -> Path:
    """The board's directory; a variant's is made from its stock board's, beside the source."""
    port = tree / "micropython" / "ports" / "rp2"
    if board not in VARIANTS:
        return port / "boards" / board
    stock, lines = VARIANTS[board]
    made = tree / "variants" / board
    shutil.rmtree(made, ignore_errors=True)
    shutil.copytree(port / "boards" / stock, made)
    with (made / "mpconfigboard.h").open("a") as f:
        f.write("\n// pico-tfa variant\n" + "\n".join(lines) + "\n")
    return made


def check_tools() -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        raise BuildError(f"missing {', '.join(missing)} (Debian: apt-get install {APT})")


def build(source: Source, boards: list[str], jobs: int) -> Path:
    """Build (or find in the cache) each board's UF2; returns the cache directory."""
    for b in boards:
        if b not in BOARDS:
            raise BuildError(f"unknown board {b}; known: {', '.join(BOARDS)}")
    out = cache_root() / build_key(source)
    todo = [b for b in boards if not (out / b / "firmware.uf2").is_file()]
    if not todo and natmod.built(out).is_file():
        print(f"rp2 firmware cached in {out}", flush=True)
        return out
    check_tools()
    tree = out / "src"
    if not (tree / "micropython" / "py").is_dir():
        shutil.rmtree(tree, ignore_errors=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix="src-", dir=out.parent))
        if source.archive is not None:
            unpack(source.archive, partial)
        else:
            git_sources(partial)
        patch(partial)
        out.mkdir(parents=True, exist_ok=True)
        partial.rename(tree)
    mp = tree / "micropython"
    tools = out / "tools"
    env = dict(os.environ, PICOTOOL_FETCH_FROM_GIT_PATH=str(tools))
    if not (tools / "picotool" / "picotool").exists():
        # the SDK would git-clone picotool at configure time; build it here, host-only
        pt = tree / "picotool"
        run(
            [
                "cmake", "-S", str(pt), "-B", str(pt / "build"),
                f"-DPICO_SDK_PATH={mp / 'lib' / 'pico-sdk'}",
                "-DPICOTOOL_NO_LIBUSB=1", "-DPICOTOOL_FLAT_INSTALL=1",
                f"-DCMAKE_INSTALL_PREFIX={tools}",
            ]
        )  # fmt: skip
        run(["cmake", "--build", str(pt / "build"), f"-j{jobs}"])
        run(["cmake", "--install", str(pt / "build")])
    run(["make", "-C", str(mp / "mpy-cross"), f"-j{jobs}"])
    shutil.copy2(mp / "mpy-cross" / "build" / "mpy-cross", out / "mpy-cross")
    port = mp / "ports" / "rp2"
    for board in todo:
        bdir = board_dir(tree, board)
        build_dir = tree / "build" / board
        shutil.rmtree(build_dir, ignore_errors=True)  # a failed configure leaves a stale cache
        run(
            ["make", "-C", str(port), f"BOARD_DIR={bdir}", f"BUILD={build_dir}", f"-j{jobs}"],
            env=env,
        )
        dest = out / board
        dest.mkdir(parents=True, exist_ok=True)
        for name in ("firmware.elf", "firmware.uf2"):  # the UF2 last: it marks the board done
            shutil.copy2(build_dir / name, dest / f".{name}")
            (dest / f".{name}").rename(dest / name)
        shutil.rmtree(build_dir)  # ~100 MB of objects a board
    natmod.build_native(out)
    manifest = {
        "source": source.identity(),
        "pins": PINS,
        "recipe": RECIPE,
        "boards": {
            b: {"size": (out / b / "firmware.uf2").stat().st_size,
                "sha256": file_sha256(out / b / "firmware.uf2")}
            for b in BOARDS if (out / b / "firmware.uf2").is_file()
        },
    }  # fmt: skip
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"rp2 firmware built in {out}", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m pico_firmware.rp2.build", description=__doc__.split("\n\n")[0]
    )
    p.add_argument(
        "--sources-archive",
        help=f"the pinned sources, .tgz (default: ${SOURCES_ENV}, else the public repositories)",
    )
    p.add_argument(
        "--board", action="append", choices=BOARDS, help="build only this board (repeatable)"
    )
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    p.add_argument("--print-dir", action="store_true", help="print only the cache directory")
    args = p.parse_args(argv)
    try:
        out = build(source_from(args.sources_archive), args.board or list(BOARDS), args.jobs)
    except BuildError as exc:
        print(f"rp2 build: {exc}", file=sys.stderr)
        return 2
    if args.print_dir:
        print(out)
    else:
        for b in args.board or BOARDS:
            uf2 = out / b / "firmware.uf2"
            print(f"{b}: {uf2} ({uf2.stat().st_size:,} B)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
