"""The static catalogue beside the releases: index and release pages, the structure chart,
JSON-LD and DCAT. Imports `pipeline.changes` and the layers below, never `pipeline.upstream`."""
