"""Build the files of a release: CSV and JSON tables, the descriptor, SQLite, XLSX, Parquet,
README and citation. Imports `pipeline.check`, `pipeline.sources` and `pipeline.core`."""
