"""``trackrec plan``: write a run's plan file (``<results>/<run>/plan.json``).

The workflow's ``plan_file`` rule passes the config sections that decide a run's events;
the plan is computed by :func:`trackrec.plan.plan_file_content`, the same function the
workflow schedules from, and read back by ``trackrec report --plan``.
"""

from __future__ import annotations

import argparse
import json

from trackrec.errors import TrackrecError

CONFIG_KEYS = ("run", "data", "metrics", "methods")


def run_plan(args: argparse.Namespace) -> int:
    from trackrec import __version__
    from trackrec.io.atomic import atomic_output
    from trackrec.plan import plan_file_content

    try:
        config = json.loads(args.config_json)
    except json.JSONDecodeError as err:
        raise TrackrecError(f"--config-json: not valid JSON ({err.msg})") from None
    missing = [key for key in CONFIG_KEYS if not isinstance(config, dict) or key not in config]
    if missing:
        raise TrackrecError(f"--config-json: missing {', '.join(missing)}")
    content = plan_file_content(
        run=config["run"],
        data=config["data"],
        metrics=config["metrics"],
        methods=config["methods"],
        version=__version__,
    )
    with atomic_output(args.out) as tmp:
        tmp.write_text(json.dumps(content, indent=1, sort_keys=True) + "\n")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``plan`` to trackrec."""
    parser = subparsers.add_parser(
        "plan",
        help="write a run's plan file: events, split, scored test events, methods",
        description="Compute a run's plan (events, their split and source, the test events "
        "with truth that every method should have metrics for) from the config sections and "
        "write it as JSON. The workflow writes <results>/<run>/plan.json this way; "
        "`trackrec report` reads it to list the events whose metrics are missing.",
    )
    parser.add_argument(
        "--config-json",
        required=True,
        metavar="JSON",
        help='{"run": NAME, "data": {...}, "metrics": {...}, "methods": [NAME, ...]}: the '
        "config's run name, data and metrics sections, and every method (built-in and external)",
    )
    parser.add_argument("--out", required=True, metavar="PLAN.json", help="plan file to write")
    parser.set_defaults(handler=run_plan)
