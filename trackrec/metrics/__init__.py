"""metrics stage family."""
