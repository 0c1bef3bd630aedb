"""SQLite, XLSX and Parquet hold the same rows and values as the CSV, keep codes as text, and
are byte-reproducible."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sqlite3
import string
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow.parquet as pq
import pytest
from conftest import examples
from frictionless import Field
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shipped import release_folder, shipped_output, shipped_validation

NAME = "kent-medway-ics"


@pytest.fixture(scope="module")
def folder() -> Path:
    return release_folder(shipped_output())


@pytest.fixture(scope="module")
def descriptor(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    return data


def csv_resources(descriptor: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in descriptor["resources"] if r["format"] == "csv"]


def canonical(value: Any, kind: str) -> Any:
    """One form for a value read back from any format, to compare across formats."""
    if value is None or value == "":
        return None
    if kind == "boolean":
        return bool(value)
    if kind == "date":
        if isinstance(value, dt.datetime):
            value = value.date()
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if kind == "yearmonth":
        return f"{value[0]:04d}-{value[1]:02d}" if isinstance(value, tuple) else str(value)
    if kind in ("integer", "year"):
        return int(value)
    if kind == "number":
        return float(value) if isinstance(value, Decimal | int | float) else float(str(value))
    return value


def csv_table(folder: Path, resource: dict[str, Any]) -> list[list[Any]]:
    fields = [Field.from_descriptor(f) for f in resource["schema"]["fields"]]
    with (folder / resource["path"]).open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        assert header == [f.name for f in fields]
        rows = []
        for cells in reader:
            values = []
            for field, cell in zip(fields, cells, strict=True):
                value, notes = field.read_cell(cell)
                assert not notes, (resource["name"], field.name, cell, notes)
                values.append(canonical(value, field.type))
            rows.append(values)
    return rows


def kinds(resource: dict[str, Any]) -> list[str]:
    return [f["type"] for f in resource["schema"]["fields"]]


def read_sqlite(folder: Path, resource: dict[str, Any]) -> list[list[Any]]:
    with sqlite3.connect(folder / "formats" / f"{NAME}.sqlite") as connection:
        names = [f["name"] for f in resource["schema"]["fields"]]
        columns = ", ".join(f'"{n}"' for n in names)
        rows = connection.execute(f'SELECT {columns} FROM "{resource["name"]}" ORDER BY rowid')
        return [
            [canonical(v, k) for v, k in zip(row, kinds(resource), strict=True)] for row in rows
        ]


def read_xlsx(folder: Path, resource: dict[str, Any]) -> list[list[Any]]:
    workbook = openpyxl.load_workbook(folder / "formats" / f"{NAME}.xlsx", read_only=True)
    sheet = workbook[resource["name"]]
    rows = list(sheet.iter_rows(values_only=True))
    workbook.close()
    assert list(rows[0]) == [f["name"] for f in resource["schema"]["fields"]]
    return [
        [canonical(v, k) for v, k in zip(row, kinds(resource), strict=True)] for row in rows[1:]
    ]


def read_parquet(folder: Path, resource: dict[str, Any]) -> list[list[Any]]:
    table = pq.read_table(folder / "formats" / "parquet" / f"{resource['name']}.parquet")
    assert table.column_names == [f["name"] for f in resource["schema"]["fields"]]
    return [
        [
            canonical(row[name], k)
            for name, k in zip(table.column_names, kinds(resource), strict=True)
        ]
        for row in table.to_pylist()
    ]


READERS: dict[str, Callable[[Path, dict[str, Any]], list[list[Any]]]] = {
    "sqlite": read_sqlite,
    "xlsx": read_xlsx,
    "parquet": read_parquet,
}


@pytest.mark.parametrize("fmt", sorted(READERS))
def test_every_format_holds_the_csv_rows_and_values(
    fmt: str, folder: Path, descriptor: dict[str, Any]
) -> None:
    resources = csv_resources(descriptor)
    assert "structure" in {r["name"] for r in resources}
    compared = 0
    for resource in resources:
        expected = csv_table(folder, resource)
        assert READERS[fmt](folder, resource) == expected, (fmt, resource["name"])
        compared += len(expected)
    assert compared > 800  # every row of every table, not an empty comparison


def test_formats_are_listed_with_size_and_hash(folder: Path, descriptor: dict[str, Any]) -> None:
    listed = {f["path"]: f for f in descriptor["files"]}
    on_disk = sorted(p.relative_to(folder).as_posix() for p in (folder / "formats").rglob("*"))
    on_disk = [p for p in on_disk if (folder / p).is_file()]
    whole = [f"formats/{NAME}.sqlite", f"formats/{NAME}.xlsx", f"formats/{NAME}.metadata.json"]
    expected = whole + [f"formats/parquet/{r['name']}.parquet" for r in csv_resources(descriptor)]
    assert sorted(on_disk) == sorted(expected)
    for path in expected:
        assert listed[path]["bytes"] == (folder / path).stat().st_size


def test_codes_stay_text(folder: Path, descriptor: dict[str, Any]) -> None:
    pcns = next(r for r in csv_resources(descriptor) if r["name"] == "partnerships")
    assert pcns  # partnerships.ccgs_2019 holds codes such as 09J
    with sqlite3.connect(folder / "formats" / f"{NAME}.sqlite") as connection:
        types = {
            t for (t,) in connection.execute("SELECT DISTINCT typeof(code) FROM organisations")
        }
        assert types == {"text"}
        codes = {c for (c,) in connection.execute("SELECT code FROM organisations")}
        assert "09J" in codes
    workbook = openpyxl.load_workbook(folder / "formats" / f"{NAME}.xlsx")
    sheet = workbook["organisations"]
    column = [c.value for c in sheet[1]].index("code") + 1
    cells = [sheet.cell(row, column) for row in range(2, sheet.max_row + 1)]
    assert {c.data_type for c in cells} == {"s"}
    assert "09J" in {c.value for c in cells}
    schema = pq.read_schema(folder / "formats" / "parquet" / "organisations.parquet")
    assert str(schema.field("code").type) == "string"
    assert (
        str(pq.read_schema(folder / "formats" / "parquet" / "pcns.parquet").field("open_date").type)
        == "date32[day]"
    )


def test_sqlite_has_the_keys_of_the_schemas(folder: Path, descriptor: dict[str, Any]) -> None:
    with sqlite3.connect(folder / "formats" / f"{NAME}.sqlite") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        for resource in csv_resources(descriptor):
            name = resource["name"]
            schema = resource["schema"]
            info = connection.execute(f'PRAGMA table_info("{name}")').fetchall()
            key = [row[1] for row in sorted(info, key=lambda r: r[5]) if row[5]]
            assert key == schema.get("primaryKey", []), name  # the change list has none
            found: dict[int, tuple[str, list[str], list[str]]] = {}
            for fk_id, _, table, here, there, *_ in connection.execute(
                f'PRAGMA foreign_key_list("{name}")'
            ):
                entry = found.setdefault(fk_id, (table, [], []))
                entry[1].append(here)
                entry[2].append(there)
            wanted = sorted(
                (fk["reference"]["resource"], fk["fields"], fk["reference"]["fields"])
                for fk in schema.get("foreignKeys", [])
            )
            assert sorted(found.values()) == wanted, name
        described = connection.execute("SELECT resource, field FROM fields").fetchall()
    every = [
        (r["name"], f["name"]) for r in csv_resources(descriptor) for f in r["schema"]["fields"]
    ]
    assert sorted(described) == sorted(every)


def test_xlsx_describes_every_field_and_pins_its_dates(
    folder: Path, descriptor: dict[str, Any]
) -> None:
    workbook = openpyxl.load_workbook(folder / "formats" / f"{NAME}.xlsx")
    names = [r["name"] for r in csv_resources(descriptor)]
    assert workbook.sheetnames == ["about", *names, "fields"]
    rows = list(workbook["fields"].iter_rows(values_only=True))
    header = list(rows[0])
    described = [(row[header.index("resource")], row[header.index("field")]) for row in rows[1:]]
    every = [
        (r["name"], f["name"]) for r in csv_resources(descriptor) for f in r["schema"]["fields"]
    ]
    assert described == every
    released = dt.datetime.fromisoformat(descriptor["created"][:10])
    assert workbook.properties.created == released
    assert workbook.properties.modified == released


def test_parquet_columns_carry_their_descriptions(descriptor: dict[str, Any], folder: Path) -> None:
    schema = pq.read_schema(folder / "formats" / "parquet" / "structure.parquet")
    field = schema.field("pcn_code")
    assert field.metadata[b"title"] == b"PCN code"
    assert not field.nullable


def test_an_empty_table_is_written_in_every_format(tmp_path: Path) -> None:
    """A table may be empty (a first release's list of changes): every format still has it."""
    from pipeline.build.formats import render_formats
    from pipeline.core.model import TableOut

    metadata = shipped_validation().dataset.metadata
    assert metadata is not None
    schema = {
        "fields": [
            {"name": "code", "type": "string", "title": "Code", "description": "A code."},
            {"name": "day", "type": "date", "title": "Day", "description": "A day."},
        ],
        "primaryKey": ["code"],
    }
    files = render_formats([TableOut("empty", schema, (), "Empty", "No rows.")], metadata)
    for path, content in files.items():
        (tmp_path / Path(path).name).write_bytes(content)
    with sqlite3.connect(tmp_path / f"{NAME}.sqlite") as connection:
        assert connection.execute('SELECT count(*) FROM "empty"').fetchone() == (0,)
    table = pq.read_table(tmp_path / "empty.parquet")
    assert table.num_rows == 0 and table.column_names == ["code", "day"]
    workbook = openpyxl.load_workbook(tmp_path / f"{NAME}.xlsx")
    assert [c.value for c in workbook["empty"][1]] == ["code", "day"]
    assert workbook["empty"].max_row == 1


TEXT = st.text(
    st.characters(
        blacklist_categories=("Cs",),
        # XML 1.0 (and so XLSX) cannot hold these control characters, and reads a carriage
        # return back as a line feed (XML end-of-line handling)
        blacklist_characters="".join(map(chr, [*range(0, 9), 11, 12, 13, *range(14, 32)])),
    ),
    max_size=12,
)
ROW = st.fixed_dictionaries(
    {
        "code": st.text(alphabet=string.digits + string.ascii_uppercase, min_size=3, max_size=3)
        | st.just("=SUM(A1)"),
        "text": st.none() | TEXT,
        "count": st.none() | st.integers(-(2**53), 2**53),
        "share": st.none() | st.decimals(-1e6, 1e6, places=3, allow_nan=False),
        "flag": st.none() | st.booleans(),
        "day": st.none() | st.dates(dt.date(1900, 3, 1), dt.date(2100, 12, 31)),
    }
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ROW, max_size=6, unique_by=lambda r: r["code"]))
def test_formats_read_back_what_was_written(rows: list[dict[str, Any]]) -> None:
    """Property: whatever the values (codes with leading zeros or a leading '=', any text,
    empty cells), each format reads back exactly what was written."""
    import tempfile

    from pipeline.build.formats import render_formats
    from pipeline.core.model import TableOut

    metadata = shipped_validation().dataset.metadata
    assert metadata is not None
    kinds_of = {
        "code": "string",
        "text": "string",
        "count": "integer",
        "share": "number",
        "flag": "boolean",
        "day": "date",
    }
    schema = {
        "fields": [
            {"name": n, "type": k, "title": n, "description": n} for n, k in kinds_of.items()
        ],
        "primaryKey": ["code"],
    }
    files = render_formats([TableOut("t", schema, tuple(rows), "T", "")], metadata)
    expected = [[canonical(row[n], k) for n, k in kinds_of.items()] for row in rows]
    resource = {"name": "t", "schema": schema}
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        for path, content in files.items():
            (base / path).parent.mkdir(parents=True, exist_ok=True)
            (base / path).write_bytes(content)
        for fmt, read in READERS.items():
            assert read(base, resource) == expected, fmt


