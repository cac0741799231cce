"""Subcommands of this stage family (filled in as the stage lands)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this family's subcommands to trackrec."""
