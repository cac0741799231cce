"""The ``trackrec`` command: one subcommand per workflow stage.

Each stage family keeps its subcommands in a ``command`` module next to its code, with a
``register(subparsers)`` function that adds the parsers and sets ``handler`` to a function
taking the parsed arguments. This module only assembles them and turns
:class:`~trackrec.errors.TrackrecError` and every :class:`OSError` (a missing file, permission
denied, a path under a file, a full disk) into one-line errors naming the path, with exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from trackrec import __version__
from trackrec.errors import TrackrecError
from trackrec.options import OneLineParser

_COMMAND_MODULES = (
    "trackrec.simulate.command",
    "trackrec.io.command",
    "trackrec.io.submission_command",
    "trackrec.tracking.command",
    "trackrec.tracking.gnn_command",
    "trackrec.metrics.command",
    "trackrec.report.command",
    "trackrec.report.section_command",
    "trackrec.plan_command",
    "trackrec.kalman.command",
    "trackrec.graph.command",
    "trackrec.models.command",
    "trackrec.noise.command",
)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="trackrec",
        description="Reconstruct charged-particle tracks in TrackML-format events.",
    )
    parser.add_argument("--version", action="version", version=f"trackrec {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def os_error_line(err: OSError) -> str:
    """``PATH: problem`` in one line for an operating-system error."""
    problem = " ".join(str(err.strerror or err).split())
    problem = problem[:1].lower() + problem[1:]
    if isinstance(err, NotADirectoryError):
        problem += " (a folder in the path is a file)"
    if err.filename is None:
        return problem
    if err.filename2 is not None:
        return f"{err.filename} -> {err.filename2}: {problem}"
    return f"{err.filename}: {problem}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = f"trackrec {args.command}"
    try:
        status = args.handler(args)
    except TrackrecError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    except FileNotFoundError as err:
        print(f"{prog}: error: {err.filename}: no such file", file=sys.stderr)
        return 2
    except OSError as err:  # permission denied, a path under a file, a full disk...
        print(f"{prog}: error: {os_error_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    return int(status or 0)


if __name__ == "__main__":
    raise SystemExit(main())
