"""Input and output: TrackML files, Parquet hit tables, atomic writes."""
