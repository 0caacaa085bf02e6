"""SIGINT and SIGTERM stop `python -m pico_firmware.rp2.ppp_suite` with its process tree.

The tree is the tool's own (stopped_by_signals, an ExitStack that stops a child as the runner and
the link are stopped, and judge() running the suite's process), with sleeping children in place
of the emulator and the suite. It is started as a script's `cmd &` starts it: SIGINT ignored.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

TREE = textwrap.dedent(
    """
    import contextlib, subprocess, sys
    from pico_firmware.rp2 import ppp_suite
    from pico_firmware.rp2.machine import stop_process

    SUITE = '''
    import sys, time
    try:
        print("suite", flush=True)
        time.sleep(600)
    except KeyboardInterrupt:  # as pytest is interrupted: it writes its reports, then ends
        open(sys.argv[1], "w").write("interrupted")
        raise
    '''
    with ppp_suite.stopped_by_signals(), contextlib.ExitStack() as stack:
        board = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        stack.callback(stop_process, board)
        print(board.pid, flush=True)
        try:
            ppp_suite.judge([sys.executable, "-c", SUITE, sys.argv[1]], grace=10)
        except ppp_suite.Stopped as e:
            print("stopped by", e, flush=True)
            raise SystemExit(3)
    """
)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_whole_tree(tmp_path, sig: signal.Signals) -> None:
    mark = tmp_path / "interrupted"
    tree = subprocess.Popen(
        [sys.executable, "-c", TREE, str(mark)],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        board = int(tree.stdout.readline())
        assert tree.stdout.readline() == "suite\n"  # the suite's process is up
        started = time.monotonic()
        tree.send_signal(sig)
        rest = tree.communicate(timeout=20)[0]
    finally:
        tree.kill()
    assert f"stopped by {sig.name}" in rest
    assert tree.returncode == 3
    assert time.monotonic() - started < 10  # the suite ended when interrupted, not killed
    assert mark.read_text() == "interrupted"  # interrupted: pytest writes its reports
    assert not alive(board)  # reaped by the tree's ExitStack
