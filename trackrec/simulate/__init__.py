"""simulate stage family."""
