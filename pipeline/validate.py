"""Validate source records: each record against its schema (through frictionless), foreign keys
across resources, provenance ids, and the rules a table schema cannot say (see `rules`).

Never raises for bad data: every problem is an `Issue`, all of them at once.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frictionless import Resource

from pipeline.errors import ProjectError
from pipeline.issues import Issue, Report, display_path, quote, sort_issues
from pipeline.metadata import Metadata, load_metadata
from pipeline.schemas import ResourceSchema, load_schemas, resource_name
from pipeline.sources import Record, SourceTable, find_source, load_sources

CONSTRAINT = re.compile(r'constraint "(\w+)" is "(.*)"$')
TYPE_NOTE = re.compile(r'type is "(\w+)/')
POSITION = re.compile(r"row at position (\d+)")
TYPE_HINTS = {
    "date": "a date YYYY-MM-DD",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "year": "a year YYYY",
    "yearmonth": "a month YYYY-MM",
}


@dataclass(frozen=True)
class Row:
    """A record with typed values (None where empty or invalid), and where it came from."""

    record: Record
    values: dict[str, Any]


@dataclass(frozen=True)
class Table:
    source: SourceTable
    schema: ResourceSchema
    rows: tuple[Row, ...]

    @property
    def resource(self) -> str:
        return self.source.resource


@dataclass(frozen=True)
class Dataset:
    """Every resource's typed rows, with the package metadata: what `build` turns into files."""

    metadata: Metadata | None
    tables: dict[str, Table] = field(default_factory=dict)

    def rows(self, resource: str) -> tuple[Row, ...]:
        table = self.tables.get(resource)
        return table.rows if table else ()

    def values(self, resource: str) -> list[dict[str, Any]]:
        return [row.values for row in self.rows(resource)]


@dataclass(frozen=True)
class Validation:
    dataset: Dataset
    report: Report


def check_folders(sources: Path, schemas: Path) -> None:
    for label, path in (("sources", sources), ("schemas", schemas)):
        if not path.is_dir():
            raise ProjectError(
                f"{label} folder {display_path(path)} does not exist",
                hint=f"run from the project folder or pass --{label} DIR",
            )
    # A wrong folder (or the two swapped) is one mistake, not a missing file per resource.
    resources = {name for path in schemas.iterdir() if (name := resource_name(path))}
    if not resources:
        raise ProjectError(
            f"schemas folder {display_path(schemas)} holds no Table Schemas",
            hint="pass --schemas DIR: the folder of <resource>.schema.yaml files",
        )
    if not (sources / "package.yaml").exists() and not any(
        find_source(sources, resource) for resource in resources
    ):
        raise ProjectError(
            f"sources folder {display_path(sources)} holds no package.yaml and no source records",
            hint="pass --sources DIR: the folder of package.yaml and <resource>.yaml or .csv",
        )


def validate_project(sources: Path, schemas: Path) -> Validation:
    """Load and validate everything; the one function `validate` and `publish` both call."""
    from pipeline.rules import check_rules, check_structure, summarise  # rules need Dataset

    check_folders(sources, schemas)
    issues: list[Issue] = []
    found, problems_schemas = load_schemas(schemas)
    issues.extend(problems_schemas)
    metadata, problems = load_metadata(sources)
    issues.extend(problems)
    loaded = load_sources(sources, found)
    # A resource whose schema is broken is reported at the schema, not as a source without one.
    broken = {problem.resource for problem in problems_schemas if problem.resource}
    issues.extend(
        i for i in loaded.issues if not (i.code == "unknown-resource" and i.resource in broken)
    )
    tables: dict[str, Table] = {}
    for resource, source in loaded.tables.items():
        table, problems = check_table(source, found[resource])
        tables[resource] = table
        issues.extend(problems)
    dataset = Dataset(metadata, tables)
    issues.extend(check_foreign_keys(dataset))
    if metadata is not None:
        issues.extend(check_provenance(dataset, metadata))
    rule_issues, claims = check_rules(dataset)
    issues.extend(rule_issues)
    if not issues:  # the generated tables are built from valid records only
        issues.extend(check_structure(dataset))
    return Validation(dataset, Report(sort_issues(issues), summarise(dataset, claims)))


