"""Whole keys: every published CSV loads, as published, into DuckDB and into SQLite (with
`PRAGMA foreign_keys=ON`), in tables created with the primary and foreign keys its
datapackage.json declares. A key column with an empty cell, a duplicate key or a reference to
nothing is refused by both."""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import first_release_output

from pipeline.archive import find_releases


@pytest.fixture(scope="module")
def release() -> Path:
    (folder,) = [r.path for r in find_releases(first_release_output())]
    return folder


def csv_resources(release: Path) -> list[dict[str, Any]]:
    descriptor = json.loads((release / "datapackage.json").read_text("utf-8"))
    return [r for r in descriptor["resources"] if r["format"] == "csv"]


def in_load_order(resources: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Referenced tables before the tables that refer to them."""
    done: set[str] = set()
    pending = list(resources)
    while pending:
        ready = [
            r
            for r in pending
            if all(
                fk["reference"]["resource"] in done | {r["name"]}
                for fk in r["schema"].get("foreignKeys", [])
            )
        ]
        assert ready, f"a cycle of foreign keys among {[r['name'] for r in pending]}"
        for resource in ready:
            done.add(resource["name"])
            pending.remove(resource)
            yield resource


def names(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def create_table(resource: dict[str, Any]) -> str:
    """CREATE TABLE with every column as text, the primary key (its columns NOT NULL, which
    SQLite does not imply) and each foreign key of the schema."""
    schema = resource["schema"]
    key = names(schema.get("primaryKey", []))
    columns = [
        f'"{f["name"]}" VARCHAR' + (" NOT NULL" if f["name"] in key else "")
        for f in schema["fields"]
    ]
    if key:
        columns.append("PRIMARY KEY (" + ", ".join(f'"{k}"' for k in key) + ")")
    for fk in schema.get("foreignKeys", []):
        ref = fk["reference"]
        columns.append(
            "FOREIGN KEY ("
            + ", ".join(f'"{k}"' for k in names(fk["fields"]))
            + f') REFERENCES "{ref["resource"]}" ('
            + ", ".join(f'"{k}"' for k in names(ref["fields"]))
            + ")"
        )
    return f'CREATE TABLE "{resource["name"]}" (' + ", ".join(columns) + ")"


def rows_of(path: Path) -> tuple[list[str], list[tuple[str | None, ...]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, [tuple(cell if cell != "" else None for cell in row) for row in reader]


def test_every_csv_loads_into_duckdb_with_its_keys(release: Path) -> None:
    resources = csv_resources(release)
    assert {"pcn_memberships", "pcns", "practices", "structure"} <= {r["name"] for r in resources}
    con = duckdb.connect()
    for resource in in_load_order(resources):
        con.execute(create_table(resource))
        path = release / resource["path"]
        # DuckDB reads the file itself, as a user would: text columns, empty cells as NULL
        con.execute(
            f'INSERT INTO "{resource["name"]}" SELECT * FROM '
            f"read_csv('{path}', header=true, all_varchar=true, auto_detect=false, "
            f"columns={duckdb_columns(resource)})"
        )
        count = con.execute(f'SELECT count(*) FROM "{resource["name"]}"').fetchone()
        assert count == (len(rows_of(path)[1]),), resource["name"]


def duckdb_columns(resource: dict[str, Any]) -> str:
    return "{" + ", ".join(f"'{f['name']}': 'VARCHAR'" for f in resource["schema"]["fields"]) + "}"


def test_every_csv_loads_into_sqlite_with_foreign_keys_on(release: Path) -> None:
    con = sqlite3.connect(":memory:")
    con.execute("PRAGMA foreign_keys=ON")
    assert con.execute("PRAGMA foreign_keys").fetchone() == (1,)
    for resource in in_load_order(csv_resources(release)):
        con.execute(create_table(resource))
        header, rows = rows_of(release / resource["path"])
        marks = ", ".join("?" for _ in header)
        with con:
            con.executemany(f'INSERT INTO "{resource["name"]}" VALUES ({marks})', rows)
        count = con.execute(f'SELECT count(*) FROM "{resource["name"]}"').fetchone()
        assert count == (len(rows),)
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []


def test_no_primary_key_cell_is_empty_in_any_format(release: Path) -> None:
    """CSV, JSON and the SQLite file of the release: each key cell holds a value."""
    descriptor = json.loads((release / "datapackage.json").read_text("utf-8"))
    checked = 0
    for resource in descriptor["resources"]:
        key = names(resource["schema"].get("primaryKey", []))
        if not key:
            continue
        path = release / resource["path"]
        if resource["format"] == "csv":
            header, rows = rows_of(path)
            records = [dict(zip(header, row, strict=True)) for row in rows]
        else:
            data = json.loads(path.read_text("utf-8"))
            if data and isinstance(data[0], list):  # the array-of-arrays form
                records = [dict(zip(data[0], row, strict=True)) for row in data[1:]]
            else:
                records = data
        for record in records:
            assert all(record.get(k) not in (None, "") for k in key), (resource["name"], record)
            checked += 1
    sqlite_files = list((release / "formats").glob("*.sqlite"))
    assert sqlite_files
    con = sqlite3.connect(sqlite_files[0])
    for resource in csv_resources(release):
        for k in names(resource["schema"].get("primaryKey", [])):
            empty = con.execute(
                f'SELECT count(*) FROM "{resource["name"]}" WHERE "{k}" IS NULL OR "{k}" = \'\''
            ).fetchone()
            assert empty == (0,), (resource["name"], k)
    assert checked > 1000


def test_an_empty_key_cell_is_refused_by_both(tmp_path: Path) -> None:
    """The check has teeth: the 1.0.0 form of pcn_memberships, keyed by a start date that was
    empty in seven rows, fails to load."""
    header = ["practice_code", "pcn_code", "start_date"]
    resource = {
        "name": "m",
        "schema": {"fields": [{"name": n} for n in header], "primaryKey": header},
    }
    path = tmp_path / "m.csv"
    path.write_text("practice_code,pcn_code,start_date\nG82027,U11490,\n", encoding="utf-8")
    con = duckdb.connect()
    con.execute(create_table(resource))
    with pytest.raises(duckdb.ConstraintException, match="NOT NULL"):
        con.execute(f"INSERT INTO m SELECT * FROM read_csv('{path}', all_varchar=true)")
    lite = sqlite3.connect(":memory:")
    lite.execute(create_table(resource))
    with pytest.raises(sqlite3.IntegrityError, match="NOT NULL"):
        lite.executemany("INSERT INTO m VALUES (?, ?, ?)", rows_of(path)[1])
