"""``trackrec report``: aggregate a run's per-event metrics and benchmarks into a report."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

#: Per-file output options -> what they name; each overrides its file's place in the folder.
OUTPUT_OPTIONS = {
    "summary-json": "summary.json",
    "summary-csv": "summary.csv",
    "html": "report.html",
    "plot-efficiency-pt": "the efficiency vs pT plot",
    "plot-efficiency-eta": "the efficiency vs eta plot",
    "plot-rates-pt": "the fake and duplicate rates vs pT plot",
    "plot-rates-eta": "the fake and duplicate rates vs eta plot",
    "plot-events": "the per-event plot",
    "plot-stages": "the stage cost plot",
}
_OUTPUT_FIELDS = {
    "summary-json": "summary_json",
    "summary-csv": "summary_csv",
    "html": "html",
    "plot-efficiency-pt": "efficiency_pt",
    "plot-efficiency-eta": "efficiency_eta",
    "plot-rates-pt": "rates_pt",
    "plot-rates-eta": "rates_eta",
    "plot-events": "events",
    "plot-stages": "stages",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the report subcommand to ``trackrec``."""
    parser = subparsers.add_parser(
        "report",
        help="summarise metrics and benchmarks of a run (summary.json/csv, report.html, plots)",
        description="Aggregate per-event metrics (metrics/<method>/<event>.json) and Snakemake "
        "benchmark files into summary.json, summary.csv, plots and report.html. Give the files "
        "explicitly (as the workflow does), or --results-dir to use every file of a run folder.",
    )
    parser.add_argument(
        "--results-dir", help="a run folder <results>/<run>; outputs go to its report/"
    )
    parser.add_argument("--metrics", nargs="*", default=[], help="metrics JSON files")
    parser.add_argument("--benchmarks", nargs="*", default=[], help="Snakemake benchmark TSV files")
    parser.add_argument(
        "--plan",
        metavar="PLAN.json",
        help="the run's plan file (written by the workflow, `trackrec plan`): the methods and "
        "test events that should have metrics, and the metrics config (default with "
        "--results-dir: its plan.json, if there)",
    )
    parser.add_argument(
        "--expected-events",
        nargs="*",
        help="events that should have metrics, when there is no plan file (others: failed)",
    )
    parser.add_argument(
        "--logs",
        help="the run's logs folder: failed events get the error their jobs logged "
        "(default with --results-dir: its logs/)",
    )
    parser.add_argument(
        "--section",
        nargs="*",
        default=[],
        metavar="SECTION.json",
        help="report sections written by stages (see trackrec.report.sections)",
    )
    parser.add_argument(
        "--out-dir",
        help="folder of the report files (default: <results-dir>/report, or the folder of "
        "--summary-json)",
    )
    for option, meaning in OUTPUT_OPTIONS.items():
        parser.add_argument(
            f"--{option}", help=f"where to write {meaning} (default: in the folder)"
        )
    parser.add_argument("--title", default=None, help="report title (default: from the run)")
    parser.add_argument(
        "--chain",
        action="append",
        default=[],
        metavar="METHOD=STAGE,...",
        help="a method's stages from hits to tracks (benchmark folders, e.g. "
        "infer_gnn/interaction_network), for its TrackML throughput score; repeatable",
    )
    parser.set_defaults(handler=run_report)


def run_report(args: argparse.Namespace) -> None:
    from trackrec.errors import TrackrecError
    from trackrec.report.build import ReportOutputs, build_summary, find_run_files, write_report
    from trackrec.report.sections import load_section_file
    from trackrec.report.summary import read_plan_file

    metrics, benchmarks = list(args.metrics), list(args.benchmarks)
    logs = args.logs
    if args.results_dir:
        logs = logs or Path(args.results_dir) / "logs"
        found_metrics, found_benchmarks = find_run_files(args.results_dir)
        metrics += found_metrics
        benchmarks += found_benchmarks
    if args.out_dir:
        folder = Path(args.out_dir)
    elif args.results_dir:
        folder = Path(args.results_dir) / "report"
    elif args.summary_json:
        folder = Path(args.summary_json).parent
    else:
        raise TrackrecError("give --results-dir, or --out-dir (or --summary-json) and the files")
    if not metrics:
        where = f" in {args.results_dir}/metrics" if args.results_dir else ""
        raise TrackrecError(f"no metrics files given or found{where}")
    plan_path = args.plan
    if plan_path is None and args.results_dir and (Path(args.results_dir) / "plan.json").exists():
        plan_path = Path(args.results_dir) / "plan.json"
    plan = read_plan_file(plan_path) if plan_path else None
    sections = [load_section_file(p) for p in args.section]
    run_name = Path(args.results_dir).name if args.results_dir else folder.resolve().parent.name
    summary, curves = build_summary(
        metrics, benchmarks, args.expected_events, plan, sections, run_name=run_name,
        log_dir=logs,
    )
    if args.chain:
        sections.append(_throughput_section(summary, benchmarks, args.chain))
        summary["sections"].append(sections[-1].to_json())
    title = args.title or f"trackrec report: {summary['provenance']['run']}"
    overrides = {
        field: Path(getattr(args, option.replace("-", "_")))
        for option, field in _OUTPUT_FIELDS.items()
        if getattr(args, option.replace("-", "_"))
    }
    outputs = dataclasses.replace(ReportOutputs.in_folder(folder), **overrides)
    write_report(summary, curves, outputs, title, sections=sections)
    print(f"report written to {outputs.html}")


def _throughput_section(summary: dict, benchmarks: list, chain_options: list[str]):
    """Add ``throughput`` to ``summary`` and return its report section."""
    from trackrec.report.sections import ReportSection
    from trackrec.report.summary import read_benchmark_file
    from trackrec.report.throughput import (
        benchmark_stage_path,
        chain_throughput,
        parse_chain,
        throughput_section_json,
    )

    chains = dict(parse_chain(c) for c in chain_options)
    seconds: dict[str, list[float]] = {}
    for path in benchmarks:
        seconds.setdefault(benchmark_stage_path(path), []).append(read_benchmark_file(path)["s"])
    summary["throughput"] = chain_throughput(chains, seconds, summary["methods"])
    raw = throughput_section_json(summary["throughput"])
    return ReportSection(
        title=raw["title"], text=raw["text"], metrics=raw["metrics"],
        columns=raw["table"]["columns"], rows=raw["table"]["rows"], order=raw["order"],
    )
