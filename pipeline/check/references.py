"""References across resources: foreign keys between tables, and every record's `source` id
declared in the package's registry of public sources."""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.core.issues import Issue, quote
from pipeline.core.model import Dataset, Metadata


def check_foreign_keys(dataset: Dataset) -> Iterable[Issue]:
    for table in dataset.tables.values():
        for fk in table.schema.foreign_keys:
            fields = [fk["fields"]] if isinstance(fk["fields"], str) else list(fk["fields"])
            ref = fk["reference"]
            target = ref.get("resource") or table.resource
            ref_fields = [ref["fields"]] if isinstance(ref["fields"], str) else list(ref["fields"])
            if target not in dataset.tables:
                continue  # the missing resource is reported where it is loaded
            known = {tuple(row.values.get(f) for f in ref_fields) for row in dataset.rows(target)}
            for row in table.rows:
                key = tuple(row.values.get(f) for f in fields)
                if all(v is None for v in key) or key in known:
                    continue
                if any(v is None for v in key):
                    continue
                shown = ", ".join(str(v) for v in key)
                yield Issue(
                    table.source.file,
                    row.record.line_of(fields[0]),
                    "foreign-key",
                    f"{quote(shown)} is not a {target}.{', '.join(ref_fields)}",
                    table.resource,
                    ", ".join(fields),
                    shown,
                    row.record.index,
                )


def check_provenance(dataset: Dataset, metadata: Metadata) -> Iterable[Issue]:
    """Every record's `source` names entries declared in sources/package.yaml."""
    declared = metadata.source_ids
    for table in dataset.tables.values():
        if "source" not in table.schema.field_names:
            continue
        for row in table.rows:
            text = row.values.get("source")
            if not isinstance(text, str):
                continue
            for item in (part.strip() for part in text.split(";")):
                if item not in declared:
                    yield Issue(
                        table.source.file,
                        row.record.line_of("source"),
                        "unknown-source",
                        f"{quote(item)} is not a source id declared in package.yaml "
                        f"({', '.join(sorted(declared))})",
                        table.resource,
                        "source",
                        item,
                        row.record.index,
                    )
