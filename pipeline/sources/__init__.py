"""Load a project: Table Schemas, package metadata and source records, each with its file and
line. Imports only `pipeline.core`."""
