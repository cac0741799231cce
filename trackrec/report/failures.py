"""Why events failed: the error lines in the logs of a run's failed jobs.

After ``snakemake --keep-going`` some events lack outputs; their jobs' logs
(``<run>/logs/<stage>/[<method>/]<event>.log``) end with the command's one-line error
(``trackrec <command>: error: <file>: <problem>``) or, for an unforeseen failure, a Python
traceback. :func:`failure_reasons` collects one reason per event so the report can say why
each failed event failed rather than only that its metrics are missing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

_EVENT_RE = re.compile(r"^event\d{9}$")
_ERROR_RE = re.compile(r"^trackrec [\w-]+: error: ")
_TRACEBACK = "Traceback (most recent call last):"


def log_error(text: str) -> str | None:
    """The error a job's log ends with: its ``trackrec ...: error:`` line, or the last line of
    a traceback; None for the log of a job that did not report an error."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        if _ERROR_RE.match(line):
            return line
    if any(line.startswith(_TRACEBACK) for line in lines):
        return lines[-1]
    return None


def failure_reasons(log_dir: str | Path, events: Iterable[str] | None = None) -> dict[str, str]:
    """``{event: "<stage>: <error line>"}`` for every event with a failed job's log.

    ``events`` restricts the search to these events (the ones without outputs: logs of
    events that failed in an earlier run but not in this one were overwritten when they
    reran, or belong to events no longer in the run). An event with failed jobs of several
    stages (or methods) gets their reasons joined with ``"; "`` in path order.
    """
    root = Path(log_dir)
    wanted = None if events is None else set(events)
    reasons: dict[str, list[str]] = {}
    if not root.is_dir():
        return {}
    for log in sorted(root.rglob("*.log")):
        event = log.stem
        if not _EVENT_RE.match(event) or (wanted is not None and event not in wanted):
            continue
        try:
            error = log_error(log.read_text(errors="replace"))
        except OSError:
            continue
        if error is not None:
            stage = "/".join(log.relative_to(root).parent.parts)
            reasons.setdefault(event, []).append(f"{stage}: {error}")
    return {event: "; ".join(found) for event, found in reasons.items()}


def explain_failures(
    failed: list[dict[str, str]], reasons: Mapping[str, str]
) -> list[dict[str, str]]:
    """The report's failed (method, event) rows with the logs' reason where there is one."""
    return [
        {**row, "reason": reasons[row["event"]]} if row["event"] in reasons else row
        for row in failed
    ]
