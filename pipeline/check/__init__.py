"""Validate loaded sources: table checks, references, cross-record rules, claims, the structure
on a day. Imports `pipeline.sources` and `pipeline.core`."""
