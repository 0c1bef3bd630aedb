"""Check each source table against its Table Schema: fields known and present, every cell typed
and constrained as frictionless reads it, blank rows, unique values and the primary key.

Never raises for bad data: every problem is an `Issue`, all of them at once.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from pipeline.core.issues import Issue, did_you_mean, quote
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
    """SOURCE's records typed by SCHEMA, with every problem found."""
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
    findings, rows = read_rows(source, schema)
    for finding in findings:
        # A column missing from the header is one problem, not a missing value in every row.
        if finding.field_name not in absent:
            issues.append(frictionless_issue(finding, source, schema))
    return Table(source, schema, tuple(rows)), issues


@dataclass(frozen=True)
class Finding:
    """One problem of a cell or row, worded as frictionless words its errors (type, note)."""

    type: str
    note: str
    row_number: int  # the header is row 1, as in frictionless
    field_name: str = ""
    cell: str | None = None
    message: str = ""


REMEMBERED = 50_000  # distinct cells a field's reader remembers: dates, ids and sources repeat


def remembering(reader: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """READER of text cells (str or None), answering a cell it has read before from memory, for
    the one table it is made for. A cell reader is a pure function of the cell (its type and
    constraints are fixed), and parsing a date with strptime is most of the time it takes. Text
    cells only: as dict keys, JSON's `1`, `1.0` and `true` would be one cell. The answers are
    shared: callers only read them."""
    seen: dict[Any, Any] = {}

    def read(cell: Any) -> Any:
        answer = seen.get(cell)
        if answer is None:
            answer = reader(cell)
            if len(seen) < REMEMBERED:
                seen[cell] = answer
        return answer

    return read


def field_readers(schema: ResourceSchema) -> list[tuple[str, Callable[[Any], Any]]]:
    """(field name, remembering cell reader) of each field of SCHEMA, made for one table."""
    return [(f.name, remembering(f.create_cell_reader())) for f in schema.frictionless.fields]


def read_rows(source: SourceTable, schema: ResourceSchema) -> tuple[list[Finding], list[Row]]:
    """Type every cell with frictionless's own cell readers (its types and constraints), and
    find what frictionless's row checks find: blank rows, unique fields, the primary key.

    The same findings as `Resource(data=...).validate()`, without building a resource: the
    readers are made once per field, not once per cell."""
    fields = schema.frictionless.fields
    readers = field_readers(schema)
    unique: dict[str, dict[Any, int]] = {f.name: {} for f in fields if f.constraints.get("unique")}
    key = schema.primary_key if set(schema.primary_key) <= set(schema.field_names) else ()
    seen_keys: dict[tuple[Any, ...], int] = {}
    findings: list[Finding] = []
    rows: list[Row] = []
    for number, record in enumerate(source.records, start=2):
        values: dict[str, Any] = {}
        found: list[Finding] = []
        blank = 0
        get = record.values.get
        for name, reader in readers:
            raw = get(name)
            value, notes = reader(raw)
            if not notes:  # most cells: valid
                if value is None:
                    blank += 1
                values[name] = value
                continue
            notes = dict(notes)  # the reader's answers are shared
            type_note = notes.pop("type", None)
            if value is None and not type_note:
                blank += 1
            if type_note:
                found.append(Finding("type-error", type_note, number, name, str(raw)))
            for note in notes.values():
                found.append(Finding("constraint-error", note, number, name, str(raw)))
            values[name] = None if type_note else value
        if blank == len(readers):
            message = f'Row at position "{number}" is completely blank'
            found = [Finding("blank-row", "", number, message=message)]
        for name, memory in unique.items():
            cell = values[name]
            if cell is not None:
                match = memory.get(cell)
                memory[cell] = number
                if match:
                    note = f"the same as in the row at position {match}"
                    found.append(Finding("unique-error", note, number, name, str(cell)))
        if key:
            cells = tuple(values[name] for name in key)
            if set(cells) == {None}:
                note = 'cells composing the primary keys are all "None"'
                found.append(Finding("primary-key", note, number))
            else:
                match = seen_keys.get(cells)
                seen_keys[cells] = number
                if match:
                    note = f"the same as in the row at position {match}"
                    found.append(Finding("primary-key", note, number))
        findings.extend(found)
        rows.append(Row(record, values))
    return findings, rows


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
            allowed = _enum_of(schema, name)
            code, message = (
                "enum",
                f"{quote(value)} is not one of {limit}" + did_you_mean(value, allowed),
            )
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


def record_key(table: Table, row: Row) -> str:
    """A record's primary key as a person names it (in a decision): its parts joined by a space."""
    parts = []
    for name in table.schema.primary_key:
        value = row.values.get(name)
        parts.append(value.isoformat() if isinstance(value, date) else str(value or ""))
    return " ".join(parts)


def _enum_of(schema: ResourceSchema, name: str) -> list[str]:
    try:
        return [str(v) for v in schema.field(name).get("constraints", {}).get("enum", [])]
    except KeyError:
        return []