def test_a_control_character_stops_the_xlsx_with_the_cell_named() -> None:
    from pipeline.build.formats import render_xlsx
    from pipeline.core.errors import ProjectError
    from pipeline.core.model import TableOut

    metadata = shipped_validation().dataset.metadata
    assert metadata is not None
    schema = {"fields": [{"name": "text", "type": "string"}]}
    with pytest.raises(ProjectError, match=r"t row 1, text: 'a\\x07b' holds a control"):
        render_xlsx([TableOut("t", schema, ({"text": "a\x07b"},), "T", "")], metadata)


# --- the XLSX rows, written as xlsxwriter writes them -------------------------------------------

XLSX_TEXT = st.lists(
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=6)
    | st.sampled_from(["_x0041_", "_X00ff_", "\ufffe", "\uffff", " ", "\t", "\n", "\r", "&<>\"'"]),
    max_size=4,
).map("".join)
XLSX_CELL = st.one_of(
    st.none(),
    XLSX_TEXT,
    st.booleans(),
    st.integers(-(10**17), 10**17),
    st.floats(allow_nan=False, allow_infinity=False),
    st.dates(dt.date(1900, 3, 1), dt.date(9999, 12, 31)),
)
XLSX_SCHEMA = {
    "fields": [{"name": f"c{i}", "type": "any"} for i in range(4)],
    "primaryKey": [],
}


