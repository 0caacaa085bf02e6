"""Conformance checks for clients of the protocol: `python -m conformance client --command ...`.

The entry point the suite's command line calls is `main(argv) -> int`.
"""

from conformance.clients.cli import main, run

__all__ = ["main", "run"]
