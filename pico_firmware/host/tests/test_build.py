"""The rp2 build's fixes to the pinned MicroPython sources (pico_firmware.rp2.build.PATCHES)."""

from __future__ import annotations

import os
import re
import tarfile
from pathlib import Path

import pytest

from pico_firmware.rp2 import build


def tree_with(tmp_path: Path, texts: dict[str, str]) -> Path:
    for name, text in texts.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def originals() -> dict[str, str]:
    """Each patched file as a text holding every patch's original text once."""
    files: dict[str, str] = {}
    for name, text, _ in build.PATCHES:
        files[name] = files.get(name, "// before\n") + text + "// after\n"
    return files


def test_each_patch_replaces_its_text_once(tmp_path: Path) -> None:
    tree = tree_with(tmp_path, originals())
    build.patch(tree)
    for name, text, replacement in build.PATCHES:
        patched = (tree / name).read_text()
        assert replacement in patched
        assert patched.count(text) == (1 if text in replacement else 0)


def test_a_tree_without_the_text_is_refused(tmp_path: Path) -> None:
    files = originals()
    name = build.PATCHES[0][0]
    files[name] = "// another MicroPython\n"
    tree = tree_with(tmp_path, files)
    with pytest.raises(build.BuildError, match="cannot patch"):
        build.patch(tree)


def test_the_patches_are_part_of_the_cache_key(monkeypatch: pytest.MonkeyPatch) -> None:
    source = build.Source(None)
    key = build.build_key(source)
    monkeypatch.setattr(build, "PATCHES", build.PATCHES[:-1])
    assert build.build_key(source) != key


def pinned(name: str) -> str:
    """A file of the pinned sources archive ($PICO_TFA_RP2_SOURCES), or skip."""
    archive = os.environ.get(build.SOURCES_ENV)
    if not archive or not Path(archive).is_file():
        pytest.skip(f"no pinned sources archive (${build.SOURCES_ENV})")
    with tarfile.open(archive) as tar:
        member = tar.extractfile(name)
        assert member is not None
        return member.read().decode()


def patched(name: str) -> str:
    source = pinned(name)
    for file, text, replacement in build.PATCHES:
        if file == name:
            assert source.count(text) == 1
            source = source.replace(text, replacement)
    return source


def test_every_ppp_input_to_lwip_holds_its_lock_in_the_pinned_sources() -> None:
    """network.PPP's input runs in thread mode while rp2 runs lwIP's timers at PendSV level:
    every call into lwIP's PPP input must hold the lock (PendSV suspended)."""
    source = patched("micropython/extmod/network_ppp_lwip.c")
    calls = re.findall(r"(.*)\n(.*\b(?:pppos_input|ppp_connect)\(self.*)\n(.*)", source)
    assert len(calls) == 2
    for before, call, after in calls:
        assert before.strip() == "MICROPY_PY_LWIP_ENTER", call
        assert after.strip() == "MICROPY_PY_LWIP_EXIT", call


def test_lwips_timer_runs_while_a_ppp_interface_negotiates_in_the_pinned_sources() -> None:
    """rp2 keeps lwIP's timer running only while an interface's link is up (a PPP one's is not
    until IPCP is): with PPP, an interface that is up (from pppos_create) keeps it and starts it."""
    source = patched("micropython/ports/rp2/mpnetworkport.c")
    keep = source[source.index("bool keep_running") :]
    keep = keep[: keep.index("mp_network_soft_timer.mode =")]
    assert "#if MICROPY_PY_NETWORK_PPP_LWIP" in keep
    assert "NETIF_FLAG_LINK_UP | NETIF_FLAG_UP" in keep
    status = source[source.index("static void mp_network_netif_status_cb(struct netif *netif") :]
    status = status[status.index("{") :]
    assert re.search(
        r"LWIP_NSC_STATUS_CHANGED && args->status_changed.state\) \{\n\s*lwip_poll_hook\(\);",
        status,
    )