def check_table(source: SourceTable, schema: ResourceSchema) -> tuple[Table, list[Issue]]:
    file = source.file
    names = schema.field_names
    issues: list[Issue] = []
    for name in source.fields:
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "the schema has: " + ", ".join(names)
            # In a CSV the name is typed once, in the header; in YAML, in every record using it.
            where: list[Record | None] = [None]
            if source.format != "csv":
                where = [r for r in source.records if name in r.values]
            issues.extend(
                Issue(
                    file,
                    record.line_of(name) if record else 1,
                    "unknown-field",
                    f"{name!r} is not a field of {source.resource}; {hint}",
                    source.resource,
                    name,
                    record=record.index if record else -1,
                )
                for record in where
            )
    absent: set[str] = set()
    if source.format == "csv":
        for name in names:
            if name not in source.fields:
                absent.add(name)
                issues.append(
                    Issue(
                        file,
                        1,
                        "missing-field",
                        f"the header has no column {name!r}; add it",
                        source.resource,
                        name,
                    )
                )
    frictionless_schema = schema.frictionless()
    data: list[list[Any]] = [list(names)]
    data.extend([record.values.get(name) for name in names] for record in source.records)
    report = Resource(data=data, schema=frictionless_schema).validate(limit_errors=100_000)
    for task in report.tasks:
        for error in task.errors:
            # A column missing from the header is one problem, not a missing value in every row.
            if getattr(error, "field_name", None) in absent:
                continue
            issues.append(frictionless_issue(error, source, schema))
    for error in report.errors:
        issues.append(Issue(file, 0, error.type, error.message, source.resource))
    fields = {f.name: f for f in frictionless_schema.fields}
    rows = []
    for record in source.records:
        values: dict[str, Any] = {}
        for name in names:
            raw = record.values.get(name)
            value, notes = fields[name].read_cell(raw)
            values[name] = None if notes and "type" in notes else value
        rows.append(Row(record, values))
    return Table(source, schema, tuple(rows)), issues


def frictionless_issue(error: Any, source: SourceTable, schema: ResourceSchema) -> Issue:
    """A frictionless error as an Issue at the line of the record (and field) a person edits."""
    row_number = getattr(error, "row_number", None)
    record = source.records[row_number - 2] if row_number and row_number >= 2 else None
    name = getattr(error, "field_name", "") or ""
    line = record.line_of(name) if record else 0
    cell = getattr(error, "cell", None)
    value = "" if cell is None else str(cell)
    index = record.index if record else -1
    code = error.type
    message = error.message
    note = getattr(error, "note", "") or ""
    if error.type == "type-error":
        match = TYPE_NOTE.search(note)
        kind = match[1] if match else "value"
        message = f"{quote(value)} is not {TYPE_HINTS.get(kind, 'a valid ' + kind)}"
    elif error.type == "constraint-error":
        match = CONSTRAINT.search(note)
        constraint, limit = (match[1], match[2]) if match else ("", note)
        if constraint == "required":
            code, message = "missing-value", "a value is required"
        elif constraint == "pattern":
            code, message = "pattern", f"{quote(value)} does not match {limit}"
        elif constraint == "enum":
            code, message = "enum", f"{quote(value)} is not one of {limit}"
        else:
            code, message = "constraint", f"{quote(value)} breaks {constraint} {limit}"
    elif error.type == "unique-error":
        code, message = "unique", f"{quote(value)} must be unique; {_first_use(note, source)}"
    elif error.type == "primary-key":
        # error.cells is the whole row, not the key: take the key's values from the record.
        key = ", ".join(schema.primary_key)
        cells = ", ".join(
            str(record.values.get(k) or "") if record else "" for k in schema.primary_key
        )
        code, value = "primary-key", cells
        message = f"the key ({key}) = ({cells}) must be unique; {_first_use(note, source)}"
        name = schema.primary_key[0] if schema.primary_key else ""
    return Issue(source.file, line, code, message, source.resource, name, value, index)


def _first_use(note: str, source: SourceTable) -> str:
    """frictionless names the other row by its position in the data; say its line instead."""
    match = POSITION.search(note)
    position = int(match[1]) if match else 0
    if 2 <= position < len(source.records) + 2:
        return f"line {source.records[position - 2].line} has it too"
    return "another record has it too"


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
