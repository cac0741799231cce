"""Track building: turn hits (or scored graphs) into TrackML submissions (hit_id, track_id)."""
