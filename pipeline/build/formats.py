"""The release in more formats: the whole package as SQLite and as XLSX, each table as Parquet.

Each writer is a pure function of the tables and the package metadata, and returns bytes that
depend only on them and on the versions of the writing libraries:

- SQLite: built in memory and serialised; the header records the SQLite library version that
  wrote it, so the bytes are stable for one SQLite version.
- XLSX (XML inside): a carriage return in a text reads back as a line feed, and control
  characters other than tab and line ends cannot be stored (publish stops and names the cell).
- XLSX: xlsxwriter (pinned) in constant-memory mode; the data rows are written as the very XML
  it writes cell by cell (a property test compares the two), much faster; the workbook's
  `created` is pinned to the release date, and the zip is rewritten with fixed timestamps,
  stored (not deflated) like the release zip. A text over 32,767 characters or a sheet over
  1,048,575 rows stops the publish (xlsxwriter would cut or drop them silently).
- Parquet: pyarrow writes its version into the footer (`created_by`), so the bytes are stable
  for one pyarrow version.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import sqlite3
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from pipeline.build.cells import json_value
from pipeline.build.datasette import render_datasette
from pipeline.build.tables import render_csv
from pipeline.core.errors import ProjectError
from pipeline.core.files import ZIP_EPOCH
from pipeline.core.filestore import FileStore
from pipeline.core.model import Metadata, TableOut
from pipeline.core.text import FORMAT_TABLES, table_name_problems
from pipeline.sources.schemas import derived_schema

FORMATS_DIR = "formats"
FIELDS_TABLE = FORMAT_TABLES[0]  # "fields": the sheet and table describing every field
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
        "datasette": f"{FORMATS_DIR}/{name}.metadata.json",
    }
    for table in tables:
        paths[f"parquet:{table.name}"] = f"{FORMATS_DIR}/parquet/{table.name}.parquet"
    return paths


def render_formats(
    tables: Sequence[TableOut],
    metadata: Metadata,
    csv: Callable[[str], BinaryIO] | None = None,
    into: FileStore | None = None,
) -> FileStore:
    """Every file under formats/, by its path inside the release (`csv`: opens a table's CSV
    by table name, when the caller has written them), added to INTO (or to a new store)."""
    check_table_names(tables)
    paths = format_paths(metadata.name, tables)
    files = into if into is not None else FileStore()
    with files.writer(paths["sqlite"]) as stream:  # a scratch file, never the database in memory
        write_sqlite(tables, stream)
    with files.writer(paths["xlsx"]) as stream:  # a scratch file, never the workbook in memory
        write_xlsx(tables, metadata, stream)
    files[paths["datasette"]] = render_datasette(tables, metadata)
    for table in tables:
        if csv is None:
            files[paths[f"parquet:{table.name}"]] = render_parquet(table)
            continue
        with csv(table.name) as stream:  # read by pyarrow from the file, not copied first
            files[paths[f"parquet:{table.name}"]] = render_parquet(table, stream)
    return files


def check_table_names(tables: Sequence[TableOut]) -> None:
    """Every table can be a SQLite table and an XLSX sheet of its own (`core.text.
    table_name_problems`); `validate` reports the same for the sources, at their files."""
    for name, problem in table_name_problems([t.name for t in tables]):
        raise ProjectError(
            f"a resource named {name!r} {problem}",
            hint="rename the resource (its schema and source file)",
        )


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
    """The database of `write_sqlite`, as bytes."""
    buffer = io.BytesIO()
    write_sqlite(tables, buffer)
    return buffer.getvalue()


# Bytes 24-27 and 92-95 of a SQLite file count its changes: a database in memory never counts
# them (both are 0), one in a file does. The database is built in a scratch file (its pages on
# disk, not in memory) and given the zeros of one built in memory: the same bytes as before.
SQLITE_COUNTERS = ((24, 28), (92, 96))


def write_sqlite(tables: Sequence[TableOut], stream: BinaryIO) -> None:
    """The whole package as one SQLite database, written into STREAM: a table per resource with
    its primary and foreign keys, and a `fields` table describing every field. Datasette opens
    it as it is. Built in a scratch file, so memory does not grow with the rows."""
    with tempfile.TemporaryDirectory(prefix="ics-data-sqlite-") as scratch:
        path = Path(scratch) / "package.sqlite"
        connection = sqlite3.connect(path)
        try:
            connection.execute("PRAGMA page_size = 4096")
            connection.execute("PRAGMA encoding = 'UTF-8'")
            connection.execute("PRAGMA journal_mode = OFF")  # a scratch file: a crash retries all
            connection.execute("PRAGMA synchronous = OFF")
            for table in [*tables, fields_table(tables)]:
                connection.execute(sqlite_ddl(table))
                fields = [(f["name"], f["type"]) for f in table.schema["fields"]]
                placeholders = ", ".join("?" for _ in fields)
                connection.executemany(
                    f"INSERT INTO {_quote(table.name)} VALUES ({placeholders})",
                    (  # a row at a time: the rows are not copied into one list first
                        [sqlite_value(row.get(name), kind) for name, kind in fields]
                        for row in table.rows
                    ),
                )
            connection.commit()
            connection.execute("VACUUM")
        finally:
            connection.close()
        with path.open("rb") as handle:
            header = bytearray(pin_sqlite_header(handle.read(100)))
            for start, end in SQLITE_COUNTERS:
                header[start:end] = bytes(end - start)
            stream.write(header)
            shutil.copyfileobj(handle, stream, 1 << 20)


# --- XLSX ---------------------------------------------------------------------------------------


# Characters XLSX cannot store in a cell (XML 1.0 forbids them); openpyxl's own list.
XLSX_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


def render_xlsx(tables: Sequence[TableOut], metadata: Metadata) -> bytes:
    """The workbook of `write_xlsx`, as bytes."""
    buffer = io.BytesIO()
    write_xlsx(tables, metadata, buffer)
    return buffer.getvalue()


def write_xlsx(tables: Sequence[TableOut], metadata: Metadata, stream: BinaryIO) -> None:
    """One sheet per resource, a `fields` sheet describing every field, and an `about` sheet,
    written into STREAM. Codes stay text (never a formula, whatever they start with); dates are
    dates shown as YYYY-MM-DD. Written row by row (xlsxwriter's constant-memory mode) into a
    scratch file, then copied entry by entry: memory does not grow with the rows."""
    import xlsxwriter

    with tempfile.TemporaryDirectory(prefix="ics-data-xlsx-") as scratch:
        raw = Path(scratch) / "workbook.xlsx"
        workbook = xlsxwriter.Workbook(
            str(raw), {"constant_memory": True, "tmpdir": scratch, "strings_to_numbers": False}
        )
        bold = workbook.add_format({"bold": True})
        day = workbook.add_format({"num_format": "yyyy-mm-dd"})
        data = metadata.data
        licence = data["licenses"][0]
        about = workbook.add_worksheet("about")
        for number, (label, value) in enumerate(
            (
                ("title", data["title"]),
                ("name", metadata.name),
                ("version", metadata.version),
                ("released", metadata.release_date.isoformat()),
                ("description", " ".join(str(data["description"]).split())),
                (
                    "licence",
                    f"{licence.get('title', licence.get('name'))} {licence.get('path', '')}",
                ),
                ("attribution", " ".join(str(data.get("attribution", "")).split())),
                ("sheets", "one sheet per resource; 'fields' describes every column"),
            )
        ):
            about.write_string(number, 0, label, bold)
            about.write_string(number, 1, str(value))
        about.set_column(0, 0, 14)
        about.set_column(1, 1, 120)
        try:
            for table in [*tables, fields_table(tables)]:
                write_xlsx_sheet(workbook.add_worksheet(table.name), table, bold, day)
        except BaseException:
            for sheet in workbook.worksheets():  # each sheet's rows wait in a scratch file
                if sheet.row_data_fh is not None:
                    sheet.row_data_fh.close()
            raise
        pinned = datetime.combine(metadata.release_date, datetime.min.time())
        workbook.set_properties(
            {
                "title": str(data["title"]),
                "author": metadata.name,
                "comments": f"version {metadata.version}",
                "created": pinned,
            }
        )
        with _stored_by_xlsxwriter():
            workbook.close()
        _fixed_zip(raw, stream)


# What xlsxwriter writes as a `_xHHHH_` escape (and an `_x` that could be read as one)
XLSX_ESCAPED = re.compile("_x|[\x00-\x08\x0b-\x1f\ufffe\uffff]")
# Any character of a text that the general path below escapes, refuses or marks (joined by a
# line end, which is none of them, so no `_x` is made across two texts)
XLSX_SPECIAL = re.compile("_x|[\x00-\x08\x0b-\x1f\ufffe\uffff&<>]")
XLSX_MAX_ROWS = 1_048_576  # rows of a sheet, the header included (Excel's limit)
XLSX_MAX_TEXT = 32_767  # characters of a cell (xlsxwriter would cut a longer text short)


def write_xlsx_sheet(sheet: Any, table: TableOut, bold: Any, day: Any) -> None:
    """The header through xlsxwriter; the data rows as the XML its constant-memory mode writes
    (the same bytes, checked by the goldens), straight into the sheet's row file: xlsxwriter's
    per-cell calls were most of a publish's time."""
    names = [f["name"] for f in table.schema["fields"]]
    types = [f["type"] for f in table.schema["fields"]]
    if len(table.rows) >= XLSX_MAX_ROWS:
        raise ProjectError(
            f"{table.name} has {len(table.rows):,} rows; an XLSX sheet holds at most "
            f"{XLSX_MAX_ROWS - 1:,} below its header",
            hint="the CSV, JSON, SQLite and Parquet files hold every row",
        )
    for column, name in enumerate(names):
        sheet.write_string(0, column, name, bold)
    widths = [len(n) for n in names]
    if table.rows:
        sheet._write_single_row(1)  # the header row goes to the row file first
        last = _xlsx_rows(sheet.row_data_fh, table, names, types, widths, day)
        if last:
            sheet._check_dimensions(last, len(names) - 1)
            sheet.previous_row = last
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(table.rows), 1), len(names) - 1)
    for column, width in enumerate(widths):
        sheet.set_column(column, column, width + 2)


