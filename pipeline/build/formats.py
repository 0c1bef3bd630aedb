"""The release in more formats: the whole package as SQLite and as XLSX, each table as Parquet.

Each writer is a pure function of the tables and the package metadata, and returns bytes that
depend only on them and on the versions of the writing libraries:

- SQLite: built in memory and serialised; the header records the SQLite library version that
  wrote it, so the bytes are stable for one SQLite version.
- XLSX (XML inside): a carriage return in a text reads back as a line feed, and control
  characters other than tab and line ends cannot be stored (publish stops and names the cell).
- XLSX: openpyxl's workbook properties `created` and `modified` are pinned to the release date,
  and the zip is rewritten with fixed timestamps, stored (not deflated) like the release zip.
- Parquet: pyarrow writes its version into the footer (`created_by`), so the bytes are stable
  for one pyarrow version.
"""

from __future__ import annotations

import io
import sqlite3
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pipeline.build.cells import json_value
from pipeline.core.errors import ProjectError
from pipeline.core.files import ZIP_EPOCH
from pipeline.core.model import Metadata, TableOut
from pipeline.sources.schemas import derived_schema

FORMATS_DIR = "formats"
FIELDS_TABLE = "fields"  # the sheet (XLSX) and table (SQLite) describing every field
SQLITE_TYPES = {
    "integer": "INTEGER",
    "year": "INTEGER",
    "boolean": "INTEGER",
    "number": "REAL",
}


def format_paths(name: str, tables: Iterable[TableOut]) -> dict[str, str]:
    """Where each format lives inside the release, by label."""
    paths = {
        "sqlite": f"{FORMATS_DIR}/{name}.sqlite",
        "xlsx": f"{FORMATS_DIR}/{name}.xlsx",
    }
    for table in tables:
        paths[f"parquet:{table.name}"] = f"{FORMATS_DIR}/parquet/{table.name}.parquet"
    return paths


def render_formats(tables: Sequence[TableOut], metadata: Metadata) -> dict[str, bytes]:
    """Every file under formats/, by its path inside the release."""
    if any(t.name == FIELDS_TABLE for t in tables):
        raise ProjectError(
            f"a resource named {FIELDS_TABLE!r} clashes with the table describing the fields",
            hint="rename the resource",
        )
    paths = format_paths(metadata.name, tables)
    files = {
        paths["sqlite"]: render_sqlite(tables),
        paths["xlsx"]: render_xlsx(tables, metadata),
    }
    for table in tables:
        files[paths[f"parquet:{table.name}"]] = render_parquet(table)
    return files


# --- what every format says about the fields ----------------------------------------------------


