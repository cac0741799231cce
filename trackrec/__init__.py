"""trackrec: batch reconstruction of charged-particle tracks in TrackML-format events.

The package holds all the logic of the Snakemake workflow: TrackML I/O and Parquet hit
tables (:mod:`trackrec.io`), the event simulator (:mod:`trackrec.simulate`), track finding
(:mod:`trackrec.tracking`), metrics (:mod:`trackrec.metrics`) and the report
(:mod:`trackrec.report`). Each workflow rule runs one ``trackrec`` subcommand
(:mod:`trackrec.cli`).
"""

from __future__ import annotations

__version__ = "0.1.0"