def _xlsx_rows(
    out: Any, table: TableOut, names: list[str], types: list[str], widths: list[int], day: Any
) -> int:
    """Each row as xlsxwriter writes it in constant-memory mode: `<row r="N">`, then per cell
    an inline string (control-character escapes, `xml:space` for edge whitespace, `& < >`
    escaped), a number (`.16G`), a boolean (`t="b"`) or a date (its serial, style DAY); a row
    with no value is not written. Returns the number of the last row written (0: none)."""
    from xlsxwriter.utility import _datetime_to_excel_datetime, _preserve_whitespace, xl_col_to_name
    from xlsxwriter.xmlwriter import XMLwriter

    letters = [xl_col_to_name(column) for column in range(len(names))]
    columns = list(zip(letters, names, types, range(len(names)), strict=True))
    escape_controls = XMLwriter._escape_control_characters
    date_style = ""  # the date format's style index, given (as xlsxwriter does) on first use
    last = 0
    for number, row in enumerate(table.rows, start=1):
        r = str(number + 1)
        cells = [f'<row r="{r}">']
        values = [row.get(name) for name in names]
        texts = [value for value in values if type(value) is str]
        # most rows: no text needs an escape, so each is written as it is (one search a row)
        plain_texts = not texts or XLSX_SPECIAL.search("\n".join(texts)) is None
        for (letter, name, kind, column), value in zip(columns, values, strict=True):
            if value is None:
                continue
            if plain_texts and type(value) is str:
                size = len(value)
                if size > XLSX_MAX_TEXT:
                    raise ProjectError(
                        f"{table.name} row {number}, {name}: {size:,} characters; an XLSX "
                        f"cell holds at most {XLSX_MAX_TEXT:,}",
                        hint="shorten it in the source record",
                    )
                if size > widths[column] and widths[column] < 60:
                    widths[column] = min(size, 60)
                # xlsxwriter's `^\s` or `\s$` (`$` also before a final line end, itself a space)
                edge = value[:1].isspace() or value[-1:].isspace()
                space = ' xml:space="preserve"' if edge else ""
                cells.append(f'<c r="{letter}{r}" t="inlineStr"><is><t{space}>{value}</t></is></c>')
                continue
            if type(value) is not str:  # text is most cells, and `plain` keeps it as it is
                value = plain(value, kind)
                if not isinstance(value, str | bool | int | float | date):
                    value = str(value)
            if isinstance(value, str):
                widths[column] = max(widths[column], min(len(value), 60))
                if XLSX_ILLEGAL.search(value):
                    raise ProjectError(
                        f"{table.name} row {number}, {name}: {value!r} holds a control "
                        "character that XLSX cannot store",
                        hint="remove it from the source record",
                    )
                if len(value) > XLSX_MAX_TEXT:
                    raise ProjectError(
                        f"{table.name} row {number}, {name}: {len(value):,} characters; an XLSX "
                        f"cell holds at most {XLSX_MAX_TEXT:,}",
                        hint="shorten it in the source record",
                    )
                if XLSX_ESCAPED.search(value):
                    value = escape_controls(value)
                space = ' xml:space="preserve"' if _preserve_whitespace(value) else ""
                if "&" in value or "<" in value or ">" in value:
                    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                cells.append(f'<c r="{letter}{r}" t="inlineStr"><is><t{space}>{value}</t></is></c>')
            elif isinstance(value, bool):
                cells.append(f'<c r="{letter}{r}" t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, int | float):
                cells.append(f'<c r="{letter}{r}"><v>{value:.16G}</v></c>')
            else:  # a date (or a datetime)
                serial = _datetime_to_excel_datetime(value, False, False)
                date_style = date_style or f'" s="{day._get_xf_index()}"><v>'
                cells.append(f'<c r="{letter}{r}{date_style}{serial:.16G}</v></c>')
                widths[column] = max(widths[column], 10)
        if len(cells) > 1:
            cells.append("</row>")
            out.write("".join(cells))
            last = number
    return last


@contextlib.contextmanager
def _stored_by_xlsxwriter() -> Iterator[None]:
    """xlsxwriter deflates its zip (the name `ZIP_DEFLATED` in its workbook module), which
    `_fixed_zip` inflates again to store: while the workbook closes, it stores instead (at
    1000x, seconds of zlib for nothing). The entries' bytes are the same either way."""
    import xlsxwriter.workbook as module

    deflated = module.ZIP_DEFLATED
    module.ZIP_DEFLATED = zipfile.ZIP_STORED
    try:
        yield
    finally:
        module.ZIP_DEFLATED = deflated


def _fixed_zip(source_path: Path, stream: BinaryIO) -> None:
    """The same entries in the same order, with fixed timestamps and permissions, stored;
    each entry copied in chunks (the bytes `writestr` would write, see docs/stack-notes.md)."""
    with (
        zipfile.ZipFile(source_path) as source,
        zipfile.ZipFile(stream, "w", zipfile.ZIP_STORED) as target,
    ):
        for entry in source.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            info.create_system = 3
            info.file_size = entry.file_size
            with source.open(entry) as part, target.open(info, "w") as copy:
                shutil.copyfileobj(part, copy, 1 << 20)


# --- Parquet ------------------------------------------------------------------------------------


def render_parquet(table: TableOut, text: bytes | BinaryIO | None = None) -> bytes:
    """One table as Parquet with typed columns (codes as strings, dates as dates); each column
    carries its title and description as field metadata.

    The columns are read from the table's CSV (TEXT, or rendered here) by pyarrow's CSV reader
    with the schema's types: Parquet holds exactly what the CSV says, and pyarrow's `pa.array`
    on Python lists, which imports pandas to ask whether a list is a pandas object (0.3 s), is
    never called."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    arrow_types = {
        "integer": pa.int64(),
        "year": pa.int32(),
        "number": pa.float64(),
        "boolean": pa.bool_(),
        "date": pa.date32(),
    }
    fields = []
    for field in table.schema["fields"]:
        kind = field["type"]
        required = bool(field.get("constraints", {}).get("required", False))
        fields.append(
            pa.field(
                field["name"],
                arrow_types.get(kind, pa.string()),
                nullable=not required,
                metadata={
                    "title": str(field.get("title", "")),
                    "description": " ".join(str(field.get("description", "")).split()),
                    "frictionless_type": kind,
                },
            )
        )
    schema = pa.schema(
        fields,
        metadata={
            "resource": table.name,
            "title": table.title,
            "primary_key": ",".join(_key(table.schema.get("primaryKey"))),
        },
    )
    stream: BinaryIO
    if text is None or isinstance(text, bytes):
        size, stream = len(text or b""), io.BytesIO(render_csv(table) if text is None else text)
    else:
        size, stream = text.seek(0, io.SEEK_END), text
        stream.seek(0)
    read = pa_csv.read_csv(
        stream,
        read_options=pa_csv.ReadOptions(block_size=max(1 << 20, size + 1)),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            column_types={f.name: f.type for f in fields},
            include_columns=[f.name for f in fields],
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            true_values=["true"],
            false_values=["false"],
        ),
    )
    columns = [read.column(f.name).combine_chunks() for f in fields]
    buffer = io.BytesIO()
    pq.write_table(
        pa.Table.from_arrays(columns, schema=schema),
        buffer,
        compression="snappy",
        version="2.6",
        data_page_version="1.0",
    )
    del read, columns
    pa.default_memory_pool().release_unused()  # the pool would keep the largest table's pages
    return buffer.getvalue()
