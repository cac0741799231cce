"""The command line assembles every stage's subcommands and reports errors in one line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from trackrec.cli import build_parser, main
from trackrec.errors import InputError


def test_help_lists_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "COMMAND" in capsys.readouterr().out


def test_every_subcommand_has_help() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, subparser in sub.choices.items():
        assert subparser.format_help().strip(), name


def test_input_error_message_names_file() -> None:
    err = InputError("a/b.csv", "missing column 'x'")
    assert str(err) == "a/b.csv: missing column 'x'"


def test_module_entry_point_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "trackrec", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("trackrec ")
