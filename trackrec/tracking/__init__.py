"""tracking stage family."""
