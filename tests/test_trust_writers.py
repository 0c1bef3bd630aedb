"""Writers quote whatever they are given (issue 10, case 2): random text, with carriage returns,
line breaks, control characters and separators, written through CSV, JSON, SQLite and Parquet,
reads back equal, one row per row. Validation refuses most of these characters; the writers do
not rely on it."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import examples
from frictionless import Resource, Schema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.build.cells import json_value
from pipeline.build.formats import render_parquet, render_sqlite
from pipeline.build.tables import CHUNK, render_csv, render_json, write_json
from pipeline.core.files import csv_line, csv_table
from pipeline.core.filestore import FileStore
from pipeline.core.model import TableOut

ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
NASTY = st.sampled_from(["\r", "\n", "\r\n", '"', ",", "\x00", "\u2028", "=1+1", " ", ""])
TEXT = st.lists(ANY_TEXT | NASTY, max_size=4).map("".join)
SCHEMA = {
    "fields": [
        {"name": "n", "type": "integer", "title": "n", "description": "n"},
        {"name": "text", "type": "string", "title": "t", "description": "t"},
    ],
    "primaryKey": ["n"],
}


def table(texts: list[str]) -> TableOut:
    rows = tuple({"n": i, "text": t or None} for i, t in enumerate(texts))
    return TableOut("t", SCHEMA, rows, "T", "")


def expected(texts: list[str]) -> list[str]:
    return [t or "" for t in texts]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TEXT, min_size=1, max_size=5))
def test_csv_reads_back_equal_in_python_pandas_and_frictionless(texts: list[str]) -> None:
    data = render_csv(table(texts))
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert [r[1] for r in rows[1:]] == expected(texts)
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    assert len(frame) == len(texts)  # a bare CR does not split a row
    assert list(frame["text"]) == expected(texts)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        path.write_bytes(data)
        resource = Resource(
            path=str(path), schema=Schema.from_descriptor(SCHEMA), format="csv", encoding="utf-8"
        )
        read = [row["text"] or "" for row in resource.read_rows()]
    assert read == expected(texts)


@settings(max_examples=60, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=5))
def test_json_sqlite_and_parquet_read_back_equal(texts: list[str]) -> None:
    out = table(texts)
    assert [r["text"] or "" for r in json.loads(render_json(out))] == expected(texts)
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        (base / "t.sqlite").write_bytes(render_sqlite([out]))
        with sqlite3.connect(base / "t.sqlite") as connection:
            got = [r[0] or "" for r in connection.execute('SELECT "text" FROM "t" ORDER BY "n"')]
        assert got == expected(texts)
        (base / "t.parquet").write_bytes(render_parquet(out))
        column: list[Any] = pq.read_table(base / "t.parquet").column("text").to_pylist()
        assert [v or "" for v in column] == expected(texts)


@given(st.lists(TEXT, min_size=1, max_size=4))
def test_every_csv_helper_quotes_a_carriage_return(cells: list[str]) -> None:
    line = csv_line(cells)
    assert next(csv.reader(io.StringIO(line, newline=""))) == cells or cells == [""]
    text = csv_table(["a"], [{"a": c} for c in cells])
    assert [r[0] for r in csv.reader(io.StringIO(text, newline=""))][1:] == cells


JSON_CELL = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=8),
)


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(JSON_CELL, min_size=3, max_size=3), max_size=5))
def test_the_json_writer_writes_what_json_dumps_writes(rows: list[list[Any]]) -> None:
    """render_json assembles the rows itself (json's indented encoder is pure Python): the bytes
    are json.dumps(rows, ensure_ascii=False, indent=1)'s, whatever the values."""
    schema = {"fields": [{"name": n, "type": "any"} for n in ("a", 'b"c', "d")]}
    names = [f["name"] for f in schema["fields"]]
    typed = tuple(dict(zip(names, r, strict=True)) for r in rows)
    out = render_json(TableOut("t", schema, typed, "T", ""))
    data: Any = [{n: json_value(v) for n, v in zip(names, r, strict=True)} for r in rows]
    expected = json.dumps(data or [names], ensure_ascii=False, indent=1) + "\n"
    assert out == expected.encode("utf-8")


@pytest.mark.parametrize("count", [CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 7])
def test_a_table_written_in_chunks_is_the_table_written_whole(count: int) -> None:
    """The CSV and JSON writers hand on a few thousand rows at a time: the bytes are those of
    the whole table written at once (json.dumps; the csv module with one writer), whatever row
    a chunk ends on, with text beyond ASCII and quoting in it."""
    schema = {"fields": [{"name": "code", "type": "string"}, {"name": "n", "type": "integer"}]}
    rows = tuple({"code": f'é"{i},\n' if i % 3 else f"ü{i}", "n": i} for i in range(count))
    table = TableOut("t", schema, rows, "T", "")
    whole = io.StringIO(newline="")
    writer = csv.writer(whole, lineterminator="\r\n")
    writer.writerow(["code", "n"])
    writer.writerows([r["code"], str(r["n"])] for r in rows)
    expected_csv = "".join(line[:-2] + "\n" for line in _crlf_lines(whole.getvalue()))
    assert render_csv(table) == expected_csv.encode("utf-8")
    pieces: list[bytes] = []
    write_json(table, pieces.append)
    assert len(pieces) >= count // CHUNK + 1  # handed on in pieces, not whole
    expected_json = json.dumps(list(rows), ensure_ascii=False, indent=1) + "\n"
    assert b"".join(pieces) == render_json(table) == expected_json.encode("utf-8")


def _crlf_lines(text: str) -> list[str]:
    """TEXT split after each CRLF that ends a row (a quoted cell's own line end is LF)."""
    lines = text.split("\r\n")
    return [line + "\r\n" for line in lines[:-1]]


@settings(max_examples=examples(100), deadline=None)
@given(st.lists(st.lists(st.binary(max_size=40), max_size=6), min_size=1, max_size=4))
def test_a_file_store_holds_what_was_appended_in_memory_or_on_disk(
    entries: list[list[bytes]],
) -> None:
    """Each entry holds exactly the bytes appended to it, with their size and SHA-256, whether
    it stayed in memory (up to the store's limit) or spilled to its scratch file; an entry
    whose block raises is not added, and leaves no scratch file behind."""
    store = FileStore(limit=50)
    for number, chunks in enumerate(entries):
        with store.appender(f"e{number}") as write:
            for chunk in chunks:
                write(chunk)
        whole = b"".join(chunks)
        assert store[f"e{number}"] == whole
        assert store.size(f"e{number}") == len(whole)
        assert store.sha256(f"e{number}") == hashlib.sha256(whole).hexdigest()
        with store.open(f"e{number}") as stream:
            assert stream.read() == whole
    before = scratch_files()
    with pytest.raises(RuntimeError), store.appender("broken") as write:
        write(b"x" * 200)  # spilled to a scratch file, then the block fails
        raise RuntimeError
    assert "broken" not in store
    assert scratch_files() == before


def scratch_files() -> list[Path]:
    """The files of every build's scratch folder (under TMPDIR, as FileStore keeps them)."""
    return sorted(Path(tempfile.gettempdir()).glob("ics-data-build-*/*"))
