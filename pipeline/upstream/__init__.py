"""Keep the sources current with the NHS files: ePCN and mapping readers, reconcile, editable CSVs,
the source registry, refresh and its report. Imports `pipeline.changes` and below, never `site`."""
