"""Data folder: the DuckDB file, the demo files, and `data.access`, the app's read-only data layer."""
