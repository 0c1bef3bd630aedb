"""Validate source records: each record against its schema (through frictionless), foreign keys
across resources, provenance ids, and the rules a table schema cannot say (see `rules`).

Never raises for bad data: every problem is an `Issue`, all of them at once.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from frictionless import Resource

from pipeline.core.issues import Issue, quote
from pipeline.core.model import Record, ResourceSchema, Row, SourceTable, Table

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


def row_issue(table: Table, row: Row, field: str, code: str, message: str, value: object) -> Issue:
    return Issue(
        table.source.file,
        row.record.line_of(field),
        code,
        message,
        table.resource,
        field,
        "" if value is None else str(value),
        row.record.index,
    )
