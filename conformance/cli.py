"""`python -m conformance server|client ...`: the suite's command line."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence

import pytest

from conformance.plugin import DEFAULT_REPORT_DIR
from conformance.runner import pytest_args

EXIT_STATUSES = """exit status:
  0  the target conforms: every MUST that was to be judged ran and passed
  1  the target does not conform: a MUST failed or could not be run (see the
     report)
  2  usage error (unknown option, unknown requirement ID)
  3  not judged: the target could not be judged at all (connection refused, DNS,
     TLS verification failed, /api/info unusable, or an unusable target
     profile); no verdicts, the reports say why in one line at the top"""

USAGE = f"""python -m conformance server [--target-profile FILE] [--report-dir DIR]
           [--only IDS] [--long]
       python -m conformance server --list-requirements
       python -m conformance client ...   (judge a client; see conformance.clients)

{EXIT_STATUSES}"""


def server_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m conformance server",
        description="Judge a server against the protocol's requirements (spec/openapi.yaml).\n"
        "Without --target-profile, start the reference server (test profile, HTTPS on\n"
        "127.0.0.1) and judge it.",
        epilog=EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--target-profile", metavar="F", help="TOML target profile (base_url, accounts, ...)"
    )
    parser.add_argument(
        "--report-dir", metavar="DIR", default=DEFAULT_REPORT_DIR, help="default: reports/"
    )
    parser.add_argument(
        "--only", metavar="IDS", help="comma-separated requirement IDs, e.g. LOCK-1,TOTP-4"
    )
    parser.add_argument(
        "--long", action="store_true", help="run timed cases against production durations (300 s)"
    )
    parser.add_argument(
        "--list-requirements", action="store_true", help="print requirement -> cases and exit"
    )
    return parser


def server_main(argv: Sequence[str]) -> int:
    options = server_parser().parse_args(list(argv))
    only = [p.strip() for p in options.only.split(",")] if options.only else None
    args = pytest_args(
        target_profile=options.target_profile,
        report_dir=options.report_dir,
        only=only,
        long=options.long,
        list_requirements=options.list_requirements,
    )
    status = int(pytest.main(args))
    if status == pytest.ExitCode.USAGE_ERROR:
        return 2
    if status == pytest.ExitCode.INTERRUPTED and options.list_requirements:
        return 0
    return status


def client_main(argv: Sequence[str]) -> int:
    if importlib.util.find_spec("conformance.clients") is None:
        print(
            "conformance client: not available yet (conformance/clients/ is not written); "
            "only `python -m conformance server` works in this version",
            file=sys.stderr,
        )
        return 2
    clients = importlib.import_module("conformance.clients")
    return int(clients.main(list(argv)))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "server":
        return server_main(rest)
    if command == "client":
        return client_main(rest)
    print(f"unknown command {command!r}\n{USAGE}", file=sys.stderr)
    return 2
