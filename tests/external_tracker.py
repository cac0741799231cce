"""A stand-in for another program's tracker: writes TrackML challenge submissions.

Outside tools write ``event_id,hit_id,track_id`` CSV files (the challenge's submission
format) in their own row order and with their own track ids, and often leave out the hits
they put in no track. This helper does that to tracks we already have, so a test can check
that such a file scores exactly like the tracks it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd


def as_outside_tool_would(tracks: pd.DataFrame, event_id: int, seed: int) -> pd.DataFrame:
    """``tracks`` (hit_id, track_id) as challenge rows: one-hit tracks left out, track ids
    replaced by other distinct numbers, rows shuffled."""
    rng = np.random.default_rng(seed)
    sizes = tracks.groupby("track_id")["hit_id"].transform("size").to_numpy()
    kept = tracks[sizes > 1]
    old_ids = kept["track_id"].unique()
    new_ids = 1_000_003 + 17 * rng.permutation(len(old_ids))
    relabel = pd.Series(new_ids, index=old_ids)
    rows = pd.DataFrame(
        {
            "event_id": event_id,
            "hit_id": kept["hit_id"].to_numpy(),
            "track_id": relabel.loc[kept["track_id"].to_numpy()].to_numpy(),
        }
    )
    return rows.iloc[rng.permutation(len(rows))].reset_index(drop=True)


def write_submission(
    tracks_by_event: Mapping[int, pd.DataFrame], path: Path, *, event_id_column: bool = True
) -> None:
    """One CSV (``.csv`` or ``.csv.gz``) with the events' rows, as the challenge asks."""
    rows = pd.concat(
        [as_outside_tool_would(t, e, seed=e) for e, t in tracks_by_event.items()],
        ignore_index=True,
    )
    columns = ["event_id", "hit_id", "track_id"] if event_id_column else ["hit_id", "track_id"]
    rows.to_csv(path, index=False, columns=columns)
