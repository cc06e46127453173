"""SQL lives here; views and ingest call these functions."""
