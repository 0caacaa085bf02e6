"""Runs every tests/test_*.py on MicroPython: `micropython pico_firmware/tests/run.py [name ...]`.

Each module-level function named test_* is one test; an exception fails it. Prints one line
per failure and `N passed, N failed`; exits 1 if any failed.
"""

import os
import sys

HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
if not hasattr(os, "getenv"):
    # the rp2 port has no environment: the tests' os is the board's, plus a getenv that finds
    # nothing (so scratch files go under /tmp, made here)
    class _Os:
        def __init__(self, real):
            self._real = real

        def __getattr__(self, name):
            return getattr(self._real, name)

        def getenv(self, name, default=None):
            return default

    os = sys.modules["os"] = _Os(os)
    try:  # noqa: SIM105 - MicroPython has no contextlib
        os.mkdir("/tmp")  # noqa: S108 - the board's own filesystem
    except OSError:
        pass
sys.path.insert(0, HERE + "/../src")
sys.path.insert(0, HERE)
TEST_SUFFIXES = (".py", ".mpy")  # source on the Unix port, bytecode on a board


def main(only):
    passed = failed = 0
    names = sorted(
        n.rsplit(".", 1)[0]
        for n in os.listdir(HERE)
        if n.startswith("test_") and n.endswith(TEST_SUFFIXES)
    )
    for name in names:
        if only and name not in only:
            continue
        try:
            mod = __import__(name)
        except Exception as e:  # noqa: BLE001 - a module that fails to import is a failure
            failed += 1
            print("FAIL", name, "(import)", type(e).__name__, e)
            sys.print_exception(e)
            continue
        for attr in sorted(dir(mod)):
            fn = getattr(mod, attr)
            if not attr.startswith("test_") or not callable(fn):
                continue
            try:
                fn()
                passed += 1
            except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the run
                failed += 1
                print("FAIL", name + "." + attr, type(e).__name__, e)
                sys.print_exception(e)
            fakes = sys.modules.get("fakes")
            if fakes is not None:
                fakes.sweep()  # each test's scratch directories (a board's flash is small)
    print(str(passed) + " passed, " + str(failed) + " failed")
    return failed


if __name__ == "__main__":
    sys.exit(1 if main(sys.argv[1:]) else 0)
