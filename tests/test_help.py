"""Every command's --help as a new user reads it: in an 80-column terminal, flag names whole."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COMMANDS = [
    "reference_server",
    "reference_server serve",
    "reference_server add-user",
    "reference_server list-users",
    "reference_server remove-user",
    "reference_server reset-lockout",
    "conformance server",
    "conformance client",
    "client",
    "client login",
    "client demo-totp",
    "client info",
    "pico_firmware.host.emulator",
    "pico_firmware.host.provision",
    "pico_firmware.host.flash",
]
# what a user types, cut or not: every flag the README and the docs name
FLAGS = {
    "pico_firmware.host.provision": ["--wifi-password-env", "--conformance-accounts", "--force"],
    "pico_firmware.host.flash": ["--dry-run", "--config", "--device"],
    "reference_server serve": ["--write-target-profile", "--self-signed", "--audit-log"],
    "reference_server add-user": ["--db", "--password-stdin"],
    "conformance server": ["--target-profile", "--list-requirements", "--report-dir"],
}


def help_text(command: str) -> str:
    env = {**os.environ, "COLUMNS": "80", "TERM": "xterm-256color"}
    done = subprocess.run(
        [sys.executable, "-m", *command.split(), "--help"],
        capture_output=True, text=True, timeout=60, cwd=REPO, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_help_fits_80_columns_with_whole_flag_names(command: str) -> None:
    text = help_text(command)
    # a cut shows as an ellipsis (rich's "…", click's "..." on a command's one-line summary)
    usage_tails = text.replace(" ...\n", "\n").replace("[ARGS]...\n", "\n")
    assert "…" not in text and "...\n" not in usage_tails, text
    assert all(len(line) <= 80 for line in text.splitlines()), text
    for flag in FLAGS.get(command, []):
        assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text), f"{flag} cut:\n{text}"
    # written for its users: no notes to ourselves, no files they do not have
    assert "CONTRACT" not in text and "argparse" not in text


def test_add_user_explains_its_database_option() -> None:
    assert re.search(r"--db DB +SQLite database file", help_text("reference_server add-user"))
