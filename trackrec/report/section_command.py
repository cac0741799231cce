"""``trackrec report-section``: a report section file from a stage's summary JSON."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from trackrec.errors import InputError


def run_report_section(args: argparse.Namespace) -> None:
    from trackrec.io.jsonfile import read_json, write_json
    from trackrec.report.stage_sections import CONVERTERS

    summary = read_json(args.summary)
    out = Path(args.out)
    for image in args.images:
        if not Path(image).is_file():
            raise InputError(image, "no such image")
    # images relative to the section file's folder, so the run folder can move
    images = [Path(os.path.relpath(Path(i).resolve(), out.parent.resolve())) for i in args.images]
    try:
        section = CONVERTERS[args.kind](summary if isinstance(summary, dict) else {}, images)
    except ValueError as err:
        raise InputError(args.summary, str(err)) from None
    write_json(out, section, sort_keys=False)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``report-section`` to ``trackrec``."""
    parser = subparsers.add_parser(
        "report-section",
        help="a report section file from a stage's summary (fit, graph, models)",
        description="Turn a stage's summary JSON into a report section file "
        "(trackrec.report.sections) for `trackrec report --section`.",
    )
    parser.add_argument("--kind", required=True, choices=("fit", "graph", "models"),
                        help="which stage's summary")  # fmt: skip
    parser.add_argument("--summary", required=True, metavar="SUMMARY.json")
    parser.add_argument("--images", nargs="*", default=[], metavar="PNG",
                        help="plots of the stage to show in the section")  # fmt: skip
    parser.add_argument("--out", required=True, metavar="SECTION.json")
    parser.set_defaults(handler=run_report_section)
