"""``trackrec report``: aggregate a run's per-event metrics and benchmarks into a report."""

from __future__ import annotations

import argparse
from pathlib import Path


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
        "--expected-events", nargs="*", help="events that should have metrics (others: failed)"
    )
    parser.add_argument(
        "--logs",
        help="the run's logs folder: failed events get the error their jobs logged "
        "(default with --results-dir: its logs/)",
    )
    parser.add_argument("--title", default=None, help="report title (default: from the run folder)")
    for name, meaning in (
        ("summary-json", "summary.json"),
        ("summary-csv", "summary.csv"),
        ("html", "report.html"),
        ("plot-efficiency-pt", "efficiency vs pT plot"),
        ("plot-efficiency-eta", "efficiency vs eta plot"),
        ("plot-stages", "stage time and memory plot"),
        ("plot-scores", "per-event TrackML score plot"),
    ):
        parser.add_argument(f"--{name}", help=f"where to write the {meaning}")
    parser.set_defaults(handler=run_report)


def run_report(args: argparse.Namespace) -> None:
    from trackrec.errors import TrackrecError
    from trackrec.report.build import ReportOutputs, build_summary, find_run_files, write_report

    metrics, benchmarks = list(args.metrics), list(args.benchmarks)
    logs = args.logs
    if args.results_dir:
        logs = logs or Path(args.results_dir) / "logs"
        found_metrics, found_benchmarks = find_run_files(args.results_dir)
        metrics += found_metrics
        benchmarks += found_benchmarks
        defaults = ReportOutputs.in_folder(Path(args.results_dir) / "report")
    elif args.summary_json:
        defaults = ReportOutputs.in_folder(Path(args.summary_json).parent)
    else:
        raise TrackrecError("give --results-dir, or the output paths (--summary-json, ...)")
    if not metrics:
        where = f" in {args.results_dir}/metrics" if args.results_dir else ""
        raise TrackrecError(f"no metrics files given or found{where}")
    outputs = ReportOutputs(
        summary_json=Path(args.summary_json or defaults.summary_json),
        summary_csv=Path(args.summary_csv or defaults.summary_csv),
        html=Path(args.html or defaults.html),
        efficiency_pt=Path(args.plot_efficiency_pt or defaults.efficiency_pt),
        efficiency_eta=Path(args.plot_efficiency_eta or defaults.efficiency_eta),
        stages=Path(args.plot_stages or defaults.stages),
        scores=Path(args.plot_scores or defaults.scores),
    )
    summary, curves = build_summary(metrics, benchmarks, args.expected_events, logs)
    title = args.title or f"trackrec report: {outputs.summary_json.parent.parent.name}"
    write_report(summary, curves, outputs, title)
    print(f"report written to {outputs.html}")
