"""Bounded number types for the command line, shared by every ``trackrec`` subcommand.

Each numeric option takes an :class:`Number` as its argparse ``type``: it parses the text,
refuses NaN and infinities and values outside its bounds with a one-line message, and keeps
its bounds as attributes, so ``tests/test_options.py`` can check them against the config
schema's (``minimum``, ``exclusiveMinimum``, ``maximum``) for every option a config key feeds.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Number:
    """An argparse type: an ``int`` or ``float`` within bounds (JSON-schema names)."""

    kind: type
    minimum: float | None = None
    exclusive_minimum: float | None = None
    maximum: float | None = None

    @property
    def __name__(self) -> str:  # argparse names the type in some messages
        return "integer" if self.kind is int else "number"

    def __call__(self, text: str) -> int | float:
        try:
            value = self.kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {self.description()}: {text!r}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, not {text}")
        problem = self.problem(value)
        if problem:
            raise argparse.ArgumentTypeError(f"{problem}, not {text}")
        return value

    def problem(self, value: float) -> str | None:
        """What is wrong with ``value`` (``"must be >= 0"``), or None."""
        if self.minimum is not None and value < self.minimum:
            return f"must be >= {_text(self.minimum)}"
        if self.exclusive_minimum is not None and not value > self.exclusive_minimum:
            return f"must be > {_text(self.exclusive_minimum)}"
        if self.maximum is not None and value > self.maximum:
            return f"must be <= {_text(self.maximum)}"
        return None

    def description(self) -> str:
        bounds = [
            f">= {_text(self.minimum)}" if self.minimum is not None else "",
            f"> {_text(self.exclusive_minimum)}" if self.exclusive_minimum is not None else "",
            f"<= {_text(self.maximum)}" if self.maximum is not None else "",
        ]
        words = " and ".join(b for b in bounds if b)
        article = "an" if self.kind is int else "a"
        return f"{article} {self.__name__}" + (f" {words}" if words else "")


def _text(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else f"{bound:g}"


def integer(
    *, minimum: int | None = None, maximum: int | None = None
) -> Number:
    """An integer option: ``type=integer(minimum=1)``."""
    return Number(int, minimum=minimum, maximum=maximum)


def real(
    *,
    minimum: float | None = None,
    exclusive_minimum: float | None = None,
    maximum: float | None = None,
) -> Number:
    """A finite float option: ``type=real(exclusive_minimum=0)``."""
    return Number(float, minimum=minimum, exclusive_minimum=exclusive_minimum, maximum=maximum)


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (``trackrec evaluate: error: ...``).

    argparse prints the usage before the message; ``--help`` still shows it.
    """

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")
