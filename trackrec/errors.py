"""Errors that the command line reports as one line and a non-zero exit."""

from __future__ import annotations

from pathlib import Path


class TrackrecError(Exception):
    """A problem with the user's input or configuration.

    The message is one line that names the file (when there is one) and the problem; the
    command line prints it as ``trackrec <command>: error: <message>`` and exits with 2.
    """


class InputError(TrackrecError):
    """A bad input file: missing, unreadable, malformed, or inconsistent with another."""

    def __init__(self, path: str | Path | None, problem: str) -> None:
        self.path = None if path is None else Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path is not None else problem)
