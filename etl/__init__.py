"""Atlas ASV ETL: official open data and users' files into one DuckDB file."""