def _key(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def fields_table(tables: Iterable[TableOut]) -> TableOut:
    """The data dictionary as a table, with its own schema (derived_schemas/fields.schema.yaml)."""
    schema = derived_schema(FIELDS_TABLE)
    return TableOut(
        FIELDS_TABLE,
        schema,
        tuple(field_rows(tables)),
        str(schema["title"]),
        str(schema["description"]),
    )


def field_rows(tables: Iterable[TableOut]) -> list[dict[str, Any]]:
    """One row per field of every resource: the data dictionary as a table."""
    rows = []
    for table in tables:
        primary = _key(table.schema.get("primaryKey"))
        references: dict[str, str] = {}
        for fk in table.schema.get("foreignKeys", []):
            ref = fk["reference"]
            for here, there in zip(_key(fk["fields"]), _key(ref["fields"]), strict=True):
                references[here] = f"{ref['resource']}.{there}"
        for position, field in enumerate(table.schema["fields"], start=1):
            constraints = {
                k: v for k, v in field.get("constraints", {}).items() if k not in ("required",)
            }
            rows.append(
                {
                    "resource": table.name,
                    "field": field["name"],
                    "position": position,
                    "type": field["type"],
                    "title": field.get("title", ""),
                    "description": " ".join(str(field.get("description", "")).split()),
                    "required": bool(field.get("constraints", {}).get("required", False)),
                    "primary_key": field["name"] in primary,
                    "foreign_key": references.get(field["name"], ""),
                    "constraints": "; ".join(
                        f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
                        for k, v in constraints.items()
                    ),
                }
            )
    return rows


def plain(value: Any, kind: str) -> Any:
    """A typed value as the plain Python value a format stores: text, int, float, bool, date."""
    if value is None:
        return None
    if kind == "yearmonth" or (isinstance(value, tuple) and len(value) == 2):
        return json_value(value)
    if isinstance(value, Decimal):
        return json_value(value) if kind == "integer" else float(value)
    if kind == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


# --- SQLite -------------------------------------------------------------------------------------


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _names(fields: Any) -> str:
    return ", ".join(map(_quote, _key(fields)))


def sqlite_ddl(table: TableOut) -> str:
    columns = []
    for field in table.schema["fields"]:
        kind = SQLITE_TYPES.get(field["type"], "TEXT")
        required = field.get("constraints", {}).get("required", False)
        columns.append(f"{_quote(field['name'])} {kind}{' NOT NULL' if required else ''}")
    primary = _key(table.schema.get("primaryKey"))
    if primary:
        columns.append(f"PRIMARY KEY ({_names(primary)})")
    for fk in table.schema.get("foreignKeys", []):
        ref = fk["reference"]
        columns.append(
            f"FOREIGN KEY ({_names(fk['fields'])}) REFERENCES "
            f"{_quote(ref['resource'] or table.name)} ({_names(ref['fields'])})"
        )
    return f"CREATE TABLE {_quote(table.name)} (\n  " + ",\n  ".join(columns) + "\n)"


def sqlite_value(value: Any, kind: str) -> Any:
    value = plain(value, kind)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


# Bytes 96-99 of a SQLite file hold the version number of the library that last wrote it. It is
# informational (SQLite never reads it back), and it is the one part of the file that differs
# between machines with other SQLite builds; a fixed value keeps the release byte-reproducible.
SQLITE_WRITER_VERSION = (3_000_000).to_bytes(4, "big")


def pin_sqlite_header(data: bytes) -> bytes:
    return data[:96] + SQLITE_WRITER_VERSION + data[100:]


def render_sqlite(tables: Sequence[TableOut]) -> bytes:
    """The whole package as one SQLite database: a table per resource with its primary and
    foreign keys, and a `fields` table describing every field. Datasette opens it as it is."""
    connection = sqlite3.connect(":memory:")
    try:
        connection.execute("PRAGMA page_size = 4096")
        connection.execute("PRAGMA encoding = 'UTF-8'")
        for table in [*tables, fields_table(tables)]:
            connection.execute(sqlite_ddl(table))
            fields = [(f["name"], f["type"]) for f in table.schema["fields"]]
            placeholders = ", ".join("?" for _ in fields)
            connection.executemany(
                f"INSERT INTO {_quote(table.name)} VALUES ({placeholders})",
                [
                    [sqlite_value(row.get(name), kind) for name, kind in fields]
                    for row in table.rows
                ],
            )
        connection.commit()
        connection.execute("VACUUM")
        return pin_sqlite_header(connection.serialize())
    finally:
        connection.close()


# --- XLSX ---------------------------------------------------------------------------------------


def render_xlsx(tables: Sequence[TableOut], metadata: Metadata) -> bytes:
    """One sheet per resource, a `fields` sheet describing every field, and an `about` sheet.
    Codes stay text; dates are dates shown as YYYY-MM-DD."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.writer.excel import ExcelWriter

    workbook = Workbook()
    about = workbook.active
    about.title = "about"
    bold = Font(bold=True)
    data = metadata.data
    licence = data["licenses"][0]
    for label, value in (
        ("title", data["title"]),
        ("name", metadata.name),
        ("version", metadata.version),
        ("released", metadata.release_date.isoformat()),
        ("description", " ".join(str(data["description"]).split())),
        ("licence", f"{licence.get('title', licence.get('name'))} {licence.get('path', '')}"),
        ("attribution", " ".join(str(data.get("attribution", "")).split())),
        ("sheets", "one sheet per resource; 'fields' describes every column"),
    ):
        about.append([label, str(value)])
        about.cell(about.max_row, 1).font = bold
    about.column_dimensions["A"].width = 14
    about.column_dimensions["B"].width = 120

    for table in [*tables, fields_table(tables)]:
        sheet = workbook.create_sheet(table.name)
        names = [f["name"] for f in table.schema["fields"]]
        types = [f["type"] for f in table.schema["fields"]]
        sheet.append(names)
        for cell in sheet[1]:
            cell.font = bold
        widths = [len(n) for n in names]
        for number, row in enumerate(table.rows, start=1):
            values = [plain(row.get(n), k) for n, k in zip(names, types, strict=True)]
            for name, value in zip(names, values, strict=True):
                if isinstance(value, str) and ILLEGAL_CHARACTERS_RE.search(value):
                    raise ProjectError(
                        f"{table.name} row {number}, {name}: {value!r} holds a control "
                        "character that XLSX cannot store",
                        hint="remove it from the source record",
                    )
            sheet.append(values)
            for column, (value, kind) in enumerate(zip(values, types, strict=True), start=1):
                # row `number` is on line number + 1, under the header; not sheet.max_row,
                # which scans every cell of the sheet on each call
                cell = sheet.cell(number + 1, column)
                if isinstance(value, str):
                    cell.data_type = "s"  # never a formula, whatever the text starts with
                    widths[column - 1] = max(widths[column - 1], min(len(value), 60))
                elif kind == "date":
                    cell.number_format = "yyyy-mm-dd"
                    widths[column - 1] = max(widths[column - 1], 10)
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = sheet.dimensions
        for column, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(column)].width = width + 2

    pinned = datetime.combine(metadata.release_date, datetime.min.time())
    properties = workbook.properties
    properties.created = pinned
    properties.modified = pinned
    properties.creator = metadata.name
    properties.lastModifiedBy = metadata.name
    properties.title = str(data["title"])
    properties.version = metadata.version
    buffer = io.BytesIO()
    # ExcelWriter, not save_workbook: save_workbook stamps `modified` with the clock
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).write_data()
    return _fixed_zip(buffer.getvalue())


def _fixed_zip(data: bytes) -> bytes:
    """The same entries in the same order, with fixed timestamps and permissions, stored."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target,
    ):
        for entry in source.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            info.create_system = 3
            target.writestr(info, source.read(entry))
    return out.getvalue()


