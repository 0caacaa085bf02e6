"""Conformance checks for clients of the protocol: `python -m conformance client --command ...`.

The entry point the suite's command line calls is `main(argv) -> int`. It is looked up on first use
(PEP 562): `cli` needs the harness's reference board, and the harness needs `clients.board`, so an
eager import here made `import conformance.harness.embedded` (the bench's first) circular.
"""

from typing import Any

__all__ = ["main", "run"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from conformance.clients import cli

        return getattr(cli, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