def xlsx_sheets(write: Callable[[Any, Any, Any, Any], None], rows: list[list[Any]]) -> list[bytes]:
    """The worksheets of a workbook whose one data sheet WRITE wrote, in constant-memory mode."""
    import io
    import zipfile

    import xlsxwriter

    from pipeline.core.model import TableOut

    table = TableOut(
        "t", XLSX_SCHEMA, tuple({f"c{i}": v for i, v in enumerate(r)} for r in rows), "T", ""
    )
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"constant_memory": True, "strings_to_numbers": False})
    bold = workbook.add_format({"bold": True})
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheet = workbook.add_worksheet("t")
    try:
        write(sheet, table, bold, day)
    except BaseException:
        sheet.row_data_fh.close()  # the rows waiting in their scratch file
        raise
    workbook.close()
    with zipfile.ZipFile(buffer) as archive:
        return [archive.read(n) for n in sorted(archive.namelist()) if n.startswith("xl/")]


def xlsx_by_cell(sheet: Any, table: Any, bold: Any, day: Any) -> None:
    """The reference: xlsxwriter's own per-cell calls, as the writer made them before."""
    names = [f["name"] for f in table.schema["fields"]]
    widths = [len(n) for n in names]
    for column, name in enumerate(names):
        sheet.write_string(0, column, name, bold)
    for number, row in enumerate(table.rows, start=1):
        for column, name in enumerate(names):
            value = row.get(name)
            if value is None:
                continue
            if isinstance(value, str):
                sheet.write_string(number, column, value)
                widths[column] = max(widths[column], min(len(value), 60))
            elif isinstance(value, bool):
                sheet.write_boolean(number, column, value)
            elif isinstance(value, int | float):
                sheet.write_number(number, column, value)
            else:
                sheet.write_datetime(number, column, value, day)
                widths[column] = max(widths[column], 10)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(table.rows), 1), len(names) - 1)
    for column, width in enumerate(widths):
        sheet.set_column(column, column, width + 2)


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(XLSX_CELL, min_size=4, max_size=4), max_size=6))
def test_the_xlsx_rows_are_the_bytes_xlsxwriter_writes_cell_by_cell(rows: list[list[Any]]) -> None:
    from pipeline.build.formats import write_xlsx_sheet

    assert xlsx_sheets(write_xlsx_sheet, rows) == xlsx_sheets(xlsx_by_cell, rows)


