"""Benchmark reading other trackers' submissions in the TrackML challenge's format.

A challenge submission holds every test event in one file (``event_id,hit_id,track_id``).
The workflow lists the events of such a file when it builds the job graph (only the
``event_id`` column is read) and each import job reads one event of it. This makes a
synthetic submission of ``--events`` events of ``--hits`` hits (tracks of ~10 hits, rows in
event order as the challenge's tools write them), as CSV, CSV.gz and Parquet, and prints the
time of both reads for each, against ``pandas.read_csv`` of the whole file and a filter (the
obvious way). Figures depend on the cores free: pyarrow's CSV reader is multi-threaded.

    python benchmarks/bench_external.py [--events 125] [--hits 110000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from trackrec.io import load_submission_file, submission_event_ids


def submission_table(events: int, hits: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    n = events * hits
    return pa.table(
        {
            "event_id": np.repeat(np.arange(1000, 1000 + events, dtype=np.int64), hits),
            "hit_id": np.tile(np.arange(1, hits + 1, dtype=np.int64), events),
            "track_id": rng.integers(0, hits // 10, size=n, dtype=np.int64),
        }
    )


def write_files(table: pa.Table, folder: Path) -> dict[str, Path]:
    files = {
        "csv": folder / "sub.csv",
        "csv.gz": folder / "sub.csv.gz",
        "parquet": folder / "sub.parquet",
    }
    pcsv.write_csv(table, files["csv"])
    with pa.CompressedOutputStream(str(files["csv.gz"]), "gzip") as out:
        pcsv.write_csv(table, out)
    pq.write_table(table, files["parquet"])
    return files


def best_of(repeat: int, call) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=125)
    parser.add_argument("--hits", type=int, default=110_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    import pandas as pd

    table = submission_table(args.events, args.hits)
    middle = 1000 + args.events // 2
    print(
        f"{args.events} events x {args.hits} hits = {table.num_rows:,} rows; {os.cpu_count()} cores"
    )
    with tempfile.TemporaryDirectory() as tmp:
        files = write_files(table, Path(tmp))
        for kind, path in files.items():
            size = path.stat().st_size / 1e6
            ids = best_of(args.repeat, lambda p=path: submission_event_ids(p))
            one = best_of(args.repeat, lambda p=path: load_submission_file(p, event_id=middle))
            got = load_submission_file(path, event_id=middle)
            assert len(got) == args.hits and len(submission_event_ids(path)) == args.events
            line = (
                f"{kind:8s} {size:7.0f} MB  list events {ids:6.2f} s  read one event {one:6.2f} s"
            )
            if kind != "parquet":
                naive = best_of(
                    1, lambda p=path: (lambda d: d[d.event_id == middle])(pd.read_csv(p))
                )
                line += f"  (pandas.read_csv + filter {naive:6.2f} s)"
            print(line, flush=True)


if __name__ == "__main__":
    main()
