"""A published table as CSV (UTF-8, header row, LF line ends, minimal quoting) and as JSON (an
array of objects of typed values): the two files of every table, which the formats follow."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from typing import Any

from pipeline.build.cells import cell_text, field_types, json_value
from pipeline.core.model import TableOut

# The CSV dialect of every published table, as its descriptor states it (what `render_csv` writes)
CSV_DIALECT = {"delimiter": ",", "quoteChar": '"', "doubleQuote": True, "header": True}


class _LfRows:
    """Rows from a csv writer ended by CRLF (so that a cell holding a bare CR or LF is quoted,
    see `core.files.csv_line`), each kept with LF instead: one writer for the whole table."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, row: str) -> None:
        self.parts.append(row[:-2] + "\n")


CHUNK = 4096  # rows encoded and handed on at a time: a large table is never one string


def render_csv(table: TableOut) -> bytes:
    """The bytes of `write_csv`."""
    parts: list[bytes] = []
    write_csv(table, parts.append)
    return b"".join(parts)


def write_csv(table: TableOut, write: Callable[[bytes], None]) -> None:
    """UTF-8, header row, LF line ends, quotes only where needed (QUOTE_MINIMAL), handed to
    WRITE a few thousand rows at a time."""
    rows = _LfRows()
    writer = csv.writer(rows, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    fields = field_types(table)
    writer.writerow([name for name, _ in fields])
    for number, row in enumerate(table.rows, start=1):
        writer.writerow([cell_text(field, row.get(name)) for name, field in fields])
        if number % CHUNK == 0:
            write("".join(rows.parts).encode("utf-8"))
            rows.parts.clear()
    write("".join(rows.parts).encode("utf-8"))


def render_json(table: TableOut) -> bytes:
    """The bytes of `write_json`."""
    parts: list[bytes] = []
    write_json(table, parts.append)
    return b"".join(parts)


def write_json(table: TableOut, write: Callable[[bytes], None]) -> None:
    """An array of objects with typed values, handed to WRITE a few thousand rows at a time. An
    empty table is written as a header-only array of arrays, the one empty JSON table
    frictionless can read."""
    names = [f["name"] for f in table.schema["fields"]]
    if not table.rows:
        write((json.dumps([names], ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
        return
    # What json.dumps(rows, ensure_ascii=False, indent=1) writes, a row at a time: with an
    # indent, json encodes in pure Python, a third of a large release's build.
    keys = ["  " + encode_text(name) + ": " for name in names]
    parts = ["["]
    for number, row in enumerate(table.rows):
        cells = ",\n".join(
            key + json_scalar(json_value(row.get(name)))
            for key, name in zip(keys, names, strict=True)
        )
        parts.append(("\n {\n" if number == 0 else ",\n {\n") + cells + "\n }")
        if len(parts) >= CHUNK:
            write("".join(parts).encode("utf-8"))
            parts.clear()
    parts.append("\n]\n")
    write("".join(parts).encode("utf-8"))


encode_text = json.encoder.encode_basestring  # C: what ensure_ascii=False writes for a text


def json_scalar(value: Any) -> str:
    """One value as json.dumps writes it (ensure_ascii=False)."""
    if isinstance(value, str):
        return str(encode_text(value))
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return json.encoder.JSONEncoder(ensure_ascii=False).encode(value)
    return json.dumps(value, ensure_ascii=False)
