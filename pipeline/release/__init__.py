"""Make and keep releases: build a package with its changes, publish it atomically, the catalogue,
verify. Imports `pipeline.site` and every layer below, never `pipeline.upstream`."""
