"""A published table as CSV (UTF-8, header row, LF line ends, minimal quoting) and as JSON (an
array of objects of typed values): the two files of every table, which the formats follow."""

from __future__ import annotations

import csv
import json
from typing import Any

from pipeline.build.cells import cell_text, field_types, json_value
from pipeline.core.model import TableOut


class _LfRows:
    """Rows from a csv writer ended by CRLF (so that a cell holding a bare CR or LF is quoted,
    see `core.files.csv_line`), each kept with LF instead: one writer for the whole table."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, row: str) -> None:
        self.parts.append(row[:-2] + "\n")


def render_csv(table: TableOut) -> bytes:
    """UTF-8, header row, LF line ends, quotes only where needed (QUOTE_MINIMAL)."""
    rows = _LfRows()
    writer = csv.writer(rows, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    fields = field_types(table.schema)
    writer.writerow([name for name, _ in fields])
    for row in table.rows:
        writer.writerow([cell_text(field, row.get(name)) for name, field in fields])
    return "".join(rows.parts).encode("utf-8")


def render_json(table: TableOut) -> bytes:
    """An array of objects with typed values. An empty table is written as a header-only array
    of arrays, the one empty JSON table frictionless can read."""
    names = [f["name"] for f in table.schema["fields"]]
    data: Any
    if table.rows:
        data = [{name: json_value(row.get(name)) for name in names} for row in table.rows]
    else:
        data = [names]
    return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
