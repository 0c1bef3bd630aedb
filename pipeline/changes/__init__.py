"""What changed between releases: snapshots, the change model, diffs, readings, changelog words,
the changes table, the version policy. Imports `pipeline.archive` and the layers below."""