# --- Parquet ------------------------------------------------------------------------------------


def render_parquet(table: TableOut) -> bytes:
    """One table as Parquet with typed columns (codes as strings, dates as dates); each column
    carries its title and description as field metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow_types = {
        "integer": pa.int64(),
        "year": pa.int32(),
        "number": pa.float64(),
        "boolean": pa.bool_(),
        "date": pa.date32(),
    }
    fields = []
    columns = []
    for field in table.schema["fields"]:
        kind = field["type"]
        arrow_type = arrow_types.get(kind, pa.string())
        required = bool(field.get("constraints", {}).get("required", False))
        fields.append(
            pa.field(
                field["name"],
                arrow_type,
                nullable=not required,
                metadata={
                    "title": str(field.get("title", "")),
                    "description": " ".join(str(field.get("description", "")).split()),
                    "frictionless_type": kind,
                },
            )
        )
        columns.append(
            pa.array([plain(row.get(field["name"]), kind) for row in table.rows], arrow_type)
        )
    schema = pa.schema(
        fields,
        metadata={
            "resource": table.name,
            "title": table.title,
            "primary_key": ",".join(_key(table.schema.get("primaryKey"))),
        },
    )
    buffer = io.BytesIO()
    pq.write_table(
        pa.Table.from_arrays(columns, schema=schema),
        buffer,
        compression="snappy",
        version="2.6",
        data_page_version="1.0",
    )
    return buffer.getvalue()
