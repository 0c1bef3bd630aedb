"""Keep the sources current with the NHS files, and start a new ICS's project from them: the
upstream readers, reconcile, editable CSVs, the source registry, refresh and its report, and
`init`. Imports `pipeline.check`, `pipeline.changes` and below, never `site`."""