def test_an_xlsx_cell_too_long_stops_the_publish_with_the_cell_named() -> None:
    from pipeline.build.formats import XLSX_MAX_TEXT, write_xlsx_sheet
    from pipeline.core.errors import ProjectError

    with pytest.raises(ProjectError, match=r"t row 2, c1: 32,768 characters"):
        xlsx_sheets(write_xlsx_sheet, [[1, "a", None, None], [2, "x" * (XLSX_MAX_TEXT + 1), 3, 4]])


@pytest.mark.parametrize(
    ("names", "said"),
    [
        (["fields"], "a table every format adds"),
        (["About"], "a table every format adds"),
        (["objectives", "Objectives"], "only by case"),
        (["objectives_of_the_integrated_care_sys"], "37 characters"),
        (["a:b"], "cannot"),
    ],
)
def test_a_table_name_the_formats_cannot_hold_stops_with_its_name(
    names: list[str], said: str
) -> None:
    """SQLite and XLSX need every table name distinct but for case, not their own, and a sheet
    name of at most 31 characters without [ ] : * ? / \\: one message, no traceback."""
    from pipeline.build.formats import check_table_names
    from pipeline.core.errors import ProjectError
    from pipeline.core.model import TableOut

    schema = {"fields": [{"name": "a", "type": "string"}]}
    tables = [TableOut(n, schema, (), n, "") for n in names]
    with pytest.raises(ProjectError, match=said):
        check_table_names(tables)
