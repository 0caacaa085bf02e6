"""The bench reads each firmware run's figures from the emulator's output."""

from __future__ import annotations

from pico_firmware.host import bench

OUTPUT = """serving on 127.0.0.1 port 1
heap in use: 160000
heap peak: 170000
qstr pool: n_pool=6, n_qstr=640, n_str_data_bytes=5800, n_total_bytes=20000
stopped
serving on 127.0.0.1 port 1
heap in use: 161000
not a heap peak: 1
heap peak: 180500
qstr pool: n_pool=7, n_qstr=1300, n_str_data_bytes=9000, n_total_bytes=40000
stopped
"""


def test_every_run_is_read() -> None:
    assert bench.run_peaks(OUTPUT) == [170000, 180500]
    assert bench.boot_use(OUTPUT) == [160000, 161000]
    assert bench.qstr_pools(OUTPUT) == [(6, 640), (7, 1300)]


def test_no_runs() -> None:
    assert bench.run_peaks("serving\n") == [] and bench.boot_use("") == []
    assert bench.qstr_pools("qstr pool: none\n") == []
