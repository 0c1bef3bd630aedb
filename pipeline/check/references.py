"""References across resources: foreign keys between tables, and every record's `source` id
declared in the package's registry of public sources."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from pipeline.core.issues import Issue, did_you_mean, quote
from pipeline.core.model import Dataset, Metadata, Table


def check_foreign_keys(dataset: Dataset) -> Iterable[Issue]:
    for table in dataset.tables.values():
        for fk in table.schema.foreign_keys:
            fields = [fk["fields"]] if isinstance(fk["fields"], str) else list(fk["fields"])
            ref = fk["reference"]
            target = ref.get("resource") or table.resource
            ref_fields = [ref["fields"]] if isinstance(ref["fields"], str) else list(ref["fields"])
            if target not in dataset.tables:
                continue  # the missing resource is reported where it is loaded
            yield from _broken_keys(dataset, table, fields, target, ref_fields)


def _broken_keys(
    dataset: Dataset, table: Table, fields: list[str], target: str, ref_fields: list[str]
) -> Iterator[Issue]:
    known = {tuple(row.values.get(f) for f in ref_fields) for row in dataset.rows(target)}
    for row in table.rows:
        key = tuple(row.values.get(f) for f in fields)
        if all(v is None for v in key) or key in known:
            continue
        if any(v is None for v in key):
            continue
        shown = ", ".join(str(v) for v in key)
        hint = did_you_mean(shown, suggestions(dataset, target, ref_fields, known))
        yield Issue(
            table.source.file,
            row.record.line_of(fields[0]),
            "foreign-key",
            f"{quote(shown)} is not a {target}.{', '.join(ref_fields)}{hint}",
            table.resource,
            ", ".join(fields),
            shown,
            row.record.index,
        )


def suggestions(
    dataset: Dataset, target: str, fields: list[str], known: set[tuple[object, ...]]
) -> list[str]:
    """The referenced keys a typo may have meant: only those that are themselves valid (a
    target whose own code breaks its pattern is never offered)."""
    schema = dataset.tables[target].schema
    patterns = []
    for name in fields:
        try:
            pattern = schema.field(name).get("constraints", {}).get("pattern")
        except KeyError:
            pattern = None
        patterns.append(re.compile(pattern) if pattern else None)
    return [
        ", ".join(str(v) for v in key)
        for key in known
        if all(p is None or p.fullmatch(str(v)) for p, v in zip(patterns, key, strict=True))
    ]


def check_provenance(dataset: Dataset, metadata: Metadata) -> Iterable[Issue]:
    """Every record's `source` names entries declared in sources/package.yaml."""
    declared = metadata.source_ids
    found: set[str] = set()  # the texts whose every id is declared: most rows repeat a few
    for table in dataset.tables.values():
        if "source" not in table.schema.field_names:
            continue
        yield from _unknown_sources(table, declared, found)


def _unknown_sources(table: Table, declared: frozenset[str], found: set[str]) -> Iterator[Issue]:
    for row in table.rows:
        text = row.values.get("source")
        if not isinstance(text, str) or text in found:
            continue
        unknown = [i for i in (part.strip() for part in text.split(";")) if i not in declared]
        if not unknown:
            found.add(text)
        for item in unknown:
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
